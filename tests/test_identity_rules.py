"""What a post is known by when a feed's ids or links are shared, and what an upgrade keeps.

Posts without a guid that share one link are told apart by their titles (a news page every
item links to); a guid that posts with different links and titles share is set aside for
their links (a template that copies the feed's own id into every entry); a link that
differs only by its fragment never makes two posts with guids one post. A ledger written by
the release before these rules still matches every post it counted as sent.
"""

from __future__ import annotations

import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from newsletter import feed
from newsletter.identity import identify
from newsletter.ledger import DestinationLedger, Ledger, Status
from newsletter.models import Post
from newsletter.plan import select_new

FIXTURES = Path(__file__).parent / "fixtures" / "ledger"
NOW = datetime(2026, 3, 20, 12, 0, tzinfo=UTC)


def rss(items: str) -> bytes:
    return (
        '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel>'
        "<title>News</title><link>https://project.example.org/</link>"
        f"{items}</channel></rss>"
    ).encode()


def item(title: str, day: int, *, link: str, guid: str | None = None) -> str:
    guid_element = f'<guid isPermaLink="false">{guid}</guid>' if guid else ""
    return (
        f"<item><title>{title}</title><link>{link}</link>{guid_element}"
        f"<pubDate>{day:02d} Mar 2026 09:00:00 +0000</pubDate>"
        f"<description>&lt;p&gt;{title}.&lt;/p&gt;</description></item>"
    )


def new_titles(posts: tuple[Post, ...], records: DestinationLedger) -> list[str]:
    selection = select_new(posts, records, now=NOW, first_run_days=30)
    return sorted(post.title for post in selection.new)


NEWS = "https://project.example.org/news.html"


def test_posts_without_guids_that_share_a_link_are_each_sent_once() -> None:
    first = feed.parse(
        rss(item("Release 2.0", 9, link=NEWS) + item("Release 1.9", 2, link=NEWS)),
        url="https://project.example.org/news.xml",
    )
    assert len({post.id for post in first.posts}) == 2
    records = DestinationLedger("outbox")
    assert new_titles(first.posts, records) == ["Release 1.9", "Release 2.0"]
    records.mark(first.posts, Status.SENT, at=NOW - timedelta(days=5))

    later = feed.parse(
        rss(item("Release 2.1", 18, link=NEWS) + item("Release 2.0", 9, link=NEWS)),
        url="https://project.example.org/news.xml",
    )
    assert new_titles(later.posts, records) == ["Release 2.1"]
    assert later.warnings == ()


def test_a_guid_that_every_entry_shares_tells_none_of_them_apart() -> None:
    shared = "urn:uuid:4a1d6f0e-feed-id"
    parsed = feed.parse(
        rss(
            item("Tea", 12, link="https://project.example.org/tea/", guid=shared)
            + item("Coffee", 10, link="https://project.example.org/coffee/", guid=shared)
            + item("Water", 8, link="https://project.example.org/water/", guid=shared)
        ),
        url="https://project.example.org/feed.xml",
    )
    assert [post.id for post in parsed.posts] == [
        "https://project.example.org/tea/",
        "https://project.example.org/coffee/",
        "https://project.example.org/water/",
    ]
    assert [post.guid for post in parsed.posts] == [shared] * 3
    (warning,) = parsed.warnings
    assert f"3 posts of the feed share the id {shared!r}" in warning
    # None is dropped as "appears twice"; each is sent once, then never again.
    records = DestinationLedger("outbox")
    assert new_titles(parsed.posts, records) == ["Coffee", "Tea", "Water"]
    records.mark(parsed.posts[1:], Status.SENT, at=NOW - timedelta(days=9))
    assert new_titles(parsed.posts, records) == ["Tea"]


def test_one_post_repeated_under_its_guid_still_appears_once() -> None:
    twice = item("Tea", 12, link="https://project.example.org/tea/", guid="tea")
    retitled = item("Tea, revised", 12, link="https://project.example.org/tea/", guid="tea")
    parsed = feed.parse(rss(twice + retitled), url="https://project.example.org/feed.xml")
    assert [post.id for post in parsed.posts] == ["tea", "tea"]
    selection = select_new(parsed.posts, DestinationLedger("o"), now=NOW, first_run_days=30)
    assert [skip.reason for skip in selection.skipped] == ["appears twice in the feed"]
    assert parsed.warnings == ()


def test_a_new_anchor_of_the_same_page_is_a_new_post() -> None:
    records = DestinationLedger("outbox")
    day_one = feed.parse(
        rss(item("Monday", 2, link="https://project.example.org/week#mon", guid="day-1")),
        url="https://project.example.org/feed.xml",
    )
    records.mark(day_one.posts, Status.SENT, at=NOW - timedelta(days=15))
    day_two = feed.parse(
        rss(item("Tuesday", 3, link="https://project.example.org/week#tue", guid="day-2")),
        url="https://project.example.org/feed.xml",
    )
    assert new_titles(day_two.posts, records) == ["Tuesday"]


# --- a ledger written by the release before these rules --------------------------------------


@pytest.fixture
def old_ledger(tmp_path: Path) -> Ledger:
    """`v2-before-issue-13.json` was written by the previous release's own `send`, on
    10 March 2026, from `mixed-identities-v1.xml`: it sent four posts and counted the two
    that repeated a shared id or link as sent with them."""
    path = tmp_path / "ledger.json"
    shutil.copyfile(FIXTURES / "v2-before-issue-13.json", path)
    return Ledger.read(path)


def parse_fixture(name: str) -> tuple[Post, ...]:
    return feed.parse((FIXTURES / name).read_bytes(), url="https://blog.example.org/feed").posts


def test_an_old_ledger_resends_nothing_it_counted_as_sent(old_ledger: Ledger) -> None:
    records = old_ledger.destination("outbox")
    assert new_titles(parse_fixture("mixed-identities-v1.xml"), records) == []


def test_an_old_ledger_lets_through_the_posts_it_used_to_swallow(old_ledger: Ledger) -> None:
    records = old_ledger.destination("outbox")
    # The previous release found each of these "already sent": the news item shared the
    # news page's link, the theme post the template's guid, the changelog entry the page.
    assert new_titles(parse_fixture("mixed-identities-v2.xml"), records) == [
        "Changelog v2",
        "High contrast",
        "News: version 1.2",
    ]


# --- properties --------------------------------------------------------------------------------

RECORDED = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)
GUIDS = st.sampled_from(["", "", "g1", "g2", "shared"])
LINKS = st.sampled_from(
    [
        "https://x.example/a",
        "https://x.example/a#one",
        "https://x.example/a#two",
        "http://www.x.example/a/",
        "https://x.example/b",
        "",
    ]
)
TITLES = st.sampled_from(["One", "Two", "Three", "one"])


@st.composite
def raw_posts(draw: st.DrawFn, *, published_before: datetime = RECORDED) -> Post:
    """A post as the feed reader builds it: its id is the guid, else the link, else the
    title."""
    guid, link, title = draw(GUIDS), draw(LINKS), draw(TITLES)
    days = draw(st.integers(min_value=0, max_value=20))
    return Post(
        id=guid or link or title,
        link=link,
        title=title,
        author=None,
        published=published_before - timedelta(days=days, hours=1),
        updated=None,
        html="<p>Body.</p>",
        guid=guid,
    )


FEEDS = st.lists(raw_posts(), min_size=1, max_size=8)


@pytest.mark.slow
@settings(max_examples=200, deadline=None)
@given(FEEDS)
def test_identifying_twice_changes_nothing(posts: list[Post]) -> None:
    once, warnings = identify(posts)
    assert identify(once) == (once, warnings)


@pytest.mark.slow
@settings(max_examples=200, deadline=None)
@given(FEEDS)
def test_posts_share_a_key_only_when_they_repeat_one_post(posts: list[Post]) -> None:
    identified, _ = identify(posts)
    by_key: dict[str, list[Post]] = {}
    for post in identified:
        by_key.setdefault(post.id, []).append(post)
    for group in by_key.values():
        for one in group[1:]:
            # One post repeated: the same link or the same title under one guid.
            same_link = one.link == group[0].link
            same_title = one.title.casefold() == group[0].title.casefold()
            assert same_link or same_title, group


@pytest.mark.slow
@settings(max_examples=200, deadline=None)
@given(FEEDS)
def test_every_post_once_sent_is_recognised_on_the_next_run(posts: list[Post]) -> None:
    identified, _ = identify(posts)
    records = DestinationLedger("outbox")
    records.mark([post for post in identified if post.id], Status.SENT, at=RECORDED)
    for post in identified:
        if post.id:
            assert records.match(post) is not None, post


@pytest.mark.slow
@settings(max_examples=300, deadline=None)
@given(FEEDS, st.lists(raw_posts(published_before=NOW), max_size=3))
def test_an_upgrade_resends_nothing_the_previous_release_counted_as_sent(
    posts: list[Post], later: list[Post]
) -> None:
    # The previous release recorded each post under its raw id, the first of each id only
    # (the rest "appeared twice"), and so counted every post of the feed as handled.
    records = DestinationLedger("outbox")
    seen: set[str] = set()
    for post in posts:
        if post.id not in seen:
            records.mark([Post(**{**post.__dict__, "guid": None})], Status.SENT, at=RECORDED)
            seen.add(post.id)
    identified, _ = identify([*later, *posts])
    for post in identified[len(later) :]:
        assert records.match(post) is not None, post
