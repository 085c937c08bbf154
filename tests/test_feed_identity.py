"""Each feed keeps its own identities: two blogs may both call a post `42` (a bare number, a
slug), so an id names a record of the same feed only, while a link names a post whichever
feed carries it, so a post two feeds carry still goes out once."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from newsletter.errors import ConfigError, ProviderError
from newsletter.ledger import DestinationLedger, Ledger, Status
from newsletter.models import Email, Post
from newsletter.providers.base import Traits, Unsubscribe
from newsletter.review.issue import dump_issue, load_issue, review_from
from tests.post_helpers import make_post
from tests.test_pipeline import RecordingProvider
from tests.test_several_feeds import (
    BLOG,
    NOW,
    PODCAST,
    Blogs,
    Item,
    config_of,
    provider,
    records,
    rss,
    send,
    two_feeds,
)
from tests.test_several_feeds import (
    blogs as blogs,  # the fixture
)


def number_42s(blogs: Blogs) -> None:
    """Both feeds number their posts, and both have a post 42 this week."""
    blogs.bodies[BLOG] = rss(
        "Garden Notes", "https://blog.example.org/", Item("42", "Tomatoes", timedelta(days=1))
    )
    blogs.bodies[PODCAST] = rss(
        "Kitchen Radio", "https://radio.example.org/", Item("42", "Episode 42", timedelta(days=2))
    )


def sent_before(folder: Path, post: Post) -> None:
    """The ledger of a newsletter that had one feed: `post` went out an hour ago."""
    ledger = Ledger.read(folder / "state" / "ledger.json")
    ledger.destination("fake:list").mark([post], Status.SENT, at=NOW - timedelta(hours=1))
    ledger.save()


def interrupting_provider() -> RecordingProvider:
    """An idempotent provider whose next send is interrupted after it may have gone out."""
    return RecordingProvider(
        Traits("fake", "fake:list", Unsubscribe("{{ unsubscribe_url }}"), idempotent=True),
        fail_with=ProviderError("the connection dropped", maybe_sent=True),
    )


def test_two_feeds_may_give_different_posts_the_same_bare_id(tmp_path: Path, blogs: Blogs) -> None:
    number_42s(blogs)
    sink = provider()
    report = send(two_feeds(tmp_path), sink, blogs)
    ((email, _key),) = sink.sent
    assert email.post_ids == (f"42 ({BLOG})", f"42 ({PODCAST})")
    assert "Tomatoes" in email.html and "Episode 42" in email.html
    assert report.plan is not None
    assert not [skip for skip in report.plan.skipped if "also in the feed" in skip.reason]

    saved = records(tmp_path)
    assert saved[f"42 ({BLOG})"] == {**saved[f"42 ({BLOG})"], "id": "42", "feed": BLOG}
    assert saved[f"42 ({PODCAST})"]["title"] == "Episode 42"
    ledger = json.loads((tmp_path / "state" / "ledger.json").read_text(encoding="utf-8"))
    assert ledger["version"] == 3  # a release that cannot tell them apart must not read it

    # Read back, each is its own feed's post 42: nothing is new.
    send(two_feeds(tmp_path), sink, blogs)
    assert len(sink.sent) == 1
    # One feed's post 42 being replaced by another leaves the other feed's record alone.
    blogs.bodies[PODCAST] = rss(
        "Kitchen Radio",
        "https://radio.example.org/",
        Item("42", "Episode 42", timedelta(days=2)),
        Item("43", "Episode 43", timedelta(hours=1)),
    )
    send(two_feeds(tmp_path), sink, blogs)
    assert sink.sent[1][0].post_ids == (f"43 ({PODCAST})",)


def test_records_from_the_one_feed_days_belong_to_the_first_feed_only(
    tmp_path: Path, blogs: Blogs
) -> None:
    # The newsletter had one feed; its post 42 went out (the record names no feed) ...
    sent_before(tmp_path, make_post(1, id="42", link="https://blog.example.org/42/", days_ago=1))
    # ... and now a podcast that numbers its episodes too is added: its 42 is another post.
    number_42s(blogs)
    sink = provider()
    send(two_feeds(tmp_path), sink, blogs)
    ((email, _key),) = sink.sent
    assert email.post_ids == (f"42 ({PODCAST})",)
    assert "Episode 42" in email.html and "Tomatoes" not in email.html
    saved = records(tmp_path)
    assert saved["42"]["title"] == "Post 1" and "feed" not in saved["42"]
    assert saved[f"42 ({PODCAST})"]["feed"] == PODCAST


def test_a_post_two_feeds_carry_under_different_ids_goes_out_once(
    tmp_path: Path, blogs: Blogs
) -> None:
    # A category feed on another host gives the same post its own guid: the link decides.
    link = "https://blog.example.org/2026/both/"
    blogs.bodies[BLOG] = rss(
        "Garden Notes", "https://blog.example.org/", Item("g-9", "Both", timedelta(days=1), link)
    )
    blogs.bodies[PODCAST] = rss(
        "Kitchen Radio", "https://radio.example.org/", Item("9", "Both", timedelta(days=1), link)
    )
    sink = provider()
    send(two_feeds(tmp_path), sink, blogs)
    assert [email.post_ids for email, _ in sink.sent] == [(f"g-9 ({BLOG})",)]
    send(two_feeds(tmp_path), sink, blogs)
    assert len(sink.sent) == 1


def test_marking_the_first_feeds_post_keeps_one_record_for_it() -> None:
    # A post left pending while the newsletter had one feed is settled by a run of several:
    # its record moves to the first feed, it does not gain a second one.
    destination = DestinationLedger("outbox", feeds=(BLOG, PODCAST))
    alone = make_post(1, id="42", link="https://blog.example.org/1/")
    destination.mark([alone], Status.PENDING, at=NOW, idempotency_key="k")
    gathered = replace(alone, feed_url=BLOG)
    assert destination.match(gathered) is not None
    destination.mark([gathered], Status.SENT, at=NOW)
    (record,) = destination.records()
    assert (record.id, record.feed, record.status) == ("42", BLOG, Status.SENT)
    assert destination.pending() == ()


def test_an_id_alone_names_its_own_feeds_record_and_with_the_title_any_other() -> None:
    destination = DestinationLedger("outbox", feeds=(BLOG, PODCAST))
    blog_post = replace(make_post(1, id="42", link="https://blog.example.org/1/"), feed_url=BLOG)
    destination.mark([blog_post], Status.SENT, at=NOW)
    retitled = replace(blog_post, title="Post 1, edited", link="https://blog.example.org/new/")
    assert destination.match(retitled) is not None  # its own feed's: the id is enough
    other = replace(make_post(2, id="42", link="https://radio.example.org/2/"), feed_url=PODCAST)
    assert destination.match(other) is None  # another feed's post 42
    assert destination.match(replace(other, link=blog_post.link)) is not None  # a link reaches
    # Another feed's post 42 of the same title is still another post while both are read.
    assert destination.match(replace(other, title=blog_post.title)) is None
    # The blog's feed moved (a moved blog keeps guids and titles): its records are history,
    # which the id names where the title agrees too.
    new_address = "https://new.example.org/feed/"
    after_move = DestinationLedger("outbox", destination.records(), feeds=(new_address, PODCAST))
    moved = replace(blog_post, feed_url=new_address, link="https://n/1/")
    assert after_move.match(moved) is not None
    assert after_move.match(replace(moved, title="Another post")) is None
    # Back to one feed: the other feed's record is named only where the title agrees too.
    alone = DestinationLedger("outbox", destination.records())
    assert alone.match(replace(other, feed_url="")) is None
    assert alone.match(replace(moved, feed_url="")) is not None


def test_two_feeds_posts_of_the_same_id_and_title_keep_a_record_each(
    tmp_path: Path, blogs: Blogs
) -> None:
    # Both feeds have a post 42 called "Weekly links": two posts, two records, sent once each.
    blogs.bodies[BLOG] = rss(
        "Garden Notes", "https://blog.example.org/", Item("42", "Weekly links", timedelta(days=1))
    )
    blogs.bodies[PODCAST] = rss(
        "Kitchen Radio", "https://radio.example.org/", Item("42", "Weekly links", timedelta(days=2))
    )
    sink = provider()
    send(two_feeds(tmp_path), sink, blogs)
    assert sink.sent[0][0].post_ids == (f"42 ({BLOG})", f"42 ({PODCAST})")
    assert sorted(records(tmp_path)) == [f"42 ({BLOG})", f"42 ({PODCAST})"]
    # The blog corrects its title: still its own post 42, nothing new.
    blogs.bodies[BLOG] = blogs.bodies[BLOG].replace("Weekly links", "Weekly links, corrected")
    send(two_feeds(tmp_path), sink, blogs)
    assert len(sink.sent) == 1


def test_resolving_an_id_two_feeds_left_pending_asks_for_the_link() -> None:
    destination = DestinationLedger("outbox", feeds=(BLOG, PODCAST))
    blog_post = replace(make_post(1, id="42", link="https://blog.example.org/1/"), feed_url=BLOG)
    episode = replace(make_post(2, id="42", link="https://radio.example.org/2/"), feed_url=PODCAST)
    destination.mark([blog_post, episode], Status.PENDING, at=NOW, idempotency_key="k")
    with pytest.raises(ConfigError, match="Several feeds have a pending post with the id '42'"):
        destination.resolve("42", True, at=NOW)
    settled = destination.resolve(episode.link, True, at=NOW)
    assert (settled.record.feed, settled.record.status) == (PODCAST, Status.SENT)
    assert [record.feed for record in destination.pending()] == [BLOG]
    # Once only one of them is pending, its id is enough.
    assert destination.resolve("42", False, at=NOW).record.feed == BLOG


def test_the_ledger_file_keeps_shared_ids_apart_and_reads_them_back(tmp_path: Path) -> None:
    path = tmp_path / "ledger.json"
    ledger = Ledger.read(path, feeds=(BLOG, PODCAST))
    alone = make_post(1, id="42", link="https://blog.example.org/1/")
    episode = replace(make_post(2, id="42", link="https://radio.example.org/2/"), feed_url=PODCAST)
    ledger.destination("outbox").mark([alone, episode], Status.SENT, at=NOW)
    ledger.save()
    posts = json.loads(path.read_text(encoding="utf-8"))["destinations"]["outbox"]["posts"]
    assert sorted(posts) == ["42", f"42 ({PODCAST})"]
    assert "id" not in posts["42"] and posts[f"42 ({PODCAST})"]["id"] == "42"
    again = Ledger.read(path, feeds=(BLOG, PODCAST)).destination("outbox")
    assert [(record.id, record.feed) for record in again.records()] == [
        ("42", None),
        ("42", PODCAST),
    ]
    assert again.match(replace(alone, feed_url=BLOG, link="https://elsewhere/")) is not None
    found = again.match(replace(episode, link="https://elsewhere/"))
    assert found is not None and found.feed == PODCAST


def test_a_review_file_keeps_each_posts_feed_and_older_files_their_digest() -> None:
    email = Email(
        subject="S",
        preheader="",
        sender="a@example.org",
        language="en",
        post_ids=("42",),
        headers={},
        html="<p>x</p>",
        text="x",
    )
    episode = replace(make_post(2, id="42", link="https://radio.example.org/2/"), feed_url=PODCAST)
    plain = make_post(1, id="41", link="https://blog.example.org/1/")
    issue = review_from(
        destination="outbox",
        posts=[episode, plain],
        emails=[email],
        slot=None,
        slot_starts=None,
        created_at=datetime(2026, 11, 30, tzinfo=UTC),
    )
    data = dump_issue(issue)
    document = json.loads(data)
    assert document["posts"][0]["feed"] == PODCAST
    assert "feed" not in document["posts"][1]  # as files before feeds were recorded
    loaded = load_issue(data, "issue.json")
    assert [post.as_post().feed_url for post in loaded.posts] == [PODCAST, ""]


def test_send_post_with_an_id_two_feeds_share_asks_for_the_link(
    tmp_path: Path, blogs: Blogs
) -> None:
    number_42s(blogs)
    sink = provider()
    with pytest.raises(ConfigError, match=r"--post 42 names posts of 2 feeds; use the link"):
        send(two_feeds(tmp_path), sink, blogs, posts=("42",))
    assert sink.sent == []
    send(two_feeds(tmp_path), sink, blogs, posts=("https://radio.example.org/42/",))
    ((email, _key),) = sink.sent
    assert email.post_ids == (f"42 ({PODCAST})",)


def test_a_feed_whose_address_changes_resends_nothing(tmp_path: Path, blogs: Blogs) -> None:
    sink = provider()
    config = two_feeds(tmp_path, first_run_days=30)
    send(config, sink, blogs)
    assert len(sink.sent) == 1
    # The podcast moves: new feed address, new permalinks, the same guids and titles.
    moved = "https://audio.example.net/feed.rss"
    blogs.bodies[moved] = rss(
        "Kitchen Radio",
        "https://audio.example.net/",
        Item("r-1", "Episode 9", timedelta(days=2), link="https://audio.example.net/9/"),
        Item("r-2", "Episode 8", timedelta(days=4), link="https://audio.example.net/8/"),
    )
    after = config_of(
        tmp_path,
        {"url": BLOG, "exclude_categories": ["no-newsletter", "sponsored"]},
        {"url": moved, "label": "Podcast"},
        first_run_days=30,
    )
    report = send(after, sink, blogs)
    assert len(sink.sent) == 1
    assert report.plan is not None and report.plan.to_send == ()


def test_going_back_to_one_feed_loses_no_post_the_other_feed_numbered_alike(
    tmp_path: Path, blogs: Blogs
) -> None:
    number_42s(blogs)
    sink = provider()
    send(two_feeds(tmp_path), sink, blogs)
    # The podcast is dropped from the newsletter; the blog's next post is its own 43, while
    # the podcast had an episode 43 recorded too.
    ledger = Ledger.read(tmp_path / "state" / "ledger.json")
    episode = replace(
        make_post(3, id="43", link="https://radio.example.org/43/", title="Episode 43"),
        feed_url=PODCAST,
    )
    ledger.destination("fake:list").mark([episode], Status.SENT, at=NOW)
    ledger.save()
    blogs.bodies[BLOG] = rss(
        "Garden Notes",
        "https://blog.example.org/",
        Item("43", "Beans", timedelta(hours=2)),
        Item("42", "Tomatoes", timedelta(days=1)),
    )
    one = config_of(tmp_path, {"url": BLOG})
    send(one, sink, blogs)
    assert sink.sent[-1][0].post_ids == ("43",)
    assert "Beans" in sink.sent[-1][0].html and "Tomatoes" not in sink.sent[-1][0].html


def test_the_first_feed_keeps_its_one_feed_days_records_by_id_alone(
    tmp_path: Path, blogs: Blogs
) -> None:
    # The one-feed days sent the blog's post 42; since then its title and permalink were
    # edited. A podcast is added after it, as the README says: still nothing to resend.
    sent_before(
        tmp_path, make_post(1, id="42", link="https://blog.example.org/old-42/", title="Tomato")
    )
    number_42s(blogs)  # the blog's 42 is now "Tomatoes" at a new link; the podcast has a 42
    sink = provider()
    send(two_feeds(tmp_path), sink, blogs)
    ((email, _key),) = sink.sent
    assert email.post_ids == (f"42 ({PODCAST})",)


def test_posts_of_one_feed_that_share_a_link_all_go_out_among_several_feeds(
    tmp_path: Path, blogs: Blogs
) -> None:
    # Every item of the blog's news feed links to its one news page: two posts, one link.
    page = "https://blog.example.org/news/"
    blogs.bodies[BLOG] = rss(
        "Garden Notes",
        "https://blog.example.org/",
        Item("n-1", "Opening hours", timedelta(days=1), link=page),
        Item("n-2", "Seed swap", timedelta(days=2), link=page),
    )
    sink = provider()
    report = send(two_feeds(tmp_path, first_run_days=30), sink, blogs)
    ((email, _key),) = sink.sent
    assert sorted(email.post_ids) == sorted(
        [f"n-1 ({BLOG})", f"n-2 ({BLOG})", f"r-1 ({PODCAST})", f"r-2 ({PODCAST})"]
    )
    assert report.plan is not None
    assert not [skip for skip in report.plan.skipped if "also in the feed" in skip.reason]
    send(two_feeds(tmp_path, first_run_days=30), sink, blogs)
    assert len(sink.sent) == 1


def same_posts_in_both(blogs: Blogs, *items: Item) -> None:
    """The blog's main feed and one of its category feeds: the same posts, guids and links."""
    blogs.bodies[BLOG] = rss("Garden Notes", "https://blog.example.org/", *items)
    blogs.bodies[PODCAST] = rss("Garden Notes: Vegetables", "https://blog.example.org/", *items)


def test_a_post_two_feeds_carry_keeps_one_record_and_its_link_still_names_it(
    tmp_path: Path, blogs: Blogs
) -> None:
    spring = Item("post-1", "Spring planting", timedelta(days=3), "https://blog.example.org/s/")
    autumn = Item("post-2", "Autumn", timedelta(days=30), "https://blog.example.org/a/")
    same_posts_in_both(blogs, spring, autumn)
    sink = provider()
    send(two_feeds(tmp_path), sink, blogs)
    assert sorted(records(tmp_path)) == ["post-1", "post-2"]  # one record each, as one feed
    ledger = json.loads((tmp_path / "state" / "ledger.json").read_text(encoding="utf-8"))
    assert ledger["version"] == 1
    # The blog changes the old post's guid and keeps its link: nothing is new.
    moved = Item("https://blog.example.org/?p=2", "Autumn", timedelta(days=30), autumn.link)
    same_posts_in_both(blogs, spring, moved)
    send(two_feeds(tmp_path), sink, blogs, at=NOW + timedelta(days=1))
    assert len(sink.sent) == 1


def test_a_post_of_the_one_feed_days_stays_its_feeds_when_another_feed_claims_it(
    tmp_path: Path, blogs: Blogs
) -> None:
    # One feed sent its post 42 "Hello world"; a second blog, added later, has its own 42 of
    # the same title, which the author sends on purpose.
    sent_before(
        tmp_path, make_post(1, id="42", link="https://blog.example.org/42/", title="Hello world")
    )
    blogs.bodies[BLOG] = rss(
        "Garden Notes", "https://blog.example.org/", Item("42", "Hello world", timedelta(days=1))
    )
    blogs.bodies[PODCAST] = rss(
        "Kitchen Radio", "https://radio.example.org/", Item("42", "Hello world", timedelta(days=1))
    )
    sink = provider()
    send(two_feeds(tmp_path), sink, blogs, posts=("https://radio.example.org/42/",), force=True)
    assert sink.sent[0][0].post_ids == (f"42 ({PODCAST})",)
    saved = records(tmp_path)
    assert saved["42"]["title"] == "Hello world" and "feed" not in saved["42"]
    send(two_feeds(tmp_path), sink, blogs)
    assert len(sink.sent) == 1  # the blog's own 42 is still known: not mailed again


def test_an_interrupted_send_of_a_post_two_feeds_carry_is_finished_as_its_own_record(
    tmp_path: Path, blogs: Blogs
) -> None:
    same_posts_in_both(blogs, Item("42", "New post", timedelta(hours=2)))
    sink = interrupting_provider()
    with pytest.raises(ProviderError):
        send(two_feeds(tmp_path), sink, blogs)
    assert [post["status"] for post in records(tmp_path).values()] == ["pending"]
    # The author lists the category feed first now; the retry settles the same record.
    sink.fail_with = None
    reordered = config_of(tmp_path, {"url": PODCAST}, {"url": BLOG})
    send(reordered, sink, blogs, at=NOW + timedelta(hours=1))
    assert [(post["status"], post["feed"]) for post in records(tmp_path).values()] == [
        ("sent", BLOG)
    ]
    send(reordered, sink, blogs, at=NOW + timedelta(days=2))
    assert len(sink.sent) == 1


def test_a_category_feed_whose_items_share_one_link_sends_nothing_twice(
    tmp_path: Path, blogs: Blogs
) -> None:
    # The main feed and its News category carry the same items, each linking to one page.
    page = "https://blog.example.org/news/"
    items = [
        Item("n-1", "Opening hours", timedelta(days=1), link=page),
        Item("n-2", "Seed swap", timedelta(days=2), link=page),
    ]
    same_posts_in_both(blogs, *items)
    sink = provider()
    send(two_feeds(tmp_path, first_run_days=30), sink, blogs)
    assert sorted(sink.sent[0][0].post_ids) == [f"n-1 ({BLOG})", f"n-2 ({BLOG})"]
    # The blog edits a title: the category feed's copies are still the same posts.
    same_posts_in_both(blogs, items[0], replace(items[1], title="Seed swap, moved"))
    send(two_feeds(tmp_path, first_run_days=30), sink, blogs, at=NOW + timedelta(days=1))
    assert len(sink.sent) == 1
    assert sorted(records(tmp_path)) == ["n-1", "n-2"]


def test_a_retry_after_the_feeds_address_changed_settles_the_pending_record(
    tmp_path: Path, blogs: Blogs
) -> None:
    blogs.bodies[PODCAST] = rss(
        "Kitchen Radio", "https://radio.example.org/", Item("r-9", "Episode 9", timedelta(hours=2))
    )
    sink = interrupting_provider()
    with pytest.raises(ProviderError):
        send(two_feeds(tmp_path), sink, blogs)
    moved = "https://audio.example.net/feed.rss"
    blogs.bodies[moved] = blogs.bodies[PODCAST]
    after = config_of(
        tmp_path,
        {"url": BLOG, "exclude_categories": ["no-newsletter", "sponsored"]},
        {"url": moved, "label": "Podcast"},
    )
    sink.fail_with = None
    send(after, sink, blogs, at=NOW + timedelta(hours=1))
    statuses = {key: post["status"] for key, post in records(tmp_path).items()}
    assert statuses["r-9"] == "sent" and "pending" not in statuses.values()
    send(after, sink, blogs, at=NOW + timedelta(days=2))
    assert len(sink.sent) == 1
