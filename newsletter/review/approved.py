"""`send --scheduled` in review mode: send exactly the issue a merged review approved.

Nothing is planned or rendered here: the emails come from the review file the merge brought
to the default branch, byte for byte as they were reviewed, whatever the feed says now. The
run first asks GitHub what became of the latest review (a closed one skips its posts), then:
- no approved issue, or one already sent: says so and sends nothing;
- an approved issue whose slot has not come: says when it goes out (the slot's run sends it);
- otherwise: sends it through the same begin/commit/abort unit as every send, records the
  slot it served, and, when the merge came after the slot, says so in the run's summary.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Unpack

from newsletter.config import Config
from newsletter.delivery import Batch, Delivery, refuse_unsafe_retry
from newsletter.errors import ConfigError, SafetyRefusal
from newsletter.identity import post_reference
from newsletter.ledger import DestinationLedger, Ledger, PostRecord, RunRecord
from newsletter.models import Email, Feed, Post, Receipt
from newsletter.plan import Plan
from newsletter.providers import traits_for
from newsletter.report import Report
from newsletter.review.issue import ReviewIssue
from newsletter.review.place import (
    Approval,
    approval_of,
    github_from,
    read_approved,
    review_place,
    written_by_review,
)
from newsletter.review.settle import Settlement, settle
from newsletter.schedule import describe_duration

if TYPE_CHECKING:
    from newsletter.providers.base import Provider
    from newsletter.run import Notify, Seams


def send_approved(
    config: Config,
    environ: Mapping[str, str],
    notify: Notify,
    *,
    draft: bool = False,
    **seams: Unpack[Seams],
) -> Report:
    clock = seams.get("now") or _utc_now
    started = clock()
    given = seams.get("provider")
    traits = given.traits if given is not None else traits_for(config)
    place = review_place(config)
    with Ledger.locked(config.state.path, feeds=config.feed_addresses) as ledger:
        records = ledger.destination(traits.destination)
        with github_from(environ) as github:
            settlement = settle(github, records, issue_path=place.repository_issue_file, at=started)
        notes = record_settlement(ledger, records, settlement, started)

        def report(
            outcome: str,
            issue: ReviewIssue | None = None,
            emails: Sequence[Email] = (),
            receipts: Sequence[Receipt] = (),
        ) -> Report:
            plan = _plan_of(issue, records) if issue is not None else None
            return Report(
                "send",
                traits.destination,
                traits.name,
                plan,
                tuple(emails),
                tuple(receipts),
                outcome=" ".join([*notes, outcome]),
                drafts_page=traits.drafts_page if draft else None,
            )

        approved = read_approved(place)
        if approved is None or approval_of(approved, records) is Approval.SENT:
            ledger.save()
            return report(_nothing_approved(settlement, approved))
        if approval_of(approved, records) is Approval.SUPERSEDED:
            ledger.save()
            return report(
                "Some posts of the approved issue went out another way (send --post), so it "
                "is not sent as a whole; the next review takes the rest.",
                approved,
            )
        if not written_by_review(approved, ledger.runs):
            ledger.save()
            raise SafetyRefusal(
                f"The approved review file {place.issue_file} is not the one `newsletter "
                "review` wrote (the ledger records no review of it): it was changed on the "
                "review branch or after the merge, or the review run's ledger was never "
                "committed, so it is not sent; run `newsletter review` to make a new review "
                "and approve that one."
            )
        if approved.destination != records.name:
            raise ConfigError(
                f"The approved issue was made for {approved.destination}, but newsletter.toml "
                f"now sends to {records.name}; run `newsletter review` to make a review for it."
            )
        if approved.slot_starts is not None and started < approved.slot_starts:
            ledger.save()
            return report(f"The approved issue goes out at its slot, {_slot_text(approved)}.")
        with _provider(config, environ, given) as provider:
            delivery = Delivery(ledger, provider, clock=clock, notify=notify, draft=draft)
            emails, receipts = _deliver(delivery, approved, records, started)
        outcome = _sent_outcome(approved, traits.name, settlement, draft=draft)
        ids = tuple(post.id for post in approved.posts)
        ledger.add_run(
            RunRecord(started, "send", records.name, "sent", ids, outcome, slot=approved.slot or "")
        )
        ledger.save()
        return report(outcome, approved, emails, receipts)


def record_settlement(
    ledger: Ledger, records: DestinationLedger, settlement: Settlement, at: datetime
) -> list[str]:
    """Note a review closed unmerged in the run records; returns what the run says of it."""
    if not settlement.skipped or settlement.latest is None:
        return []
    number = settlement.latest.number
    titles = ", ".join(repr(title) for title in settlement.skipped)
    detail = f"pull request #{number} was closed without merging; skipped {titles}"
    ledger.add_run(RunRecord(at, "review", records.name, "closed", (), detail))
    return [
        f"The review pull request #{number} was closed without merging, so its "
        f"{len(settlement.skipped)} post(s) are recorded as skipped ({titles}); "
        "`newsletter send --post LINK` still sends one."
    ]


def _deliver(
    delivery: Delivery, issue: ReviewIssue, records: DestinationLedger, now: datetime
) -> tuple[list[Email], list[Receipt]]:
    """Send each approved email; an interrupted earlier send of it is retried with its key,
    where the provider recognises keys (otherwise the author settles it with `resolve`)."""
    posts = {post_reference(post): post for post in (item.as_post() for item in issue.posts)}
    pending = records.pending()
    if not pending:
        receipts = [
            delivery.send(email, [posts[post_id] for post_id in email.post_ids])
            for email in issue.emails
        ]
        return list(issue.emails), receipts
    refuse_unsafe_retry(pending, delivery.provider.traits, now=now)
    strangers = [record for record in pending if record.reference not in posts]
    if strangers:
        listing = ", ".join(f"{record.title!r} ({record.link})" for record in strangers)
        raise SafetyRefusal(
            f"Posts outside the approved issue are pending from an interrupted send: "
            f"{listing}; settle them with `newsletter resolve` before the approved issue goes "
            "out."
        )
    return delivery.retry(_batches(pending, posts), lambda group: _emails_for(issue, group))


def _batches(pending: Sequence[PostRecord], posts: Mapping[str, Post]) -> tuple[Batch, ...]:
    by_key: dict[str, list[Post]] = {}
    for record in pending:
        by_key.setdefault(record.idempotency_key or "", []).append(posts[record.reference])
    return tuple(Batch(key, tuple(group)) for key, group in by_key.items())


def _emails_for(issue: ReviewIssue, group: Sequence[Post]) -> list[Email]:
    names = {post_reference(post) for post in group}
    return [email for email in issue.emails if names & set(email.post_ids)]


def _plan_of(issue: ReviewIssue, records: DestinationLedger) -> Plan:
    posts = tuple(post.as_post() for post in issue.posts)
    feed = Feed(title=issue.subject, link="", url="", language=None, posts=posts)
    return Plan(feed, records.name, posts, (), (), (), False)


def _nothing_approved(settlement: Settlement, approved: ReviewIssue | None) -> str:
    waiting = settlement.open
    if waiting is not None:
        return (
            f"Nothing approved to send: the review pull request #{waiting.number} "
            f"({waiting.html_url}) is still open; merging it sends its issue."
        )
    if approved is not None:
        return "The last approved issue has already gone out; nothing to send."
    return "Nothing approved to send: no review has been merged yet."


def _sent_outcome(issue: ReviewIssue, provider: str, settlement: Settlement, *, draft: bool) -> str:
    verb = "Drafted" if draft else "Sent"
    outcome = (
        f"{verb} the approved issue, {len(issue.posts)} post(s) in {len(issue.emails)} "
        f"email(s), through {provider}, exactly as reviewed."
    )
    merged = settlement.latest.merged_at if settlement.latest is not None else None
    if issue.slot_starts is not None and merged is not None and merged > issue.slot_starts:
        late = describe_duration(merged - issue.slot_starts)
        outcome += (
            f" Its review was merged {late} after its slot ({_slot_text(issue)}), so it went "
            "out on merging instead."
        )
    return outcome


def _slot_text(issue: ReviewIssue) -> str:
    if issue.slot_starts is None:
        return "now"
    from zoneinfo import ZoneInfo

    zone = (issue.slot or "").rsplit(" ", 1)[-1] or "UTC"
    local = issue.slot_starts.astimezone(ZoneInfo(zone))
    return f"{local:%A} {local.day} {local:%B %Y %H:%M} {local.tzname()} ({zone})"


@contextmanager
def _provider(
    config: Config, environ: Mapping[str, str], given: Provider | None
) -> Iterator[Provider]:
    if given is not None:
        provider = given
    else:
        from newsletter.providers import create

        provider = create(config, environ)
    try:
        yield provider
    finally:
        provider.close()


def _utc_now() -> datetime:
    return datetime.now(UTC)
