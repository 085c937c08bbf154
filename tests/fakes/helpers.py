"""Small builders shared by the provider tests: a sample email, a config, a subscribers file."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path
from typing import Any

from newsletter.config import Config, parse_config
from newsletter.models import Email

SECRET = "sk-test-7f3a9c1e5b2d-DO-NOT-LEAK"


class SleepRecorder:
    """Stands in for time.sleep so retry tests are instant and can see each pause."""

    def __init__(self) -> None:
        self.pauses: list[float] = []

    def __call__(self, seconds: float) -> None:
        self.pauses.append(seconds)


def sample_email(**changes: Any) -> Email:
    fields: dict[str, Any] = {
        "subject": "Cutting at the break",
        "preheader": "Why excerpts matter",
        "html": "<!doctype html><html><body><p>Hello</p>"
        '<a href="UNSUB">Unsubscribe</a></body></html>',
        "text": "Hello\n\nUnsubscribe: UNSUB\n",
        "headers": {"Reply-To": "author@example.org"},
        "sender": "Example Blog <news@example.org>",
        "post_ids": ("https://example.org/a", "https://example.org/b"),
        "language": "en",
    }
    fields.update(changes)
    return Email(**fields)


def provider_config(tmp_path: Path, name: str, **options: Any) -> Config:
    path = tmp_path / "newsletter.toml"
    return parse_config(
        {
            "newsletter": {"from": "Example Blog <news@example.org>"},
            "provider": {"name": name, **options},
        },
        path=path,
    )


def write_subscribers(tmp_path: Path, addresses: list[str], name: str = "subscribers.csv") -> Path:
    path = tmp_path / name
    lines = ["email,name", *(f"{a},Reader {i}" for i, a in enumerate(addresses))]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


ONE_POST = "https://b.example.org/1/"


def write_one_post_feed(folder: Path, *, title: str = "Post 1") -> Path:
    """`feed.xml` with one post published two hours ago (guid `id-1`, link ONE_POST)."""
    published = format_datetime(datetime.now(UTC) - timedelta(hours=2))
    path = folder / "feed.xml"
    path.write_text(
        '<?xml version="1.0"?><rss version="2.0"><channel><title>B</title>'
        "<link>https://b.example.org/</link>"
        f"<item><title>{title}</title><link>{ONE_POST}</link><guid>id-1</guid>"
        f"<pubDate>{published}</pubDate><description>Body one.</description></item>"
        "</channel></rss>",
        encoding="utf-8",
    )
    return path


def eventually(condition: Callable[[], bool], *, within: float = 60.0) -> None:
    """Wait for a loopback stand-in to finish what it was doing (accepting a request whose
    answer the client stopped waiting for); fail if it does not within `within` seconds.
    Generous, since it returns as soon as the condition holds: on a loaded machine the
    stand-in took over ten seconds to take in a 1,000-recipient batch."""
    deadline = time.monotonic() + within
    while not condition():
        assert time.monotonic() < deadline, "the stand-in never finished"
        time.sleep(0.01)
