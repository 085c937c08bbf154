"""What became of the latest review pull request: still open, merged, or closed unmerged.

A person decides on GitHub, so every run that cares asks GitHub rather than trusting a file:
the newest pull request from the review branch tells. One closed without merging skips its
posts: they are recorded `skipped` in the ledger (so no later issue picks them up, `status`
lists them, and `send --post` can still send one), once, from the review file as it was on
the branch when it was closed.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from newsletter.github import GitHub, PullRequest
from newsletter.ledger import DestinationLedger, Status
from newsletter.review.issue import ReviewIssue, load_issue
from newsletter.review.publish import BRANCH


@dataclass(frozen=True)
class Settlement:
    latest: PullRequest | None
    """The newest pull request from the review branch, in any state."""
    skipped: tuple[str, ...] = ()
    """Titles of the posts this run recorded as skipped (a review closed unmerged)."""

    @property
    def open(self) -> PullRequest | None:
        return self.latest if self.latest is not None and self.latest.is_open else None


def settle(
    github: GitHub,
    records: DestinationLedger,
    *,
    issue_path: str,
    at: datetime,
    branch: str = BRANCH,
) -> Settlement:
    """Look up the latest review; record its posts as skipped if it was closed unmerged.

    `issue_path` is the review file's path in the repository. Posts the ledger already has a
    record of (sent meanwhile with --post, or skipped by an earlier run) are left as they are.
    """
    pulls = github.pulls_from(branch, state="all", limit=1)
    latest = pulls[0] if pulls else None
    if latest is None or latest.is_open or latest.merged:
        return Settlement(latest)
    closed = _closed_issue(github, issue_path, latest)
    if closed is None:
        return Settlement(latest)
    unrecorded = [post.as_post() for post in closed.posts if records.match(post.as_post()) is None]
    if not unrecorded:
        return Settlement(latest)
    records.mark(unrecorded, Status.SKIPPED, at=at)
    return Settlement(latest, tuple(post.title for post in unrecorded))


def _closed_issue(github: GitHub, issue_path: str, pull: PullRequest) -> ReviewIssue | None:
    """The review file as the closed pull request had it, or None when it had none."""
    found = github.read_file(issue_path, pull.head_sha)
    if found is None:
        return None
    return load_issue(found[0], f"{issue_path} of pull request #{pull.number}")
