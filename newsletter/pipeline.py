"""The commands, each a straight sequence of stages: fetch → plan → compose → send → record.

Each command takes the configuration, its options and the outside world it may touch, and
returns a `Report` (report.py) that the CLI prints; nothing here prints or exits. The
decisions live elsewhere: which posts are new in `plan.py`, how posts become emails in
`compose.py`, how an email reaches the provider without being sent twice in `delivery.py`,
the ledger file in `ledger/`, when a scheduled run may send in `scheduled.py`.

Every command starts a `Run` (run.py) and accepts its `Seams` as keyword arguments, so that
tests and embedders hand in a provider, an httpx transport or a clock instead of patching;
the run also reads the feed, plans, composes and records the run in the ledger for it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from contextlib import ExitStack
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Unpack

from newsletter import report as words
from newsletter import source
from newsletter.compose import refuse_oversized, size_warnings
from newsletter.config import Config
from newsletter.errors import ConfigError, SafetyRefusal
from newsletter.ledger import Ledger, RunRecord, Status
from newsletter.models import Email, Post, Receipt
from newsletter.plan import Plan, latest
from newsletter.providers.base import Settles
from newsletter.refusals import archive_sentence, flood_sentence
from newsletter.report import Report
from newsletter.run import Notify as Notify
from newsletter.run import Run, Sender, remember
from newsletter.run import Seams as Seams
from newsletter.run import SendOptions as SendOptions
from newsletter.source import STARTER_FEED_URL as STARTER_FEED_URL
from newsletter.source import feed_location

if TYPE_CHECKING:
    from newsletter.status import StatusReport

# The modules only some commands need (drift, verify, scheduled, delivery, reconcile, status)
# are imported by those commands: a dry run loads neither them nor their dataclasses, whose
# generated methods Python compiles at every start (tests/test_lazy_imports.py).

# --- commands --------------------------------------------------------------------------------


def check(
    config: Config,
    options: SendOptions,
    environ: Mapping[str, str],
    notify: Notify,
    **seams: Unpack[Seams],
) -> Report:
    from newsletter.drift import moved_posts
    from newsletter.verify import verify, verify_configured

    if config.newsletter.language:
        # A tag CLDR does not know stops `send` when it renders; check says so first.
        from newsletter.render.i18n import resolve_locale

        resolve_locale(config.newsletter.language, ())
    run = Run(config, environ, notify, **seams)
    # `send` refuses a flood and sends the author here to see why so many posts look new, so
    # check lists them all and says that send would refuse, instead of refusing too.
    ledger = Ledger.read(config.state.path, feeds=config.feed_addresses)
    plan = run.plan(ledger, run.read_feed(options), options, force=True)
    warnings = list(plan.feed.warnings)
    risks: list[str] = []
    refused = (plan.flooded or plan.archive is not None) and not options.force
    if plan.archive is not None and not options.force:
        risks.append(archive_sentence(plan.archive, plan.destination, checking=True))
    elif refused:
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

    run = Run(config, environ, notify, **seams)
    # A preview never sends, so neither the flood limit nor "already sent" stands in its way.
    plan = run.look(options, force=True)
    posts, warnings = plan.to_send, list(plan.feed.warnings)
    if not posts and plan.feed.posts:
        # Nothing is new, but the author still wants to see what an email looks like.
        posts = (latest(plan.feed.posts),)
        warnings.append("Nothing new to send; the preview shows the latest post instead.")
    emails = run.compose(plan.feed, posts)
    warnings += size_warnings(emails, limit=run.clip_bytes) + author_notes(posts)
    files = tuple(write_preview(emails, out_dir))
    outcome = f"Wrote {len(emails)} email preview(s) to {out_dir}."
    if not emails:
        outcome = "The feed has no posts yet, so there is no email to preview."
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
    run = Run(config, environ, notify, **seams)
    if options.draft and not run.traits.drafts:
        raise ConfigError(
            f"The {run.traits.name} provider has no drafts; --draft works with Buttondown and "
            "Resend."
        )
    if options.scheduled:
        from newsletter.scheduled import sends_approved_issue

        if sends_approved_issue(options, config.review):
            from newsletter.review.approved import send_approved

            return send_approved(config, environ, notify, draft=options.draft, **seams)
    if options.test_to:
        return _send_test(run, options, options.test_to)
    if options.dry_run:
        return _dry_run(run, options)
    from newsletter.scheduled import scheduled_gate

    feed_location(config, options.feed)  # a usage error must not even create the lock file
    with (
        Ledger.locked(config.state.path, feeds=config.feed_addresses) as ledger,
        ExitStack() as stack,
    ):
        records = ledger.destination(run.traits.destination)
        gate = scheduled_gate(config.schedule, options.scheduled, run.started, ledger.runs)
        if gate is not None and not gate.due:
            return run.report("send", None, outcome=gate.reason)
        sender = Sender(run, ledger, stack, draft=options.draft)
        # An interrupted send is finished first; the run then goes on to any new posts.
        done = _retry_pending(run, ledger, sender, options) if records.pending() else None
        remembered = None if options.posts or options.since else records
        fetched = done.fetched if done else run.fetch(options, remembered)
        feed = source.gathered(fetched, config)
        if feed is None:
            outcome = "The feed has not changed since the last run; nothing to send."
            plan = Plan.unchanged_feed(records)
            return run.finish(ledger, plan, outcome, gate=gate, save=sender.save)
        plan = run.plan(ledger, feed, options, force=options.force)
        records.mark(plan.baseline, Status.BASELINE, at=run.started)
        for skip in plan.filtered:
            records.mark([skip.post], Status.SKIPPED, at=run.started, reason=skip.reason)
        emails: list[Email] = []
        receipts: list[Receipt] = []
        outcome = words.nothing_new_outcome(plan)
        if plan.to_send:
            emails = run.compose(plan.feed, plan.to_send)
            refuse_oversized(emails, force=options.force, limit=run.clip_bytes)
            receipts = sender.delivery().send_all(emails, plan.to_send)
            outcome = words.sent_outcome(
                plan,
                emails,
                run.traits.name,
                draft=options.draft,
                drafts_page=run.traits.drafts_page,
            )
        remember(fetched, records, plan)
        if done:
            outcome = f"{done.outcome} {outcome}" if plan.to_send else done.outcome
            plan = replace(plan, to_send=(*done.posts, *plan.to_send))
            emails, receipts = [*done.emails, *emails], [*done.receipts, *receipts]
        return run.finish(ledger, plan, outcome, emails, receipts, gate=gate, save=sender.save)


def baseline(
    config: Config,
    options: SendOptions,
    environ: Mapping[str, str],
    notify: Notify,
    **seams: Unpack[Seams],
) -> Report:
    run = Run(config, environ, notify, **seams)
    feed_location(config, options.feed)
    with Ledger.locked(config.state.path, feeds=config.feed_addresses) as ledger:
        records = ledger.destination(run.traits.destination)
        feed = run.read_feed(options)
        unseen = tuple(post for post in feed.posts if records.match(post) is None)
        records.mark(unseen, Status.BASELINE, at=run.started)
        outcome = (
            f"Recorded {len(unseen)} post(s) as already sent to {records.name}; "
            "the next send only takes posts published after now."
        )
        plan = Plan(feed, records.name, (), (), (), unseen, False)
        return run.finish(ledger, plan, outcome, command="baseline")


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
    from newsletter.reconcile import look_up_pending, require_records

    run = Run(config, environ or {}, notify, **seams)
    if as_sent is None:
        require_records(run.traits)
        with (
            Ledger.locked(config.state.path, feeds=config.feed_addresses) as ledger,
            run.open_provider(send=False) as provider,
        ):
            outcome = look_up_pending(ledger, run.traits, provider, references, now=run.now)
        return run.report("resolve", None, outcome=outcome)
    with Ledger.locked(config.state.path, feeds=config.feed_addresses) as ledger:
        records = ledger.destination(run.traits.destination)
        # Every reference is checked before anything is saved: one typo settles nothing.
        settled = [records.resolve(reference, as_sent, at=run.started) for reference in references]
        result = "sent" if as_sent else "unsent"
        ids = tuple(item.record.id for item in settled)
        ledger.add_run(RunRecord(run.started, "resolve", records.name, result, ids))
        ledger.save()
    return run.report("resolve", None, outcome=words.resolve_outcome(settled, as_sent))


def status(config: Config) -> StatusReport:
    """What the ledger holds: per destination, its counts, latest sends and pending posts."""
    from newsletter.status import read_status

    return read_status(config)


# --- the variants of send --------------------------------------------------------------------


def _dry_run(run: Run, options: SendOptions) -> Report:
    plan = run.look(options, force=options.force)
    emails = run.compose(plan.feed, plan.to_send)
    refuse_oversized(emails, force=options.force, limit=run.clip_bytes)
    outcome = (
        f"Dry run: would send {len(plan.to_send)} post(s) in {len(emails)} email(s) through "
        f"{run.traits.name}; nothing was sent and the ledger was not written."
    )
    return run.report("send", plan, emails=emails, outcome=outcome, warnings=plan.feed.warnings)


def _send_test(run: Run, options: SendOptions, address: str) -> Report:
    """A test send goes to one address and never takes the lock or writes the ledger."""
    plan = run.look(options, force=True)
    posts = plan.to_send or ((latest(plan.feed.posts),) if plan.feed.posts else ())
    if not posts:
        raise ConfigError("The feed has no posts, so there is nothing to send as a test.")
    emails = [replace(e, subject=f"[Test] {e.subject}") for e in run.compose(plan.feed, posts)]
    refuse_oversized(emails, force=options.force, limit=run.clip_bytes)
    with run.open_provider() as provider:
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


@dataclass(frozen=True)
class Retried:
    """What finishing an interrupted send did, before the run goes on to new posts."""

    fetched: tuple[source.Fetched, ...]
    posts: tuple[Post, ...]
    emails: tuple[Email, ...]
    receipts: tuple[Receipt, ...]
    outcome: str


def _retry_pending(run: Run, ledger: Ledger, sender: Sender, options: SendOptions) -> Retried:
    from newsletter.delivery import pending_batches, refuse_unsafe_retry
    from newsletter.reconcile import settle_before_resuming

    records = ledger.destination(run.traits.destination)
    pending = records.pending()
    refuse_unsafe_retry(pending, run.traits, now=run.started, records=records)
    # The whole feed (no validators): the pending posts must be found in it.
    fetched = tuple(run.fetch(options, None))
    feed = source.gathered(fetched, run.config)
    assert feed is not None
    batches = pending_batches(pending, feed, records)
    posts = tuple(post for batch in batches for post in batch.posts)
    delivery = sender.delivery()
    if isinstance(delivery.provider, Settles):
        # What went out is settled from the provider's records before anything goes out
        # again; a send still in doubt stops the run (SafetyRefusal).
        settle_before_resuming(ledger, delivery.provider, notify=run.notify, now=run.now)
    elif run.traits.per_recipient:
        run.notify(
            f"Carrying on with {len(pending)} post(s) an interrupted send left pending, for "
            f"the readers it had not reached ({run.traits.name} recorded each one it reached)."
        )
    else:
        run.notify(
            f"Retrying {len(pending)} post(s) left pending by an interrupted send, with the "
            f"same idempotency key so {run.traits.name} does not send them twice."
        )
    emails, receipts = delivery.retry(batches, lambda group: run.compose(feed, group))
    if delivery.unsettled:
        # Every reader owed it has it now, but a message stays in doubt: the author decides.
        ids = tuple(post.id for post in posts)
        ledger.add_run(RunRecord(run.started, "send", records.name, "pending", ids))
        delivery.save()
        raise SafetyRefusal(" ".join(delivery.unsettled))
    outcome = f"Finished the interrupted send of {len(posts)} post(s) through {run.traits.name}."
    return Retried(fetched, posts, tuple(emails), tuple(receipts), outcome)
