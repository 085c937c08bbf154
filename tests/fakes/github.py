"""GitHub's REST API, the operations the review flow uses, backed by a real bare git
repository (the API description's git/get-ref, git/create-ref, git/update-ref,
repos/get-content, repos/create-or-update-file-contents, pulls/list, pulls/create, pulls/get,
pulls/update, issues/create-comment; API version 2022-11-28).

It answers with the documented status codes and error bodies (`basic-error`:
message, documentation_url, status; `validation-error`: plus `errors[]`) and rejects what
GitHub rejects: no or a wrong token (401), no User-Agent (403), a token whose job lacks the
permission (403 "Resource not accessible by integration"), a repository whose setting keeps
Actions from opening pull requests (403), a PUT over an existing file without its blob sha
(422) or with a stale one (409), a pull request from a branch with no commits beyond its
base (422), a second open pull request for the same head (422), a non-fast-forward ref
update without `force` (422). Like GitHub, `pulls/list` ignores a `head` filter that lacks
the `owner:` prefix.

The test plays the person with `merge()` and `close()`, which change the bare repository as
the web interface would (a real merge commit on the base branch).
"""

from __future__ import annotations

import base64
import binascii
import itertools
import re
import subprocess
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import unquote

from tests.fakes.bare_repository import BareRepository, run_git
from tests.fakes.github_shapes import (
    custom,
    error,
    invalid,
    invalid_field,
    label_object,
    missing_fields,
    user_object,
)
from tests.fakes.server import FakeApi, Reply, Request

API_VERSIONS = {"2022-11-28", "2026-03-10"}
NOT_PERMITTED = "GitHub Actions is not permitted to create or approve pull requests."
NOT_ACCESSIBLE = "Resource not accessible by integration"
BOT = "github-actions[bot]"

_REPO = re.compile(r"^/repos/([^/]+)/([^/]+)(/.*)$")
_SHA = re.compile(r"^[0-9a-f]{40}$")


@dataclass
class Pull:
    number: int
    title: str
    body: str
    head: str
    base: str
    draft: bool
    created_at: str
    updated_at: str
    state: str = "open"
    closed_at: str | None = None
    merged_at: str | None = None
    merge_commit_sha: str | None = None
    merged_by: str | None = None
    labels: list[str] = field(default_factory=list)
    comments: list[str] = field(default_factory=list)
    head_sha_when_closed: str | None = None


class GitHubFake(FakeApi, BareRepository):
    def __init__(
        self,
        root: Path,
        *,
        token: str,
        owner: str = "author",
        repo: str = "blog",
        default_branch: str = "main",
        permissions: Mapping[str, str] | None = None,
        actions_may_open_pull_requests: bool = True,
        clock: Callable[[], datetime] | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.token = token
        self.owner = owner
        self.repo = repo
        self.default_branch = default_branch
        self.permissions = dict(
            permissions
            if permissions is not None
            else {"contents": "write", "pull-requests": "write"}
        )
        self.actions_may_open_pull_requests = actions_may_open_pull_requests
        self.clock = clock or (lambda: datetime.now(UTC))
        self.remote = root / f"{repo}.git"
        self.pulls: dict[int, Pull] = {}
        self.before_request: Callable[[Request], None] | None = None
        """Called with each request before it is answered: a test's way to let another
        client act at exactly that moment (a race)."""
        self._numbers = itertools.count(1)
        run_git(root, "init", "--quiet", "--bare", "-b", default_branch, str(self.remote))

    # --- what the test does as the repository's owner ------------------------------------

    def seed(self, files: Mapping[str, bytes], message: str = "Initial commit") -> str:
        """Commit these files on the default branch (creating it), as a push would."""
        return self.commit(self.default_branch, files, message)

    def merge(self, number: int, by: str = "author") -> str:
        """Merge an open pull request with a merge commit, as the web interface does."""
        pull = self.pulls[number]
        assert pull.state == "open", f"pull request #{number} is {pull.state}"
        base_sha, head_sha = self.branch_sha(pull.base), self.branch_sha(pull.head)
        assert base_sha and head_sha
        tree = self.git("merge-tree", "--write-tree", base_sha, head_sha)
        sha = self.commit_tree(
            tree,
            [base_sha, head_sha],
            f"Merge pull request #{number} from {self.owner}/{pull.head}",
            by,
        )
        self.git("update-ref", f"refs/heads/{pull.base}", sha, base_sha)
        now = self._now()
        pull.state, pull.closed_at, pull.merged_at, pull.updated_at = "closed", now, now, now
        pull.merge_commit_sha, pull.merged_by, pull.head_sha_when_closed = sha, by, head_sha
        return sha

    def close(self, number: int) -> None:
        pull = self.pulls[number]
        assert pull.state == "open"
        now = self._now()
        pull.state, pull.closed_at, pull.updated_at = "closed", now, now
        pull.head_sha_when_closed = self.branch_sha(pull.head)

    def open_pulls(self) -> list[Pull]:
        return [pull for pull in self.pulls.values() if pull.state == "open"]

    # --- the API ---------------------------------------------------------------------------

    def open_pull(self, head: str, title: str, base: str | None = None) -> Pull:
        """Open a pull request as another client would (no checks)."""
        now = self._now()
        pull = Pull(
            next(self._numbers), title, "", head, base or self.default_branch, False, now, now
        )
        self.pulls[pull.number] = pull
        return pull

    def handle(self, request: Request) -> Reply:
        if self.before_request is not None:
            self.before_request(request)
        if not request.header("user-agent"):
            return error(
                403,
                "Request forbidden by administrative rules. Please make sure your request has a "
                "User-Agent header (https://docs.github.com/en/rest/overview/resources-in-the-rest-api#user-agent-required).",
            )
        authorization = request.header("authorization") or ""
        scheme, _, given = authorization.partition(" ")
        if not authorization:
            return error(401, "Requires authentication")
        if scheme.lower() not in ("bearer", "token") or given != self.token:
            return error(401, "Bad credentials")
        version = request.header("x-github-api-version")
        if version is not None and version not in API_VERSIONS:
            return error(400, f"API version {version} is not supported.")
        match = _REPO.match(request.path)
        if match is None or (match.group(1), match.group(2)) != (self.owner, self.repo):
            return error(404, "Not Found")
        rest = match.group(3)
        body: Any = None
        if request.method in ("POST", "PUT", "PATCH"):
            try:
                body = request.json()
            except ValueError:
                return error(400, "Problems parsing JSON")
            if not isinstance(body, dict):
                return error(400, "Problems parsing JSON")
        return self._route(request, rest, body)

    def _route(self, request: Request, rest: str, body: Any) -> Reply:
        method = request.method
        if rest.startswith("/git/ref/") and method == "GET":
            return self._needs("contents", "read") or self._get_ref(
                unquote(rest[len("/git/ref/") :])
            )
        if rest == "/git/refs" and method == "POST":
            return self._needs("contents", "write") or self._create_ref(body)
        if rest.startswith("/git/refs/") and method == "PATCH":
            return self._needs("contents", "write") or self._update_ref(
                unquote(rest[len("/git/refs/") :]), body
            )
        if rest.startswith("/contents/"):
            path = unquote(rest[len("/contents/") :])
            if method == "GET":
                ref = request.query.get("ref", [self.default_branch])[0]
                return self._needs("contents", "read") or self._get_content(path, ref)
            if method == "PUT":
                return self._needs("contents", "write") or self._put_content(path, body)
        if rest == "/pulls" and method == "GET":
            return self._needs("pull-requests", "read") or self._list_pulls(request.query)
        if rest == "/pulls" and method == "POST":
            return self._needs("pull-requests", "write") or self._create_pull(body)
        pull_match = re.fullmatch(r"/pulls/(\d+)", rest)
        if pull_match and method in ("GET", "PATCH"):
            number = int(pull_match.group(1))
            if number not in self.pulls:
                return error(404, "Not Found")
            if method == "GET":
                return self._needs("pull-requests", "read") or Reply(
                    200, self._full(self.pulls[number])
                )
            return self._needs("pull-requests", "write") or self._update_pull(
                self.pulls[number], body
            )
        issue_match = re.fullmatch(r"/issues/(\d+)/comments", rest)
        if issue_match and method == "POST":
            number = int(issue_match.group(1))
            # A pull request is an issue; either permission lets a token write to it.
            denied = self._needs("issues", "write") and self._needs("pull-requests", "write")
            if denied:
                return denied
            if number not in self.pulls:
                return error(404, "Not Found")
            return self._comment(self.pulls[number], body)
        return error(404, "Not Found")

    def _needs(self, permission: str, level: str) -> Reply | None:
        granted = self.permissions.get(permission)
        if granted == "write" or (level == "read" and granted == "read"):
            return None
        return error(403, NOT_ACCESSIBLE)

    # git/get-ref, git/create-ref, git/update-ref

    def _get_ref(self, ref: str) -> Reply:
        if self.branch_sha(self.default_branch) is None:
            return error(409, "Git Repository is empty.")
        if not ref.startswith("heads/") or ref.startswith("heads/-"):
            return error(404, "Not Found")
        sha = self.branch_sha(ref[len("heads/") :])
        if sha is None:
            return error(404, "Not Found")
        return Reply(200, self._ref(f"refs/{ref}", sha))

    def _create_ref(self, body: dict[str, Any]) -> Reply:
        missing = missing_fields(body, ("ref", "sha"))
        if missing:
            return missing
        ref, sha = body["ref"], body["sha"]
        if not isinstance(ref, str) or not ref.startswith("refs/") or ref.count("/") < 2:
            return invalid("Reference name is invalid", "ref")
        if not ref.startswith("refs/heads/") or ref.startswith("refs/heads/-"):
            return invalid("Reference name is invalid", "ref")
        if self.branch_sha(self.default_branch) is None:
            return error(409, "Git Repository is empty.")
        if not self.is_commit(sha):
            return invalid("Object does not exist", "sha")
        if self.branch_sha(ref[len("refs/heads/") :]) is not None:
            return invalid("Reference already exists", "ref")
        self.git("update-ref", ref, sha)
        return Reply(
            201,
            self._ref(ref, sha),
            {"Location": f"{self.url}/repos/{self.owner}/{self.repo}/git/{ref}"},
        )

    def _update_ref(self, ref: str, body: dict[str, Any]) -> Reply:
        missing = missing_fields(body, ("sha",))
        if missing:
            return missing
        if not ref.startswith("heads/"):
            return invalid("Reference does not exist", "ref")
        branch = ref[len("heads/") :]
        current = self.branch_sha(branch)
        if current is None:
            return invalid("Reference does not exist", "ref")
        sha, force = body["sha"], body.get("force", False)
        if not isinstance(force, bool):
            return invalid("Invalid request.\n\nFor 'properties/force', is not a boolean.", "force")
        if not self.is_commit(sha):
            return invalid("Object does not exist", "sha")
        if not force and not self.is_ancestor(current, sha):
            return invalid("Update is not a fast forward", "sha")
        self.git("update-ref", f"refs/{ref}", sha, current)
        return Reply(200, self._ref(f"refs/{ref}", sha))

    # repos/get-content, repos/create-or-update-file-contents

    def _get_content(self, path: str, ref: str) -> Reply:
        commit = self.resolve(ref)
        if commit is None:
            return error(404, f"No commit found for the ref {ref}")
        kind = subprocess.run(
            ["git", "--git-dir", str(self.remote), "cat-file", "-t", f"{commit}:{path}"],
            capture_output=True,
            text=True,
            check=False,
        ).stdout.strip()
        if kind != "blob":
            return error(404, "Not Found")
        blob = self.git("rev-parse", f"{commit}:{path}")
        data = self.file(commit, path) or b""
        return Reply(200, self._content(path, blob, data, ref))

    def _put_content(self, path: str, body: dict[str, Any]) -> Reply:
        missing = missing_fields(body, ("message", "content"))
        if missing:
            return missing
        try:
            data = base64.b64decode(body["content"], validate=True)
        except (binascii.Error, ValueError, TypeError):
            return invalid("content is not valid Base64", "content")
        branch = body.get("branch", self.default_branch)
        parent = self.branch_sha(branch)
        if parent is None:
            return error(404, f"Branch {branch} not found")
        existing = subprocess.run(
            [
                "git",
                "--git-dir",
                str(self.remote),
                "rev-parse",
                "--verify",
                "--quiet",
                f"{parent}:{path}",
            ],
            capture_output=True,
            text=True,
            check=False,
        ).stdout.strip()
        given = body.get("sha")
        if existing and given is None:
            return error(422, 'Invalid request.\n\n"sha" wasn\'t supplied.')
        if existing and given != existing:
            return error(409, f"{path} does not match {given}")
        tree = self.tree_with(parent, {path: data})
        committer = body.get("committer") or {"name": BOT}
        commit = self.commit_tree(tree, [parent], body["message"], committer.get("name", BOT))
        self.git("update-ref", f"refs/heads/{branch}", commit, parent)
        blob = self.git("rev-parse", f"{commit}:{path}")
        content = {
            k: v
            for k, v in self._content(path, blob, data, branch).items()
            if k not in ("content", "encoding")
        }
        return Reply(
            200 if existing else 201,
            {
                "content": content,
                "commit": {
                    "sha": commit,
                    "node_id": f"C_{commit[:12]}",
                    "url": f"{self._api}/git/commits/{commit}",
                    "html_url": f"https://github.com/{self.owner}/{self.repo}/commit/{commit}",
                    "message": body["message"],
                    "parents": [{"sha": parent}],
                },
            },
        )

    # pulls/list, pulls/create, pulls/get, pulls/update

    def _list_pulls(self, query: dict[str, list[str]]) -> Reply:
        state = query.get("state", ["open"])[0]
        if state not in ("open", "closed", "all"):
            return invalid("state is not one of open, closed, all", "state")
        pulls = list(self.pulls.values())
        if state != "all":
            pulls = [p for p in pulls if p.state == state]
        head = query.get("head", [None])[0]
        # GitHub filters by head only when it reads `owner:branch`; a bare branch name is
        # silently ignored, so every open pull request comes back.
        if head and ":" in head:
            owner, _, branch = head.partition(":")
            pulls = [p for p in pulls if owner == self.owner and p.head == branch]
        base = query.get("base", [None])[0]
        if base:
            pulls = [p for p in pulls if p.base == base]
        sort = query.get("sort", ["created"])[0]
        direction = query.get("direction", ["desc" if sort == "created" else "asc"])[0]
        key = (lambda p: (p.updated_at, p.number)) if sort == "updated" else (lambda p: p.number)
        pulls.sort(key=key, reverse=direction == "desc")
        per_page = min(int(query.get("per_page", ["30"])[0]), 100)
        page = int(query.get("page", ["1"])[0])
        chosen = pulls[(page - 1) * per_page : page * per_page]
        return Reply(200, [self._simple(p) for p in chosen])

    def _create_pull(self, body: dict[str, Any]) -> Reply:
        missing = missing_fields(body, ("head", "base"))
        if missing:
            return missing
        if "title" not in body and "issue" not in body:
            return invalid("title wasn't supplied", "title", code="missing_field")
        if not self.actions_may_open_pull_requests:
            return error(403, NOT_PERMITTED)
        head = str(body["head"])
        if ":" in head:
            owner, _, head = head.partition(":")
            if owner != self.owner:
                return invalid_field("head")
        base = str(body["base"])
        if self.branch_sha(base) is None:
            return invalid_field("base")
        head_sha = self.branch_sha(head)
        if head_sha is None:
            return invalid_field("head")
        if any(p.head == head and p.base == base for p in self.open_pulls()):
            return custom(f"A pull request already exists for {self.owner}:{head}.")
        base_sha = self.branch_sha(base)
        ahead = self.git("rev-list", "--count", f"{base_sha}..{head_sha}")
        if ahead == "0":
            return custom(f"No commits between {base} and {head}")
        now = self._now()
        pull = Pull(
            number=next(self._numbers),
            title=str(body["title"]),
            body=str(body.get("body") or ""),
            head=head,
            base=base,
            draft=bool(body.get("draft", False)),
            created_at=now,
            updated_at=now,
        )
        self.pulls[pull.number] = pull
        return Reply(201, self._full(pull))

    def _update_pull(self, pull: Pull, body: dict[str, Any]) -> Reply:
        allowed = {"title", "body", "state", "base", "maintainer_can_modify"}
        for name, value in body.items():
            if name not in allowed:
                continue
            if name in ("title", "body", "base") and not isinstance(value, str):
                return invalid(
                    f"Invalid request.\n\nFor 'properties/{name}', is not a string.", name
                )
        state = body.get("state")
        if state is not None and state not in ("open", "closed"):
            return invalid("state is not included in the list", "state")
        if state == "open" and pull.state == "closed":
            if pull.merged_at:
                return custom("Cannot reopen a merged pull request")
            if any(p.head == pull.head and p is not pull for p in self.open_pulls()):
                return custom(f"A pull request already exists for {self.owner}:{pull.head}.")
        if "title" in body:
            pull.title = body["title"]
        if "body" in body:
            pull.body = body["body"]
        if state == "closed" and pull.state == "open":
            pull.closed_at = self._now()
            pull.head_sha_when_closed = self.branch_sha(pull.head)
        if state:
            pull.state = state
        pull.updated_at = self._now()
        return Reply(200, self._full(pull))

    # issues/create-comment

    def _comment(self, pull: Pull, body: dict[str, Any]) -> Reply:
        missing = missing_fields(body, ("body",))
        if missing:
            return missing
        pull.comments.append(str(body["body"]))
        number = len(pull.comments)
        return Reply(
            201,
            {
                "id": number,
                "node_id": f"IC_{number}",
                "url": f"{self._api}/issues/comments/{number}",
                "html_url": f"{self._html(pull)}#issuecomment-{number}",
                "issue_url": f"{self._api}/issues/{pull.number}",
                "body": body["body"],
                "user": user_object(BOT),
                "created_at": self._now(),
                "updated_at": self._now(),
            },
        )

    # --- shapes ----------------------------------------------------------------------------

    @property
    def _api(self) -> str:
        return f"{self.url}/repos/{self.owner}/{self.repo}"

    def _html(self, pull: Pull) -> str:
        return f"https://github.com/{self.owner}/{self.repo}/pull/{pull.number}"

    def _ref(self, ref: str, sha: str) -> dict[str, Any]:
        return {
            "ref": ref,
            "node_id": f"REF_{sha[:12]}",
            "url": f"{self._api}/git/{ref}",
            "object": {"type": "commit", "sha": sha, "url": f"{self._api}/git/commits/{sha}"},
        }

    def _content(self, path: str, blob: str, data: bytes, ref: str) -> dict[str, Any]:
        encoded = base64.b64encode(data).decode()
        # GitHub wraps the Base64 text at 60 characters, and leaves files over 1 MB empty
        # ("encoding": "none") unless asked for a raw media type.
        wrapped = "\n".join(encoded[i : i + 60] for i in range(0, len(encoded), 60))
        large = len(data) > 1_000_000
        url = f"{self._api}/contents/{path}?ref={ref}"
        html = f"https://github.com/{self.owner}/{self.repo}/blob/{ref}/{path}"
        return {
            "type": "file",
            "encoding": "none" if large else "base64",
            "size": len(data),
            "name": path.rsplit("/", 1)[-1],
            "path": path,
            "content": "" if large else wrapped + ("\n" if wrapped else ""),
            "sha": blob,
            "url": url,
            "git_url": f"{self._api}/git/blobs/{blob}",
            "html_url": html,
            "download_url": f"https://raw.githubusercontent.com/{self.owner}/{self.repo}/{ref}/{path}",
            "_links": {"self": url, "git": f"{self._api}/git/blobs/{blob}", "html": html},
        }

    def _simple(self, pull: Pull) -> dict[str, Any]:
        api = f"{self._api}/pulls/{pull.number}"
        head_sha = self.branch_sha(pull.head) or pull.head_sha_when_closed or ""
        if pull.state == "closed" and pull.head_sha_when_closed:
            head_sha = pull.head_sha_when_closed
        return {
            "url": api,
            "id": 1000 + pull.number,
            "node_id": f"PR_{pull.number}",
            "html_url": self._html(pull),
            "diff_url": f"{self._html(pull)}.diff",
            "patch_url": f"{self._html(pull)}.patch",
            "issue_url": f"{self._api}/issues/{pull.number}",
            "commits_url": f"{api}/commits",
            "review_comments_url": f"{api}/comments",
            "review_comment_url": f"{self._api}/pulls/comments{{/number}}",
            "comments_url": f"{self._api}/issues/{pull.number}/comments",
            "statuses_url": f"{self._api}/statuses/{head_sha}",
            "number": pull.number,
            "state": pull.state,
            "locked": False,
            "title": pull.title,
            "user": user_object(BOT),
            "body": pull.body or None,
            "labels": [label_object(name) for name in pull.labels],
            "milestone": None,
            "active_lock_reason": None,
            "created_at": pull.created_at,
            "updated_at": pull.updated_at,
            "closed_at": pull.closed_at,
            "merged_at": pull.merged_at,
            "merge_commit_sha": pull.merge_commit_sha,
            "assignee": None,
            "assignees": [],
            "requested_reviewers": [],
            "requested_teams": [],
            "head": self._end(pull.head, head_sha),
            "base": self._end(pull.base, self.branch_sha(pull.base) or ""),
            "_links": {"self": {"href": api}, "html": {"href": self._html(pull)}},
            "author_association": "NONE",
            "auto_merge": None,
            "draft": pull.draft,
        }

    def _full(self, pull: Pull) -> dict[str, Any]:
        base_sha = self.branch_sha(pull.base) or ""
        head_sha = self._simple(pull)["head"]["sha"]
        commits = int(self.git("rev-list", "--count", f"{base_sha}..{head_sha}")) if head_sha else 0
        return {
            **self._simple(pull),
            "merged": pull.merged_at is not None,
            "mergeable": None if pull.state == "open" else False,
            "rebaseable": None,
            "mergeable_state": "unknown",
            "merged_by": user_object(pull.merged_by) if pull.merged_by else None,
            "comments": len(pull.comments),
            "review_comments": 0,
            "maintainer_can_modify": False,
            "commits": commits,
            "additions": 0,
            "deletions": 0,
            "changed_files": 0,
        }

    def _end(self, branch: str, sha: str) -> dict[str, Any]:
        return {
            "label": f"{self.owner}:{branch}",
            "ref": branch,
            "sha": sha,
            "user": user_object(self.owner),
            "repo": {
                "id": 1,
                "name": self.repo,
                "full_name": f"{self.owner}/{self.repo}",
                "default_branch": self.default_branch,
            },
        }

    # --- git plumbing ----------------------------------------------------------------------

    def _now(self) -> str:
        return self.clock().astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
