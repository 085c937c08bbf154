"""Run the real `newsletter` command in a subprocess against a feed and a config of the test's own.

Used by the end-to-end safety tests, which need a separate process to `kill -9` or to run
twice at once. The child gets a clean environment: only the secret the test hands it.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

from tests.fakes.buttondown import ButtondownFake
from tests.fakes.postmark import PostmarkFake
from tests.fakes.server import Reply, Request

ROOT = Path(__file__).resolve().parent.parent
SECRET = "sk-harness-91c2e7-NEVER-PRINTED"
HANG_GUARD = 120
"""Seconds after which a stuck child is a failure rather than a hung test run (never reached
when things work; no assertion depends on timing)."""


@dataclass(frozen=True)
class FeedPost:
    guid: str
    link: str
    title: str
    published: datetime | None


def recent_posts(
    count: int, *, first: int = 1, days_ago: float = 1, apart: float = 1
) -> list[FeedPost]:
    """`count` posts published `apart` days apart, the newest `days_ago` days before now."""
    now = datetime.now(UTC)
    return [
        FeedPost(
            guid=f"tag:blog.example.org,2026:post-{number}",
            link=f"https://blog.example.org/{number}/",
            title=f"Post number {number}",
            published=now - timedelta(days=days_ago + index * apart),
        )
        for index, number in enumerate(range(first, first + count))
    ]


def rss(posts: list[FeedPost], *, title: str = "Harness Blog") -> bytes:
    items = []
    for post in posts:
        date = f"<pubDate>{format_datetime(post.published)}</pubDate>" if post.published else ""
        items.append(
            f"<item><title>{escape(post.title)}</title><link>{escape(post.link)}</link>"
            f'<guid isPermaLink="false">{escape(post.guid)}</guid>{date}'
            f"<description>&lt;p&gt;The body of {escape(post.title)}.&lt;/p&gt;</description>"
            "</item>"
        )
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n<rss version="2.0"><channel>'
        f"<title>{escape(title)}</title><link>https://blog.example.org/</link>"
        f"<description>Notes</description><language>en</language>{''.join(items)}"
        "</channel></rss>\n"
    ).encode()


def write_config(
    folder: Path, *, feed: str, provider: Mapping[str, Any], feed_timeout: float | None = None
) -> Path:
    lines = ["[feed]", f"url = {_toml(feed)}"]
    if feed_timeout is not None:
        lines.append(f"timeout = {feed_timeout}")
    lines += ["", "[newsletter]", 'from = "Harness Blog <news@blog.example.org>"', "", "[provider]"]
    lines += [f"{key} = {_toml(value)}" for key, value in provider.items()]
    path = folder / "newsletter.toml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def write_subscribers(folder: Path) -> None:
    (folder / "subscribers.csv").write_text(
        "email,name\nada@example.net,Ada\ngrace@example.net,Grace\n", encoding="utf-8"
    )


def _toml(value: Any) -> str:
    if isinstance(value, str):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    return str(value)


@dataclass(frozen=True)
class Result:
    code: int
    stdout: str
    stderr: str

    @property
    def error_line(self) -> str:
        """The one `error: ...` sentence the CLI printed, without the prefix."""
        lines = [line for line in self.stderr.splitlines() if line.startswith("error: ")]
        assert len(lines) == 1, self.stderr
        return lines[0].removeprefix("error: ")


def environment(secrets: Mapping[str, str] | None = None) -> dict[str, str]:
    return {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "PYTHONPATH": str(ROOT),
        "HOME": os.environ.get("HOME", "/tmp"),
        "LANG": "C.UTF-8",
        **(secrets or {}),
    }


def start(
    folder: Path, *args: str, secrets: Mapping[str, str] | None = None
) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "newsletter", *args],
        cwd=folder,
        env=environment(secrets),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def run(folder: Path, *args: str, secrets: Mapping[str, str] | None = None) -> Result:
    child = start(folder, *args, secrets=secrets)
    stdout, stderr = child.communicate(timeout=HANG_GUARD)
    assert "Traceback" not in stderr, stderr
    assert SECRET not in stdout + stderr
    return Result(child.returncode, stdout, stderr)


class HoldsFirstSend:
    """Mixin for a vendor fake: the first POST is acted on (the email goes out), then its
    answer is held until `release` is set, as a slow provider would hold the connection."""

    arrived: threading.Event
    release: threading.Event

    def _answer(self, request: Request) -> Reply:
        reply: Reply = super()._answer(request)  # type: ignore[misc]
        if request.method == "POST" and not self.arrived.is_set():
            self.arrived.set()
            self.release.wait(HANG_GUARD)
        return reply


class SlowButtondown(HoldsFirstSend, ButtondownFake):
    def __init__(self) -> None:
        super().__init__(SECRET)
        self.arrived, self.release = threading.Event(), threading.Event()


class SlowPostmark(HoldsFirstSend, PostmarkFake):
    def __init__(self) -> None:
        super().__init__(SECRET)
        self.arrived, self.release = threading.Event(), threading.Event()
