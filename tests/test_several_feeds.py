"""Several feeds in one newsletter (`[[feed]]` tables): one digest grouped by feed, each post
once, each feed with its own first run, flood limit, filters and conditional GET; `--feed`
for a one-feed run; `check` and `status` name each post's feed; a feed that cannot be read
stops the run by name before anything is sent."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from newsletter import pipeline
from newsletter.config import Config, parse_config
from newsletter.errors import ConfigError, FeedError, SafetyRefusal
from newsletter.ledger import Ledger, Status
from newsletter.pipeline import SendOptions
from newsletter.providers.base import Traits, Unsubscribe
from newsletter.report import plan_lines
from newsletter.status import status_lines
from tests.post_helpers import make_post
from tests.test_pipeline import RecordingProvider, quiet

NOW = datetime(2026, 11, 26, 9, 0, tzinfo=UTC)
BLOG = "https://blog.example.org/feed.xml"
PODCAST = "https://radio.example.org/podcast.rss"


@dataclass(frozen=True)
class Item:
    guid: str
    title: str
    age: timedelta
    link: str = ""
    categories: tuple[str, ...] = ()


def rss(title: str, home: str, *items: Item) -> str:
    body = "".join(
        f"<item><title>{item.title}</title><link>{item.link or home + item.guid + '/'}</link>"
        f'<guid isPermaLink="false">{item.guid}</guid>'
        f"<pubDate>{format_datetime(NOW - item.age)}</pubDate>"
        + "".join(f"<category>{name}</category>" for name in item.categories)
        + f"<description><![CDATA[<p>{item.title}, in words.</p>]]></description></item>"
        for item in items
    )
    return (
        f'<?xml version="1.0"?><rss version="2.0"><channel><title>{title}</title>'
        f"<link>{home}</link>{body}</channel></rss>"
    )


@dataclass
class Blogs:
    """Two blogs on loopback-free stand-ins: each answers 304 to its current ETag."""

    bodies: dict[str, str] = field(default_factory=dict)
    requests: list[httpx.Request] = field(default_factory=list)
    broken: set[str] = field(default_factory=set)

    def etag(self, url: str) -> str:
        return f'"{abs(hash(self.bodies[url])) % 100_000}"'

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        url = str(request.url)
        if url in self.broken:
            return httpx.Response(404)
        if request.headers.get("if-none-match") == self.etag(url):
            return httpx.Response(304)
        return httpx.Response(
            200, content=self.bodies[url].encode(), headers={"ETag": self.etag(url)}
        )

    def asked(self, url: str) -> list[httpx.Request]:
        return [request for request in self.requests if str(request.url) == url]


@pytest.fixture
def blogs() -> Blogs:
    found = Blogs()
    found.bodies[BLOG] = rss(
        "Garden Notes",
        "https://blog.example.org/",
        Item("g-1", "Tomatoes", timedelta(days=1), categories=("Vegetables",)),
        Item("g-2", "Compost", timedelta(days=3)),
        Item("g-3", "Sponsored seeds", timedelta(days=2), categories=("sponsored",)),
    )
    found.bodies[PODCAST] = rss(
        "Kitchen Radio",
        "https://radio.example.org/",
        Item("r-1", "Episode 9", timedelta(days=2)),
        Item("r-2", "Episode 8", timedelta(days=4)),
    )
    return found


def config_of(folder: Path, *feeds: dict[str, Any], **newsletter: Any) -> Config:
    return parse_config(
        {
            "feed": list(feeds),
            "newsletter": {"from": "Garden <news@blog.example.org>", **newsletter},
        },
        path=folder / "newsletter.toml",
    )


def two_feeds(folder: Path, **newsletter: Any) -> Config:
    return config_of(
        folder,
        {"url": BLOG, "exclude_categories": ["no-newsletter", "sponsored"]},
        {"url": PODCAST, "label": "Podcast"},
        **newsletter,
    )


def provider() -> RecordingProvider:
    return RecordingProvider(
        Traits("fake", "fake:list", Unsubscribe("{{ unsubscribe_url }}"), idempotent=False)
    )


def send(
    config: Config, sink: RecordingProvider, blogs: Blogs, at: datetime = NOW, **options: Any
) -> pipeline.Report:
    return pipeline.send(
        config,
        SendOptions(**options),
        {},
        quiet,
        provider=sink,
        transport=httpx.MockTransport(blogs),
        now=lambda: at,
    )


def of(feed: str, *ids: str) -> list[str]:
    """How an email of several feeds names its posts: each id with its feed."""
    return [f"{post_id} ({feed})" for post_id in ids]


def records(folder: Path) -> dict[str, dict[str, Any]]:
    ledger = json.loads((folder / "state" / "ledger.json").read_text(encoding="utf-8"))
    posts: dict[str, dict[str, Any]] = ledger["destinations"]["fake:list"]["posts"]
    return posts


# --- configuration -----------------------------------------------------------------------------


def test_feed_tables_are_read_in_order_and_named_in_errors(tmp_path: Path) -> None:
    config = two_feeds(tmp_path)
    assert config.several_feeds
    assert [feed.url for feed in config.all_feeds] == [BLOG, PODCAST]
    assert config.feed.url == BLOG
    assert config.all_feeds[1].label == "Podcast"
    with pytest.raises(ConfigError, match=r"feed\[2\]\.labl"):
        config_of(tmp_path, {"url": BLOG}, {"url": PODCAST, "labl": "x"})
    with pytest.raises(ConfigError, match=r"feed\[2\]\.url .* repeats feed\[1\]"):
        config_of(tmp_path, {"url": BLOG}, {"url": BLOG})
    with pytest.raises(ConfigError, match=r"feed\[2\] .* has no url"):
        config_of(tmp_path, {"url": BLOG}, {"label": "x"})
    single = parse_config({"feed": {"url": BLOG}})
    assert not single.several_feeds and single.all_feeds == (single.feed,)


# --- one digest --------------------------------------------------------------------------------


def test_one_digest_groups_the_posts_under_each_feeds_label_newest_first(
    tmp_path: Path, blogs: Blogs
) -> None:
    sink = provider()
    report = send(two_feeds(tmp_path, first_run_days=30), sink, blogs)
    ((email, _key),) = sink.sent
    assert sorted(email.post_ids) == sorted(of(BLOG, "g-1", "g-2") + of(PODCAST, "r-1", "r-2"))
    text = email.text
    # The blog's group has no label of its own: its feed's title; then the podcast's label.
    start = text.index("Garden Notes\n------------")
    middle = text.index("Podcast\n-------")
    garden, podcast = text[start:middle], text[middle:]
    assert garden.index("Tomatoes") < garden.index("Compost")
    assert podcast.index("Episode 9") < podcast.index("Episode 8")
    assert "Episode" not in garden and "Tomatoes" not in podcast
    assert "Sponsored seeds" not in text  # the blog's own filter
    assert ">Podcast</a></h2>" in email.html
    assert report.plan is not None
    assert {skip.post.title for skip in report.plan.filtered} == {"Sponsored seeds"}


def test_a_post_two_feeds_carry_goes_out_once(tmp_path: Path, blogs: Blogs) -> None:
    shared = Item("shared", "Both feeds", timedelta(days=1), link="https://blog.example.org/both/")
    blogs.bodies[PODCAST] = rss("Kitchen Radio", "https://radio.example.org/", shared)
    blogs.bodies[BLOG] = rss("Garden Notes", "https://blog.example.org/", shared)
    sink = provider()
    report = send(two_feeds(tmp_path, mode="per-post"), sink, blogs)
    assert [email.post_ids for email, _ in sink.sent] == [tuple(of(BLOG, "shared"))]
    assert report.plan is not None
    (twice,) = [skip for skip in report.plan.skipped if "also in the feed" in skip.reason]
    assert twice.reason == "also in the feed 'Garden Notes', sent from there"
    assert send(two_feeds(tmp_path, mode="per-post"), sink, blogs).plan is not None
    assert len(sink.sent) == 1


def test_max_posts_is_shared_and_a_waiting_feed_keeps_no_validators(
    tmp_path: Path, blogs: Blogs
) -> None:
    sink = provider()
    config = two_feeds(tmp_path, first_run_days=30, max_posts=3)
    send(config, sink, blogs)
    # Oldest first across feeds: Episode 8 (4 days), Compost (3), Episode 9 (2); Tomatoes waits.
    assert sorted(sink.sent[0][0].post_ids) == sorted(of(BLOG, "g-2") + of(PODCAST, "r-1", "r-2"))
    ledger = json.loads((tmp_path / "state" / "ledger.json").read_text(encoding="utf-8"))
    feeds = ledger["destinations"]["fake:list"]["feeds"]
    assert list(feeds) == [PODCAST]  # the blog's post waits, so its ETag is not kept
    send(config, sink, blogs)
    assert blogs.asked(PODCAST)[-1].headers["if-none-match"] == blogs.etag(PODCAST)
    assert "if-none-match" not in blogs.asked(BLOG)[-1].headers
    assert sink.sent[1][0].post_ids == tuple(of(BLOG, "g-1"))


def test_records_say_which_feed_and_status_and_check_name_it(tmp_path: Path, blogs: Blogs) -> None:
    sink = provider()
    config = two_feeds(tmp_path, first_run_days=30)
    send(config, sink, blogs)
    saved = records(tmp_path)
    assert saved["r-1"]["feed"] == PODCAST and saved["g-1"]["feed"] == BLOG
    assert saved["g-3"]["status"] == "skipped" and saved["g-3"]["feed"] == BLOG
    lines = "\n".join(status_lines(pipeline.status(config)))
    assert "sent     [Podcast] Episode 9" in lines
    assert f"sent     [{BLOG}] Tomatoes" in lines  # no label: its address

    blogs.bodies[PODCAST] = blogs.bodies[PODCAST].replace(
        "<item>",
        "<item><title>Episode 10</title><guid>r-3</guid>"
        f"<pubDate>{format_datetime(NOW)}</pubDate><description>New.</description></item><item>",
        1,
    )
    check = pipeline.check(
        config, SendOptions(), {}, quiet, transport=httpx.MockTransport(blogs), now=lambda: NOW
    )
    assert check.plan is not None
    text = "\n".join(plan_lines(check.plan))
    assert "2 feeds → outbox" in text
    assert "  + 2026-11-26  [Podcast] Episode 10" in text
    assert "[Garden Notes] Tomatoes" in text


# --- each feed by its own rules ----------------------------------------------------------------


def test_a_feed_added_later_has_its_own_first_run(tmp_path: Path, blogs: Blogs) -> None:
    # A newsletter of one feed ran before (its records name no feed) ...
    ledger = Ledger.read(tmp_path / "state" / "ledger.json")
    earlier = [make_post(90, days_ago=20)]
    ledger.destination("fake:list").mark(earlier, Status.SENT, at=NOW - timedelta(days=20))
    ledger.save()
    # ... and now gathers a podcast too: only the podcast's last week is new; its older
    # episodes are recorded as baseline, while the blog, not on its first run, sends all.
    blogs.bodies[PODCAST] = rss(
        "Kitchen Radio",
        "https://radio.example.org/",
        Item("r-1", "Episode 9", timedelta(days=2)),
        Item("r-old", "Episode 1", timedelta(days=300)),
    )
    blogs.bodies[BLOG] = rss(
        "Garden Notes",
        "https://blog.example.org/",
        Item("g-old", "Old but new", timedelta(days=40)),
    )
    sink = provider()
    report = send(two_feeds(tmp_path), sink, blogs)
    assert sorted(sink.sent[0][0].post_ids) == of(BLOG, "g-old") + of(PODCAST, "r-1")
    assert records(tmp_path)["r-old"]["status"] == "baseline"
    assert report.plan is not None and report.plan.first_run


def test_a_flood_in_one_feed_stops_the_run_naming_it(tmp_path: Path, blogs: Blogs) -> None:
    items = [Item(f"r-{n}", f"Episode {n}", timedelta(hours=n)) for n in range(1, 13)]
    blogs.bodies[PODCAST] = rss("Kitchen Radio", "https://radio.example.org/", *items)
    sink = provider()
    with pytest.raises(SafetyRefusal, match=r"^In the feed 'Podcast' \(https://radio"):
        send(two_feeds(tmp_path), sink, blogs)
    assert sink.sent == []
    assert not (tmp_path / "state" / "ledger.json").exists() or records(tmp_path) == {}


def test_a_feed_that_cannot_be_read_stops_the_run_before_anything_is_sent(
    tmp_path: Path, blogs: Blogs
) -> None:
    blogs.broken.add(PODCAST)
    sink = provider()
    with pytest.raises(FeedError) as failure:
        send(two_feeds(tmp_path), sink, blogs)
    assert failure.value.message.startswith(
        f"The feed 'Podcast' ({PODCAST}) could not be read, so nothing was sent: "
    )
    assert sink.sent == []
    path = tmp_path / "state" / "ledger.json"
    assert not path.exists()


def test_feed_picks_one_feed_for_a_run(tmp_path: Path, blogs: Blogs) -> None:
    sink = provider()
    config = two_feeds(tmp_path, first_run_days=30)
    send(config, sink, blogs, feed="Podcast")
    assert sorted(sink.sent[0][0].post_ids) == of(PODCAST, "r-1", "r-2")
    assert blogs.asked(BLOG) == []
    send(config, sink, blogs, feed=BLOG)
    assert sorted(sink.sent[1][0].post_ids) == of(BLOG, "g-1", "g-2")
    with pytest.raises(ConfigError, match="--feed nowhere is none of the feeds"):
        send(config, sink, blogs, feed="nowhere")


def test_the_language_is_the_first_feed_that_names_one(tmp_path: Path, blogs: Blogs) -> None:
    # The blog names no language; the podcast, listed second, is German: so is the email.
    blogs.bodies[PODCAST] = blogs.bodies[PODCAST].replace(
        "<channel>", "<channel><language>de-DE</language>", 1
    )
    sink = provider()
    send(two_feeds(tmp_path, first_run_days=30), sink, blogs)
    ((email, _key),) = sink.sent
    assert email.language == "de-DE"
    assert 'lang="de-DE"' in email.html
    # Both feeds naming one: the first table's wins.
    blogs.bodies[BLOG] = blogs.bodies[BLOG].replace(
        "<channel>", "<channel><language>fr</language>", 1
    )
    other = tmp_path / "again"
    other.mkdir()
    send(two_feeds(other, first_run_days=30), sink, blogs)
    assert sink.sent[1][0].language == "fr"
