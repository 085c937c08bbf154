"""What GitHub's refusals mean for the author, in one sentence each (`github.py` asks).

The two that need a person to change a setting are named in their own words: the repository
setting that keeps Actions from opening pull requests, and a workflow job whose token lacks
the permission. A rate limit says how long it asks to wait (`rate_limited`, `rate_limit_wait`).
"""

from __future__ import annotations

import time
from collections.abc import Callable

import httpx

from newsletter.errors import ConfigError, NewsletterError

TOKEN_ENV = "GITHUB_TOKEN"  # noqa: S105 - the variable's name, not a token
SETTING = (
    "Settings → Actions → General → Workflow permissions → “Allow GitHub Actions to create and "
    "approve pull requests”"
)
_NOT_PERMITTED = "not permitted to create or approve pull requests"
_NOT_ACCESSIBLE = "resource not accessible by integration"


class GitHubError(NewsletterError):
    """GitHub could not be reached or refused a request for a reason the author cannot fix
    in the configuration (exit 1)."""


class GitHubSetupError(ConfigError):
    """The token, its permissions or the repository's settings are wrong (exit 2)."""


class GitHubConflict(GitHubError):
    """GitHub answered 409 or 422: the request does not fit the repository's current state."""

    def __init__(self, message: str, *, status: int, detail: str) -> None:
        super().__init__(message)
        self.status = status
        self.detail = detail
        """GitHub's own words (message and error messages), for callers that branch on them."""


def refusal(
    response: httpx.Response,
    doing: str,
    *,
    where: str,
    rate_limited: bool,
    redact: Callable[[str], str],
) -> NewsletterError:
    """The error for a refused request to `doing` in the repository `where`; `redact`
    scrubs the token from GitHub's own words before they are quoted."""
    status = response.status_code
    message, details = messages(response)
    quoted = redact("; ".join([message, *details]) or f"HTTP {status}")
    if status == 401:
        return GitHubSetupError(
            f"GitHub refused the token in ${TOKEN_ENV} ({quoted}); pass the job's own "
            "token in the step's env (`GITHUB_TOKEN: ${{ github.token }}`), or a token "
            "that has not expired."
        )
    if status == 403 and _NOT_PERMITTED in quoted.lower():
        return GitHubSetupError(
            f"GitHub does not let this workflow open pull requests in {where}: turn on "
            f"{SETTING} in the repository (an organisation may have to allow it first in "
            "its own Actions settings)."
        )
    if status == 403 and _NOT_ACCESSIBLE in quoted.lower():
        return GitHubSetupError(
            f"The workflow's token may not {doing} in {where} ({quoted}); give the job "
            "`permissions: contents: write` and `pull-requests: write` in "
            ".github/workflows/newsletter.yml (newsletter init writes them when [review] "
            "is on)."
        )
    if rate_limited:
        return GitHubError(
            f"GitHub's rate limit stopped the request to {doing} ({quoted}); try again in an hour."
        )
    if status == 404:
        return GitHubSetupError(
            f"GitHub found nothing to {doing} in {where} (404); check GITHUB_REPOSITORY and "
            "that the token may see the repository."
        )
    if status in (409, 422):
        return GitHubConflict(
            f"GitHub refused to {doing} in {where}: {quoted}.",
            status=status,
            detail=quoted,
        )
    if status >= 500:
        return GitHubError(
            f"GitHub failed to {doing} (HTTP {status}); try again later, or check "
            "https://www.githubstatus.com."
        )
    return GitHubError(f"GitHub refused to {doing} in {where} (HTTP {status}: {quoted}).")


def rate_limited(response: httpx.Response) -> bool:
    """GitHub asks to slow down: a 429, or a 403 that carries `Retry-After`, an exhausted
    `x-ratelimit-remaining`, or the secondary rate limit's words."""
    if response.status_code == 429:
        return True
    if response.status_code != 403:
        return False
    return (
        "retry-after" in response.headers
        or response.headers.get("x-ratelimit-remaining") == "0"
        or "secondary rate limit" in response.text.lower()
    )


def rate_limit_wait(response: httpx.Response) -> float:
    """Seconds a rate limit without a readable `Retry-After` asks for: until
    `x-ratelimit-reset` when the hourly allowance is spent, else a minute."""
    if response.headers.get("x-ratelimit-remaining") == "0":
        try:
            return max(0.0, float(response.headers.get("x-ratelimit-reset", "")) - time.time())
        except ValueError:
            pass
    return 60.0


def messages(response: httpx.Response) -> tuple[str, list[str]]:
    try:
        body = response.json()
    except ValueError:
        return "", []
    if not isinstance(body, dict):
        return "", []
    message = " ".join(str(body.get("message") or "").split())
    details: list[str] = []
    for error in body.get("errors") or []:
        if isinstance(error, dict):
            text = error.get("message") or " ".join(
                str(error[key]) for key in ("resource", "field", "code") if error.get(key)
            )
            if text:
                details.append(" ".join(str(text).split()))
        elif isinstance(error, str):
            details.append(error)
    return message, details
