"""`kill -9` in the middle of a send, for every provider that sends to a list, then the next
runs (and `resolve` where the program cannot know), counting what each reader received: nobody
gets a post twice, and no post is silently lost.

The real CLI runs in a subprocess against loopback stand-ins that act on the request (the email
goes out) and then hold their answer until the test has killed the client, which is the worst
moment: the provider has it, the ledger cannot know. Buttondown's and Postmark's own cases,
with more detail on the ledger, are in test_delivery_safety.py.
"""

from __future__ import annotations

import json
import os
import signal
import threading
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.cli_harness import (
    HANG_GUARD,
    SECRET,
    FeedPost,
    Result,
    SlowPostmark,
    recent_posts,
    rss,
    run,
    start,
    write_config,
)
from tests.fakes.mailgun import MailgunFake
from tests.fakes.resend import ResendFake
from tests.fakes.server import Reply, Request

pytest.importorskip("aiosmtpd", reason="aiosmtpd is not installed: pip install -e '.[test]'")
from tests.smtp_servers import HoldsAnswer, serving

pytestmark = pytest.mark.slow

READERS = [f"reader{number}@example.net" for number in range(1, 5)]
DOMAIN = "mg.blog.example.org"
SEGMENT = "seg-harness-0001"


class HoldsOne:
    """Mixin for a vendor stand-in: the first request `holds` picks is acted on (the email
    goes out), then its answer is held until `release` is set."""

    arrived: threading.Event
    release: threading.Event
    holds: Callable[[Request], bool]

    def _answer(self, request: Request) -> Reply:
        reply: Reply = super()._answer(request)  # type: ignore[misc]
        if self.holds(request) and not self.arrived.is_set():
            self.arrived.set()
            self.release.wait(HANG_GUARD)
        return reply


class SlowMailgun(HoldsOne, MailgunFake):
    def __init__(self) -> None:
        super().__init__(SECRET, DOMAIN)
        self.arrived, self.release = threading.Event(), threading.Event()
        self.holds = lambda request: request.method == "POST"

    def received(self) -> Counter[str]:
        return Counter(
            value.rsplit("<", 1)[-1].rstrip(">").strip()
            for fields in self.messages
            for name, value in fields
            if name == "to"
        )


class SlowResend(HoldsOne, ResendFake):
    """Holds the answer to the request that sends the broadcast (the one that mails the
    segment), after acting on it."""

    def __init__(self) -> None:
        super().__init__(SECRET, segments={SEGMENT})
        self.arrived, self.release = threading.Event(), threading.Event()
        self.holds = lambda request: request.method == "POST" and request.path.endswith("/send")

    def sent_broadcasts(self) -> list[dict[str, Any]]:
        return [b for b in self.broadcasts.values() if b["status"] != "draft"]


def write_readers(folder: Path) -> None:
    lines = ["email,name", *(f"{address},Reader" for address in READERS)]
    (folder / "subscribers.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")


def blog(folder: Path, posts: list[FeedPost], provider: dict[str, Any]) -> None:
    (folder / "feed.xml").write_bytes(rss(posts))
    write_config(folder, feed="feed.xml", provider=provider)


def statuses(folder: Path) -> dict[str, str]:
    document = json.loads((folder / "state" / "ledger.json").read_text(encoding="utf-8"))
    (destination,) = document["destinations"].values()
    return {key: record["status"] for key, record in destination["posts"].items()}


def kill_while_held(folder: Path, arrived: threading.Event, release: threading.Event) -> None:
    child = start(folder, "send", secrets=SECRETS)
    try:
        assert arrived.wait(HANG_GUARD), "the send never reached the provider"
        os.kill(child.pid, signal.SIGKILL)
        assert child.wait(HANG_GUARD) == -signal.SIGKILL
    finally:
        release.set()
        if child.poll() is None:
            child.kill()
        child.communicate()


SECRETS = {
    "POSTMARK_SERVER_TOKEN": SECRET,
    "MAILGUN_API_KEY": SECRET,
    "RESEND_API_KEY": SECRET,
}


def settle_as_the_author_would(folder: Path, posts: list[FeedPost], refused: Result) -> None:
    """A provider without keys: the next run cannot know whether the list got the email. It
    either settled that from the provider's records (exit 0) or refused (exit 3) naming
    `newsletter resolve`; the provider did take it, so the author resolves it as sent."""
    if refused.code == 0:
        return
    assert refused.code == 3, refused.stderr
    assert "newsletter resolve" in refused.error_line
    for post in posts:
        settled = run(folder, "resolve", "--post", post.guid, "--as", "sent")
        assert settled.code == 0, settled.stderr


def test_killed_mid_send_mailgun_mails_nobody_twice(tmp_path: Path) -> None:
    posts = recent_posts(2)
    write_readers(tmp_path)
    with SlowMailgun() as fake:
        provider = {
            "name": "mailgun",
            "domain": DOMAIN,
            "base_url": fake.url,
            "subscribers": "subscribers.csv",
        }
        blog(tmp_path, posts, provider)
        kill_while_held(tmp_path, fake.arrived, fake.release)
        assert set(statuses(tmp_path).values()) == {"pending"}
        assert fake.received() == Counter(READERS)

        settle_as_the_author_would(tmp_path, posts, run(tmp_path, "send", secrets=SECRETS))
        after = run(tmp_path, "send", secrets=SECRETS)
        assert after.code == 0, after.stderr
        assert set(statuses(tmp_path).values()) == {"sent"}
        assert fake.received() == Counter(READERS), "a reader got the email twice"


def test_killed_mid_send_postmark_mails_nobody_twice(tmp_path: Path) -> None:
    posts = recent_posts(2)
    write_readers(tmp_path)
    with SlowPostmark() as fake:
        provider = {
            "name": "postmark",
            "base_url": fake.url,
            "message_stream": "broadcast",
            "subscribers": "subscribers.csv",
        }
        blog(tmp_path, posts, provider)
        kill_while_held(tmp_path, fake.arrived, fake.release)
        assert set(statuses(tmp_path).values()) == {"pending"}

        settle_as_the_author_would(tmp_path, posts, run(tmp_path, "send", secrets=SECRETS))
        after = run(tmp_path, "send", secrets=SECRETS)
        assert after.code == 0, after.stderr
        assert set(statuses(tmp_path).values()) == {"sent"}
        received = Counter(message["To"].rsplit("<", 1)[-1].rstrip(">") for message in fake.sent)
        assert received == Counter(READERS), "a reader got the email twice, or never"


def test_killed_mid_send_resend_sends_the_broadcast_once(tmp_path: Path) -> None:
    posts = recent_posts(2)
    with SlowResend() as fake:
        provider = {"name": "resend", "base_url": fake.url, "audience_id": SEGMENT}
        blog(tmp_path, posts, provider)
        kill_while_held(tmp_path, fake.arrived, fake.release)
        assert set(statuses(tmp_path).values()) == {"pending"}
        assert len(fake.sent_broadcasts()) == 1

        # Resend recognises the send by its key: the next run finishes it without a word.
        retry = run(tmp_path, "send", secrets=SECRETS)
        assert retry.code == 0, retry.stderr
        assert set(statuses(tmp_path).values()) == {"sent"}
        assert len(fake.sent_broadcasts()) == 1, "the segment was mailed twice"
        (broadcast,) = fake.sent_broadcasts()
        assert all(post.title in broadcast["html"] for post in posts), "a post was lost"

        again = run(tmp_path, "send", secrets=SECRETS)
        assert again.code == 0, again.stderr
        assert len(fake.sent_broadcasts()) == 1


def test_killed_mid_send_smtp_asks_only_about_the_message_in_doubt(tmp_path: Path) -> None:
    posts = recent_posts(1)
    write_readers(tmp_path)
    server = HoldsAnswer(which=2)
    with serving(server) as port:
        provider = {
            "name": "smtp",
            "host": "127.0.0.1",
            "port": port,
            "security": "none",
            "subscribers": "subscribers.csv",
        }
        blog(tmp_path, posts, provider)
        kill_while_held(tmp_path, server.arrived, server.release)
        assert server.received == Counter(READERS[:2])
        assert set(statuses(tmp_path).values()) == {"pending"}

        # The next run serves the readers not reached, then names only reader 2's message.
        carried = run(tmp_path, "send", secrets=SECRETS)
        assert carried.code == 3, carried.stderr
        assert READERS[1] in carried.error_line
        assert not any(address in carried.error_line for address in READERS[2:] + READERS[:1])
        assert server.received == Counter(READERS), "a reader got the email twice, or never"
        assert set(statuses(tmp_path).values()) == {"pending"}

        # The server's log shows it arrived; a new post meanwhile goes out in the same run.
        settled = run(tmp_path, "resolve", "--post", posts[0].guid, "--as", "sent")
        assert settled.code == 0, settled.stderr
        newer = recent_posts(1, first=2, days_ago=0.5)
        (tmp_path / "feed.xml").write_bytes(rss(newer + posts))
        after = run(tmp_path, "send", secrets=SECRETS)
        assert after.code == 0, after.stderr
        assert statuses(tmp_path) == {posts[0].guid: "sent", newer[0].guid: "sent"}
        assert server.received == Counter(dict.fromkeys(READERS, 2))
        assert not (tmp_path / "state" / "ledger.json.journal").exists()

        again = run(tmp_path, "send", secrets=SECRETS)
        assert again.code == 0, again.stderr
        assert server.received == Counter(dict.fromkeys(READERS, 2))
