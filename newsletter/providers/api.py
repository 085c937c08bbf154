"""The client every HTTP provider shares: its vendor's key, retries, error sentences, batches.

Adapters describe only their vendor's requests and responses; the vendor's facts (auth,
error bodies, idempotency header) come from its `Api` spec; whether to try again and how long
to wait is `newsletter.http`'s one rule. What the author is told:

- 401/403 name the environment variable that holds the key; 400/422 quote the provider.
- A failure that may have been processed, for a request that cannot safely be repeated,
  says the email may have gone out and that the posts stay pending.
- The secret is scrubbed from every message, so no exception can carry it to the terminal.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import FIRST_EXCEPTION, Future, ThreadPoolExecutor, wait
from itertools import chain, islice
from typing import Any, TypeVar

import httpx

from newsletter.errors import ProviderError
from newsletter.http import (
    DEADLINE_FACTOR,
    SAFE_METHODS,
    GaveUp,
    Jitter,
    Redactor,
    RetryPolicy,
    Sleep,
    certainly_not_processed,
    make_client,
    one_line,
    send_with_retries,
)
from newsletter.ledger.progress import Fingerprints
from newsletter.providers.base import Api

T = TypeVar("T")
R = TypeVar("R")


class ApiClient:
    """A pooled httpx client for one provider, with its key and the retry policy."""

    def __init__(
        self,
        api: Api,
        *,
        secret: str,
        secret_env: str,
        base_url: str,
        timeout: float,
        concurrency: int,
        user_agent: str,
        transport: httpx.BaseTransport | None = None,
        sleep: Sleep = time.sleep,
        jitter: Jitter | None = None,
        retry: RetryPolicy | None = None,
    ) -> None:
        self.api = api
        self.provider = api.vendor
        self.secret_env = secret_env
        self.concurrency = concurrency
        self.retry = retry or RetryPolicy()
        self.timeout = timeout
        self._sleep = sleep
        self._jitter = jitter
        self.redact = Redactor(secret, basic_user=api.basic_user)
        self._fingerprints = Fingerprints(secret)
        self._client = make_client(
            base_url=base_url,
            headers={**api.auth_headers(secret), "User-Agent": user_agent},
            auth=(api.basic_user, secret) if api.basic_user is not None else None,
            timeout=timeout,
            concurrency=concurrency,
            transport=transport,
        )

    def request(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        content: bytes | None = None,
        form: Sequence[tuple[str, str]] | None = None,
        headers: Mapping[str, str] | None = None,
        params: Mapping[str, str] | None = None,
        allow: Collection[int] = (),
    ) -> httpx.Response:
        """Send one request, retrying as the rule allows; return a 2xx response, or one whose
        status the caller `allow`s (it reads that answer itself).

        `content` is a body already encoded as JSON, sent as application/json: an adapter
        that sends the same large fields many times encodes them once itself. `form` is sent
        as multipart/form-data (repeated names allowed), as Mailgun documents.
        """
        files = [(name, (None, value)) for name, value in form] if form is not None else None
        if content is not None:
            headers = {"Content-Type": "application/json", **(headers or {})}
        keyed = self.api.idempotency_header is not None and any(
            name.lower() == self.api.idempotency_header.lower() for name in headers or {}
        )

        def attempt() -> httpx.Response:
            request = self._client.build_request(
                method,
                path,
                json=json,
                content=content,
                files=files,
                headers=headers,
                params=params,
            )
            # A multipart body is otherwise streamed as one small write per field, which
            # Nagle's algorithm and delayed ACKs turn into long stalls for a 1,000-
            # recipient Mailgun batch; read into memory, it goes out in one piece.
            request.read()
            return self._client.send(request)

        repeatable = method in SAFE_METHODS or keyed
        try:
            outcome = send_with_retries(
                attempt,
                policy=self.retry,
                repeatable=repeatable,
                deadline=self.timeout * DEADLINE_FACTOR,
                sleep=self._sleep,
                jitter=self._jitter,
                wait_hint=self._wait_hint,
                final=self._spent,
            )
        except GaveUp as gave_up:
            raise self._gave_up(gave_up, repeatable=repeatable) from None
        if not outcome.response.is_success and outcome.response.status_code not in allow:
            raise self._refusal(outcome.response, maybe_sent=outcome.maybe_processed)
        return outcome.response

    def fingerprint(self, address: str) -> str:
        """A recipient as the ledger may record it: keyed with this provider's secret, so the
        committed ledger never shows, nor lets anyone test for, a reader's address."""
        return self._fingerprints(address)

    def same_origin(self, url: str) -> bool:
        """Whether `url` (a next-page link a provider returned) is on the API's own scheme,
        host and port, where the key may be sent."""
        target, root = httpx.URL(url), self._client.base_url
        return (target.scheme, target.host, target.port) == (root.scheme, root.host, root.port)

    def json(self, response: httpx.Response) -> Any:
        """The response body as JSON, or a ProviderError saying the answer was unreadable."""
        try:
            return response.json()
        except ValueError:
            raise ProviderError(
                f"{self.provider} answered HTTP {response.status_code} with a body that is not "
                "JSON; check base_url points at the provider's API."
            ) from None

    def map_concurrently(self, work: Callable[[T], R], items: Iterable[T]) -> list[R]:
        """Run `work` over `items` on at most `concurrency` connections, results in order.

        `items` are taken as they come: a generator that prepares each batch lets the first
        request leave while later batches are still being prepared. On the first failure no
        further batch is started, those queued are cancelled, and the error says how many
        had already gone out, so the author knows the list was partly sent.
        """
        stream = iter(items)
        opening = list(islice(stream, 2))
        if len(opening) <= 1 or self.concurrency == 1:
            return self._in_sequence(work, chain(opening, stream))
        stream = chain(opening, stream)
        failing = threading.Event()

        def watch(future: Future[R]) -> None:
            if not future.cancelled() and future.exception() is not None:
                failing.set()

        futures: list[Future[R]] = []
        unstarted = 0
        with ThreadPoolExecutor(max_workers=self.concurrency) as pool:
            for item in stream:
                if failing.is_set():
                    unstarted = 1 + sum(1 for _ in stream)
                    break
                future = pool.submit(work, item)
                future.add_done_callback(watch)
                futures.append(future)
            wait(futures, return_when=FIRST_EXCEPTION)
            failed = next((f for f in futures if f.done() and f.exception()), None)
            if failed is None:
                return [f.result() for f in futures]
            for future in futures:
                future.cancel()
            wait(futures)
            done = sum(1 for f in futures if not f.cancelled() and f.exception() is None)
            error = failed.exception()
            if not isinstance(error, ProviderError):
                raise error  # type: ignore[misc]
            raise _partial(error, done, len(futures) + unstarted) from None

    def close(self) -> None:
        self._client.close()

    def _in_sequence(self, work: Callable[[T], R], batches: Iterator[T]) -> list[R]:
        results: list[R] = []
        for batch in batches:
            try:
                results.append(work(batch))
            except ProviderError as error:
                total = len(results) + 1 + sum(1 for _ in batches)
                if total == 1:
                    raise
                raise _partial(error, len(results), total) from None
        return results

    def _wait_hint(self, response: httpx.Response) -> float | None:
        hint = self.api.wait_hint
        return hint(self._message(response)) if hint is not None else None

    def _spent(self, response: httpx.Response) -> bool:
        spent = self.api.spent
        return response.status_code == 429 and spent is not None and spent(_body(response))

    def _gave_up(self, gave_up: GaveUp, *, repeatable: bool) -> ProviderError:
        if gave_up.response is not None:
            status = gave_up.response.status_code
            failure = f"{self.provider} answered HTTP {status}{self._quote(gave_up.response)}"
        elif gave_up.timed_out:
            failure = f"{self.provider} did not answer in time"
        elif gave_up.error is not None and certainly_not_processed(gave_up.error):
            failure = f"cannot reach {self.provider} ({type(gave_up.error).__name__})"
        else:
            name = type(gave_up.error).__name__
            failure = f"the connection to {self.provider} broke before its answer ({name})"
        if gave_up.wait is not None:
            text = (
                f"{failure}, and asks to wait {gave_up.wait:.0f} seconds; nothing more was "
                "sent, try again later."
            )
        elif gave_up.maybe_processed and not repeatable:
            text = (
                f"{failure}. It may have accepted the email, so it was not sent again (a "
                "second try could mail the same subscribers twice); the posts stay pending, "
                "so check the provider's log before running `newsletter resolve`."
            )
        else:
            text = (
                f"Gave up after {gave_up.attempts} attempts: {failure}; check the provider's "
                "status page and try again later."
            )
        return ProviderError(self.redact(text), maybe_sent=gave_up.maybe_processed)

    def _refusal(self, response: httpx.Response, *, maybe_sent: bool) -> ProviderError:
        status = response.status_code
        quoted = self._quote(response)
        explain = self.api.explain
        own = explain(status, _body(response)) if explain is not None else None
        if maybe_sent and 400 <= status < 500:
            # The first try's answer was lost and a repeat was refused: usually because the
            # first one went through (a broadcast already sent), so nothing needs fixing.
            text = (
                f"{self.provider}'s answer to the first try was lost, and it refused the "
                f"repeat with HTTP {status}{quoted}. The first try may well have gone "
                f"through: check the sent emails in {self.provider}'s dashboard; the posts "
                "stay pending until `newsletter resolve` settles them."
            )
        elif own is not None:
            text = own
        elif status in (401, 403):
            text = (
                f"{self.provider} refused the request with HTTP {status}{quoted}: the key in "
                f"${self.secret_env} was refused or lacks permission; check that "
                f"${self.secret_env} holds a valid {self.provider} API key."
            )
        elif status in (400, 422):
            text = (
                f"{self.provider} rejected the email with HTTP {status}{quoted}; "
                "fix what it names and try again."
            )
        elif status == 404:
            text = (
                f"{self.provider} answered HTTP 404 (not found){quoted}; check the provider "
                "settings (domain, list, audience or base_url) in newsletter.toml."
            )
        else:
            text = f"{self.provider} refused the request with HTTP {status}{quoted}."
        return ProviderError(self.redact(text), maybe_sent=maybe_sent)

    def _message(self, response: httpx.Response) -> str:
        """The vendor's own explanation, read by its spec from the body."""
        return one_line(self.api.error_message(_body(response)))

    def _quote(self, response: httpx.Response) -> str:
        message = self._message(response)
        return f": {self.redact(message)}" if message else ""


def _body(response: httpx.Response) -> Any:
    """The answer's body as JSON, else as text."""
    try:
        return response.json()
    except ValueError:
        return response.text


def _partial(error: ProviderError, done: int, total: int) -> ProviderError:
    if done == 0 and not error.maybe_sent:
        return error
    if "newsletter resolve" in error.message:
        return ProviderError(
            f"{error.message.rstrip('.')} ({done} of {total} batches had been sent before "
            "this one)."
        )
    return ProviderError(
        f"{error.message.rstrip('.')} ({done} of {total} batches had been sent before this "
        "failure; the posts stay pending, so check the provider's log before running "
        "`newsletter resolve`)."
    )
