"""What `newsletter status` shows: the ledger's destinations, their latest sends, anything
pending or skipped, and the recent runs.

Apart from report.py, so that `status` reads the ledger without importing the pipeline that
fetches, renders and sends (tests/test_lazy_imports.py keeps it so).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from newsletter.ledger import Ledger, PostRecord, RunRecord, Status, timestamp
from newsletter.ledger.reached import Reached

if TYPE_CHECKING:
    from newsletter.config import Config

LATEST_SHOWN = 5
"""How many of each destination's latest sends `status` lists."""
RUNS_SHOWN = 10


@dataclass(frozen=True)
class DestinationStatus:
    name: str
    counts: tuple[tuple[str, int], ...]
    """How many records each status has, by status name."""
    latest: tuple[PostRecord, ...]
    """The latest sent or drafted posts, newest first."""
    pending: tuple[PostRecord, ...]
    skipped: tuple[PostRecord, ...] = ()
    """Posts whose review pull request was closed unmerged, newest first."""
    progress: Mapping[str, Reached] = field(default_factory=dict)
    """Per send key, whom a per-reader send (SMTP) reached before it stopped."""


@dataclass(frozen=True)
class StatusReport:
    ledger: Path
    destinations: tuple[DestinationStatus, ...]
    runs: tuple[RunRecord, ...]
    feed_labels: Mapping[str, str] = field(default_factory=dict)
    """The label of each configured feed, by its address, for records that name a feed."""


def read_status(config: Config) -> StatusReport:
    """The status of the configured ledger, with the configured feeds' labels."""
    labels = {feed.url: feed.label for feed in config.all_feeds if feed.url and feed.label}
    return status_of(Ledger.read(config.state.path, feeds=config.feed_addresses), labels)


def status_of(ledger: Ledger, feed_labels: Mapping[str, str] | None = None) -> StatusReport:
    """What `newsletter status` shows of a ledger; `feed_labels` name the feeds records
    came from (a newsletter of several feeds)."""
    destinations = []
    for name in ledger.destinations():
        records = ledger.destination(name).records()
        counts: dict[str, int] = {}
        for record in records:
            counts[record.status.value] = counts.get(record.status.value, 0) + 1
        # The latest sends, picked before the cut: a baseline recorded after them (an archive
        # adopted later) must not push every sent post out of the list.
        handled = [r for r in records if r.status in (Status.SENT, Status.DRAFTED)]
        latest = sorted(handled, key=lambda record: record.at, reverse=True)[:LATEST_SHOWN]
        pending = ledger.destination(name).pending()
        skipped = [r for r in records if r.status is Status.SKIPPED]
        skipped.sort(key=lambda record: record.at, reverse=True)
        counted = tuple(sorted(counts.items()))
        destinations.append(
            DestinationStatus(
                name,
                counted,
                tuple(latest),
                pending,
                tuple(skipped),
                ledger.destination(name).sends_reaching(),
            )
        )
    return StatusReport(
        ledger.path, tuple(destinations), ledger.runs[-RUNS_SHOWN:], dict(feed_labels or {})
    )


def status_lines(status: StatusReport) -> list[str]:
    lines = [f"Ledger: {status.ledger}"]
    if not status.destinations:
        lines.append("No sends recorded yet.")
    for destination in status.destinations:
        summary = ", ".join(f"{count} {name}" for name, count in destination.counts)
        lines.append(f"{destination.name}: {summary}")
        lines += [
            f"  {record.day}  {record.status:<8} {_from(record.feed, status.feed_labels)}"
            f"{record.title}"
            for record in destination.latest
        ]
        lines += [_pending_line(record, destination.progress) for record in destination.pending]
        lines += [
            f"  SKIPPED {record.day}: {record.title} <{record.link}> — "
            f"{record.reason or 'its review was closed unmerged'}; "
            f"`newsletter send --post {record.link or record.id}` sends it"
            for record in destination.skipped
        ]
    if status.runs:
        lines.append("Recent runs:")
        lines += [
            f"  {timestamp(run.at)}  {run.command:<8} {run.destination:<20} {run.result}  "
            f"{run.detail}"
            for run in status.runs
        ]
    return lines


def _pending_line(record: PostRecord, progress: Mapping[str, Reached]) -> str:
    line = f"  PENDING since {timestamp(record.at)}: {record.title} <{record.link}> — "
    settle = f"`newsletter resolve --post {record.link or record.id} --as sent|unsent`"
    reached = progress.get(record.idempotency_key or "")
    if reached is None or not reached.known:
        return line + f"settle it with {settle}"
    line += f"{len(reached.served)} reader(s) reached"
    if reached.in_doubt:
        return line + f", {len(reached.in_doubt)} message(s) in doubt: settle them with {settle}"
    return line + "; the next send carries on with the others"


def _from(feed: str | None, labels: Mapping[str, str]) -> str:
    """`[Podcast] `: the feed a record came from, in a newsletter of several feeds."""
    return f"[{labels.get(feed, feed)}] " if feed else ""
