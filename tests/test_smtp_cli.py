"""SMTP through the real command, in a subprocess: what reaches the author's terminal, the
ledger and the step summary when a server echoes the login back."""

from __future__ import annotations

import base64
from pathlib import Path

import pytest

from tests.cli_harness import recent_posts, rss, run, write_config, write_subscribers

pytest.importorskip("aiosmtpd", reason="aiosmtpd is not installed: pip install -e '.[test]'")
from tests.smtp_servers import LOGIN, EchoesLogin, serving

PASSWORD = "smtp-pa55-word-7c1e"


def test_a_server_that_echoes_the_login_leaks_it_nowhere(tmp_path: Path) -> None:
    (tmp_path / "feed.xml").write_bytes(rss(recent_posts(1)))
    write_subscribers(tmp_path)
    summary = tmp_path / "summary.md"
    with serving(EchoesLogin(), password=PASSWORD, auth_exclude_mechanism=["LOGIN"]) as port:
        write_config(
            tmp_path,
            feed="feed.xml",
            provider={
                "name": "smtp",
                "host": "127.0.0.1",
                "port": port,
                "security": "none",
                "username": LOGIN,
            },
        )
        result = run(
            tmp_path,
            "send",
            secrets={"SMTP_PASSWORD": PASSWORD + "\n", "GITHUB_STEP_SUMMARY": str(summary)},
        )
    assert result.code == 1
    assert "refused the login for author (535 5.7.8 Bad credentials" in result.error_line
    assert "[redacted]" in result.error_line
    ledger = (tmp_path / "state" / "ledger.json").read_text()
    assert "Bad credentials" in ledger  # the failed run is recorded, scrubbed
    everything = result.stdout + result.stderr + ledger + summary.read_text()
    forms = [
        PASSWORD,
        base64.b64encode(PASSWORD.encode()).decode(),
        base64.b64encode(f"\0{LOGIN}\0{PASSWORD}".encode()).decode(),
    ]
    for form in forms:
        assert form not in everything
    # Nothing went out and nothing is pending: the login failed before any message.
    assert '"pending"' not in ledger


def test_a_password_beyond_ascii_is_one_sentence_and_leaves_nothing_pending(
    tmp_path: Path,
) -> None:
    (tmp_path / "feed.xml").write_bytes(rss(recent_posts(1)))
    write_subscribers(tmp_path)
    write_config(
        tmp_path,
        feed="feed.xml",
        provider={"name": "smtp", "host": "127.0.0.1", "port": 9, "username": LOGIN},
    )
    result = run(tmp_path, "send", secrets={"SMTP_PASSWORD": "pässwörd"})
    assert result.code == 2
    assert result.error_line.startswith("$SMTP_PASSWORD contains a character beyond plain ASCII")
    assert "pässwörd" not in result.stderr
    ledger = tmp_path / "state" / "ledger.json"
    assert not ledger.exists() or '"pending"' not in ledger.read_text()
