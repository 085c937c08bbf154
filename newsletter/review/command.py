"""`newsletter review`: render the next issue and put it up for review as a pull request.

The run asks GitHub what became of the latest review first (`settle.py`), then:
- an approved issue still waiting for its slot: nothing new is opened (its posts would be in
  both); the next review opens once it has gone out;
- with `--scheduled` (the workflow), only from `[review] hours_ahead` before the next slot;
- otherwise it plans the next issue as `send` would (new posts, the flood limit, max_posts;
  a first run records older posts as baseline), renders it for the configured provider, and
  publishes the review file, the email's HTML and text and, where Chromium and Playwright are
  at hand, desktop and phone pictures, opening the pull request or updating the open one.
The run is recorded in the ledger with the slot the issue is for.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Unpack
from zoneinfo import ZoneInfo

from newsletter.compose import refuse_oversized
from newsletter.config import Config
from newsletter.errors import ConfigError, LedgerError
from newsletter.github import GitHub
from newsletter.ledger import DestinationLedger, Ledger, RunRecord, Status
from newsletter.plan import Plan
from newsletter.report import Report
from newsletter.review import pull_body
from newsletter.review.approved import record_settlement
from newsletter.review.issue import ReviewIssue, dump_issue, review_from
from newsletter.review.place import (
    Approval,
    ReviewPlace,
    approval_of,
    github_from,
    read_approved,
    review_place,
    written_by_review,
)
from newsletter.review.publish import Published, publish
from newsletter.review.settle import settle
from newsletter.run import Run, SendOptions
from newsletter.schedule import Slot, wall_clock_moment
from newsletter.scheduled import slot_gate

if TYPE_CHECKING:
    from newsletter.run import Notify, Seams

Pictures = Callable[[Path], Sequence[Path]]
"""Takes an email's HTML file; returns its desktop and phone PNGs (screenshot.screenshot)."""


@dataclass(frozen=True)
class ReviewOptions:
    base: str = "main"
    """The branch the review pull request is opened against (the blog's default branch)."""
    scheduled: bool = False
    """The workflow's run: open the review only from `hours_ahead` before the next slot."""
    feed: str | None = None
    since: date | None = None


def review(
    config: Config,
    options: ReviewOptions,
    environ: Mapping[str, str],
    notify: Notify,
    *,
    pictures: Pictures | None = None,
    **seams: Unpack[Seams],
) -> Report:
    if not config.review.by_pull_request:
        raise ConfigError(
            'newsletter review needs [review] mode = "pull-request" in newsletter.toml; with '
            "mode none, the weekly job sends without review."
        )
    run = Run(config, environ, notify, **seams)
    place = review_place(config)
    with (
        Ledger.locked(config.state.path, feeds=config.feed_addresses) as ledger,
        github_from(environ) as github,
    ):
        records = ledger.destination(run.traits.destination)
        settlement = settle(github, records, issue_path=place.repository_issue_file, at=run.started)
        notes = record_settlement(ledger, records, settlement, run.started)

        def done(outcome: str, plan: Plan | None = None, warnings: Sequence[str] = ()) -> Report:
            ledger.save()
            said = " ".join([*notes, outcome])
            return run.report("review", plan, outcome=said, warnings=warnings)

        waiting = _approved_waiting(place, records, ledger.runs, notes)
        if waiting is not None:
            return done(waiting)
        slot = _target_slot(config, run.started, ledger)
        too_early = _too_early(config, options, slot, run.started)
        if too_early is not None:
            return done(too_early)
        wanted = SendOptions(feed=options.feed, since=options.since)
        feed = run.read_feed(wanted)
        plan = run.plan(ledger, feed, wanted, force=False)
        records.mark(plan.baseline, Status.BASELINE, at=run.started)
        for skip in plan.filtered:
            records.mark([skip.post], Status.SKIPPED, at=run.started, reason=skip.reason)
        if not plan.to_send:
            kept = settlement.open
            tail = f" The review pull request #{kept.number} stays as it is." if kept else ""
            return done("Nothing new to review." + tail, plan, feed.warnings)
        emails = run.compose(feed, plan.to_send)
        refuse_oversized(emails, force=False, limit=run.clip_bytes)
        issue = review_from(
            destination=records.name,
            posts=plan.to_send,
            emails=emails,
            slot=slot.id if slot else None,
            slot_starts=slot.starts if slot else None,
            created_at=run.started,
        )
        published, warnings = _publish(github, issue, place, options.base, environ, slot, pictures)
        if published is None:
            return done(f"The review on {options.base} already holds exactly this issue.", plan)
        outcome = _opened(published, issue, slot, place, config, environ)
        ids = tuple(post.id for post in plan.to_send)
        ledger.add_run(_review_record(run.started, records.name, ids, published, issue, slot))
        return done(outcome, plan, [*feed.warnings, *warnings])


def _approved_waiting(
    place: ReviewPlace, records: DestinationLedger, runs: Sequence[RunRecord], notes: list[str]
) -> str | None:
    """What to say when an approved issue still waits for its slot (a new review would put
    its posts in both), else None."""
    try:
        approved = read_approved(place)
    except LedgerError:
        # The send refuses a file changed by hand or unreadable and says to review
        # again; the review it asks for replaces that file rather than stop on it too.
        notes.append(
            "The approved review file cannot be sent as it is (the send says why), so it "
            "holds back no new review."
        )
        return None
    # A file no review wrote is never sent (approved.py), so it holds nothing back.
    if (
        approved is None
        or approval_of(approved, records) is not Approval.WAITING
        or not written_by_review(approved, runs)
    ):
        return None
    return (
        "An approved issue is waiting to go out"
        + (f" at its slot ({approved.slot})" if approved.slot else "")
        + "; the next review opens once it has been sent."
    )


def _publish(
    github: GitHub,
    issue: ReviewIssue,
    place: ReviewPlace,
    base: str,
    environ: Mapping[str, str],
    slot: Slot | None,
    pictures: Pictures | None,
) -> tuple[Published | None, list[str]]:
    """Opens the review pull request or updates the open one (None: it already holds
    exactly this issue); with the warnings the pictures gave."""
    slot_text = slot.describe() if slot else None
    with tempfile.TemporaryDirectory(prefix="newsletter-review-") as scratch:
        files, email_files, warnings = _review_files(
            issue, place.repository_folder, Path(scratch), pictures
        )
    repository = github.repository
    server = environ.get("GITHUB_SERVER_URL", "https://github.com").rstrip("/")
    published = publish(
        github,
        base=base,
        files=files,
        title=pull_body.title(issue, slot_text),
        body=lambda commit: pull_body.body(
            issue,
            issue_file=place.repository_issue_file,
            emails=email_files,
            slot_text=slot_text,
            file_url=f"{server}/{repository.full_name}/blob/{commit}/",
        ),
        update_note=(
            f"Updated with the issue as it stands now: {len(issue.posts)} post(s), "
            f"subject “{issue.subject}”."
        ),
    )
    return published, warnings


def _opened(
    published: Published,
    issue: ReviewIssue,
    slot: Slot | None,
    place: ReviewPlace,
    config: Config,
    environ: Mapping[str, str],
) -> str:
    """What the run says of the pull request it opened or updated."""
    verb = "Opened" if published.created else "Updated"
    outcome = (
        f"{verb} the review pull request #{published.pull.number} "
        f"({published.pull.html_url}) with {len(issue.posts)} post(s)"
        + (f" for the slot {slot.describe()}" if slot else "")
        + "; merging it approves the issue, closing it skips the posts."
    )
    if environ.get("GITHUB_ACTIONS") != "true":
        # In the workflow, its last step commits the ledger; from a terminal, the author
        # must, since the send on the merge sends only a review that ledger records.
        ledger_file = PurePosixPath(place.repository_folder).parent / config.state.path.name
        outcome += (
            f" Now commit and push {ledger_file}, which records this review: the send on "
            "the merge sends only a review the default branch's ledger knows."
        )
    return outcome


def _review_record(
    started: datetime,
    destination: str,
    ids: tuple[str, ...],
    published: Published,
    issue: ReviewIssue,
    slot: Slot | None,
) -> RunRecord:
    """The ledger's record of the run: the pull request and the issue it holds, by digest
    (the send on the merge sends only an issue a review run recorded)."""
    return RunRecord(
        started,
        "review",
        destination,
        "opened" if published.created else "updated",
        ids,
        f"pull request #{published.pull.number}",
        slot=slot.id if slot else "",
        issue=issue.digest,
    )


def _too_early(
    config: Config, options: ReviewOptions, slot: Slot | None, now: datetime
) -> str | None:
    """For the workflow's run (`--scheduled`): what to say before the review may open."""
    if (
        not options.scheduled
        or slot is None
        or now >= review_opens(slot, config.review.hours_ahead)
    ):
        return None
    return (
        f"The review for the slot {slot.describe()} opens "
        f"{config.review.hours_ahead} h before it; nothing to do yet."
    )


def _target_slot(config: Config, now: datetime, ledger: Ledger) -> Slot | None:
    """The slot the next issue is for: the current one if it is open and not served yet,
    else the next one; None without a [schedule]."""
    if config.schedule is None:
        return None
    decision = slot_gate(config.schedule, now, ledger.runs)
    return decision.slot if decision.due and decision.slot is not None else decision.next_slot


def review_opens(slot: Slot, hours_ahead: int) -> datetime:
    """When the review of `slot` may open: `hours_ahead` before it on the wall clock, as the
    workflow's cron line for it is written (GitHub reads it in the schedule's zone), so in a
    week the clocks change the line's run is not an hour early for its own review."""
    zone = ZoneInfo(slot.timezone)
    wall = slot.local_start.replace(tzinfo=None) - timedelta(hours=hours_ahead)
    return wall_clock_moment(wall, zone)


def _review_files(
    issue: ReviewIssue, folder: str, scratch: Path, pictures: Pictures | None
) -> tuple[dict[str, bytes], list[pull_body.EmailFiles], list[str]]:
    """The files the pull request carries, by repository path, and what its body shows."""
    files = {f"{folder}/issue.json": dump_issue(issue)}
    described: list[pull_body.EmailFiles] = []
    warnings: list[str] = []
    for number, email in enumerate(issue.emails, start=1):
        stem = f"{folder}/email-{number}"
        files[f"{stem}.html"] = email.html.encode("utf-8")
        files[f"{stem}.txt"] = email.text.encode("utf-8")
        shots = None
        if pictures is not None:
            page = scratch / f"email-{number}.html"
            page.write_text(email.html, encoding="utf-8")
            try:
                desktop, phone = pictures(page)
            except ConfigError as error:
                warnings.append(f"The review shows no pictures of the email: {error.message}")
                pictures = None
            else:
                files[f"{stem}-desktop.png"] = desktop.read_bytes()
                files[f"{stem}-phone.png"] = phone.read_bytes()
                shots = pull_body.Pictures(f"{stem}-desktop.png", f"{stem}-phone.png")
        described.append(pull_body.EmailFiles(f"{stem}.html", f"{stem}.txt", shots))
    return files, described, warnings
