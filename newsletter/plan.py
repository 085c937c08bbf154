"""What the next send would do, decided from data alone: no I/O, no clock, no ledger file.

Given the feed, the destination's records, the time, the author's request and the limits,
`decide` says which posts go out now, which wait for the next run (`max_posts`), which are
skipped and why (`Skip`), which the first run records as baseline, and whether the flood
rule stops the run. `pipeline.py` fetches, renders and sends around it; a change to "what
counts as new" goes here, and is tested here with plain values (docs/architecture.md).

The rules, in order, for each post of the feed:
1. a post with neither id nor link, or listed twice, is skipped;
2. a post the destination has a record of (by id or normalised link) is skipped;
3. a post dated in the future waits for its day;
4. a post the feed's category filters leave out is skipped (`send` records it so, and it
   stays skipped if its categories change later);
5. after the first run, every other post is new; on the first run, a post published on or
   after `--since` (or, without it, within `first_run_days`) is new, and the rest (older or
   undated) become baseline: recorded as already sent, never mailed.
More than `flood_limit` new posts at once usually means the blog moved or changed its ids,
so `send` refuses them unless forced, and so it does, whatever the count, for new posts that
look like the blog's archive (`looks_like_archive`); at most `max_posts` go out and the rest
wait.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Protocol

from newsletter.categories import CategoryFilter
from newsletter.errors import ConfigError, SafetyRefusal
from newsletter.identity import former_keys, link_keys, permalink, post_key, same_post
from newsletter.ledger import REVIEW_CLOSED, DestinationLedger, PostRecord, Status
from newsletter.models import Feed, Post
from newsletter.refusals import archive_sentence, flood_sentence


class Records(Protocol):
    """What planning needs of a destination's records (a `DestinationLedger`, or one feed's
    view of it in a newsletter of several feeds, `gather.FeedRecords`)."""

    @property
    def name(self) -> str: ...

    @property
    def is_first_run(self) -> bool: ...

    def match(
        self, post: Post, *, ignored_links: frozenset[str] = frozenset()
    ) -> PostRecord | None: ...

    def records(self) -> tuple[PostRecord, ...]: ...


NO_FILTER = CategoryFilter(exclude=())
"""Every post goes out, whatever its categories."""


@dataclass(frozen=True)
class Skip:
    """A post of the feed that this run does not send, and the plain reason why."""

    post: Post
    reason: str
    waits: bool = False
    """The post will be new on a later run (it is dated in the future)."""
    filtered: bool = False
    """The feed's category filters leave it out: `send` records it as skipped."""


@dataclass(frozen=True)
class Limits:
    """The `[newsletter]` numbers that bound a run."""

    first_run_days: int
    max_posts: int
    flood_limit: int


@dataclass(frozen=True)
class Request:
    """What the author asked for."""

    since: date | None = None
    """`--since`: on a first run, posts published on or after this day are new."""
    posts: tuple[str, ...] = ()
    """`--post`: exactly these posts (links or ids), whatever the ledger says of the others."""
    force: bool = False
    """Lift the safety rules: the flood limit, and the refusal to resend what `--post` names.
    Commands that never mail the list (check, preview, a test send) plan with it."""


@dataclass(frozen=True)
class Selection:
    """What `select_new` decided for each post of the feed.

    Every post that is not in `new` is in `skipped` once; `baseline` is the part of
    `skipped` the first run records as already sent instead of sending.
    """

    new: tuple[Post, ...]
    """Oldest first (undated posts last, in feed order), so a capped run sends the oldest."""
    skipped: tuple[Skip, ...]
    baseline: tuple[Post, ...]
    recognised: int = 0
    """How many posts of the feed the destination has a record of."""
    newest_sent: datetime | None = None
    """The publication date of the newest post of the feed already sent or drafted."""


@dataclass(frozen=True)
class Plan:
    """What the next send would do: the posts to send and why the others are skipped."""

    feed: Feed
    destination: str
    to_send: tuple[Post, ...]
    waiting: tuple[Post, ...]
    """New posts beyond max_posts: they go out with the next run."""
    skipped: tuple[Skip, ...]
    baseline: tuple[Post, ...]
    first_run: bool
    unchanged: bool = False
    """The server answered 304: nothing changed since the last run."""
    flooded: bool = False
    """More posts look new than flood_limit allows (refused by `send` unless forced)."""
    archive: str | None = None
    """Why the new posts look like the blog's archive after a move (refused by `send`
    unless forced, whatever flood_limit says), or None."""

    @property
    def filtered(self) -> tuple[Skip, ...]:
        """The posts the category filters leave out, to be recorded as skipped."""
        return tuple(skip for skip in self.skipped if skip.filtered)

    @property
    def holds_back(self) -> bool:
        """Some post of the feed goes out on a later run: it waits for max_posts or for its
        day. A 304 then must not hide it, so the feed's validators are not kept."""
        return bool(self.waiting) or any(skip.waits for skip in self.skipped)

    @property
    def new(self) -> int:
        """How many posts are new: those sent now and those that wait."""
        return len(self.to_send) + len(self.waiting)

    @classmethod
    def unchanged_feed(cls, records: DestinationLedger) -> Plan:
        empty = Feed("", "", "", None, ())
        return cls(empty, records.name, (), (), (), (), records.is_first_run, unchanged=True)


def decide(
    feed: Feed,
    records: Records,
    *,
    now: datetime,
    limits: Limits,
    request: Request,
    categories: CategoryFilter = NO_FILTER,
) -> Plan:
    """The plan for this feed and destination; raises SafetyRefusal where `send` must stop
    (a flood, a `--post` already handled) unless `request.force`, and ConfigError for a
    `--post` that names no post of the feed."""
    if request.posts:
        chosen = _chosen(feed, records, request)
        return Plan(feed, records.name, chosen, (), (), (), records.is_first_run)
    selection = select_new(
        feed.posts,
        records,
        now=now,
        first_run_days=limits.first_run_days,
        since=request.since,
        categories=categories,
    )
    new = selection.new
    archive = looks_like_archive(selection, len(feed.posts), records)
    if archive is not None and not request.force:
        raise SafetyRefusal(archive_sentence(archive, records.name, checking=False))
    flooded = len(new) > limits.flood_limit
    if flooded and not request.force:
        raise SafetyRefusal(flood_sentence(len(new), limits.flood_limit, checking=False))
    return Plan(
        feed=feed,
        destination=records.name,
        to_send=new[: limits.max_posts],
        waiting=new[limits.max_posts :],
        skipped=selection.skipped,
        baseline=selection.baseline,
        first_run=records.is_first_run,
        flooded=flooded,
        archive=archive,
    )


def select_new(
    posts: Sequence[Post],
    records: Records,
    *,
    now: datetime,
    first_run_days: int,
    since: date | None = None,
    categories: CategoryFilter = NO_FILTER,
) -> Selection:
    """Sort every post of the feed into new, skipped (with a reason) and first-run baseline,
    by the rules in this module's docstring."""
    now = _as_utc(now)
    window_start = now - timedelta(days=first_run_days)
    first_run = records.is_first_run
    shared = _links_of_several_posts(posts)
    new: list[Post] = []
    skipped: list[Skip] = []
    baseline: list[Post] = []
    seen_ids: set[str] = set()
    seen_links: set[str] = set()
    recognised = 0
    newest_sent: datetime | None = None
    for post in posts:
        links = link_keys(post) - shared
        key = post_key(post)
        record = records.match(post, ignored_links=shared) if key else None
        published = _as_utc(post.published) if post.published is not None else None
        reason: str | None = None
        waits = filtered = False
        if not key:
            reason = "has neither an id nor a link"
        elif key in seen_ids or links & seen_links:
            reason = "appears twice in the feed"
        elif record is not None:
            reason = _recorded_reason(post, record)
            recognised += 1
            if published is not None and record.status in (Status.SENT, Status.DRAFTED):
                newest_sent = max(newest_sent or published, published)
        elif published is not None and published > now:
            reason = f"dated in the future ({published.date().isoformat()})"
            waits = True
        elif (left_out := categories.reason(post)) is not None:
            reason, filtered = left_out, True
        elif first_run and not _on_or_after(published, since):
            reason = _before_the_window(published, since, window_start, first_run_days)
            if reason is not None:
                baseline.append(post)
        if reason is None:
            new.append(post)
        else:
            skipped.append(Skip(post, reason, waits=waits, filtered=filtered))
        seen_ids.add(key)
        seen_links |= links
    return Selection(
        tuple(sorted(new, key=oldest_first)),
        tuple(skipped),
        tuple(baseline),
        recognised=recognised,
        newest_sent=newest_sent,
    )


def looks_like_archive(selection: Selection, feed_size: int, records: Records) -> str | None:
    """Why the new posts look like the blog's archive rather than new writing, or None.

    A blog that moves to a new domain or platform gives every post a new guid and link, so
    to a destination that has sent before its whole feed looks new (WordPress's feed holds
    ten posts, exactly the default flood_limit). Two signs, whatever flood_limit says:

    - every post of the feed is new, and some were published before the destination's
      last run (a feed of one post says nothing; a small feed of a busy blog may well be
      all new since last week, but then all of it is newer than that week's send);
    - several new posts are older than the newest post already sent. One backdated post
      is common (a static site's post dated when its draft began), so it takes two.
    """
    if records.is_first_run or not selection.new:
        return None
    last_run = max(record.at for record in records.records())
    if selection.recognised == 0 and feed_size > 1 and len(selection.new) > 1:
        before = [p for p in selection.new if not p.published or _as_utc(p.published) < last_run]
        if before:
            return f"all {len(selection.new)} posts of the feed look new"
    if selection.newest_sent is not None:
        newest = _as_utc(selection.newest_sent)
        older = [p for p in selection.new if p.published and _as_utc(p.published) < newest]
        if len(older) > 1:
            return (
                f"{len(older)} new posts are older than the newest post already sent "
                f"({newest.date().isoformat()})"
            )
    return None


def latest(posts: Sequence[Post]) -> Post:
    """The post a preview or a test send shows when nothing is new: the newest dated one."""
    dated = [post for post in posts if post.published]
    return max(dated, key=_published_or_oldest) if dated else posts[0]


def newest_first(posts: Sequence[Post]) -> list[Post]:
    """A digest reads like the blog itself, newest first (posts are chosen oldest first)."""
    return sorted(posts, key=_published_or_oldest, reverse=True)


def _chosen(feed: Feed, records: Records, request: Request) -> tuple[Post, ...]:
    chosen: list[Post] = []
    for reference in request.posts:
        matches = [post for post in feed.posts if same_post(post, reference)]
        if not matches:
            raise ConfigError(
                f"No post in the feed matches --post {reference}; use a post's link or id as "
                "`newsletter check` lists them."
            )
        feeds = {match.feed_url for match in matches}
        if len(feeds) > 1 and len({link_keys(match) or post_key(match) for match in matches}) > 1:
            # Two feeds that call different posts by the same id: the link tells them apart.
            raise ConfigError(
                f"--post {reference} names posts of {len(feeds)} feeds; use the link of the "
                "one you mean, as `newsletter check` lists it."
            )
        post = matches[0]
        record = records.match(post)
        # A post whose review was closed unmerged never went out: naming it is enough.
        if record is not None and record.status is not Status.SKIPPED and not request.force:
            raise SafetyRefusal(_already_handled(post, record))
        if post not in chosen:
            chosen.append(post)
    return tuple(chosen)


def _already_handled(post: Post, record: PostRecord) -> str:
    if record.status is Status.BASELINE:
        return (
            f"{post.title!r} was recorded as baseline on {record.day} (published before the "
            "newsletter started, so counted as sent); add --force to send it."
        )
    return (
        f"{post.title!r} was already {record.status} on {record.day}; add --force to send it again."
    )


def _before_the_window(
    published: datetime | None, since: date | None, window_start: datetime, days: int
) -> str | None:
    """Why a first-run post is baseline rather than new, or None when it is new."""
    if published is None:
        return "undated on the first run"
    if since is not None:
        # --since replaces the first-run window, whichever of the two is wider.
        return f"published before --since {since.isoformat()}"
    if published < window_start:
        return f"older than the first-run window ({'1 day' if days == 1 else f'{days} days'})"
    return None


def _on_or_after(published: datetime | None, since: date | None) -> bool:
    return published is not None and since is not None and published.date() >= since


def _recorded_reason(post: Post, record: PostRecord) -> str:
    reasons = {
        Status.SENT: f"already sent on {record.day}",
        Status.DRAFTED: f"already drafted on {record.day}",
        Status.BASELINE: f"recorded as baseline on {record.day} (published before the newsletter)",
        Status.PENDING: (
            f"pending since {record.day}: a send was interrupted (see `newsletter status`)"
        ),
        Status.SKIPPED: (
            f"skipped on {record.day}: {record.reason or REVIEW_CLOSED} "
            f"(`newsletter send --post {permalink(post)}` sends it)"
        ),
    }
    reason = reasons[record.status]
    if record.id in former_keys(post):
        # Recorded, before the key was found to be shared, as this post or for all of them.
        if _folded(record.title) != _folded(post.title):
            reason += f" with every post then carrying {record.id!r}, which other posts share"
    elif record.id != post_key(post):
        reason += "; matched by its link, its id changed"
    return reason


def _folded(title: str) -> str:
    return " ".join(title.split()).casefold()


def _links_of_several_posts(posts: Sequence[Post]) -> frozenset[str]:
    """Links that more than one post of the feed carries: they identify none of them."""
    owners: dict[str, set[str]] = {}
    for post in posts:
        for link in link_keys(post):
            owners.setdefault(link, set()).add(post_key(post))
    return frozenset(link for link, ids in owners.items() if len(ids) > 1)


def oldest_first(post: Post) -> tuple[bool, datetime]:
    moment = (
        _as_utc(post.published) if post.published is not None else datetime.max.replace(tzinfo=UTC)
    )
    return (post.published is None, moment)


def _published_or_oldest(post: Post) -> datetime:
    return post.published or datetime.min.replace(tzinfo=UTC)


def _as_utc(moment: datetime) -> datetime:
    # Feeds without a zone mean UTC far more often than the machine's local time.
    if moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)
