"""Where a review lives, and what the ledger says of one: shared by `review` and the send.

The review file sits in `<state folder>/review/` of the blog's repository: on the review
branch while the pull request is open, on the default branch once it is merged (where the
workflow's checkout finds it). GitHub needs its path inside the repository; the send reads
it from the checkout.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

from newsletter.config import Config
from newsletter.errors import ConfigError, LedgerError
from newsletter.github import GitHub, Repository
from newsletter.ledger import DestinationLedger, RunRecord, Status
from newsletter.models import Post
from newsletter.review.issue import FOLDER, ISSUE_FILE, ReviewIssue, load_issue


@dataclass(frozen=True)
class ReviewPlace:
    folder: Path
    """The review folder on this machine (in the checkout)."""
    repository_folder: str
    """The same folder as a path inside the repository, with `/`."""

    @property
    def issue_file(self) -> Path:
        return self.folder / ISSUE_FILE

    @property
    def repository_issue_file(self) -> str:
        return f"{self.repository_folder}/{ISSUE_FILE}"


class Approval(StrEnum):
    WAITING = "waiting"
    """Approved, and none of its posts has gone out yet: it is to be sent."""
    SENT = "sent"
    """Every post of it went out (or was drafted): nothing left to do."""
    SUPERSEDED = "superseded"
    """Some of its posts went out another way (`send --post`): it is no longer sent."""


def review_place(config: Config) -> ReviewPlace:
    folder = config.state.path.parent / FOLDER
    root = _repository_root(folder)
    try:
        inside = folder.resolve().relative_to(root.resolve())
    except ValueError:
        raise ConfigError(
            f"The review folder {folder} is outside the repository {root}; set [state] path "
            "to a place inside the blog's repository."
        ) from None
    return ReviewPlace(folder=folder, repository_folder=inside.as_posix())


def github_from(environ: Mapping[str, str]) -> GitHub:
    return GitHub(Repository.from_environment(environ))


def read_approved(place: ReviewPlace) -> ReviewIssue | None:
    """The review file on this checkout's branch (merged, so approved), if there is one."""
    path = place.issue_file
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return None
    except OSError as error:
        raise LedgerError(
            f"Cannot read the review file {path} ({error.strerror}); check that it is readable."
        ) from None
    return load_issue(data, str(path))


def approval_of(issue: ReviewIssue, records: DestinationLedger) -> Approval:
    statuses = [_status(records, post.as_post()) for post in issue.posts]
    handled = [status in (Status.SENT, Status.DRAFTED) for status in statuses]
    if all(handled):
        return Approval.SENT
    if any(handled):
        return Approval.SUPERSEDED
    return Approval.WAITING


def written_by_review(issue: ReviewIssue, runs: Iterable[RunRecord]) -> bool:
    """Whether a `review` run recorded this file's digest when it published it.

    The digest inside the file catches an accident (a hand edit, a conflict resolved in it),
    but anyone can compute it again. The ledger, on the default branch, remembers the digest
    of each file newsletter itself rendered and put in the pull request; a file changed on
    the review branch, or on the default branch after the merge, is in none of them, so the
    send refuses it rather than mail something other than what the pull request showed."""
    return any(run.command == "review" and run.issue == issue.digest for run in runs)


def _status(records: DestinationLedger, post: Post) -> Status | None:
    record = records.match(post)
    return None if record is None else record.status


def _repository_root(folder: Path) -> Path:
    """The nearest folder above with a `.git`, else the working directory."""
    for candidate in (folder.resolve(), *folder.resolve().parents):
        if (candidate / ".git").exists():
            return candidate
    return Path.cwd()
