"""Settling an interrupted send from the provider's own records, before anything is sent again.

A batch whose request was made but never answered (a timeout, a 5xx, a killed process) is in
doubt: the provider may have accepted it. Postmark and Mailgun keep records of what they
accepted, and every batch carries an id they keep with it (`Settles`), so `settle` looks each
batch in doubt up and records what the records show
(docs/providers.md#settling-interrupted-sends):

- every recipient of the batch is there: it went out;
- some or none are there, and the records are conclusive (old enough to show everything the
  provider accepted, young enough not to have been deleted): those found were reached, the
  others were not, and the send goes on to them;
- otherwise the batch stays in doubt, and the sentence says when to look again or what to
  check before `newsletter resolve`;
- the records cannot be read at all (the key may not read them, the provider fails): nothing
  is sent again, and the sentence says what the provider answered and how to settle by hand.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime

from newsletter.errors import ConfigError, ProviderError, SafetyRefusal
from newsletter.ledger import DestinationLedger, InDoubt, Ledger, PostRecord, Progress, RunRecord
from newsletter.ledger.progress import CHECK_TEXT
from newsletter.providers.base import Finding, Provider, Settles, Traits

Clock = Callable[[], datetime]


@dataclass(frozen=True)
class Settlement:
    progress: Progress
    """The send's progress with every batch the records settled."""
    doubts: tuple[tuple[InDoubt, Finding], ...]
    """The batches still in doubt, with what the records said of each."""
    unmatched: bool = False
    """The provider's key changed since the send, so its recipients cannot be matched."""
    unreadable: str = ""
    """Why the records could not be read (the provider's refusal or failure), if so."""

    @property
    def settled(self) -> bool:
        return not self.doubts and not self.unmatched and not self.unreadable


def settle(progress: Progress, provider: Settles, *, now: datetime) -> Settlement:
    """Look up each batch of the send still in doubt in the provider's records."""
    if provider.fingerprint(CHECK_TEXT) != progress.check:
        return Settlement(progress, (), unmatched=True)
    doubts: list[tuple[InDoubt, Finding]] = []
    for doubt in progress.in_doubt:
        try:
            finding = provider.look_up(doubt, now=now)
        except ProviderError as error:
            # Not a reason to send again, nor to give up on what the records showed of the
            # batches already looked up: those stay settled, the rest stay in doubt.
            return Settlement(progress, tuple(doubts), unreadable=error.message)
        wanted = frozenset(doubt.recipients)
        if wanted <= finding.found:
            progress = progress.settled(doubt.batch, wanted)
        elif finding.conclusive:
            progress = progress.settled(doubt.batch, finding.found & wanted)
        else:
            doubts.append((doubt, finding))
    return Settlement(progress, tuple(doubts))


def unsettled_sentence(settlement: Settlement, posts: Sequence[PostRecord], vendor: str) -> str:
    """What the author reads when a send cannot be settled yet: which posts, which batches,
    and when to run again or what to check before `newsletter resolve`."""
    titles = ", ".join(repr(record.title) for record in posts)
    flags = " ".join(f"--post {record.link or record.id}" for record in posts)
    resolve = (
        f"check the send in {vendor}'s dashboard, then run `newsletter resolve {flags} "
        "--as sent` (or `--as unsent` to send them again to everyone)"
    )
    if settlement.unmatched:
        return (
            f"The interrupted send of {titles} cannot be settled from {vendor}'s records: the "
            f"{vendor} key changed since, and the ledger knows its recipients only by "
            f"fingerprints made with the old key; {resolve}."
        )
    if settlement.unreadable:
        return (
            f"{vendor}'s records of the interrupted send of {titles} could not be read: "
            f"{settlement.unreadable.rstrip('.')}. The posts stay pending and nothing was "
            f"sent again: once that is fixed, run `newsletter send` again; or {resolve}."
        )
    parts = []
    later = [finding.again_at for _, finding in settlement.doubts if finding.again_at]
    for doubt, finding in settlement.doubts:
        parts.append(
            f"{len(finding.found & frozenset(doubt.recipients))} of the "
            f"{len(doubt.recipients)} recipients of the batch sent at "
            f"{doubt.at:%Y-%m-%d %H:%M} UTC are in {vendor}'s records, {finding.reason}"
        )
    what = "; ".join(parts)
    if later and len(later) == len(settlement.doubts):
        when = max(later)
        advice = (
            f"run `newsletter send` (or `newsletter resolve`) again after {when:%H:%M} UTC "
            f"on {when:%Y-%m-%d}, when {vendor}'s records will tell; or {resolve}"
        )
    else:
        advice = resolve
    return (
        f"The interrupted send of {titles} is not settled yet ({what}); the posts stay "
        f"pending and nothing was sent again: {advice}."
    )


@dataclass
class Review:
    """What settling a destination's pending sends found."""

    notes: list[str]
    """What the records showed, for the author (a progress line each)."""
    blocked: list[str]
    """One sentence per send the records cannot settle yet."""


def settle_pending(
    records: DestinationLedger,
    provider: Settles,
    vendor: str,
    *,
    now: datetime,
    keys: Sequence[str] | None = None,
) -> Review:
    """Settle every pending send (or those with `keys`) whose progress the ledger kept, and
    keep what the records showed; the caller saves the ledger."""
    review = Review([], [])
    for key, posts in _pending_by_key(records, keys).items():
        progress = records.progress(key)
        if progress is None:
            review.blocked.append(_no_progress(posts, vendor))
            continue
        settlement = settle(progress, provider, now=now)
        records.keep_progress(settlement.progress)
        if not settlement.settled:
            review.blocked.append(unsettled_sentence(settlement, posts, vendor))
            continue
        reached = len(settlement.progress.served)
        owed = provider.owed(settlement.progress.served)
        review.notes.append(
            f"{vendor}'s records show the interrupted send of {_titles(posts)} reached "
            f"{reached} recipient(s); {owed} more on the list still need it."
        )
    return review


def resolve_from_records(
    records: DestinationLedger,
    provider: Settles,
    vendor: str,
    *,
    now: datetime,
    keys: Sequence[str] | None = None,
) -> Review:
    """`newsletter resolve` without `--as`: settle the pending sends from the provider's
    records, then mark each post sent (everyone reached), unsent (nobody reached), or leave it
    pending for the next send to finish (some reached)."""
    review = settle_pending(records, provider, vendor, now=now, keys=keys)
    review.notes.clear()
    for key, posts in _pending_by_key(records, keys).items():
        progress = records.progress(key)
        if progress is None or progress.in_doubt:
            continue  # blocked above
        owed = provider.owed(progress.served)
        reached = len(progress.served)
        if owed == 0:
            for record in posts:
                records.resolve(record, True, at=now)
            review.notes.append(
                f"{vendor}'s records show {_titles(posts)} reached everyone on the list: "
                "marked sent."
            )
        elif reached == 0:
            for record in posts:
                records.resolve(record, False, at=now)
            review.notes.append(
                f"{vendor}'s records show {_titles(posts)} reached nobody: marked unsent, so "
                "the next send sends it."
            )
        else:
            review.notes.append(
                f"{vendor}'s records show {_titles(posts)} reached {reached} recipient(s) and "
                f"not the other {owed}: it stays pending, and the next send sends it to those "
                f"{owed} only."
            )
    return review


def _pending_by_key(
    records: DestinationLedger, keys: Sequence[str] | None
) -> dict[str, list[PostRecord]]:
    grouped: dict[str, list[PostRecord]] = {}
    for record in records.pending():
        key = record.idempotency_key or ""
        if keys is None or key in keys:
            grouped.setdefault(key, []).append(record)
    return grouped


def _titles(posts: Sequence[PostRecord]) -> str:
    return ", ".join(repr(record.title) for record in posts)


def _no_progress(posts: Sequence[PostRecord], vendor: str) -> str:
    flags = " ".join(f"--post {record.link or record.id}" for record in posts)
    return (
        f"The interrupted send of {_titles(posts)} left no record of its batches (it was made "
        f"by an earlier release), so {vendor}'s records cannot be matched to it; check the send "
        f"in {vendor}'s dashboard, then run `newsletter resolve {flags} --as sent` (or "
        "`--as unsent`)."
    )


# --- the two commands that settle: the next `send`, and `resolve` without `--as` -------------


def settle_before_resuming(
    ledger: Ledger, provider: Settles, *, notify: Callable[[str], None], now: Clock
) -> None:
    """Settle the destination's pending sends before the next send resumes them; stop
    (SafetyRefusal, with what was settled saved) while one is still in doubt."""
    records = ledger.destination(provider.traits.destination)
    review = settle_pending(records, provider, provider.vendor, now=now())
    if review.blocked:
        ledger.save()
        raise SafetyRefusal(" ".join(review.blocked))
    for note in review.notes:
        notify(note)


def look_up_pending(
    ledger: Ledger,
    traits: Traits,
    provider: Provider,
    references: Sequence[str],
    *,
    now: Clock,
) -> str:
    """`newsletter resolve` without `--as`: the pending sends of the posts named (all, when
    none is), settled from the provider's records; returns what the records showed, or stops
    (SafetyRefusal) where they cannot tell yet."""
    records = ledger.destination(traits.destination)
    named = [records.pending_record(reference) for reference in references]
    if not records.pending():
        raise ConfigError(f"Nothing is pending for {records.name}, so there is nothing to resolve.")
    if not isinstance(provider, Settles):
        raise ConfigError(_needs_as(traits))
    keys = sorted({record.idempotency_key or "" for record in named}) if named else None
    moment = now()
    review = resolve_from_records(records, provider, provider.vendor, now=moment, keys=keys)
    said = " ".join([*review.notes, *review.blocked])
    ids = tuple(record.id for record in named)
    ledger.add_run(RunRecord(moment, "resolve", records.name, "looked up", ids, said))
    ledger.save()
    if review.blocked:
        raise SafetyRefusal(said)
    return said


def require_records(traits: Traits) -> None:
    """Refuse `resolve` without `--as` for a provider whose records cannot be read."""
    if not traits.settles:
        raise ConfigError(_needs_as(traits))


def _needs_as(traits: Traits) -> str:
    return (
        f"{traits.name} keeps no record newsletter can read, so resolve needs --as: check the "
        f"send in {traits.name}'s dashboard (or your inbox), then run `newsletter resolve "
        "--post URL --as sent` (or `--as unsent`)."
    )
