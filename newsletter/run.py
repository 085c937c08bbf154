"""One command's world: its configuration, its options, and the seams it may be handed.

A `Run` is made at the start of every command in `pipeline.py`. It holds what the command
touches outside itself (the environment for secrets, the provider, the httpx transport, the
clock, the size over which Gmail clips an email) and the calls each command makes to the
stages with them: read the feed, plan, compose, open the provider, and at the end record the
run in the ledger and report it. Tests and embedders hand in the `Seams` instead of patching.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, TypedDict

from newsletter import source
from newsletter.compose import compose
from newsletter.config import Config
from newsletter.gather import holds_back, plan_for
from newsletter.ledger import DestinationLedger, Ledger, RunRecord
from newsletter.models import Email, Feed, Post, Receipt
from newsletter.plan import Limits, Plan, Request
from newsletter.providers import traits_for
from newsletter.report import Report

if TYPE_CHECKING:
    import httpx

    from newsletter.delivery import Delivery
    from newsletter.providers.base import Provider, Traits
    from newsletter.schedule import SlotDecision

Notify = Callable[[str], None]
"""Progress lines for the author (the CLI prints them unless -q)."""
Clock = Callable[[], datetime]


class Seams(TypedDict, total=False):
    """What a caller may hand a command instead of the real world (each is optional)."""

    provider: Provider
    """Used instead of the configured provider; its traits name the ledger's destination.
    The command closes it when done."""
    transport: httpx.BaseTransport
    """The httpx transport for the feed fetch and the provider API (a MockTransport in tests)."""
    now: Clock
    """The clock: when the run starts, and when each post is recorded."""
    clip_bytes: int
    """The HTML size over which an email counts as clipped (Gmail's, unless given)."""


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class SendOptions:
    feed: str | None = None
    since: date | None = None
    dry_run: bool = False
    test_to: str | None = None
    posts: tuple[str, ...] = ()
    draft: bool = False
    force: bool = False
    scheduled: bool = False
    """What the weekly job runs: only at a [schedule]'s slot, only what a review approved."""


@dataclass(frozen=True)
class Run:
    """One command: its configuration and the outside world it may touch."""

    config: Config
    environ: Mapping[str, str]
    notify: Notify
    provider: Provider | None = None
    transport: httpx.BaseTransport | None = None
    now: Clock = utc_now
    clip_bytes: int | None = None
    traits: Traits = field(init=False)
    started: datetime = field(init=False)
    """When the command started: what the plan and the run record go by."""

    def __post_init__(self) -> None:
        traits = self.provider.traits if self.provider else traits_for(self.config)
        object.__setattr__(self, "traits", traits)
        object.__setattr__(self, "started", self.now())

    # --- the stages, with this run's seams --------------------------------------------------

    def read_feed(self, options: SendOptions) -> Feed:
        return source.read(self.config, options.feed, transport=self.transport, notify=self.notify)

    def fetch(
        self, options: SendOptions, remembered: DestinationLedger | None
    ) -> list[source.Fetched]:
        """Each feed, with the validators `remembered` keeps (None: fetch them whole)."""
        return source.fetch_all(
            self.config,
            options.feed,
            remembered=remembered,
            transport=self.transport,
            notify=self.notify,
        )

    def plan(self, ledger: Ledger, feed: Feed, options: SendOptions, *, force: bool) -> Plan:
        settings = self.config.newsletter
        return plan_for(
            self.config,
            feed,
            ledger.destination(self.traits.destination),
            now=self.started,
            limits=Limits(settings.first_run_days, settings.max_posts, settings.flood_limit),
            request=Request(since=options.since, posts=options.posts, force=force),
        )

    def look(self, options: SendOptions, *, force: bool) -> Plan:
        """The plan of a command that takes no lock: the ledger as it is, the whole feed."""
        ledger = Ledger.read(self.config.state.path, feeds=self.config.feed_addresses)
        return self.plan(ledger, self.read_feed(options), options, force=force)

    def compose(self, feed: Feed, posts: Sequence[Post]) -> list[Email]:
        return compose(self.config, feed, posts, self.traits.unsubscribe)

    @contextmanager
    def open_provider(self, *, send: bool = True) -> Iterator[Provider]:
        """The injected provider, else the configured one; closed once the command is done.
        Before it sends, its own settings are checked (verify.py)."""
        from newsletter.verify import verify

        if self.provider is not None:
            provider = self.provider
        else:
            from newsletter.providers import create

            provider = create(self.config, self.environ, transport=self.transport)
        try:
            for warning in verify(provider) if send else ():
                self.notify(warning)
            yield provider
        finally:
            provider.close()

    @contextmanager
    def deliver(self, ledger: Ledger, *, draft: bool) -> Iterator[Delivery]:
        """The provider, opened for sending, behind the unit that records each email."""
        from newsletter.delivery import Delivery

        with self.open_provider() as provider:
            yield Delivery(ledger, provider, clock=self.now, notify=self.notify, draft=draft)

    # --- the end of a command ---------------------------------------------------------------

    def report(
        self,
        command: str,
        plan: Plan | None,
        *,
        emails: Sequence[Email] = (),
        receipts: Sequence[Receipt] = (),
        outcome: str,
        warnings: Sequence[str] = (),
        files: Sequence[Path] = (),
    ) -> Report:
        facts = (tuple(emails), tuple(receipts), outcome, tuple(warnings), tuple(files))
        return Report(
            command,
            self.traits.destination,
            self.traits.name,
            plan,
            *facts,
            drafts_page=self.traits.drafts_page if self.traits.drafts else None,
        )

    def finish(
        self,
        ledger: Ledger,
        plan: Plan,
        outcome: str,
        emails: Sequence[Email] = (),
        receipts: Sequence[Receipt] = (),
        *,
        command: str = "send",
        gate: SlotDecision | None = None,
        save: Callable[[], None] | None = None,
    ) -> Report:
        """Record the run in the ledger (with the slot it served, if any), save (through
        `save`, a delivery's, once emails went out), and report."""
        if gate is not None:
            from newsletter.scheduled import slot_note

            outcome += slot_note(gate)
        ledger.add_run(run_record(self.started, command, plan, outcome, bool(receipts), gate))
        (save or ledger.save)()
        return self.report(
            command,
            plan,
            emails=emails,
            receipts=receipts,
            outcome=outcome,
            warnings=plan.feed.warnings,
        )


class Sender:
    """The provider and its `Delivery` for a `send`, opened only once the run has something
    to send (a run with nothing new needs no secret), then kept for the rest of the run: one
    that finishes an interrupted send goes on to the new posts with the same delivery."""

    def __init__(self, run: Run, ledger: Ledger, stack: ExitStack, *, draft: bool) -> None:
        self.run, self.ledger, self.stack, self.draft = run, ledger, stack, draft
        self._delivery: Delivery | None = None

    def delivery(self) -> Delivery:
        if self._delivery is None:
            self._delivery = self.stack.enter_context(
                self.run.deliver(self.ledger, draft=self.draft)
            )
        return self._delivery

    def save(self) -> None:
        """Save the ledger; once emails went out, as the delivery does (`Delivery.save`)."""
        (self._delivery.save if self._delivery is not None else self.ledger.save)()


def run_record(
    started: datetime,
    command: str,
    plan: Plan,
    outcome: str,
    sent: bool,
    gate: SlotDecision | None = None,
) -> RunRecord:
    """What the ledger keeps of a run: its result, the posts it took, the slot it served."""
    result = "sent" if sent else ("baseline" if command == "baseline" else "nothing new")
    ids = tuple(post.id for post in plan.to_send)
    slot = gate.slot.id if gate is not None and gate.slot is not None else ""
    return RunRecord(started, command, plan.destination, result, ids, outcome, slot=slot)


def remember(fetched: Sequence[source.Fetched], records: DestinationLedger, plan: Plan) -> None:
    """Keep each changed feed's validators, unless a post of it waits for a later run."""
    for item in fetched:
        if item.feed is not None:
            item.remember(records, holds_back=holds_back(plan, item.location))
