"""What a run says: the terminal text and the Markdown step summary, from one `Report`.

The pipeline returns a `Report` (what happened, as data, with its one-line outcome); this
module words it, for the terminal (`plan_lines`) and for the GitHub Actions
step summary (`markdown_summary`, `failure_summary`). A change to what the author reads
after a command goes here; `cli.py` only prints these lines. What `status` shows is in
status.py, which a run that sends does not load.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from newsletter.ledger import Settled
from newsletter.models import Email, Post, Receipt
from newsletter.plan import Plan


@dataclass(frozen=True)
class Report:
    command: str
    destination: str
    provider: str
    plan: Plan | None
    emails: tuple[Email, ...] = ()
    receipts: tuple[Receipt, ...] = ()
    outcome: str = ""
    """One line saying what happened, for the terminal and the step summary."""
    warnings: tuple[str, ...] = ()
    files: tuple[Path, ...] = ()
    drafts_page: str | None = None
    """Where the provider lists drafts, when the run created some."""
    risks: tuple[str, ...] = ()
    """What makes `check --strict` fail: a flood the next send would refuse, posts already
    sent whose guid or permalink moved (each is among the warnings too)."""


# --- outcomes: the one line each command ends with -------------------------------------------


def resolve_outcome(settled: Sequence[Settled], as_sent: bool) -> str:
    """What `resolve` did: whole posts marked, or only the messages in doubt of a send that
    recorded each reader (the post then waits for the next send to reach the others)."""
    whole = [item.record for item in settled if item.in_doubt is None]
    partly = [item for item in settled if item.in_doubt]
    sentences = []
    if whole:
        verdict = "sent" if as_sent else "unsent (the next send will send them)"
        sentences.append(f"Marked {', '.join(repr(r.title) for r in whole)} as {verdict}.")
    if partly:
        titles = ", ".join(repr(item.record.title) for item in partly)
        count = sum(item.in_doubt or 0 for item in partly)
        verdict = "delivered" if as_sent else "not delivered (the next send sends it to them again)"
        sentences.append(
            f"Counted the {count} message(s) in doubt for {titles} as {verdict}; the next "
            "send also reaches any reader the interrupted send had not."
        )
    return " ".join(sentences)


def check_outcome(plan: Plan, *, refused: bool) -> str:
    if refused and plan.archive is not None:
        return f"The next send would refuse {plan.new} new post(s): they look like the archive."
    if refused:
        return f"The next send would refuse {plan.new} new post(s): more than flood_limit."
    if plan.to_send:
        outcome = f"The next send would send {len(plan.to_send)} post(s)."
        if plan.waiting:
            outcome += f" {len(plan.waiting)} more would wait for the run after (max_posts)."
        return outcome
    if not plan.feed.posts:
        return EMPTY_FEED
    if plan.first_run and plan.baseline:
        return (
            f"Nothing new to send; the next send would record {len(plan.baseline)} older "
            "post(s) as already sent (first run)."
        )
    return "Nothing new to send."


EMPTY_FEED = "The feed has no posts yet, so there is nothing to send."


def nothing_new_outcome(plan: Plan) -> str:
    if not plan.feed.posts and not plan.unchanged:
        return EMPTY_FEED
    if plan.first_run and plan.baseline:
        return (
            f"First run: {len(plan.baseline)} older post(s) were recorded as already sent and "
            "none is inside first_run_days, so nothing was sent."
        )
    return "Nothing new to send."


def sent_outcome(
    plan: Plan,
    emails: Sequence[Email],
    provider: str,
    *,
    draft: bool,
    drafts_page: str | None = None,
) -> str:
    verb = "Drafted" if draft else "Sent"
    outcome = f"{verb} {len(plan.to_send)} post(s) in {len(emails)} email(s) through {provider}."
    if draft:
        where = drafts_page or f"{provider}'s dashboard"
        outcome += f" Nothing went to subscribers: check the draft at {where} and send it there."
    if plan.waiting:
        outcome += f" {len(plan.waiting)} more post(s) wait for the next run (max_posts)."
    return outcome


# --- the terminal ----------------------------------------------------------------------------


def warning_lines(report: Report) -> list[str]:
    return [f"warning: {warning}" for warning in report.warnings]


def plan_lines(plan: Plan) -> list[str]:
    """What `check` (and `send --dry-run`) show: each post of the feed, once, with its link."""
    if plan.unchanged:
        return ["The feed has not changed since the last run."]
    parts = plan.feed.parts
    if parts:
        lines = [f"{len(parts)} feeds → {plan.destination}"]
        lines += [f"  [{part.label or part.title}] {part.title} ({part.url})" for part in parts]
    else:
        lines = [f"{plan.feed.title} ({plan.feed.url}) → {plan.destination}"]
    if plan.to_send:
        lines.append(f"Next send: {len(plan.to_send)} post(s)")
        lines += [f"  + {_post_line(post)}" for post in plan.to_send]
    elif not plan.feed.posts:
        lines.append(f"Next send: nothing. {EMPTY_FEED}")
    else:
        lines.append("Next send: nothing new.")
    waits = "(waits for the next run: max_posts)"
    lines += [f"  … {_post_line(post)}  {waits}" for post in plan.waiting]
    # The first run's baseline posts are also among the skipped ones: one line each, with the
    # reason and what the first send does with them. Every line carries the link, which is
    # what `send --post` and `preview --post` ask for.
    baseline = {id(post) for post in plan.baseline}
    listed: set[int] = set()
    for skip in plan.skipped:
        listed.add(id(skip.post))
        if id(skip.post) in baseline:
            note = f"{skip.reason}; the first send records it as already sent"
            lines.append(f"  = {_post_line(skip.post)}  ({note})")
        else:
            lines.append(f"  - {_post_line(skip.post)}  ({skip.reason})")
    lines += [
        f"  = {_post_line(post)}  (first run: recorded as already sent)"
        for post in plan.baseline
        if id(post) not in listed
    ]
    return lines


def _post_line(post: Post) -> str:
    source = f"[{post.feed_label}] " if post.feed_label else ""
    return f"{_day(post.published, 'undated   ')}  {source}{post.title}  <{post.link}>"


def _day(moment: datetime | None, undated: str) -> str:
    return moment.strftime("%Y-%m-%d") if moment is not None else undated


# --- the step summary (Markdown on the run's page) -------------------------------------------


def markdown_summary(report: Report) -> str:
    lines = [f"### newsletter {report.command}", ""]
    lines.append(f"- **Provider:** {report.provider} (`{report.destination}`)")
    lines += [f"- **Subject:** {_cell(email.subject)}" for email in report.emails]
    for receipt in report.receipts:
        if receipt.drafted:
            lines.append(f"- **Draft:** {draft_reference(report, receipt)}")
            continue
        rejected = f", {len(receipt.rejected)} not delivered" if receipt.rejected else ""
        lines.append(f"- **Accepted:** {receipt.accepted}{rejected}")
    plan = report.plan
    if plan is not None and plan.to_send:
        lines += ["", "| Post | Published |", "| --- | --- |"]
        lines += [
            f"| [{_cell(post.title)}]({post.link}) | {_day(post.published, 'undated')} |"
            for post in plan.to_send
        ]
    if plan is not None and plan.waiting:
        lines.append(f"\n{len(plan.waiting)} more post(s) wait for the next run.")
    lines += [f"\n> warning: {_cell(warning)}" for warning in report.warnings]
    lines += ["", f"**Result:** {_cell(report.outcome)}", "", ""]
    return "\n".join(lines)


def draft_reference(report: Report, receipt: Receipt) -> str:
    """A draft the run created, by its id, linked to the provider's list of drafts."""
    name = f"`{receipt.message_id}`" if receipt.message_id else "created"
    if report.drafts_page:
        return f"{name}, in [{report.provider}'s drafts]({report.drafts_page}); nothing was sent"
    return f"{name} at {report.provider}; nothing was sent"


def failure_summary(command: str, message: str, exit_code: int) -> str:
    """The summary of a run that stopped with an expected error (its one sentence)."""
    return f"### newsletter {command}\n\n**Failed (exit {exit_code}):** {_cell(message)}\n\n"


def _cell(text: str) -> str:
    """Keep feed text from breaking the Markdown table or injecting markup."""
    return text.replace("|", "\\|").replace("\n", " ").replace("<", "&lt;")
