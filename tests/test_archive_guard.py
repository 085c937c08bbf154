"""The archive never goes out after a blog moves, whatever flood_limit says.

A WordPress blog that moved domain gave every post a new guid and link; its feed holds ten
posts and flood_limit is ten, so ten three-month-old posts went out as one digest. Now `send`
refuses (exit 3) when every post of the feed looks new to a destination that has sent
before, or when several new posts are older than the newest post already sent.
"""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path

import pytest

from newsletter.categories import CategoryFilter
from newsletter.cli import main
from newsletter.errors import SafetyRefusal
from newsletter.gather import decide_all
from newsletter.ledger import DestinationLedger, Status
from newsletter.models import Feed, Post
from newsletter.plan import Limits, Plan, Request, decide
from tests.post_helpers import NOW, make_post

LIMITS = Limits(first_run_days=7, max_posts=10, flood_limit=10)


def feed_of(*posts: Post) -> Feed:
    return Feed("Blog", "https://example.org/", "https://example.org/feed/", None, posts)


def sent(*posts: Post) -> DestinationLedger:
    records = DestinationLedger("buttondown")
    records.mark(posts, Status.SENT, at=NOW - timedelta(days=7))
    return records


def moved(post: Post) -> Post:
    """The same post after the blog moved: a new guid and a new domain."""
    number = post.id.rsplit(":", 1)[1]
    return make_post(
        int(number),
        id=f"https://new.example.net/?p={number}",
        link=f"https://new.example.net/{number}/",
        days_ago=(NOW - post.published).days if post.published else None,
    )


def test_ten_moved_posts_are_refused_although_flood_limit_allows_ten() -> None:
    old = [make_post(n, days_ago=90 + n) for n in range(1, 11)]
    with pytest.raises(SafetyRefusal) as refused:
        decide(feed_of(*map(moved, old)), sent(*old), now=NOW, limits=LIMITS, request=Request())
    sentence = refused.value.message
    assert sentence.startswith("All 10 posts of the feed look new to buttondown")
    assert "moved" in sentence
    assert "`newsletter baseline`" in sentence and "`send --force`" in sentence


def test_forcing_sends_them_and_the_plan_says_why_they_looked_old() -> None:
    old = [make_post(n, days_ago=90 + n) for n in range(1, 4)]
    plan = decide(
        feed_of(*map(moved, old)), sent(*old), now=NOW, limits=LIMITS, request=Request(force=True)
    )
    assert len(plan.to_send) == 3
    assert plan.archive == "all 3 posts of the feed look new"


def test_new_posts_older_than_the_newest_sent_one_are_refused() -> None:
    kept = make_post(1, days_ago=10)
    old = [moved(make_post(n, days_ago=60 + n)) for n in (2, 3)]
    fresh = make_post(4, days_ago=1)
    with pytest.raises(SafetyRefusal, match=r"2 new posts are older than the newest post"):
        decide(feed_of(fresh, kept, *old), sent(kept), now=NOW, limits=LIMITS, request=Request())


@pytest.mark.parametrize(
    "feed_posts",
    [
        # the usual week: one new post above the ones already sent
        [make_post(3, days_ago=1), make_post(2, days_ago=8), make_post(1, days_ago=15)],
        # one post dated when its draft began, a week before the last one sent
        [make_post(3, days_ago=20), make_post(2, days_ago=8), make_post(1, days_ago=15)],
        # a feed that only ever holds the newest post
        [make_post(3, days_ago=1)],
    ],
    ids=["weekly", "one-backdated", "single-item-feed"],
)
def test_ordinary_weeks_are_not_refused(feed_posts: list[Post]) -> None:
    records = sent(make_post(2, days_ago=8), make_post(1, days_ago=15))
    plan = decide(feed_of(*feed_posts), records, now=NOW, limits=LIMITS, request=Request())
    assert [post.title for post in plan.to_send] == ["Post 3"]
    assert plan.archive is None


def test_a_busy_blog_whose_small_feed_is_all_new_since_last_week_is_not_refused() -> None:
    # A post a day, a feed of five and a weekly send: every post looks new, but every one
    # was written after the last send (seven days ago), so none is the archive.
    records = sent(make_post(1, days_ago=9), make_post(2, days_ago=8))
    fresh = [make_post(n, days_ago=n - 10) for n in range(11, 16)]
    plan = decide(feed_of(*fresh), records, now=NOW, limits=LIMITS, request=Request())
    assert len(plan.to_send) == 5 and plan.archive is None
    # The same feed with one post from before that send is what a move looks like.
    older = [*fresh, make_post(16, days_ago=20)]
    with pytest.raises(SafetyRefusal, match="All 6 posts of the feed look new"):
        decide(feed_of(*older), records, now=NOW, limits=LIMITS, request=Request())


def test_a_first_run_is_never_taken_for_a_move() -> None:
    posts = [make_post(n, days_ago=n) for n in range(1, 6)]
    plan = decide(
        feed_of(*posts), DestinationLedger("outbox"), now=NOW, limits=LIMITS, request=Request()
    )
    assert len(plan.to_send) == 5 and plan.archive is None


# --- end to end: the WordPress move, through the command line ------------------------------


def wordpress(domain: str, *, guid_prefix: str, count: int = 10) -> str:
    now = datetime.now(UTC)
    items = "".join(
        f"<item><title>Garden diary {n}</title><link>https://{domain}/diary-{n}/</link>"
        f'<guid isPermaLink="false">{guid_prefix}{n}</guid>'
        f"<pubDate>{format_datetime(now - timedelta(days=90 + n))}</pubDate>"
        f"<description>&lt;p&gt;Entry {n} of the diary.&lt;/p&gt;</description></item>"
        for n in range(1, count + 1)
    )
    return (
        '<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"><channel>'
        f"<title>Garden Diary</title><link>https://{domain}/</link>"
        f"<generator>https://wordpress.org/?v=6.5</generator>{items}</channel></rss>"
    )


def run(folder: Path, *args: str) -> int:
    return main(["--config", str(folder / "newsletter.toml"), *args])


def test_a_wordpress_move_is_refused_then_adopted_with_baseline(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "newsletter.toml").write_text(
        '[feed]\nurl = "feed.xml"\n[newsletter]\nfrom = "Garden <news@garden.example.org>"\n'
        'first_run_days = 120\nmax_posts = 10\n[provider]\nname = "outbox"\ndir = "outbox"\n',
        encoding="utf-8",
    )
    feed = tmp_path / "feed.xml"
    feed.write_text(wordpress("old.example.org", guid_prefix="https://old.example.org/?p="))
    assert run(tmp_path, "-q", "send") == 0  # the first run: ten posts inside the window
    assert len(list((tmp_path / "outbox").glob("*.eml"))) == 1

    feed.write_text(wordpress("garden.example.net", guid_prefix="https://garden.example.net/?p="))
    ledger = (tmp_path / "state" / "ledger.json").read_bytes()
    capsys.readouterr()
    assert run(tmp_path, "send") == 3
    error = capsys.readouterr().err
    assert "All 10 posts of the feed look new to outbox" in error
    assert "Traceback" not in error
    assert (tmp_path / "state" / "ledger.json").read_bytes() == ledger
    assert len(list((tmp_path / "outbox").glob("*.eml"))) == 1

    assert run(tmp_path, "check") == 0
    said = capsys.readouterr()
    assert "would refuse them (exit 3)" in said.out + said.err

    assert run(tmp_path, "-q", "baseline") == 0
    assert run(tmp_path, "-q", "send") == 0
    assert len(list((tmp_path / "outbox").glob("*.eml"))) == 1
    records = json.loads((tmp_path / "state" / "ledger.json").read_text())
    assert len(records["destinations"]["outbox"]["posts"]) == 20


# --- a newsletter of several feeds: the feed that moved is named ----------------------------


def test_the_feed_that_moved_is_named_among_several_and_the_others_still_count() -> None:
    blog_url, podcast_url = "https://example.org/feed/", "https://example.org/podcast.rss"
    episodes = [
        replace(
            make_post(n, id=f"episode-{n}", link=f"https://example.org/ep/{n}/", days_ago=30 + n),
            feed_url=podcast_url,
        )
        for n in range(1, 6)
    ]
    posts = [replace(make_post(n, days_ago=20 + n), feed_url=blog_url) for n in range(1, 6)]
    records = sent(*posts, *episodes)
    moved_posts = tuple(replace(moved(post), feed_url=blog_url) for post in posts)
    new_episode = replace(
        make_post(9, id="episode-9", link="https://example.org/ep/9/", days_ago=1),
        feed_url=podcast_url,
    )
    parts = (
        Feed("Blog", "https://example.org/", blog_url, None, moved_posts, location=blog_url),
        Feed(
            "Podcast",
            "https://example.org/",
            podcast_url,
            None,
            (new_episode, *episodes),
            location=podcast_url,
        ),
    )
    gathered = Feed("Blog", "https://example.org/", blog_url, None, (), parts=parts)

    def plan(force: bool) -> Plan:
        return decide_all(
            gathered,
            records,
            now=NOW,
            limits=LIMITS,
            request=Request(force=force),
            filters={blog_url: CategoryFilter(), podcast_url: CategoryFilter()},
        )

    with pytest.raises(SafetyRefusal) as refused:
        plan(False)
    assert refused.value.message.startswith(f"In the feed 'Blog' ({blog_url}): All 5 posts")
    checked = plan(True)
    assert checked.archive is not None and "'Blog'" in checked.archive
    assert checked.archive.startswith("in the feed 'Blog'")
    assert {post.title for post in checked.to_send} == {
        "Post 1",
        "Post 2",
        "Post 3",
        "Post 4",
        "Post 5",
        "Post 9",
    }
