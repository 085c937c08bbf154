"""The Markdown run summary appended to $GITHUB_STEP_SUMMARY (shown on the run's page)."""

from __future__ import annotations

from newsletter.pipeline import Report


def markdown_summary(report: Report) -> str:
    lines = [f"### newsletter {report.command}", ""]
    lines.append(f"- **Provider:** {report.provider} (`{report.destination}`)")
    for email in report.emails:
        lines.append(f"- **Subject:** {_cell(email.subject)}")
    for receipt in report.receipts:
        rejected = f", {len(receipt.rejected)} not delivered" if receipt.rejected else ""
        lines.append(f"- **Accepted:** {receipt.accepted}{rejected}")
    plan = report.plan
    if plan is not None and plan.to_send:
        lines += ["", "| Post | Published |", "| --- | --- |"]
        for post in plan.to_send:
            when = post.published.strftime("%Y-%m-%d") if post.published else "undated"
            lines.append(f"| [{_cell(post.title)}]({post.link}) | {when} |")
    if plan is not None and plan.waiting:
        lines.append(f"\n{len(plan.waiting)} more post(s) wait for the next run.")
    for warning in report.warnings:
        lines.append(f"\n> warning: {_cell(warning)}")
    lines += ["", f"**Result:** {_cell(report.outcome)}", "", ""]
    return "\n".join(lines)


def failure_summary(command: str, message: str, exit_code: int) -> str:
    """The summary of a run that stopped with an expected error (its one sentence)."""
    return f"### newsletter {command}\n\n**Failed (exit {exit_code}):** {_cell(message)}\n\n"


def _cell(text: str) -> str:
    """Keep feed text from breaking the Markdown table or injecting markup."""
    return text.replace("|", "\\|").replace("\n", " ").replace("<", "&lt;")
