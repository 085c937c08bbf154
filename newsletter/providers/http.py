"""The one HTTP layer every API provider shares: timeouts, retries, error mapping, redaction.

Adapters describe only their vendor's requests and responses; everything that decides
whether to try again, how long to wait and what to tell the author lives here, once.

- Retried: connection errors, timeouts, 429 and 5xx, with capped exponential backoff and
  jitter; a 429's `Retry-After` (or Mailgun's "try again after N seconds") is honoured.
- Never retried: any other 4xx, because sending the same rejected request again cannot help.
- 401/403 name the environment variable that holds the key; 400/422 quote the provider.
- The secret is scrubbed from every message, so no exception can carry it to the terminal.
"""

from __future__ import annotations

import base64
import random
import re
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import FIRST_EXCEPTION, ThreadPoolExecutor, wait
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from typing import Any, TypeVar

import httpx

from newsletter.errors import ProviderError

T = TypeVar("T")
R = TypeVar("R")

Sleep = Callable[[float], None]

_MAILGUN_WAIT = re.compile(r"try again after (\d+(?:\.\d+)?) seconds?", re.IGNORECASE)
_MESSAGE_LIMIT = 300


@dataclass(frozen=True)
class RetryPolicy:
    attempts: int = 4
    """Total tries per request, the first one included."""
    base_delay: float = 0.5
    max_delay: float = 30.0
    max_retry_after: float = 120.0
    """A provider asking for a longer pause than this fails the run now rather than
    holding a CI job hostage; the author can simply run again later."""


class HttpClient:
    """A pooled httpx client for one provider, with its key and its retry policy."""

    def __init__(
        self,
        *,
        provider: str,
        base_url: str,
        secret: str,
        secret_env: str,
        headers: Mapping[str, str] | None = None,
        auth: tuple[str, str] | None = None,
        timeout: float = 30.0,
        concurrency: int = 4,
        retry: RetryPolicy | None = None,
        sleep: Sleep = time.sleep,
        user_agent: str | None = None,
    ) -> None:
        self.provider = provider
        self.secret_env = secret_env
        self.concurrency = concurrency
        self.retry = retry or RetryPolicy()
        self._sleep = sleep
        self._secrets = _secret_forms(secret, auth)
        base_headers = dict(headers or {})
        if user_agent:
            base_headers["User-Agent"] = user_agent
        self._client = httpx.Client(
            base_url=base_url,
            headers=base_headers,
            auth=auth,
            timeout=httpx.Timeout(timeout),
            limits=httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency),
            follow_redirects=False,
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
    ) -> httpx.Response:
        """Send one request, retrying what may succeed later; return a 2xx response.

        `content` is a body already encoded as JSON, sent as application/json: an adapter
        that sends the same large fields many times encodes them once itself. `form` is sent
        as multipart/form-data (repeated names allowed), as Mailgun documents.
        """
        files = [(name, (None, value)) for name, value in form] if form is not None else None
        if content is not None:
            headers = {"Content-Type": "application/json", **(headers or {})}
        attempt = 0
        uncertain = False  # whether an attempt may have been processed by the provider
        while True:
            attempt += 1
            try:
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
                response = self._client.send(request)
            except httpx.TimeoutException as error:
                failure = f"{self.provider} did not answer in time"
                wait_for = None
                # Only a connection never made proves the request was not processed.
                uncertain = uncertain or not isinstance(error, httpx.ConnectTimeout)
            except httpx.TransportError as error:
                failure = f"cannot reach {self.provider} ({type(error).__name__})"
                wait_for = None
                uncertain = uncertain or not isinstance(error, httpx.ConnectError)
            else:
                if response.is_success:
                    return response
                if not _retryable(response.status_code):
                    raise self._refusal(response, maybe_sent=uncertain)
                # 429 means "not processed"; a 5xx may come after the work was done.
                uncertain = uncertain or response.status_code >= 500
                failure = f"{self.provider} answered HTTP {response.status_code}" + self._quote(
                    response
                )
                wait_for = retry_after(response)
                if wait_for is not None and wait_for > self.retry.max_retry_after:
                    raise ProviderError(
                        self.redact(
                            f"{failure}, and asks to wait {wait_for:.0f} seconds; "
                            "nothing more was sent, try again later."
                        ),
                        maybe_sent=uncertain,
                    )
            if attempt >= self.retry.attempts:
                raise ProviderError(
                    self.redact(
                        f"Gave up after {attempt} attempts: {failure}; "
                        "check the provider's status page and try again later."
                    ),
                    maybe_sent=uncertain,
                )
            self._sleep(wait_for if wait_for is not None else self._backoff(attempt))

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

        On the first failure the batches not yet started are cancelled and the error says
        how many had already gone out, so the author knows the list was partly sent.
        """
        batches = list(items)
        if len(batches) <= 1 or self.concurrency == 1:
            return self._in_sequence(work, batches)
        with ThreadPoolExecutor(max_workers=self.concurrency) as pool:
            futures = [pool.submit(work, batch) for batch in batches]
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
            raise _partial(error, done, len(batches)) from None

    def _in_sequence(self, work: Callable[[T], R], batches: list[T]) -> list[R]:
        results: list[R] = []
        for batch in batches:
            try:
                results.append(work(batch))
            except ProviderError as error:
                if len(batches) == 1:
                    raise
                raise _partial(error, len(results), len(batches)) from None
        return results

    def redact(self, text: str) -> str:
        for secret in self._secrets:
            text = text.replace(secret, "[redacted]")
        return text

    def close(self) -> None:
        self._client.close()

    def _backoff(self, attempt: int) -> float:
        ceiling = min(self.retry.max_delay, self.retry.base_delay * 2.0 ** (attempt - 1))
        # "Equal jitter": never less than half the step, so retries still spread out
        # without ever collapsing to an immediate hammering of a struggling server.
        return ceiling / 2 + random.uniform(0, ceiling / 2)  # noqa: S311 - not security

    def _refusal(self, response: httpx.Response, *, maybe_sent: bool) -> ProviderError:
        status = response.status_code
        quoted = self._quote(response)
        if status in (401, 403):
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

    def _quote(self, response: httpx.Response) -> str:
        message = provider_message(response)
        return f": {self.redact(message)}" if message else ""


def provider_message(response: httpx.Response) -> str:
    """The provider's own explanation, from any of the documented error body shapes.

    Buttondown `{"detail": ...}` (a list of `{msg, loc}` for 422), Mailgun `{"message"}` or
    the bare JSON string `"Forbidden"`, Postmark `{"ErrorCode", "Message"}`, Resend
    `{"statusCode", "name", "message"}`; anything else falls back to the body text.
    """
    try:
        body: Any = response.json()
    except ValueError:
        body = response.text
    text = _message_from(body)
    return _one_line(text)[:_MESSAGE_LIMIT]


def _message_from(body: Any) -> str:
    if isinstance(body, str):
        return body
    if isinstance(body, dict):
        for key in ("message", "Message", "detail"):
            value = body.get(key)
            if isinstance(value, str) and value:
                return value
            if isinstance(value, list):
                return "; ".join(_validation_item(item) for item in value)
        errors = body.get("errors")
        if isinstance(errors, list):
            return "; ".join(_message_from(item) for item in errors)
    return ""


def _validation_item(item: Any) -> str:
    if not isinstance(item, dict):
        return str(item)
    where = ".".join(str(part) for part in item.get("loc", []) if part not in ("body", "payload"))
    message = str(item.get("msg", ""))
    return f"{where}: {message}" if where else message


def _one_line(text: str) -> str:
    return " ".join(text.split())


def retry_after(response: httpx.Response) -> float | None:
    """Seconds the provider asked us to wait: `Retry-After` (seconds or HTTP date), else
    Mailgun's 429 message "try again after N seconds", else None."""
    header = response.headers.get("Retry-After")
    if header:
        header = header.strip()
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
    if response.status_code == 429:
        found = _MAILGUN_WAIT.search(provider_message(response))
        if found:
            return float(found.group(1))
    return None


def _retryable(status: int) -> bool:
    return status == 429 or status >= 500


def _secret_forms(secret: str, auth: tuple[str, str] | None) -> tuple[str, ...]:
    """The secret as written, plus the Basic-auth token built from it, which a server might
    echo back (longest first so a longer form is never half-replaced by a shorter one)."""
    forms = {secret} if secret else set()
    if auth is not None:
        forms.add(base64.b64encode(f"{auth[0]}:{auth[1]}".encode()).decode())
    return tuple(sorted(forms, key=len, reverse=True))


def _partial(error: ProviderError, done: int, total: int) -> ProviderError:
    if done == 0 and not error.maybe_sent:
        return error
    return ProviderError(
        f"{error.message.rstrip('.')} ({done} of {total} batches had been sent before this "
        "failure; the posts stay pending, so check the provider's log before running "
        "`newsletter resolve`)."
    )


def pop_header(headers: dict[str, str], name: str) -> str | None:
    """Take one email header out, case-insensitively: JSON APIs carry some headers (such as
    Reply-To) as fields of their own, and the rest in a generic header list."""
    for key in list(headers):
        if key.lower() == name.lower():
            return headers.pop(key)
    return None
