"""SMTP through the real command, in a subprocess: what reaches the author's terminal, the
ledger and the step summary when a server echoes the login back, refuses everyone, or asks to
come back later; and what the next run then sends to whom."""

from __future__ import annotations

import base64
import json
from collections import Counter
from pathlib import Path

import pytest

from tests.cli_harness import recent_posts, rss, run, write_config, write_subscribers

pytest.importorskip("aiosmtpd", reason="aiosmtpd is not installed: pip install -e '.[test]'")
from tests.smtp_servers import LOGIN, EchoesLogin, Mailbox, RateLimited, RefusesEveryone, serving

PASSWORD = "smtp-pa55-word-7c1e"
READERS = ["ada@example.net", "grace@example.net"]


def smtp_blog(folder: Path, port: int) -> None:
    write_config(
        folder,
        feed="feed.xml",
        provider={
            "name": "smtp",
            "host": "127.0.0.1",
            "port": port,
            "security": "none",
            "subscribers": "subscribers.csv",
        },
    )


def statuses(folder: Path) -> dict[str, str]:
    document = json.loads((folder / "state" / "ledger.json").read_text(encoding="utf-8"))
    posts = document["destinations"].get("smtp:127.0.0.1", {}).get("posts", {})
    return {key: record["status"] for key, record in posts.items()}


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


@pytest.mark.slow
def test_a_relay_that_refuses_everyone_is_exit_1_and_the_post_goes_out_next_time(
    tmp_path: Path,
) -> None:
    posts = recent_posts(1)
    (tmp_path / "feed.xml").write_bytes(rss(posts))
    write_subscribers(tmp_path)
    with serving(RefusesEveryone()) as port:
        smtp_blog(tmp_path, port)
        refused = run(tmp_path, "send")
    assert refused.code == 1
    assert "refused the email for every reader it was offered (2 of 2" in refused.error_line
    assert "550 5.7.1 Relaying denied" in refused.error_line
    assert "Sent" not in refused.stdout
    assert statuses(tmp_path) == {}, "a post nobody received is recorded"

    mailbox = Mailbox()
    with serving(mailbox) as port:
        smtp_blog(tmp_path, port)
        after = run(tmp_path, "send")
    assert after.code == 0, after.stderr
    assert mailbox.received == Counter(READERS)
    assert statuses(tmp_path) == {posts[0].guid: "sent"}


@pytest.mark.slow
def test_a_rate_limit_stops_the_run_and_the_next_run_serves_only_the_rest(
    tmp_path: Path,
) -> None:
    posts = recent_posts(1)
    (tmp_path / "feed.xml").write_bytes(rss(posts))
    write_subscribers(tmp_path)
    server = RateLimited(allowed=1)
    with serving(server) as port:
        smtp_blog(tmp_path, port)
        stopped = run(tmp_path, "send")
        assert stopped.code == 1
        assert "451 4.7.1" in stopped.error_line
        assert "The other 1 reader(s) are still owed the email" in stopped.error_line
        assert server.received == Counter(READERS[:1])
        assert statuses(tmp_path) == {posts[0].guid: "pending"}

        server.allowed = 10  # the hour is over
        after = run(tmp_path, "send")
    assert after.code == 0, after.stderr
    assert server.received == Counter(READERS), "a reader got the email twice, or never"
    assert statuses(tmp_path) == {posts[0].guid: "sent"}
