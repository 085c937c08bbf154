"""Planning: what counts as new, what waits, what is skipped and why, and the safety rules.

All pure: a feed, a destination's records and a time in, a decision out.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime, timedelta

import pytest

from newsletter.config import NewsletterConfig
from newsletter.errors import ConfigError, SafetyRefusal
from newsletter.ledger import DestinationLedger, Status
from newsletter.models import Feed, Post
from newsletter.plan import Limits, Request, Skip, decide, latest, newest_first, select_new
from tests.post_helpers import NOW, make_post, sent_destination

# --- what counts as new ----------------------------------------------------------------------


def test_the_first_run_sends_only_the_window_and_baselines_the_rest() -> None:
    recent, old, undated = (
        make_post(1, days_ago=2),
        make_post(2, days_ago=30),
        make_post(3, days_ago=None),
    )
    selection = select_new(
        [recent, old, undated], DestinationLedger("outbox"), now=NOW, first_run_days=7
    )
    assert selection.new == (recent,)
    assert selection.baseline == (old, undated)
    assert selection.skipped == (
        Skip(old, "older than the first-run window (7 days)"),
        Skip(undated, "undated on the first run"),
    )


@pytest.mark.parametrize("status", [Status.BASELINE, Status.DRAFTED, Status.PENDING])
def test_any_record_ends_the_first_run_not_only_a_sent_one(status: Status) -> None:
    # After `newsletter baseline` (or a draft, or an interrupted send) nothing was sent yet,
    # but the next run is no first run: an older post it has not seen is new, not baseline.
    destination = DestinationLedger("outbox")
    destination.mark([make_post(1)], status, at=NOW - timedelta(days=40), idempotency_key="k")
    assert not destination.is_first_run
    unseen = make_post(2, days_ago=30)
    selection = select_new([unseen], destination, now=NOW, first_run_days=7)
    assert selection.new == (unseen,)
    assert selection.baseline == ()


@pytest.mark.parametrize("status", [Status.BASELINE, Status.DRAFTED, Status.PENDING, Status.SENT])
def test_any_record_of_a_feed_ends_that_feeds_first_run(status: Status) -> None:
    # With several feeds, each has its own first run: a record of any kind from that feed
    # (or, for the first feed, which owns them, an older record naming no feed) ends it.
    first, second = "https://a.example.org/feed/", "https://b.example.org/feed/"
    destination = DestinationLedger("outbox", feeds=(first, second))
    post = replace(make_post(1), feed_url=second)
    destination.mark([post], status, at=NOW - timedelta(days=40), idempotency_key="k")
    assert not destination.is_first_run_of(second)
    assert destination.is_first_run_of(first)
    unmarked = DestinationLedger("outbox", feeds=(first, second))
    unmarked.mark([make_post(2)], status, at=NOW - timedelta(days=40), idempotency_key="k")
    assert not unmarked.is_first_run_of(first)
    assert unmarked.is_first_run_of(second)


def test_the_first_run_window_is_seven_days_to_the_second() -> None:
    assert NewsletterConfig.__dataclass_fields__["first_run_days"].default == 7
    second = 1 / 86_400
    inside = make_post(1, days_ago=7 - second)
    edge = make_post(2, days_ago=7)
    outside = make_post(3, days_ago=7 + second)
    selection = select_new(
        [inside, edge, outside], DestinationLedger("outbox"), now=NOW, first_run_days=7
    )
    assert selection.new == (edge, inside)  # a post exactly 7 days old is still inside
    assert selection.baseline == (outside,)
    assert selection.skipped == (Skip(outside, "older than the first-run window (7 days)"),)


def test_a_one_day_window_reads_naturally() -> None:
    selection = select_new(
        [make_post(1, days_ago=3)], DestinationLedger("x"), now=NOW, first_run_days=1
    )
    assert selection.skipped[0].reason == "older than the first-run window (1 day)"


def test_after_the_first_run_undated_and_old_unknown_posts_are_new() -> None:
    destination = sent_destination(make_post(1))
    undated, old = make_post(2, days_ago=None), make_post(3, days_ago=400)
    selection = select_new([undated, old], destination, now=NOW, first_run_days=7)
    assert set(selection.new) == {undated, old}
    assert selection.baseline == ()


def test_future_posts_wait_until_their_date() -> None:
    destination = sent_destination(make_post(1))
    scheduled = make_post(2, days_ago=-5)
    selection = select_new([scheduled], destination, now=NOW, first_run_days=7)
    assert selection.new == ()
    assert selection.skipped == (Skip(scheduled, "dated in the future (2026-12-01)", waits=True),)
    later = select_new([scheduled], destination, now=NOW + timedelta(days=6), first_run_days=7)
    assert later.new == (scheduled,)


def test_an_edited_post_is_never_resent() -> None:
    destination = sent_destination(make_post(1))
    edited = replace(
        make_post(1, title="Post 1 (updated)"),
        updated=NOW,
        html="<p>Corrected body.</p>",
    )
    selection = select_new([edited], destination, now=NOW, first_run_days=7)
    assert selection.new == ()
    assert selection.skipped == (Skip(edited, "already sent on 2026-11-19"),)


def test_a_migrated_blog_resends_nothing() -> None:
    archive = [make_post(n, days_ago=n) for n in range(1, 6)]
    destination = sent_destination(*archive)
    migrated = [
        make_post(
            n,
            days_ago=n,
            id=f"https://example.org/?p={n}",
            link=f"http://www.example.org/posts/{n}?utm_source=rss",
        )
        for n in range(1, 6)
    ]
    selection = select_new(migrated, destination, now=NOW, first_run_days=7)
    assert selection.new == ()
    assert all(
        skip.reason.endswith("matched by its link, its id changed") for skip in selection.skipped
    )


def test_since_makes_older_posts_new_on_the_first_run() -> None:
    posts = [make_post(1, days_ago=20), make_post(2, days_ago=40), make_post(3, days_ago=2)]
    since = (NOW - timedelta(days=20)).date()
    selection = select_new(
        posts, DestinationLedger("outbox"), now=NOW, first_run_days=7, since=since
    )
    assert selection.new == (posts[0], posts[2])
    assert selection.baseline == (posts[1],)


def test_since_replaces_the_first_run_window_when_it_is_later() -> None:
    # "posts published on or after it count as new, whatever the first-run window says":
    # --since yesterday on a first run sends yesterday's post, not the whole week.
    posts = [make_post(1, days_ago=1), make_post(2, days_ago=3), make_post(3, days_ago=5)]
    since = (NOW - timedelta(days=2)).date()
    selection = select_new(
        posts, DestinationLedger("outbox"), now=NOW, first_run_days=7, since=since
    )
    assert selection.new == (posts[0],)
    assert selection.baseline == (posts[1], posts[2])
    reasons = {skip.post.id: skip.reason for skip in selection.skipped}
    assert reasons[posts[1].id] == f"published before --since {since.isoformat()}"


def test_since_never_resends_what_the_ledger_holds() -> None:
    destination = sent_destination(make_post(1, days_ago=3))
    selection = select_new(
        [make_post(1, days_ago=3)], destination, now=NOW, first_run_days=7, since=date(2026, 1, 1)
    )
    assert selection.new == ()


def test_new_posts_come_oldest_first_and_undated_last() -> None:
    destination = sent_destination(make_post(99))
    newest, undated, oldest = (
        make_post(1, days_ago=1),
        make_post(2, days_ago=None),
        make_post(3, days_ago=5),
    )
    selection = select_new([newest, undated, oldest], destination, now=NOW, first_run_days=7)
    assert selection.new == (oldest, newest, undated)


def test_a_post_listed_twice_is_new_once() -> None:
    post = make_post(1)
    selection = select_new([post, post], DestinationLedger("outbox"), now=NOW, first_run_days=7)
    assert selection.new == (post,)
    assert selection.skipped == (Skip(post, "appears twice in the feed"),)


def test_posts_that_all_link_to_the_home_page_are_told_apart_by_id() -> None:
    home = "https://example.org/"
    destination = sent_destination(make_post(1, link=home))
    posts = [make_post(1, link=home), make_post(2, link=home), make_post(3, link=home)]
    selection = select_new(posts, destination, now=NOW, first_run_days=7)
    assert set(selection.new) == {posts[1], posts[2]}


def test_a_post_without_id_or_link_is_skipped_with_a_reason() -> None:
    nameless = make_post(1, id="", link="")
    selection = select_new([nameless], sent_destination(make_post(2)), now=NOW, first_run_days=7)
    assert selection.skipped == (Skip(nameless, "has neither an id nor a link"),)


def test_a_pending_post_is_not_new() -> None:
    destination = DestinationLedger("postmark")
    destination.mark([make_post(1)], Status.PENDING, at=NOW)
    (skipped,) = select_new([make_post(1)], destination, now=NOW, first_run_days=7).skipped
    assert skipped.reason.startswith("pending since 2026-11-26")


def test_dates_without_a_zone_are_taken_as_utc() -> None:
    naive = replace(make_post(1), published=datetime(2026, 11, 27, 7, 0))
    selection = select_new([naive], sent_destination(make_post(2)), now=NOW, first_run_days=7)
    assert selection.skipped == (Skip(naive, "dated in the future (2026-11-27)", waits=True),)


# --- the plan: what goes now, what waits, and the safety rules --------------------------------

LIMITS = Limits(first_run_days=7, max_posts=2, flood_limit=3)


def feed_of(*posts: Post) -> Feed:
    return Feed("Blog", "https://example.org/", "https://example.org/feed/", None, posts)


# The feed still holds the post sent last time, as a real feed does (a feed whose every post
# looks new is the archive after a move: tests/test_archive_guard.py).
LAST_SENT = make_post(9, days_ago=30)


def test_max_posts_sends_the_oldest_and_the_rest_wait() -> None:
    posts = [make_post(n, days_ago=n) for n in (1, 2, 3)]
    plan = decide(
        feed_of(*posts, LAST_SENT),
        sent_destination(LAST_SENT),
        now=NOW,
        limits=LIMITS,
        request=Request(),
    )
    assert plan.to_send == (posts[2], posts[1])
    assert plan.waiting == (posts[0],)
    assert plan.new == 3 and not plan.flooded
    assert plan.destination == "buttondown" and not plan.first_run


def test_a_flood_is_refused_unless_forced_and_named_either_way() -> None:
    posts = [make_post(n, days_ago=n) for n in (1, 2, 3, 4)]
    records = sent_destination(LAST_SENT)
    feed = feed_of(*posts, LAST_SENT)
    with pytest.raises(
        SafetyRefusal, match=r"4 posts look new at once, more than flood_limit \(3\)"
    ):
        decide(feed, records, now=NOW, limits=LIMITS, request=Request())
    forced = decide(feed, records, now=NOW, limits=LIMITS, request=Request(force=True))
    assert forced.flooded and forced.new == 4
    assert forced.to_send == (posts[3], posts[2])


def test_exactly_the_flood_limit_is_no_flood() -> None:
    posts = [make_post(n, days_ago=n) for n in (1, 2, 3)]
    plan = decide(
        feed_of(*posts, LAST_SENT),
        sent_destination(LAST_SENT),
        now=NOW,
        limits=LIMITS,
        request=Request(),
    )
    assert not plan.flooded


def test_the_first_run_plan_carries_its_baseline() -> None:
    recent, old = make_post(1, days_ago=1), make_post(2, days_ago=40)
    plan = decide(
        feed_of(recent, old), DestinationLedger("outbox"), now=NOW, limits=LIMITS, request=Request()
    )
    assert plan.first_run
    assert (plan.to_send, plan.baseline) == ((recent,), (old,))
    assert plan.skipped == (Skip(old, "older than the first-run window (7 days)"),)


def test_post_names_exactly_the_posts_to_send_whatever_the_window() -> None:
    old, recent = make_post(1, days_ago=400), make_post(2, days_ago=1)
    request = Request(posts=("http://www.example.org/posts/1", "tag:example.org,2026:1"))
    plan = decide(
        feed_of(recent, old), DestinationLedger("outbox"), now=NOW, limits=LIMITS, request=request
    )
    assert plan.to_send == (old,)
    assert plan.skipped == () and plan.baseline == ()


def test_post_refuses_a_resend_unless_forced() -> None:
    post = make_post(1)
    records = sent_destination(post)
    request = Request(posts=(post.link,))
    with pytest.raises(SafetyRefusal, match="was already sent on 2026-11-19; add --force"):
        decide(feed_of(post), records, now=NOW, limits=LIMITS, request=request)
    forced = replace(request, force=True)
    assert decide(feed_of(post), records, now=NOW, limits=LIMITS, request=forced).to_send == (post,)


def test_post_on_a_baseline_post_says_what_baseline_means() -> None:
    post = make_post(1)
    records = DestinationLedger("outbox")
    records.mark([post], Status.BASELINE, at=NOW)
    request = Request(posts=(post.id,))
    with pytest.raises(SafetyRefusal, match=r"baseline on 2026-11-26 \(published before the"):
        decide(feed_of(post), records, now=NOW, limits=LIMITS, request=request)


def test_post_that_names_no_post_of_the_feed_is_a_usage_error() -> None:
    with pytest.raises(ConfigError, match="No post in the feed matches --post nope") as raised:
        decide(
            feed_of(make_post(1)),
            DestinationLedger("outbox"),
            now=NOW,
            limits=LIMITS,
            request=Request(posts=("nope",)),
        )
    assert raised.value.exit_code == 2


def test_the_latest_post_is_the_newest_dated_one() -> None:
    undated, old, new = make_post(1, days_ago=None), make_post(2, days_ago=9), make_post(3)
    assert latest([undated, old, new]) == new
    assert latest([undated]) == undated
    assert newest_first([old, undated, new]) == [new, old, undated]
