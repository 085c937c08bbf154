"""The installed `newsletter` command, run as a subprocess against a loopback feed server."""

from __future__ import annotations

import email
import email.policy
import json
import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from email.utils import format_datetime
from pathlib import Path

import pytest

from tests.feedserver import FeedServer, Route

SCRIPT = Path(sys.executable).parent / "newsletter"
pytestmark = pytest.mark.skipif(
    not SCRIPT.exists(), reason="the newsletter command is not installed: pip install -e '.[test]'"
)

NOW = datetime.now(UTC).replace(microsecond=0)


def item(number: int, age: timedelta) -> str:
    return f"""<item><title>Post number {number}</title>
<link>https://blog.example.org/{number}/</link><guid isPermaLink="false">post-{number}</guid>
<dc:creator>Ada</dc:creator><pubDate>{format_datetime(NOW - age)}</pubDate>
<content:encoded><![CDATA[<p>Opening of post {number}.</p><p><span id="more-{number}"></span></p>
<p>SECRET-REST-{number} after the break.</p>]]></content:encoded></item>"""


def rss(*items: str) -> bytes:
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<rss version="2.0" xmlns:content="http://purl.org/rss/1.0/modules/content/"
 xmlns:dc="http://purl.org/dc/elements/1.1/"><channel><title>Loopback Blog</title>
<link>https://blog.example.org/</link><language>de</language>{"".join(items)}</channel></rss>""".encode()


def etag_route(body: bytes, tag: str) -> Route:
    def respond(headers: dict[str, str]) -> Route:
        if headers.get("if-none-match") == tag:
            return Route(b"", 304, {"ETag": tag})
        return Route(body, headers={"Content-Type": "application/rss+xml", "ETag": tag})

    return Route(respond=respond)


@pytest.fixture
def blog(tmp_path: Path, feed_server: FeedServer) -> Path:
    (tmp_path / "newsletter.toml").write_text(
        f"""
[feed]
url = "{feed_server.url()}"
[newsletter]
from = "Loopback Blog <news@blog.example.org>"
postal_address = "1 Test Street"
[provider]
name = "outbox"
""",
        encoding="utf-8",
    )
    return tmp_path


def run(folder: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {
        k: v for k, v in os.environ.items() if k not in ("NEWSLETTER_CONFIG", "GITHUB_STEP_SUMMARY")
    }
    return subprocess.run(
        [str(SCRIPT), *args],
        cwd=folder,
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )


def read_eml(path: Path) -> EmailMessage:
    message = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
    assert isinstance(message, EmailMessage)
    return message


@pytest.mark.slow
def test_send_writes_a_real_email_then_sends_nothing_twice(
    blog: Path, feed_server: FeedServer
) -> None:
    feed_server.routes["/feed.xml"] = etag_route(
        rss(item(1, timedelta(days=1)), item(2, timedelta(days=30))), '"a"'
    )

    first = run(blog, "send")
    assert first.returncode == 0, first.stderr
    assert "Sent 1 post(s) in 1 email(s) through outbox." in first.stdout
    emails = sorted((blog / "outbox").glob("*.eml"))
    assert len(emails) == 1
    message = read_eml(emails[0])
    assert message["Subject"] == "Post number 1"
    assert message["From"] == "Loopback Blog <news@blog.example.org>"
    assert message["Date"] and message["Message-ID"]
    assert message.get_content_type() == "multipart/alternative"
    assert message["List-Unsubscribe"] == "<mailto:news@blog.example.org?subject=unsubscribe>"
    html_part = message.get_body(("html",))
    text_part = message.get_body(("plain",))
    assert html_part is not None and text_part is not None
    html, text = html_part.get_content(), text_part.get_content()
    assert "Opening of post 1." in html and "Opening of post 1." in text
    assert "SECRET-REST" not in html and "SECRET-REST" not in text
    assert 'lang="de"' in html
    assert "https://blog.example.org/1/?utm_source=newsletter&amp;utm_medium=email" in html
    assert "1 Test Street" in html
    assert feed_server.requests[0].headers["user-agent"].startswith("newsletter/")

    ledger = json.loads((blog / "state" / "ledger.json").read_text())
    assert "outbox" in json.dumps(ledger["destinations"])
    assert "post-1" in json.dumps(ledger) and "post-2" in json.dumps(ledger)

    second = run(blog, "send")
    assert second.returncode == 0, second.stderr
    assert len(list((blog / "outbox").glob("*.eml"))) == 1
    assert feed_server.requests[-1].headers.get("if-none-match") == '"a"'
    assert "nothing to send" in second.stdout.lower() or "not changed" in second.stdout.lower()


@pytest.mark.slow
def test_first_run_window_and_the_next_new_post(blog: Path, feed_server: FeedServer) -> None:
    old = item(1, timedelta(days=40))
    feed_server.routes["/feed.xml"] = Route(rss(old))
    first = run(blog, "send")
    assert first.returncode == 0, first.stderr
    assert "First run" in first.stdout
    assert not (blog / "outbox").exists()

    feed_server.routes["/feed.xml"] = Route(rss(item(2, timedelta(hours=2)), old))
    second = run(blog, "send")
    assert second.returncode == 0, second.stderr
    assert "Sent 1 post(s)" in second.stdout
    assert read_eml(next((blog / "outbox").glob("*.eml")))["Subject"] == "Post number 2"


@pytest.mark.slow
def test_since_dry_run_check_preview_and_status(blog: Path, feed_server: FeedServer) -> None:
    feed_server.routes["/feed.xml"] = Route(
        rss(item(1, timedelta(days=1)), item(2, timedelta(days=30)))
    )
    since = (NOW - timedelta(days=60)).date().isoformat()

    check = run(blog, "check", "--since", since)
    assert check.returncode == 0, check.stderr
    assert "Post number 1" in check.stdout and "Post number 2" in check.stdout

    dry = run(blog, "send", "--dry-run", "--since", since)
    assert dry.returncode == 0, dry.stderr
    assert "Dry run: would send 2 post(s)" in dry.stdout
    assert not (blog / "state").exists() and not (blog / "outbox").exists()

    preview = run(blog, "preview", "--out", "look", "--since", since)
    assert preview.returncode == 0, preview.stderr
    written = sorted(p.suffix for p in (blog / "look").iterdir())
    assert written == [".eml", ".html", ".txt"]
    assert not (blog / "state").exists()

    status = run(blog, "status")
    assert status.returncode == 0
    assert "No sends recorded yet." in status.stdout


@pytest.mark.parametrize(
    ("config", "args", "code", "words"),
    [
        ("[newsletter]\nflod_limit = 2\n", ["send"], 2, "newsletter.flod_limit"),
        ("", ["send"], 2, "No feed to read"),
        ("", ["send", "--feed", "missing.xml"], 2, "does not exist"),
        ("", ["send", "--since", "last week", "--feed", "x.xml"], 2, "ISO date"),
        ("", ["send", "--test-to", "me@localhost", "--feed", "x.xml"], 2, "not an email address"),
        (
            "",
            ["send", "--test-to", "a@example.org,b@example.org", "--feed", "x.xml"],
            2,
            "not an email address",
        ),
    ],
)
def test_bad_input_is_one_sentence_and_an_exit_code(
    tmp_path: Path, config: str, args: list[str], code: int, words: str
) -> None:
    (tmp_path / "newsletter.toml").write_text(config, encoding="utf-8")
    result = run(tmp_path, *args)
    assert result.returncode == code
    assert words in result.stderr
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "state" / "ledger.json").exists()


@pytest.mark.slow
def test_unreachable_feed_is_exit_1(tmp_path: Path) -> None:
    result = run(tmp_path, "send", "--feed", "http://127.0.0.1:9/feed.xml")
    assert result.returncode == 1
    assert "could not be reached" in result.stderr
    assert "Traceback" not in result.stderr


def test_python_dash_m_works_too(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "newsletter", "--help"],
        capture_output=True,
        text=True,
        check=False,
        cwd=tmp_path,
    )
    assert result.returncode == 0
    for command in ("init", "check", "preview", "send", "baseline", "status", "resolve"):
        assert command in result.stdout


def test_check_lists_each_post_once_with_its_link(blog: Path, feed_server: FeedServer) -> None:
    feed_server.routes["/feed.xml"] = Route(
        rss(item(1, timedelta(days=1)), item(2, timedelta(days=30)))
    )
    check = run(blog, "check")
    assert check.returncode == 0, check.stderr
    # The old post is skipped on the first run and recorded as baseline: one line, not two,
    # and with its link, which `send --post` asks for.
    assert check.stdout.count("Post number 2") == 1, check.stdout
    old_line = next(line for line in check.stdout.splitlines() if "Post number 2" in line)
    assert "<https://blog.example.org/2/>" in old_line
    assert "first-run window" in old_line and "already sent" in old_line


@pytest.mark.slow
def test_check_shows_a_flood_instead_of_refusing_to_look(
    blog: Path, feed_server: FeedServer
) -> None:
    feed_server.routes["/feed.xml"] = Route(
        rss(*(item(n, timedelta(hours=n)) for n in range(1, 13)))
    )
    check = run(blog, "check")
    # `send` refuses (exit 3) and tells the author to run `check` to see why: check must show.
    assert check.returncode == 0, check.stderr
    assert all(f"Post number {n}" in check.stdout for n in range(1, 13)), check.stdout
    assert "flood_limit (10)" in check.stderr and "--force" in check.stderr
    assert "Traceback" not in check.stderr
    send = run(blog, "send")
    assert send.returncode == 3


def test_check_step_summary_says_what_the_next_send_does(
    blog: Path, feed_server: FeedServer
) -> None:
    feed_server.routes["/feed.xml"] = Route(rss(item(1, timedelta(days=1))))
    summary = blog / "summary.md"
    env = {k: v for k, v in os.environ.items() if k != "NEWSLETTER_CONFIG"}
    env["GITHUB_STEP_SUMMARY"] = str(summary)
    result = subprocess.run(
        [str(SCRIPT), "check"],
        cwd=blog,
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    text = summary.read_text(encoding="utf-8")
    result_line = next(line for line in text.splitlines() if line.startswith("**Result:**"))
    assert "1 post(s)" in result_line, text


@pytest.mark.slow
@pytest.mark.parametrize(
    ("route", "code", "words"),
    [
        (Route(b"", 404), 1, "was not found (404"),
        (Route(rss(*(item(n, timedelta(hours=n)) for n in range(1, 13)))), 3, "flood_limit"),
    ],
)
def test_a_failed_send_says_why_in_the_step_summary(
    blog: Path, feed_server: FeedServer, route: Route, code: int, words: str
) -> None:
    # The run's page shows the step summary; "the message above" is in a log nobody opens.
    feed_server.routes["/feed.xml"] = route
    summary = blog / "summary.md"
    env = {k: v for k, v in os.environ.items() if k != "NEWSLETTER_CONFIG"}
    env["GITHUB_STEP_SUMMARY"] = str(summary)
    result = subprocess.run(
        [str(SCRIPT), "send"],
        cwd=blog,
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )
    assert result.returncode == code, result.stderr
    text = summary.read_text(encoding="utf-8")
    assert "### newsletter send" in text
    assert words in text


def test_output_piped_into_a_reader_that_stops_early_is_not_an_error(
    blog: Path, feed_server: FeedServer
) -> None:
    # `newsletter check | head` closes the pipe before check has printed everything.
    feed_server.routes["/feed.xml"] = Route(
        rss(*(item(n, timedelta(days=n)) for n in range(1, 40)))
    )
    env = {k: v for k, v in os.environ.items() if k != "NEWSLETTER_CONFIG"}
    child = subprocess.Popen(
        [str(SCRIPT), "check"],
        cwd=blog,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
    )
    assert child.stdout is not None and child.stderr is not None
    child.stdout.close()
    stderr = child.stderr.read().decode()
    assert child.wait(timeout=120) == 0, stderr
    assert "unexpected" not in stderr and "BrokenPipe" not in stderr, stderr


@pytest.mark.slow
def test_status_lists_the_sent_posts_even_after_a_larger_baseline(
    blog: Path, feed_server: FeedServer
) -> None:
    feed_server.routes["/feed.xml"] = Route(rss(item(1, timedelta(days=1))))
    assert run(blog, "send").returncode == 0
    ledger_path = blog / "state" / "ledger.json"
    ledger = json.loads(ledger_path.read_text(encoding="utf-8"))
    for record in ledger["destinations"]["outbox"]["posts"].values():
        record["at"] = "2026-01-06T07:17:00Z"  # sent weeks before the archive was adopted
    ledger_path.write_text(json.dumps(ledger), encoding="utf-8")
    archive = [item(n, timedelta(days=40 + n)) for n in range(2, 9)]
    feed_server.routes["/feed.xml"] = Route(rss(item(1, timedelta(days=1)), *archive))
    assert run(blog, "baseline").returncode == 0
    status = run(blog, "status")
    assert status.returncode == 0, status.stderr
    assert "1 sent" in status.stdout and "7 baseline" in status.stdout
    assert "Post number 1" in status.stdout, status.stdout


def test_global_options_work_after_the_command_too(tmp_path: Path) -> None:
    (tmp_path / "elsewhere.toml").write_text("[newsletter]\nflod_limit = 2\n", encoding="utf-8")
    result = run(tmp_path, "send", "--config", "elsewhere.toml", "-v")
    assert result.returncode == 2
    assert "newsletter.flod_limit" in result.stderr
    assert "Traceback" in result.stderr  # -v after the command still shows the detail


@pytest.mark.slow
def test_preview_appends_its_step_summary_too(blog: Path, feed_server: FeedServer) -> None:
    feed_server.routes["/feed.xml"] = Route(rss(item(1, timedelta(days=1))))
    summary = blog / "summary.md"
    env = {k: v for k, v in os.environ.items() if k != "NEWSLETTER_CONFIG"}
    env["GITHUB_STEP_SUMMARY"] = str(summary)
    result = subprocess.run(
        [str(SCRIPT), "preview", "--out", "look"],
        cwd=blog,
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    text = summary.read_text(encoding="utf-8")
    assert "### newsletter preview" in text
    assert "**Subject:** Post number 1" in text
    assert "[Post number 1](https://blog.example.org/1/)" in text
    assert "**Result:** Wrote 1 email preview(s)" in text
