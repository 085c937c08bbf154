"""End to end: the CLI with a known secret never lets it out, on success or on failure.

Runs with -v, the most talkative setting (it adds tracebacks for detail), so a leak in any
log line or exception text would show.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path

import pytest

from tests.fakes.buttondown import ButtondownFake
from tests.fakes.helpers import SECRET
from tests.fakes.postmark import PostmarkFake

ROOT = Path(__file__).resolve().parent.parent


def write_feed(folder: Path) -> Path:
    published = format_datetime(datetime.now(UTC) - timedelta(days=1))
    feed = folder / "feed.xml"
    feed.write_text(
        f"""<?xml version="1.0" encoding="utf-8"?>
<rss version="2.0"><channel>
<title>Secret Keeping Blog</title><link>https://blog.example.org/</link>
<description>Posts</description><language>en</language>
<item><title>On keeping keys</title><link>https://blog.example.org/keys/</link>
<guid>https://blog.example.org/keys/</guid><pubDate>{published}</pubDate>
<description>&lt;p&gt;Never print a key.&lt;/p&gt;</description></item>
</channel></rss>
""",
        encoding="utf-8",
    )
    return feed


def run_send(
    folder: Path, provider_toml: str, environ: dict[str, str], *extra: str
) -> subprocess.CompletedProcess[str]:
    (folder / "newsletter.toml").write_text(
        '[newsletter]\nfrom = "Blog <news@example.org>"\n\n[provider]\n' + provider_toml,
        encoding="utf-8",
    )
    env = {
        k: v for k, v in os.environ.items() if not k.endswith(("_API_KEY", "_TOKEN", "_PASSWORD"))
    }
    env.update(environ, PYTHONPATH=str(ROOT), GITHUB_STEP_SUMMARY=str(folder / "summary.md"))
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "newsletter",
            "-v",
            "--config",
            str(folder / "newsletter.toml"),
            "send",
            "--feed",
            str(write_feed(folder)),
            *extra,
        ],
        cwd=folder,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def assert_secret_nowhere(result: subprocess.CompletedProcess[str], folder: Path) -> None:
    assert SECRET not in result.stdout
    assert SECRET not in result.stderr
    written = [p for p in folder.rglob("*") if p.is_file()]
    assert written, "the run should have written something (config, ledger or summary)"
    for path in written:
        assert SECRET.encode() not in path.read_bytes(), f"the secret leaked into {path}"


@pytest.fixture
def buttondown() -> Iterator[ButtondownFake]:
    with ButtondownFake(SECRET) as fake:
        yield fake


def test_a_successful_send_keeps_the_secret(tmp_path: Path, buttondown: ButtondownFake) -> None:
    result = run_send(
        tmp_path,
        f'name = "buttondown"\nbase_url = "{buttondown.url}"\n',
        {"BUTTONDOWN_API_KEY": SECRET},
    )
    assert result.returncode == 0, result.stderr
    assert len(buttondown.emails) == 1
    assert (tmp_path / "state" / "ledger.json").is_file()
    assert_secret_nowhere(result, tmp_path)


def test_a_refused_key_names_the_variable_and_keeps_the_secret(tmp_path: Path) -> None:
    with ButtondownFake("the-real-key") as fake:
        result = run_send(
            tmp_path,
            f'name = "buttondown"\nbase_url = "{fake.url}"\n',
            {"BUTTONDOWN_API_KEY": SECRET},
        )
    assert result.returncode == 1
    assert "$BUTTONDOWN_API_KEY" in result.stderr
    assert_secret_nowhere(result, tmp_path)


def test_an_error_body_echoing_the_secret_is_redacted(
    tmp_path: Path, buttondown: ButtondownFake
) -> None:
    buttondown.fail_next(
        422,
        {
            "detail": [
                {
                    "type": "value_error",
                    "loc": ["header", "authorization"],
                    "msg": f"Token {SECRET} looks odd",
                }
            ]
        },
    )
    result = run_send(
        tmp_path,
        f'name = "buttondown"\nbase_url = "{buttondown.url}"\n',
        {"BUTTONDOWN_API_KEY": SECRET},
    )
    assert result.returncode == 1
    assert "looks odd" in result.stderr
    assert "[redacted]" in result.stderr
    assert_secret_nowhere(result, tmp_path)


def test_a_test_send_through_postmark_keeps_the_secret(tmp_path: Path) -> None:
    (tmp_path / "subscribers.csv").write_text("email\nreader@example.net\n", encoding="utf-8")
    with PostmarkFake(SECRET) as fake:
        result = run_send(
            tmp_path,
            f'name = "postmark"\nbase_url = "{fake.url}"\n',
            {"POSTMARK_SERVER_TOKEN": SECRET},
            "--test-to",
            "me@example.org",
        )
        assert result.returncode == 0, result.stderr
        [message] = fake.sent
    assert message["To"] == "me@example.org"
    assert message["Subject"].startswith("[Test] ")
    assert_secret_nowhere(result, tmp_path)


@pytest.mark.slow
def test_a_wrong_key_leaves_nothing_pending_so_fixing_it_is_enough(tmp_path: Path) -> None:
    (tmp_path / "subscribers.csv").write_text("email\nreader@example.org\n", encoding="utf-8")
    with PostmarkFake("the-real-key") as fake:
        provider = f'name = "postmark"\nbase_url = "{fake.url}"\nsubscribers = "subscribers.csv"\n'
        refused = run_send(tmp_path, provider, {"POSTMARK_SERVER_TOKEN": SECRET})
        assert refused.returncode == 1
        assert "$POSTMARK_SERVER_TOKEN" in refused.stderr
        # The key is refused when the stream's settings are checked, before any post is
        # marked: no ledger at all, or one without a pending post.
        ledger = tmp_path / "state" / "ledger.json"
        assert not ledger.exists() or "pending" not in ledger.read_text()

        fixed = run_send(tmp_path, provider, {"POSTMARK_SERVER_TOKEN": "the-real-key"})
        assert fixed.returncode == 0, fixed.stderr
        assert [message["To"] for message in fake.sent] == ["reader@example.org"]
