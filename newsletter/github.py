"""A small client for the part of GitHub's REST API that the review pull request needs.

Branches (git refs), files (the contents API: one commit per file), pull requests and their
comments and labels, in API version 2022-11-28. The repository, the API's address and the
token come from the environment a GitHub Actions job provides (`GITHUB_REPOSITORY`,
`GITHUB_API_URL`, and `GITHUB_TOKEN`, which the workflow passes to the one step that needs it).
The token is sent only in the Authorization header and scrubbed from every message.

Every refusal becomes one sentence that says what to change: above all the repository setting
that keeps Actions from opening pull requests, and a job without the permission it needs
(`github_errors.py`; docs/schedule-and-review.md, "Setting up the repository").
"""

from __future__ import annotations

import base64
import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import quote, urlsplit

import httpx

from newsletter import __version__
from newsletter.errors import ConfigError
from newsletter.github_errors import (
    TOKEN_ENV,
    GitHubError,
    rate_limit_wait,
    rate_limited,
    refusal,
)
from newsletter.http import (
    DEADLINE_FACTOR,
    GaveUp,
    RetryPolicy,
    Sleep,
    make_client,
    send_with_retries,
)

API_VERSION = "2022-11-28"
DEFAULT_API_URL = "https://api.github.com"
_THIS_MACHINE = frozenset({"127.0.0.1", "::1", "localhost"})
"""Hosts a plain-http API address may name: a stand-in on this machine, where no network
carries the token."""
RETRY = RetryPolicy(attempts=3, base_delay=2.0, max_delay=8.0, max_retry_after=90.0)
"""Three tries; a rate limit that asks for a longer pause than a minute and a half fails
the run now rather than hold the job."""


@dataclass(frozen=True)
class PullRequest:
    number: int
    state: str
    """"open" or "closed"."""
    title: str
    body: str
    html_url: str
    head_ref: str
    head_sha: str
    base_ref: str
    merged_at: datetime | None
    """Set once merged; `pulls/list` has no `merged` field, so this is what tells."""
    merge_commit_sha: str | None

    @property
    def merged(self) -> bool:
        return self.merged_at is not None

    @property
    def is_open(self) -> bool:
        return self.state == "open"


@dataclass(frozen=True)
class Repository:
    api_url: str
    owner: str
    name: str
    token: str

    @property
    def full_name(self) -> str:
        return f"{self.owner}/{self.name}"

    @classmethod
    def from_environment(cls, environ: Mapping[str, str]) -> Repository:
        full_name = environ.get("GITHUB_REPOSITORY", "").strip()
        owner, _, name = full_name.partition("/")
        if not owner or not name or "/" in name:
            raise ConfigError(
                "GITHUB_REPOSITORY must name the blog's repository as owner/name (GitHub "
                "Actions sets it); set it to open the review pull request from elsewhere."
            )
        token = environ.get(TOKEN_ENV, "").strip()
        if not token:
            raise ConfigError(
                f"${TOKEN_ENV} is not set; the review needs a token that may push a branch and "
                "open a pull request: in the workflow, pass `GITHUB_TOKEN: ${{ github.token }}` "
                "in the step's env."
            )
        api_url = (environ.get("GITHUB_API_URL") or DEFAULT_API_URL).strip().rstrip("/")
        if not api_url.startswith(("https://", "http://")):
            raise ConfigError(
                f"GITHUB_API_URL must be an http(s) address such as {DEFAULT_API_URL}, "
                f"not {api_url!r}."
            )
        address = urlsplit(api_url)
        if address.username is not None or address.password is not None:
            # Errors name the address; a password in it would be printed with them.
            raise ConfigError(
                "GITHUB_API_URL must not carry a user name or password; the token comes from "
                f"${TOKEN_ENV} alone."
            )
        if address.scheme == "http" and address.hostname not in _THIS_MACHINE:
            # The token goes in a header: over plain http anyone on the way could read it.
            raise ConfigError(
                f"GITHUB_API_URL must be an https:// address (such as {DEFAULT_API_URL}), not "
                f"{api_url!r}: over plain http the token would cross the network unencrypted."
            )
        return cls(api_url=api_url, owner=owner, name=name, token=token)


class GitHub:
    """One repository's refs, files and pull requests."""

    def __init__(
        self,
        repository: Repository,
        *,
        transport: httpx.BaseTransport | None = None,
        sleep: Sleep = time.sleep,
        timeout: float = 30.0,
    ) -> None:
        self.repository = repository
        self._sleep = sleep
        self._timeout = timeout
        self._client = make_client(
            timeout=timeout,
            transport=transport,
            base_url=f"{repository.api_url}/repos/{repository.full_name}",
            headers={
                "Authorization": f"Bearer {repository.token}",
                "Accept": "application/vnd.github+json",
                "X-GitHub-Api-Version": API_VERSION,
                "User-Agent": f"blog-newsletter/{__version__}",
            },
        )

    def close(self) -> None:
        self._client.close()

    def __enter__(self) -> GitHub:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- branches --------------------------------------------------------------------------

    def branch_sha(self, branch: str) -> str | None:
        """The commit a branch points at, or None when there is no such branch."""
        response = self._request(
            "GET", f"/git/ref/heads/{_path(branch)}", doing="read the branch", missing_ok=True
        )
        if response is None:
            return None
        return str(_field(response, "object", "sha"))

    def create_branch(self, branch: str, sha: str) -> None:
        self._request(
            "POST",
            "/git/refs",
            json={"ref": f"refs/heads/{branch}", "sha": sha},
            doing=f"create the branch {branch}",
        )

    def move_branch(self, branch: str, sha: str, *, force: bool) -> None:
        self._request(
            "PATCH",
            f"/git/refs/heads/{_path(branch)}",
            json={"sha": sha, "force": force},
            doing=f"update the branch {branch}",
        )

    # --- files -----------------------------------------------------------------------------

    def read_file(self, path: str, ref: str) -> tuple[bytes, str] | None:
        """A file's bytes and blob sha at a branch or commit, or None when it is absent."""
        response = self._request(
            "GET",
            f"/contents/{_path(path)}",
            params={"ref": ref},
            doing=f"read {path}",
            missing_ok=True,
        )
        if response is None:
            return None
        body = _json(response)
        if not isinstance(body, dict) or body.get("type") != "file":
            raise GitHubError(f"{path} on {ref} in {self.repository.full_name} is not a file.")
        sha = str(body.get("sha", ""))
        if body.get("encoding") != "base64":
            # Files over 1 MB come without content unless asked for a raw media type.
            raw = self._request(
                "GET",
                f"/contents/{_path(path)}",
                params={"ref": ref},
                headers={"Accept": "application/vnd.github.raw+json"},
                doing=f"read {path}",
            )
            assert raw is not None
            return raw.content, sha
        return base64.b64decode(str(body.get("content", ""))), sha

    def write_file(
        self, path: str, data: bytes, *, branch: str, message: str, sha: str | None
    ) -> str:
        """Create or replace one file on a branch (one commit); returns the commit's sha.

        `sha` is the blob being replaced, which GitHub requires for an existing file.
        """
        body: dict[str, Any] = {
            "message": message,
            "content": base64.b64encode(data).decode("ascii"),
            "branch": branch,
        }
        if sha is not None:
            body["sha"] = sha
        response = self._request(
            "PUT", f"/contents/{_path(path)}", json=body, doing=f"write {path} on {branch}"
        )
        assert response is not None
        return str(_field(response, "commit", "sha"))

    # --- pull requests ---------------------------------------------------------------------

    def pulls_from(self, branch: str, *, state: str = "open", limit: int = 30) -> list[PullRequest]:
        """Pull requests whose head is `branch` in this repository, newest first."""
        response = self._request(
            "GET",
            "/pulls",
            # `owner:branch`: GitHub ignores a bare branch name here and lists every pull.
            params={
                "head": f"{self.repository.owner}:{branch}",
                "state": state,
                "sort": "created",
                "direction": "desc",
                "per_page": str(min(limit, 100)),
            },
            doing="list the pull requests",
        )
        assert response is not None
        items = _json(response)
        if not isinstance(items, list):
            raise GitHubError("GitHub answered the list of pull requests with something else.")
        pulls = [_pull(item) for item in items]
        # Belt and braces against a server that ignores the filter.
        return [pull for pull in pulls if pull.head_ref == branch]

    def create_pull(self, *, head: str, base: str, title: str, body: str) -> PullRequest:
        response = self._request(
            "POST",
            "/pulls",
            json={"head": head, "base": base, "title": title, "body": body},
            doing="open the review pull request",
        )
        assert response is not None
        return _pull(_json(response))

    def update_pull(self, number: int, **fields: str) -> PullRequest:
        response = self._request(
            "PATCH", f"/pulls/{number}", json=fields, doing=f"update pull request #{number}"
        )
        assert response is not None
        return _pull(_json(response))

    def comment(self, number: int, text: str) -> None:
        self._request(
            "POST",
            f"/issues/{number}/comments",
            json={"body": text},
            doing=f"comment on pull request #{number}",
        )

    # --- one request -----------------------------------------------------------------------

    def _request(
        self,
        method: str,
        path: str,
        *,
        doing: str,
        json: Any = None,
        params: Mapping[str, str] | None = None,
        headers: Mapping[str, str] | None = None,
        missing_ok: bool = False,
    ) -> httpx.Response | None:
        def attempt() -> httpx.Response:
            return self._client.request(method, path, json=json, params=params, headers=headers)

        try:
            outcome = send_with_retries(
                attempt,
                policy=RETRY,
                # Every request may be tried again: GitHub refuses what a repeat would
                # double (a ref that exists, a file's stale blob sha, a second open pull
                # request for the branch); a comment is the one write a repeat could show
                # twice, which is better than no comment.
                repeatable=True,
                deadline=self._timeout * DEADLINE_FACTOR,
                sleep=self._sleep,
                wait_hint=rate_limit_wait,
                throttled=rate_limited,
            )
        except GaveUp as gave_up:
            if gave_up.response is None:
                raise GitHubError(
                    self._redact(
                        f"Cannot reach GitHub at {self.repository.api_url} to {doing} "
                        f"({type(gave_up.error).__name__}); try again later."
                    )
                ) from None
            response = gave_up.response
        else:
            response = outcome.response
        if response.is_success:
            return response
        if response.status_code == 404 and missing_ok:
            return None
        raise refusal(
            response,
            doing,
            where=self.repository.full_name,
            rate_limited=rate_limited(response),
            redact=self._redact,
        )

    def _redact(self, text: str) -> str:
        return text.replace(self.repository.token, "[token]")


def _json(response: httpx.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        raise GitHubError(
            f"GitHub answered HTTP {response.status_code} with a body that is not JSON; check "
            "that GITHUB_API_URL points at GitHub's REST API."
        ) from None


def _field(response: httpx.Response, *keys: str) -> Any:
    value: Any = _json(response)
    for key in keys:
        if not isinstance(value, dict) or key not in value:
            raise GitHubError(f"GitHub's answer lacks {'.'.join(keys)}; try again later.")
        value = value[key]
    return value


def _pull(item: Any) -> PullRequest:
    try:
        merged_at = item.get("merged_at")
        return PullRequest(
            number=int(item["number"]),
            state=str(item["state"]),
            title=str(item.get("title") or ""),
            body=str(item.get("body") or ""),
            html_url=str(item["html_url"]),
            head_ref=str(item["head"]["ref"]),
            head_sha=str(item["head"]["sha"]),
            base_ref=str(item["base"]["ref"]),
            merged_at=datetime.fromisoformat(merged_at) if merged_at else None,
            merge_commit_sha=item.get("merge_commit_sha"),
        )
    except (KeyError, TypeError, ValueError, AttributeError):
        raise GitHubError(
            "GitHub's description of a pull request lacks fields it always has."
        ) from None


def _path(text: str) -> str:
    """Percent-encode each segment of a path, keeping the slashes between them."""
    return quote(text, safe="/")
