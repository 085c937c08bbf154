"""Which posts of the feed are new for a destination: a pure decision, no I/O.

(Grows into the whole planning module in the next step of issue 11.)
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from newsletter.identity import link_keys, post_key
from newsletter.ledger import DestinationLedger, PostRecord, Status
from newsletter.models import Post


@dataclass(frozen=True)
class Selection:
    """What `select_new` decided for each post of the feed.

    Every post that is not in `new` is in `skipped` once, with a plain reason; `baseline` is
    the part of `skipped` the first run records as baseline instead of sending.
    """

    new: tuple[Post, ...]
    """Oldest first (undated posts last, in feed order), so a digest reads chronologically."""
    skipped: tuple[tuple[Post, str], ...]
    baseline: tuple[Post, ...]


def select_new(
    posts: Sequence[Post],
    destination: DestinationLedger,
    *,
    now: datetime,
    first_run_days: int,
    since: date | None = None,
) -> Selection:
    """Decide which posts of the feed are new for this destination.

    A post is new when the destination has no record of it (by id or normalised link), it
    is not dated in the future, and, on the destination's first run, it was published on or
    after `since` or, without `since`, within `first_run_days`; older and undated posts on
    the first run go to `baseline`. After the first run an undated post is new like any other.
    """
    now = _utc(now)
    window_start = now - timedelta(days=first_run_days)
    first_run = destination.is_first_run
    shared = _links_of_several_posts(posts)
    new: list[Post] = []
    skipped: list[tuple[Post, str]] = []
    baseline: list[Post] = []
    seen_ids: set[str] = set()
    seen_links: set[str] = set()
    for post in posts:
        links = link_keys(post) - shared
        key = post_key(post)
        record = destination.match(post, ignored_links=shared) if key else None
        published = _utc(post.published) if post.published is not None else None
        if not key:
            skipped.append((post, "has neither an id nor a link"))
        elif key in seen_ids or links & seen_links:
            skipped.append((post, "appears twice in the feed"))
        elif record is not None:
            skipped.append((post, _recorded_reason(post, record)))
        elif published is not None and published > now:
            skipped.append((post, f"dated in the future ({published.date().isoformat()})"))
        elif not first_run or _on_or_after(published, since):
            new.append(post)
        elif published is None:
            skipped.append((post, "undated on the first run"))
            baseline.append(post)
        elif since is not None:
            # --since replaces the first-run window, whichever of the two is wider.
            skipped.append((post, f"published before --since {since.isoformat()}"))
            baseline.append(post)
        elif published < window_start:
            days = "1 day" if first_run_days == 1 else f"{first_run_days} days"
            skipped.append((post, f"older than the first-run window ({days})"))
            baseline.append(post)
        else:
            new.append(post)
        seen_ids.add(key)
        seen_links |= links
    return Selection(
        new=tuple(sorted(new, key=_oldest_first)),
        skipped=tuple(skipped),
        baseline=tuple(baseline),
    )


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
    }
    reason = reasons[record.status]
    if record.id != post_key(post):
        reason += "; matched by its link, its id changed"
    return reason


def _links_of_several_posts(posts: Sequence[Post]) -> frozenset[str]:
    """Links that more than one post of the feed carries: they identify none of them."""
    owners: dict[str, set[str]] = {}
    for post in posts:
        for link in link_keys(post):
            owners.setdefault(link, set()).add(post_key(post))
    return frozenset(link for link, ids in owners.items() if len(ids) > 1)


def _oldest_first(post: Post) -> tuple[bool, datetime]:
    moment = (
        _utc(post.published) if post.published is not None else datetime.max.replace(tzinfo=UTC)
    )
    return (post.published is None, moment)


def _utc(moment: datetime) -> datetime:
    # Feeds without a zone mean UTC far more often than the machine's local time.
    if moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)
