"""`send --scheduled` without a review: the slot gate in front of an ordinary send.

The weekly job runs `send --scheduled`. With a `[schedule]`, it sends only when `schedule.py`
says this run is the first at or after a slot whose issue has not gone out; the ledger's run
records say which slots have (a run that sent, drafted, or found nothing new serves its slot;
one that failed does not, so the retry line tries again). Without a `[schedule]`, every
scheduled run sends, as `send` always has.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING, Protocol

from newsletter.errors import ConfigError
from newsletter.ledger import RunRecord
from newsletter.schedule import Schedule, SlotDecision, decide, describe_duration

if TYPE_CHECKING:
    from newsletter.config import ReviewConfig

SERVING_RESULTS = frozenset({"sent", "nothing new"})
"""Run results that mean the slot's issue went out, or that there was none to send."""
LATE_ENOUGH_TO_SAY = timedelta(minutes=15)
"""GitHub starts scheduled runs minutes late as a rule; only more than this is worth a word."""


class ScheduledOptions(Protocol):
    """The send options `--scheduled` cannot be combined with."""

    @property
    def dry_run(self) -> bool: ...
    @property
    def test_to(self) -> str | None: ...
    @property
    def posts(self) -> tuple[str, ...]: ...
    @property
    def force(self) -> bool: ...
    @property
    def since(self) -> date | None: ...


def served_slots(runs: Iterable[RunRecord]) -> set[str]:
    return {run.slot for run in runs if run.slot and run.result in SERVING_RESULTS}


def slot_gate(schedule: Schedule, now: datetime, runs: Iterable[RunRecord]) -> SlotDecision:
    return decide(schedule, now, served_slots(runs))


def scheduled_gate(
    schedule: Schedule | None, scheduled: bool, now: datetime, runs: Iterable[RunRecord]
) -> SlotDecision | None:
    """The slot decision a `send --scheduled` run goes by; None for a send a person ran, or
    a blog without a `[schedule]` (it sends whenever the job runs)."""
    return slot_gate(schedule, now, runs) if scheduled and schedule is not None else None


def sends_approved_issue(options: ScheduledOptions, review: ReviewConfig) -> bool:
    """For `send --scheduled`: refuses a person's options (`refuse_with_scheduled`), then
    says whether what goes out is the issue a merged review approved (review mode) rather
    than the feed's new posts."""
    refuse_with_scheduled(options)
    return review.by_pull_request


def slot_note(decision: SlotDecision) -> str:
    """What the run's outcome adds about its slot: which one, and how late the run came."""
    if decision.slot is None:
        return ""
    note = f" This was the slot {decision.slot.describe()}"
    if decision.late_by >= LATE_ENOUGH_TO_SAY:
        note += f"; GitHub started this run {describe_duration(decision.late_by)} after it"
    return note + "."


def refuse_with_scheduled(options: ScheduledOptions) -> None:
    """`--scheduled` is the weekly job's own mode; a person's options have no place in it."""
    given = [
        flag
        for flag, present in (
            ("--dry-run", options.dry_run),
            ("--test-to", bool(options.test_to)),
            ("--post", bool(options.posts)),
            ("--force", options.force),
            ("--since", options.since is not None),
        )
        if present
    ]
    if given:
        raise ConfigError(
            f"--scheduled is what the weekly job runs and cannot be combined with "
            f"{', '.join(given)}; run `newsletter send` with those options instead."
        )
