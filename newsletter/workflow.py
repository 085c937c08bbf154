"""The blog's workflow file, fitted to its `[schedule]` and `[review]` by `newsletter init`.

The workflow this project runs (`.github/workflows/newsletter.yml`) is the starting point.
With a `[schedule]`, its UTC cron line gives way to lines in the author's own time zone (the
`timezone:` key GitHub's cron accepts): each slot, and a retry a few hours later that the
newsletter's own guard turns into a no-op once the slot's issue is out. With `[review] mode =
"pull-request"`, the job may also write pull requests, runs when the review pull request is
closed, installs Playwright for the review's pictures, and a step opens the review. Without
either, the file is the project's own, unchanged (docs/schedule-and-review.md).

Each change is made at a line the workflow is known to contain; a workflow without that line
(edited by hand, or from another version) is an error, never a half-fitted file.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from newsletter.errors import NewsletterError
from newsletter.schedule import WEEKDAYS, Schedule, cron_entries

RETRY_AFTER = timedelta(hours=3)
"""The retry line's distance from the slot: inside the slot's 24 hours, clear of its hour."""
REVIEW_BRANCH = "newsletter/review"

_SCHEDULE_START = "  schedule:\n"
_SCHEDULE_END = "  workflow_dispatch:\n"
_PERMISSIONS = "      contents: write # to push the updated ledger back to this branch\n"
_INSTALL = '          uv pip install --system "$package"\n'
_SEND_SECRETS = "          RESEND_API_KEY: ${{ secrets.RESEND_API_KEY }}\n"
_COMMIT_STEP = "      - name: Commit the ledger\n"


@dataclass(frozen=True)
class Fitting:
    """What the blog's configuration asks of its workflow."""

    schedule: Schedule | None = None
    review: bool = False
    review_ahead: timedelta = timedelta(hours=24)
    """How long before each slot the review pull request opens."""
    review_folder: str = "state/review"
    """Where the review's files live, relative to the repository (for the trigger's paths)."""


def fit_workflow(workflow: str, fitting: Fitting) -> str:
    text = workflow
    if fitting.schedule is not None:
        text = _replace_between(text, _SCHEDULE_START, _SCHEDULE_END, _zoned(fitting))
    if fitting.review:
        text = _insert_before(text, _SCHEDULE_END, _review_trigger(fitting.review_folder))
        text = _insert_after(
            text,
            _PERMISSIONS,
            "      pull-requests: write # to open and update the review pull request\n",
        )
        text = _replace(
            text,
            _INSTALL,
            "          # The review's desktop and phone pictures: Playwright drives the runner's "
            "Chrome.\n"
            '          uv pip install --system "$package" "playwright>=1.45"\n',
        )
        text = _insert_after(
            text,
            _SEND_SECRETS,
            "          # Review mode: the send asks GitHub whether the review was merged or "
            "closed.\n"
            "          GITHUB_TOKEN: ${{ github.token }}\n",
        )
        text = _insert_before(text, _COMMIT_STEP, _REVIEW_STEP)
    return text


def _zoned(fitting: Fitting) -> str:
    schedule = fitting.schedule
    assert schedule is not None
    zone = schedule.timezone
    lines = [
        _SCHEDULE_START,
        f"    # Your [schedule]: {schedule.describe()}.\n",
        "    # GitHub reads these times in that zone (the timezone: key), so they follow its\n",
        "    # daylight saving time. The newsletter itself sends only at the first run at or\n",
        "    # after each slot: the retry line catches a run GitHub delayed or dropped, and does\n",
        "    # nothing once the issue is out.\n",
    ]
    entries = list(cron_entries(schedule, RETRY_AFTER))
    if fitting.review:
        lines.append(
            "    # The review pull request opens ahead of each slot, on the first lines.\n"
        )
        entries = [*_review_entries(schedule, fitting.review_ahead), *entries]
    for cron, comment in entries:
        lines.append(f'    - cron: "{cron}" # {comment}\n')
        lines.append(f'      timezone: "{zone}"\n')
    return "".join(lines)


def _review_entries(schedule: Schedule, ahead: timedelta) -> list[tuple[str, str]]:
    """Cron lines `ahead` before each slot, in the schedule's wall-clock time."""
    by_time: dict[tuple[int, int], list[int]] = {}
    for day in schedule.days:
        moment = datetime.combine(date(2024, 1, 1) + timedelta(days=day), schedule.time) - ahead
        by_time.setdefault((moment.hour, moment.minute), []).append(moment.weekday())
    entries = []
    for (hour, minute), weekdays in sorted(by_time.items()):
        cron_days = ",".join(str(day) for day in sorted((day + 1) % 7 for day in weekdays))
        names = ", ".join(WEEKDAYS[day].capitalize() for day in sorted(weekdays))
        entries.append(
            (f"{minute} {hour} * * {cron_days}", f"the review: {names} {hour:02d}:{minute:02d}")
        )
    return entries


def _review_trigger(folder: str) -> str:
    return (
        "  # Review mode: merging the review pull request approves its issue; closing it skips\n"
        "  # the posts. Only pull requests that touch the review's files start a run.\n"
        "  pull_request:\n"
        "    types: [closed]\n"
        f'    paths: ["{folder.strip("/")}/**"]\n'
    )


_REVIEW_STEP = f"""\
      - name: Review the next issue
        id: review
        # On the schedule only: renders the next issue and opens (or updates) the one review
        # pull request, from the branch {REVIEW_BRANCH}, when the next slot is near.
        if: steps.config.outputs.found == 'true' && github.event_name == 'schedule'
        env:
          DEFAULT_BRANCH: ${{{{ github.event.repository.default_branch }}}}
          GITHUB_TOKEN: ${{{{ github.token }}}}
        run: |
          newsletter review --scheduled --base "$DEFAULT_BRANCH"

"""


def _replace_between(text: str, start: str, end: str, replacement: str) -> str:
    begin = _find(text, start)
    finish = _find(text, end)
    if finish < begin:
        raise _unknown_layout(end)
    return text[:begin] + replacement + text[finish:]


def _insert_before(text: str, anchor: str, addition: str) -> str:
    at = _find(text, anchor)
    return text[:at] + addition + text[at:]


def _insert_after(text: str, anchor: str, addition: str) -> str:
    at = _find(text, anchor) + len(anchor)
    return text[:at] + addition + text[at:]


def _replace(text: str, anchor: str, replacement: str) -> str:
    at = _find(text, anchor)
    return text[:at] + replacement + text[at + len(anchor) :]


def _find(text: str, anchor: str) -> int:
    if text.count(anchor) != 1:
        raise _unknown_layout(anchor)
    return text.index(anchor)


def _unknown_layout(anchor: str) -> NewsletterError:
    return NewsletterError(
        "The bundled workflow does not have the line "
        f"{anchor.strip()!r} where [schedule] or [review] go; reinstall newsletter."
    )
