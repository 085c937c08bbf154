"""Put a review on its branch and open its pull request, or update the one still open.

There is only ever one review branch and at most one open pull request from it. Each review
starts the branch again from the tip of the base branch, then writes the review's files one
commit each (GitHub's contents API), so the pull request shows exactly this issue against what
is on the base branch, whatever an earlier review left. A pull request already open from the
branch is kept and retitled, and gets a comment so that whoever watches it hears of the change.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

from newsletter.github import GitHub, PullRequest
from newsletter.github_errors import GitHubConflict, GitHubSetupError

BRANCH = "newsletter/review"


@dataclass(frozen=True)
class Published:
    pull: PullRequest
    created: bool
    """True when this run opened the pull request; False when it updated an open one."""
    commit: str
    """The branch's tip after the files were written."""


def publish(
    github: GitHub,
    *,
    base: str,
    files: Mapping[str, bytes],
    title: str,
    body: Callable[[str], str],
    update_note: str,
    branch: str = BRANCH,
) -> Published | None:
    """Write `files` (repository paths) on `branch`, then open or update its pull request.

    `body` gets the branch's final commit, so that images in it can point at files that will
    not move. `update_note` is the comment left on a pull request that was already open.
    None means the files are on the base branch already, exactly: there is nothing to review.
    """
    base_sha = github.branch_sha(base)
    if base_sha is None:
        raise GitHubSetupError(
            f"The branch {base} does not exist in {github.repository.full_name}, so there is "
            "nothing to review against; pass the default branch with --base."
        )
    if github.branch_sha(branch) is None:
        github.create_branch(branch, base_sha)
    else:
        github.move_branch(branch, base_sha, force=True)
    commit = base_sha
    for path, data in files.items():
        existing = github.read_file(path, branch)
        if existing is not None and existing[0] == data:
            continue
        commit = github.write_file(
            path,
            data,
            branch=branch,
            message=f"Newsletter review: {path.rsplit('/', 1)[-1]}",
            sha=existing[1] if existing else None,
        )
    if commit == base_sha:
        return None
    text = body(commit)
    already_open = github.pulls_from(branch)
    if already_open:
        return Published(_refresh(github, already_open[0], title, text, update_note), False, commit)
    try:
        pull = github.create_pull(head=branch, base=base, title=title, body=text)
    except GitHubConflict as conflict:
        # Another run opened one between our look and our request: update that one instead.
        if "already exists" not in conflict.detail:
            raise
        raced = github.pulls_from(branch)
        if not raced:
            raise
        return Published(_refresh(github, raced[0], title, text, update_note), False, commit)
    return Published(pull, True, commit)


def _refresh(github: GitHub, pull: PullRequest, title: str, body: str, note: str) -> PullRequest:
    updated = github.update_pull(pull.number, title=title, body=body)
    github.comment(pull.number, note)
    return updated
