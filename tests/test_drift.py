"""Posts already sent whose guid or permalink moved in the feed."""

from __future__ import annotations

from datetime import UTC, datetime

from newsletter.drift import Change, moved_posts
from newsletter.ledger import DestinationLedger, Status
from newsletter.models import Post

NOW = datetime(2026, 3, 10, 8, 0, tzinfo=UTC)


def post(guid: str, link: str, title: str = "Hello") -> Post:
    return Post(
        id=guid,
        link=link,
        title=title,
        author=None,
        published=NOW,
        updated=None,
        html="<p>x</p>",
    )


def ledger_with(*posts: Post, status: Status = Status.SENT) -> DestinationLedger:
    ledger = DestinationLedger("outbox")
    ledger.mark(list(posts), status, at=NOW)
    return ledger


def test_an_unchanged_feed_has_nothing_moved() -> None:
    sent = post("tag:blog,2026:1", "https://blog.example.org/2026/hello/")
    same = post("tag:blog,2026:1", "http://www.blog.example.org/2026/hello#top")
    assert moved_posts([same], ledger_with(sent)) == []


def test_a_moved_permalink_is_found_by_its_guid() -> None:
    sent = post("tag:blog,2026:1", "https://blog.example.org/2026/03/hello/")
    moved = post("tag:blog,2026:1", "https://blog.example.org/hello/")
    (found,) = moved_posts([moved], ledger_with(sent))
    assert found.change is Change.LINK
    assert "https://blog.example.org/2026/03/hello/" in found.describe()
    assert "https://blog.example.org/hello/" in found.describe()


def test_a_changed_guid_is_found_by_its_link() -> None:
    sent = post("https://blog.example.org/?p=1", "https://blog.example.org/hello/")
    changed = post("tag:blog,2026:hello", "https://blog.example.org/hello/")
    (found,) = moved_posts([changed], ledger_with(sent))
    assert found.change is Change.GUID
    assert "?p=1" in found.describe() and "tag:blog,2026:hello" in found.describe()


def test_both_changed_is_recognised_by_the_title_and_would_be_resent() -> None:
    sent = post("https://blog.example.org/2026/03/10/hello.html", "", title="Hello, world")
    sent = post(sent.id, sent.id, title="Hello, world")
    renamed = post(
        "https://blog.example.org/hello-world/",
        "https://blog.example.org/hello-world/",
        title="Hello,  World",
    )
    (found,) = moved_posts([renamed], ledger_with(sent))
    assert found.change is Change.BOTH
    assert "would send it again" in found.describe()


def test_a_new_post_sharing_a_title_with_one_still_in_the_feed_is_just_new() -> None:
    sent = post("1", "https://blog.example.org/weekly-notes-1/", title="Weekly notes")
    new = post("2", "https://blog.example.org/weekly-notes-2/", title="Weekly notes")
    assert moved_posts([sent, new], ledger_with(sent)) == []


def test_a_title_shared_by_several_sent_posts_proves_nothing() -> None:
    first = post("1", "https://blog.example.org/links-1/", title="Links")
    second = post("2", "https://blog.example.org/links-2/", title="Links")
    new = post("3", "https://blog.example.org/links-3/", title="Links")
    assert moved_posts([new], ledger_with(first, second)) == []


def test_baseline_posts_never_reached_readers_so_their_moves_do_not_matter() -> None:
    old = post("tag:blog,2020:1", "https://blog.example.org/2020/old/")
    moved = post("tag:blog,2020:1", "https://blog.example.org/old/")
    assert moved_posts([moved], ledger_with(old, status=Status.BASELINE)) == []
