"""Conditional GET never hides a post: the ETag and Last-Modified belong to a feed and a
destination, and a run that leaves a post for later (dated ahead, or beyond max_posts)
keeps none, so the next run reads the feed whole and finds it."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

import httpx

from newsletter import pipeline
from newsletter.config import Config, parse_config
from newsletter.ledger import Ledger
from newsletter.models import Validators
from newsletter.pipeline import SendOptions
from newsletter.providers.base import Traits, Unsubscribe
from tests.test_pipeline import NOW, RecordingProvider, feeds_of, quiet, rss

URL = "https://b.example.org/feed.xml"


class ConditionalBlog:
    """A blog server that answers 304 to the ETag of the feed it serves now."""

    def __init__(self, body: str) -> None:
        self.body = body
        self.requests: list[httpx.Request] = []

    @property
    def etag(self) -> str:
        return f'"v{abs(hash(self.body)) % 10_000}"'

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        if request.headers.get("if-none-match") == self.etag:
            return httpx.Response(304)
        return httpx.Response(200, content=self.body.encode(), headers={"ETag": self.etag})

    @property
    def transport(self) -> httpx.MockTransport:
        return httpx.MockTransport(self)


def config_for(folder: Path) -> Config:
    return parse_config(
        {"feed": {"url": URL}, "newsletter": {"from": "B <n@b.example.org>"}},
        path=folder / "newsletter.toml",
    )


def provider_for(destination: str) -> RecordingProvider:
    return RecordingProvider(
        Traits(destination, destination, Unsubscribe("{{ unsubscribe_url }}"), idempotent=False)
    )


def send(
    folder: Path, blog: ConditionalBlog, provider: RecordingProvider, at: datetime = NOW
) -> pipeline.Report:
    return pipeline.send(
        config_for(folder),
        SendOptions(),
        {},
        quiet,
        provider=provider,
        transport=blog.transport,
        now=lambda: at,
    )


def test_a_destination_that_never_ran_reads_the_feed_whole(tmp_path: Path) -> None:
    blog = ConditionalBlog(rss((1, timedelta(hours=2))))
    trial = provider_for("outbox")
    send(tmp_path, blog, trial)
    assert feeds_of(tmp_path, "outbox") == {URL: {"etag": blog.etag}}

    real = provider_for("buttondown")
    report = send(tmp_path, blog, real)
    assert "if-none-match" not in blog.requests[-1].headers
    assert report.outcome.startswith("Sent 1 post(s)")
    assert [email.post_ids for email, _ in real.sent] == [("id-1",)]
    assert feeds_of(tmp_path, "buttondown") == {URL: {"etag": blog.etag}}

    # Each destination now asks with its own ETag and gets its 304.
    assert send(tmp_path, blog, real).outcome.startswith("The feed has not changed")
    assert blog.requests[-1].headers["if-none-match"] == blog.etag


def test_a_post_dated_ahead_is_sent_once_its_time_comes_though_the_feed_is_unchanged(
    tmp_path: Path,
) -> None:
    # Dated a minute ahead: Hugo's buildFuture, or a zone-less date east of UTC.
    blog = ConditionalBlog(rss((1, timedelta(hours=3)), (2, -timedelta(minutes=1))))
    provider = provider_for("buttondown")
    first = send(tmp_path, blog, provider)
    assert [email.post_ids for email, _ in provider.sent] == [("id-1",)]
    assert first.plan is not None and first.plan.holds_back
    assert feeds_of(tmp_path, "buttondown") == {}

    later = send(tmp_path, blog, provider, at=NOW + timedelta(minutes=5))
    assert "if-none-match" not in blog.requests[-1].headers
    assert later.outcome.startswith("Sent 1 post(s)")
    assert [email.post_ids for email, _ in provider.sent] == [("id-1",), ("id-2",)]
    assert feeds_of(tmp_path, "buttondown") == {URL: {"etag": blog.etag}}


def test_a_run_with_nothing_to_send_but_a_post_dated_ahead_forgets_older_validators(
    tmp_path: Path,
) -> None:
    blog = ConditionalBlog(rss((1, timedelta(hours=3))))
    provider = provider_for("buttondown")
    send(tmp_path, blog, provider)
    assert feeds_of(tmp_path, "buttondown") == {URL: {"etag": blog.etag}}

    blog.body = rss((1, timedelta(hours=3)), (2, -timedelta(minutes=1)))
    quiet_run = send(tmp_path, blog, provider)
    assert quiet_run.outcome == "Nothing new to send."
    # Forgotten, not merely left as they were: a server whose ETag does not change with the
    # content (or a weak one) must not answer 304 next time either.
    assert feeds_of(tmp_path, "buttondown") == {}

    send(tmp_path, blog, provider, at=NOW + timedelta(minutes=5))
    assert [email.post_ids for email, _ in provider.sent] == [("id-1",), ("id-2",)]


def test_validators_are_not_shared_between_destinations_in_the_file(tmp_path: Path) -> None:
    ledger = Ledger.read(tmp_path / "ledger.json")
    ledger.destination("outbox").remember_validators(URL, Validators('"a"'))
    ledger.save()
    again = Ledger.read(tmp_path / "ledger.json")
    assert again.destination("outbox").validators(URL) == Validators('"a"')
    assert again.destination("buttondown").validators(URL) == Validators()
