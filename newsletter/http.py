"""The one HTTP layer, for the feed fetch, the mail providers' APIs and GitHub's alike.

- `make_client`: every httpx client is built here, with per-read timeouts, a whole-request
  deadline (`deadline.py`) and a transport seam (`transport=` takes an `httpx.MockTransport`
  in tests).
- `send_with_retries`: the one retry loop, with capped exponential backoff, jitter from an
  injectable random source, and `Retry-After` honoured up to a cap.
- `Redactor`: scrubs a secret (and the Basic-auth token built from it) out of any text.

What is tried again (docs/providers.md, "Retries"):

- A request that certainly did not reach the server: no connection was made (refused,
  DNS, connect timeout) or the server answered 429. Always retried.
- A request that may have been processed: a read or write timeout, a connection dropped
  mid-answer, a 5xx. Retried only when repeating it is harmless: a GET, or a request that
  carries an idempotency key the server deduplicates by. Otherwise `GaveUp` at once with
  `maybe_processed`, since a second copy of a mailing is worse than a question.
- Any other answer (2xx, 3xx, other 4xx) is returned to the caller, which owns its meaning.
"""

from __future__ import annotations

import base64
import random
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from typing import Protocol

import httpx

from newsletter.deadline import DeadlineTransport, whole_request_deadline

Sleep = Callable[[float], None]

DEADLINE_FACTOR = 3
"""A whole request (connecting, sending, the headers and the body) may take this many times
the per-read timeout: a server that trickles a byte a second never trips a per-read timeout,
and must not hold the run, and the ledger's lock, for ever."""

SAFE_METHODS = frozenset({"GET", "HEAD"})


class Jitter(Protocol):
    """Where backoff jitter comes from: `random.Random`, or a seeded one in tests."""

    def uniform(self, a: float, b: float) -> float: ...


@dataclass(frozen=True)
class RetryPolicy:
    attempts: int = 4
    """Total tries per request, the first one included."""
    base_delay: float = 0.5
    max_delay: float = 30.0
    max_retry_after: float = 120.0
    """A server asking for a longer pause than this fails the run now rather than holding a
    CI job hostage; the author can simply run again later."""

    def backoff(self, attempt: int, jitter: Jitter) -> float:
        """The pause after failed try number `attempt` (1-based).

        "Equal jitter": between half the capped exponential step and the full step, so
        retries spread out without ever collapsing into an immediate hammering.
        """
        ceiling = min(self.max_delay, self.base_delay * 2.0 ** (attempt - 1))
        return ceiling / 2 + jitter.uniform(0, ceiling / 2)


class GaveUp(Exception):
    """No (further) attempt is allowed; the caller turns this into its own sentence.

    Exactly one of `error` (no answer) and `response` (a 429 or 5xx answer) is set.
    `maybe_processed` says whether any attempt may have been acted on by the server; `wait`
    is the pause the server asked for, when that was over the policy's cap.
    """

    def __init__(
        self,
        attempts: int,
        error: httpx.TransportError | None,
        response: httpx.Response | None,
        maybe_processed: bool,
        wait: float | None = None,
    ) -> None:
        super().__init__(f"gave up after {attempts} attempt(s)")
        self.attempts = attempts
        self.error = error
        self.response = response
        self.maybe_processed = maybe_processed
        self.wait = wait

    @property
    def timed_out(self) -> bool:
        return isinstance(self.error, httpx.TimeoutException)


def certainly_not_processed(error: httpx.TransportError) -> bool:
    """No connection was ever made, so the server cannot have seen the request."""
    return isinstance(error, httpx.ConnectError | httpx.ConnectTimeout | httpx.PoolTimeout)


@dataclass(frozen=True)
class Outcome:
    response: httpx.Response
    """The first answer that is neither 429 nor 5xx (any status: the caller judges it)."""
    maybe_processed: bool
    """Whether an earlier, failed attempt may have been acted on by the server."""


def send_with_retries(
    attempt: Callable[[], httpx.Response],
    *,
    policy: RetryPolicy,
    repeatable: bool,
    deadline: float,
    sleep: Sleep = time.sleep,
    jitter: Jitter | None = None,
    wait_hint: Callable[[httpx.Response], float | None] | None = None,
    final: Callable[[httpx.Response], bool] | None = None,
    throttled: Callable[[httpx.Response], bool] | None = None,
) -> Outcome:
    """Call `attempt` until it gives an answer that is not 429 or 5xx, as the rule allows.

    `repeatable`: repeating a request the server may have processed does no harm (a GET, or
    a key the server deduplicates by). `deadline`: seconds each attempt may take in all.
    `wait_hint`: reads a pause out of a 429 body when the vendor puts it there instead of in
    `Retry-After`. `final`: says of a 429 or 5xx that trying again cannot help (a daily
    quota used up), so it is returned at once. `throttled`: says of another answer that it
    asks the client to slow down as a 429 does (GitHub's rate limits answer 403), so it is
    waited for and tried again like one. Raises `GaveUp` when no further try is allowed.
    """
    jitter = jitter or random.Random()  # noqa: S311 - spreading retries, not security
    uncertain = False
    tries = 0
    while True:
        tries += 1
        response: httpx.Response | None = None
        error: httpx.TransportError | None = None
        slow_down = False
        try:
            with whole_request_deadline(deadline):
                response = attempt()
        except httpx.TransportError as failure:
            error = failure
            uncertain = uncertain or not certainly_not_processed(failure)
        else:
            slow_down = response.status_code == 429 or bool(throttled and throttled(response))
            if not slow_down and response.status_code < 500:
                return Outcome(response, uncertain)
            if final is not None and final(response):
                return Outcome(response, uncertain or response.status_code >= 500)
            uncertain = uncertain or response.status_code >= 500
        wait = None
        if response is not None:
            wait = retry_after(response, wait_hint, throttled=slow_down)
        if wait is not None and wait > policy.max_retry_after:
            raise GaveUp(tries, error, response, uncertain, wait)
        # Only the failure just seen decides: an earlier ambiguous try of a request that is
        # not repeatable has already ended the loop.
        ambiguous = (error is not None and not certainly_not_processed(error)) or (
            response is not None and response.status_code >= 500
        )
        if tries >= policy.attempts or (ambiguous and not repeatable):
            raise GaveUp(tries, error, response, uncertain)
        sleep(wait if wait is not None else policy.backoff(tries, jitter))


def retry_after(
    response: httpx.Response,
    hint: Callable[[httpx.Response], float | None] | None = None,
    *,
    throttled: bool = False,
) -> float | None:
    """Seconds the server asked us to wait: `Retry-After` (seconds or an HTTP date), else
    the vendor's own hint in a 429 (or another answer the caller calls `throttled`), else
    None."""
    header = response.headers.get("Retry-After", "").strip()
    if header:
        try:
            return max(0.0, float(header))
        except ValueError:
            pass
        try:
            moment = parsedate_to_datetime(header)
        except (TypeError, ValueError):
            moment = None
        if moment is not None and moment.tzinfo is not None:
            return max(0.0, moment.timestamp() - time.time())
    if (response.status_code == 429 or throttled) and hint is not None:
        return hint(response)
    return None


def make_client(
    *,
    timeout: float,
    transport: httpx.BaseTransport | None = None,
    concurrency: int = 1,
    base_url: str = "",
    headers: Mapping[str, str] | None = None,
    auth: tuple[str, str] | None = None,
    follow_redirects: bool = False,
    max_redirects: int = 5,
) -> httpx.Client:
    """An httpx client with per-read `timeout`s; the whole-request deadline is applied by
    the default transport (a test's own `transport` replaces it)."""
    return httpx.Client(
        base_url=base_url,
        headers=dict(headers or {}),
        auth=auth,
        timeout=httpx.Timeout(timeout),
        follow_redirects=follow_redirects,
        max_redirects=max_redirects,
        transport=transport or DeadlineTransport(concurrency=concurrency),
    )


class Redactor:
    """Replaces a secret, and the Basic-auth token built from it, with `[redacted]`.

    A server may echo either form back in an error body; the longest form is replaced first
    so that a longer one is never half-replaced by a shorter one.
    """

    def __init__(self, secret: str, *, basic_user: str | None = None) -> None:
        forms = {secret} if secret else set()
        if secret and basic_user is not None:
            forms.add(base64.b64encode(f"{basic_user}:{secret}".encode()).decode())
        self._forms = tuple(sorted(forms, key=len, reverse=True))

    def __call__(self, text: str) -> str:
        for form in self._forms:
            text = text.replace(form, "[redacted]")
        return text


def one_line(text: str, limit: int = 300) -> str:
    """A server's message fit for one sentence: whitespace collapsed, cut at `limit`."""
    return " ".join(text.split())[:limit]
