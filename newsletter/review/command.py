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
from datetime import UTC, date, datetime, timedelta
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Unpack
from zoneinfo import ZoneInfo

from newsletter import source
from newsletter.compose import compose, refuse_oversized
from newsletter.config import Config
from newsletter.errors import ConfigError, LedgerError
from newsletter.gather import plan_for
from newsletter.ledger import Ledger, RunRecord, Status
from newsletter.plan import Limits, Plan, Request
from newsletter.providers import traits_for
from newsletter.report import Report
from newsletter.review import pull_body
from newsletter.review.approved import record_settlement
from newsletter.review.issue import ReviewIssue, dump_issue, review_from
from newsletter.review.place import (
    Approval,
    approval_of,
    github_from,
    read_approved,
    review_place,
    written_by_review,
)
from newsletter.review.publish import publish
from newsletter.review.settle import settle
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
    started = (seams.get("now") or _utc_now)()
    given = seams.get("provider")
    traits = given.traits if given is not None else traits_for(config)
    place = review_place(config)
    with Ledger.locked(config.state.path) as ledger, github_from(environ) as github:
        records = ledger.destination(traits.destination)
        settlement = settle(github, records, issue_path=place.repository_issue_file, at=started)
        notes = record_settlement(ledger, records, settlement, started)

        def done(outcome: str, plan: Plan | None = None, warnings: Sequence[str] = ()) -> Report:
            ledger.save()
            said = " ".join([*notes, outcome])
            return Report(
                "review", traits.destination, traits.name, plan, (), (), said, tuple(warnings)
            )

        try:
            approved = read_approved(place)
        except LedgerError:
            # The send refuses a file changed by hand or unreadable and says to review
            # again; the review it asks for replaces that file rather than stop on it too.
            approved = None
            notes.append(
                "The approved review file cannot be sent as it is (the send says why), so it "
                "holds back no new review."
            )
        # A file no review wrote is never sent (approved.py), so it holds nothing back.
        if (
            approved is not None
            and approval_of(approved, records) is Approval.WAITING
            and written_by_review(approved, ledger.runs)
        ):
            return done(
                "An approved issue is waiting to go out"
                + (f" at its slot ({approved.slot})" if approved.slot else "")
                + "; the next review opens once it has been sent."
            )
        slot = _target_slot(config, started, ledger)
        if options.scheduled and slot is not None:
            opens = review_opens(slot, config.review.hours_ahead)
            if started < opens:
                return done(
                    f"The review for the slot {slot.describe()} opens "
                    f"{config.review.hours_ahead} h before it; nothing to do yet."
                )
        feed = source.read(config, options.feed, transport=seams.get("transport"), notify=notify)
        settings = config.newsletter
        plan = plan_for(
            config,
            feed,
            records,
            now=started,
            limits=Limits(settings.first_run_days, settings.max_posts, settings.flood_limit),
            request=Request(since=options.since),
        )
        records.mark(plan.baseline, Status.BASELINE, at=started)
        for skip in plan.filtered:
            records.mark([skip.post], Status.SKIPPED, at=started, reason=skip.reason)
        if not plan.to_send:
            still_open = settlement.open
            tail = (
                f" The review pull request #{still_open.number} stays as it is."
                if still_open
                else ""
            )
            return done("Nothing new to review." + tail, plan, feed.warnings)
        emails = compose(config, feed, plan.to_send, traits.unsubscribe)
        refuse_oversized(emails, force=False, limit=seams.get("clip_bytes"))
        issue = review_from(
            destination=records.name,
            posts=plan.to_send,
            emails=emails,
            slot=slot.id if slot else None,
            slot_starts=slot.starts if slot else None,
            created_at=started,
        )
        slot_text = slot.describe() if slot else None
        with tempfile.TemporaryDirectory(prefix="newsletter-review-") as scratch:
            files, email_files, warnings = _review_files(
                issue, place.repository_folder, Path(scratch), pictures
            )
        repository = github.repository
        server = environ.get("GITHUB_SERVER_URL", "https://github.com").rstrip("/")
        published = publish(
            github,
            base=options.base,
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
        ids = tuple(post.id for post in plan.to_send)
        if published is None:
            return done(f"The review on {options.base} already holds exactly this issue.", plan)
        verb = "Opened" if published.created else "Updated"
        outcome = (
            f"{verb} the review pull request #{published.pull.number} "
            f"({published.pull.html_url}) with {len(ids)} post(s)"
            + (f" for the slot {slot_text}" if slot_text else "")
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
        ledger.add_run(
            RunRecord(
                started,
                "review",
                records.name,
                verb.lower(),
                ids,
                f"pull request #{published.pull.number}",
                slot=slot.id if slot else "",
                issue=issue.digest,
            )
        )
        return done(outcome, plan, [*feed.warnings, *warnings])


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


def _utc_now() -> datetime:
    return datetime.now(UTC)
