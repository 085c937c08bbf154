"""The ledger's entries: a post's record, a run's record, and the statuses a post can have.

Plain values; `records.py` keeps a destination's records and decides which one a post is.
Times are timezone-aware `datetime`s in UTC, to the second (`utc`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum

from newsletter.identity import reference

RecordKey = tuple[str, str]
"""Where a record is kept: the feed it came from ("" when it names none) and its id."""

RUNS_KEPT = 20
"""Only the latest runs are kept, so the file (and its git history) stays small."""


class Status(StrEnum):
    PENDING = "pending"
    """Handed to the provider; no answer recorded yet (a crash leaves it so)."""
    SENT = "sent"
    DRAFTED = "drafted"
    """A draft was created for review at the provider; counts as handled."""
    BASELINE = "baseline"
    """Already published when the newsletter started; recorded so it is never sent."""
    SKIPPED = "skipped"
    """Left out on purpose: its review pull request was closed without merging, or the
    feed's category filters leave it out (the record's `reason` says which). It counts as
    handled, and `send --post` still sends it (docs/schedule-and-review.md)."""


REVIEW_CLOSED = "its review pull request was closed without merging"
"""Why a post is skipped when its record gives no reason (records from before reasons)."""


def utc(moment: datetime) -> datetime:
    """The moment in UTC, to the second; a time without a zone is taken as UTC.

    Feeds and hand-edited ledgers without a zone mean UTC far more often than the machine's
    local time, and the ledger is written in UTC.
    """
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).replace(microsecond=0)


@dataclass(frozen=True)
class PostRecord:
    id: str
    link: str
    title: str
    status: Status
    at: datetime
    """When the status was recorded (UTC, to the second)."""
    message_id: str | None = None
    idempotency_key: str | None = None
    reason: str | None = None
    """Why a skipped post was left out, in words for `check` and `status`."""
    feed: str | None = None
    """The feed it came from (its configured url or path), in a newsletter of several feeds."""

    @property
    def day(self) -> str:
        """The day of `at`, as the author reads it in messages: 2026-11-19."""
        return self.at.date().isoformat()

    @property
    def key(self) -> RecordKey:
        return (self.feed or "", self.id)

    @property
    def reference(self) -> str:
        """As `identity.post_reference` names the post this record is of."""
        return reference(self.id, self.feed)


@dataclass(frozen=True)
class RunRecord:
    at: datetime
    command: str
    destination: str
    result: str
    posts: tuple[str, ...]
    """The ids of the posts the run sent, drafted, baselined or left pending."""
    detail: str = ""
    slot: str = ""
    """The schedule's slot this run served (`schedule.Slot.id`), when it ran for one: how a
    later scheduled run knows the slot's issue has gone out."""
    issue: str = ""
    """The digest of the review file a `review` run wrote: how the send knows that the file a
    merge approved is the one newsletter rendered and the pull request showed."""


@dataclass(frozen=True)
class Settled:
    """A post `resolve` settled: the whole post, or (`in_doubt` set) only the messages of its
    send that were in doubt, the post staying pending for the readers still owed it."""

    record: PostRecord
    in_doubt: int | None
