"""The commands, each a straight sequence of stages: fetch → plan → compose → send → record.

Each command takes the configuration, its options and the outside world it may touch, and
returns a `Report` (report.py) that the CLI prints; nothing here prints or exits. The
decisions live elsewhere: which posts are new in `plan.py`, how posts become emails in
`compose.py`, how an email reaches the provider without being sent twice in `delivery.py`,
the ledger file in `ledger/`.

Every command accepts the `Seams` below as keyword arguments, so that tests and embedders
hand in a provider, an httpx transport or a clock instead of patching this module.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, TypedDict, Unpack

from newsletter import report as words
from newsletter import source
from newsletter.compose import compose, refuse_oversized, size_warnings
from newsletter.config import Config
from newsletter.delivery import Delivery, pending_batches, refuse_unsafe_retry
from newsletter.drift import moved_posts
from newsletter.errors import ConfigError
from newsletter.gather import holds_back, plan_for
from newsletter.ledger import DestinationLedger, Ledger, RunRecord, Status
from newsletter.models import Email, Feed, Post, Receipt
from newsletter.plan import Limits, Plan, Request, flood_sentence, latest
from newsletter.providers import traits_for
from newsletter.providers.base import Settles
from newsletter.reconcile import look_up_pending, require_records, settle_before_resuming
from newsletter.report import Report, StatusReport
from newsletter.scheduled import refuse_with_scheduled, slot_gate, slot_note
from newsletter.source import STARTER_FEED_URL as STARTER_FEED_URL
from newsletter.source import feed_location
from newsletter.verify import verify, verify_configured

if TYPE_CHECKING:
    import httpx

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


def _utc_now() -> datetime:
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
class _Run:
    """One command: its configuration and the outside world it may touch."""

    config: Config
    environ: Mapping[str, str]
    notify: Notify
    provider: Provider | None = None
    transport: httpx.BaseTransport | None = None
    now: Clock = _utc_now
    clip_bytes: int | None = None
    traits: Traits = field(init=False)
    started: datetime = field(init=False)
    """When the command started: what the plan and the run record go by."""

    def __post_init__(self) -> None:
        traits = self.provider.traits if self.provider else traits_for(self.config)
        object.__setattr__(self, "traits", traits)
        object.__setattr__(self, "started", self.now())

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


# --- commands --------------------------------------------------------------------------------


def check(
    config: Config,
    options: SendOptions,
    environ: Mapping[str, str],
    notify: Notify,
    **seams: Unpack[Seams],
) -> Report:
    run = _Run(config, environ, notify, **seams)
    # `send` refuses a flood and sends the author here to see why so many posts look new, so
    # check lists them all and says that send would refuse, instead of refusing too.
    ledger = Ledger.read(config.state.path)
    plan = _plan(run, ledger, _read_feed(run, options), options, True)
    warnings = list(plan.feed.warnings)
    risks: list[str] = []
    refused = plan.flooded and not options.force
    if refused:
        risks.append(flood_sentence(plan.new, config.newsletter.flood_limit, checking=True))
    # A guid or permalink that moved under a post already sent (drift.py): the blog's own
    # pull request is the place to catch it, before it reaches readers.
    risks += [
        moved.describe() + "."
        for moved in moved_posts(plan.feed.posts, ledger.destination(run.traits.destination))
    ]
    # The provider settings the unsubscribe link relies on (verify.py): refused here as in send.
    warnings += (
        verify(run.provider) if run.provider else verify_configured(config, environ, run.transport)
    )
    outcome = words.check_outcome(plan, refused=refused)
    report = run.report("check", plan, outcome=outcome, warnings=[*warnings, *risks])
    return replace(report, risks=tuple(risks))


def preview(
    config: Config,
    options: SendOptions,
    environ: Mapping[str, str],
    notify: Notify,
    *,
    out_dir: Path,
    **seams: Unpack[Seams],
) -> Report:
    from newsletter.preview import write_preview
    from newsletter.preview_checks import author_notes

    run = _Run(config, environ, notify, **seams)
    # A preview never sends, so neither the flood limit nor "already sent" stands in its way.
    plan = _look(run, options, force=True)
    posts, warnings = plan.to_send, list(plan.feed.warnings)
    if not posts and plan.feed.posts:
        # Nothing is new, but the author still wants to see what an email looks like.
        posts = (latest(plan.feed.posts),)
        warnings.append("Nothing new to send; the preview shows the latest post instead.")
    emails = _compose(run, plan.feed, posts)
    warnings += size_warnings(emails, limit=run.clip_bytes) + author_notes(posts)
    files = tuple(write_preview(emails, out_dir))
    outcome = f"Wrote {len(emails)} email preview(s) to {out_dir}."
    return run.report(
        "preview",
        plan,
        emails=emails,
        outcome=outcome,
        warnings=warnings,
        files=files,
    )


def send(
    config: Config,
    options: SendOptions,
    environ: Mapping[str, str],
    notify: Notify,
    **seams: Unpack[Seams],
) -> Report:
    run = _Run(config, environ, notify, **seams)
    if options.draft and not run.traits.drafts:
        raise ConfigError(
            f"The {run.traits.name} provider has no drafts; --draft works with Buttondown and "
            "Resend."
        )
    if options.scheduled:
        refuse_with_scheduled(options)
        if config.review.by_pull_request:
            from newsletter.review.approved import send_approved

            return send_approved(config, environ, notify, draft=options.draft, **seams)
    if options.test_to:
        return _send_test(run, options, options.test_to)
    if options.dry_run:
        return _dry_run(run, options)
    feed_location(config, options.feed)  # a usage error must not even create the lock file
    with Ledger.locked(config.state.path) as ledger:
        records = ledger.destination(run.traits.destination)
        gate = None
        if options.scheduled and config.schedule is not None:
            gate = slot_gate(config.schedule, run.started, ledger.runs)
            if not gate.due:
                return run.report("send", None, outcome=gate.reason)
        if records.pending():
            return _retry_pending(run, ledger, options)
        remembered = None if options.posts or options.since else records
        fetched = source.fetch_all(
            config, options.feed, remembered=remembered, transport=run.transport, notify=notify
        )
        feed = source.gathered(fetched, config)
        if feed is None:
            outcome = "The feed has not changed since the last run; nothing to send."
            return _finish(run, ledger, Plan.unchanged_feed(records), outcome, gate=gate)
        plan = _plan(run, ledger, feed, options, options.force)
        records.mark(plan.baseline, Status.BASELINE, at=run.started)
        for skip in plan.filtered:
            records.mark([skip.post], Status.SKIPPED, at=run.started, reason=skip.reason)
        if not plan.to_send:
            _remember(fetched, records, plan)
            return _finish(run, ledger, plan, words.nothing_new_outcome(plan), gate=gate)
        emails = _compose(run, plan.feed, plan.to_send)
        refuse_oversized(emails, force=options.force, limit=run.clip_bytes)
        with _provider(run) as provider:
            delivery = Delivery(
                ledger, provider, clock=run.now, notify=run.notify, draft=options.draft
            )
            by_id = {post.id: post for post in plan.to_send}
            receipts = [
                delivery.send(email, [by_id[post_id] for post_id in email.post_ids])
                for email in emails
            ]
        _remember(fetched, records, plan)
        outcome = words.sent_outcome(
            plan, emails, run.traits.name, draft=options.draft, drafts_page=run.traits.drafts_page
        )
        return _finish(run, ledger, plan, outcome, emails, receipts, gate=gate)


def baseline(
    config: Config,
    options: SendOptions,
    environ: Mapping[str, str],
    notify: Notify,
    **seams: Unpack[Seams],
) -> Report:
    run = _Run(config, environ, notify, **seams)
    feed_location(config, options.feed)
    with Ledger.locked(config.state.path) as ledger:
        records = ledger.destination(run.traits.destination)
        feed = _read_feed(run, options)
        unseen = tuple(post for post in feed.posts if records.match(post) is None)
        records.mark(unseen, Status.BASELINE, at=run.started)
        outcome = (
            f"Recorded {len(unseen)} post(s) as already sent to {records.name}; "
            "the next send only takes posts published after now."
        )
        plan = Plan(feed, records.name, (), (), (), unseen, False)
        return _finish(run, ledger, plan, outcome, command="baseline")


def resolve(
    config: Config,
    references: Sequence[str],
    as_sent: bool | None,
    notify: Notify,
    environ: Mapping[str, str] | None = None,
    **seams: Unpack[Seams],
) -> Report:
    """Settle pending posts as the author says (`as_sent`), or, with None, from the
    provider's own records (reconcile.py)."""
    run = _Run(config, environ or {}, notify, **seams)
    if as_sent is None:
        require_records(run.traits)
        with Ledger.locked(config.state.path) as ledger, _provider(run, send=False) as provider:
            outcome = look_up_pending(ledger, run.traits, provider, references, now=run.now)
        return run.report("resolve", None, outcome=outcome)
    with Ledger.locked(config.state.path) as ledger:
        records = ledger.destination(run.traits.destination)
        # Every reference is checked before anything is saved: one typo settles nothing.
        settled = [records.resolve(reference, as_sent, at=run.started) for reference in references]
        verdict = "sent" if as_sent else "unsent (the next send will send them)"
        titles = ", ".join(repr(record.title) for record in settled)
        result = "sent" if as_sent else "unsent"
        ids = tuple(record.id for record in settled)
        ledger.add_run(RunRecord(run.started, "resolve", records.name, result, ids))
        ledger.save()
    return run.report("resolve", None, outcome=f"Marked {titles} as {verdict}.")


def status(config: Config) -> StatusReport:
    """What the ledger holds: per destination, its counts, latest sends and pending posts."""
    labels = {feed.url: feed.label for feed in config.all_feeds if feed.url and feed.label}
    return words.status_of(Ledger.read(config.state.path), labels)


# --- the variants of send --------------------------------------------------------------------


def _dry_run(run: _Run, options: SendOptions) -> Report:
    plan = _look(run, options, force=options.force)
    emails = _compose(run, plan.feed, plan.to_send)
    refuse_oversized(emails, force=options.force, limit=run.clip_bytes)
    outcome = (
        f"Dry run: would send {len(plan.to_send)} post(s) in {len(emails)} email(s) through "
        f"{run.traits.name}; nothing was sent and the ledger was not written."
    )
    return run.report("send", plan, emails=emails, outcome=outcome, warnings=plan.feed.warnings)


def _send_test(run: _Run, options: SendOptions, address: str) -> Report:
    """A test send goes to one address and never takes the lock or writes the ledger."""
    plan = _look(run, options, force=True)
    posts = plan.to_send or ((latest(plan.feed.posts),) if plan.feed.posts else ())
    if not posts:
        raise ConfigError("The feed has no posts, so there is nothing to send as a test.")
    emails = [replace(e, subject=f"[Test] {e.subject}") for e in _compose(run, plan.feed, posts)]
    refuse_oversized(emails, force=options.force, limit=run.clip_bytes)
    with _provider(run) as provider:
        receipts = tuple(provider.send_test(email, address=address) for email in emails)
    outcome = (
        f"Sent {len(emails)} test email(s) to {address} through {run.traits.name}; "
        "the ledger was not touched."
    )
    return run.report(
        "send",
        plan,
        emails=emails,
        receipts=receipts,
        outcome=outcome,
        warnings=plan.feed.warnings,
    )


def _retry_pending(run: _Run, ledger: Ledger, options: SendOptions) -> Report:
    records = ledger.destination(run.traits.destination)
    pending = records.pending()
    refuse_unsafe_retry(pending, run.traits, now=run.started, records=records)
    feed = _read_feed(run, options)
    batches = pending_batches(pending, feed, records)
    posts = tuple(post for batch in batches for post in batch.posts)
    with _provider(run) as provider:
        if isinstance(provider, Settles):
            # What went out is settled from the provider's records before anything goes out
            # again; a send still in doubt stops the run (SafetyRefusal).
            settle_before_resuming(ledger, provider, notify=run.notify, now=run.now)
        else:
            run.notify(
                f"Retrying {len(pending)} post(s) left pending by an interrupted send, with the "
                f"same idempotency key so {run.traits.name} does not send them twice."
            )
        delivery = Delivery(ledger, provider, clock=run.now, notify=run.notify, draft=options.draft)
        emails, receipts = delivery.retry(batches, lambda group: _compose(run, feed, group))
    outcome = f"Finished the interrupted send of {len(posts)} post(s) through {run.traits.name}."
    plan = Plan(feed, records.name, posts, (), (), (), False)
    return _finish(run, ledger, plan, outcome, emails, receipts)


def _finish(
    run: _Run,
    ledger: Ledger,
    plan: Plan,
    outcome: str,
    emails: Sequence[Email] = (),
    receipts: Sequence[Receipt] = (),
    *,
    command: str = "send",
    gate: SlotDecision | None = None,
) -> Report:
    """Record the run in the ledger (with the slot it served, if any), save it, and report."""
    result = "sent" if receipts else ("baseline" if command == "baseline" else "nothing new")
    ids = tuple(post.id for post in plan.to_send)
    slot = gate.slot.id if gate is not None and gate.slot is not None else ""
    if gate is not None:
        outcome += slot_note(gate)
    ledger.add_run(
        RunRecord(run.started, command, plan.destination, result, ids, outcome, slot=slot)
    )
    ledger.save()
    return run.report(
        command,
        plan,
        emails=emails,
        receipts=receipts,
        outcome=outcome,
        warnings=plan.feed.warnings,
    )


# --- the stages ------------------------------------------------------------------------------


def _look(run: _Run, options: SendOptions, *, force: bool) -> Plan:
    """The plan of a command that takes no lock: the ledger as it is, the whole feed."""
    return _plan(run, Ledger.read(run.config.state.path), _read_feed(run, options), options, force)


def _plan(run: _Run, ledger: Ledger, feed: Feed, options: SendOptions, force: bool) -> Plan:
    settings = run.config.newsletter
    return plan_for(
        run.config,
        feed,
        ledger.destination(run.traits.destination),
        now=run.started,
        limits=Limits(settings.first_run_days, settings.max_posts, settings.flood_limit),
        request=Request(since=options.since, posts=options.posts, force=force),
    )


def _remember(fetched: Sequence[source.Fetched], records: DestinationLedger, plan: Plan) -> None:
    """Keep each changed feed's validators, unless a post of it waits for a later run."""
    for item in fetched:
        if item.feed is not None:
            item.remember(records, holds_back=holds_back(plan, item.location))


def _read_feed(run: _Run, options: SendOptions) -> Feed:
    return source.read(run.config, options.feed, transport=run.transport, notify=run.notify)


def _compose(run: _Run, feed: Feed, posts: Sequence[Post]) -> list[Email]:
    return compose(run.config, feed, posts, run.traits.unsubscribe)


@contextmanager
def _provider(run: _Run, *, send: bool = True) -> Iterator[Provider]:
    """The injected provider, else the configured one; closed once the command is done.
    Before it sends, its own settings are checked (verify.py)."""
    if run.provider is not None:
        provider = run.provider
    else:
        from newsletter.providers import create

        provider = create(run.config, run.environ, transport=run.transport)
    try:
        for warning in verify(provider) if send else ():
            run.notify(warning)
        yield provider
    finally:
        provider.close()
