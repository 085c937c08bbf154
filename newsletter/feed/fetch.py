"""Fetch the blog's feed: over HTTP (the program's one HTTP layer), or from a local file.

A GET is safe to repeat, so timeouts and 5xx are tried again, and a 429's `Retry-After` is
honoured (`newsletter/http.py`). A 304 answer to the conditional GET gives no body.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import unquote, urlsplit

from newsletter.config import FeedConfig
from newsletter.errors import ConfigError, FeedError
from newsletter.models import FetchResult, Validators

if TYPE_CHECKING:
    import httpx

    from newsletter.http import GaveUp, Jitter, RetryPolicy

MAX_FEED_BYTES = 20 * 1024 * 1024
"""A feed larger than this is refused: real feeds are well under 5 MB, and the cap keeps a
misconfigured URL (a video, a dump) from filling memory."""

ACCEPT = (
    "application/atom+xml, application/rss+xml, application/rdf+xml;q=0.9, "
    "application/xml;q=0.8, text/xml;q=0.8, */*;q=0.1"
)
MAX_REDIRECTS = 5


_SCHEME = re.compile(r"^[a-z][a-z0-9+.-]*://", re.I)
_HOST = re.compile(
    r"[A-Za-z0-9_](?:[A-Za-z0-9_.-]*[A-Za-z0-9_])?|\[[0-9A-Fa-f:.]+\]|[0-9A-Fa-f:.]+"
)
"""A host name (letters, digits, hyphens, dots), or an IP address: no spaces, no empty name."""


def is_remote(location: str) -> bool:
    # URL schemes are case-insensitive (RFC 3986): "HTTP://..." is a URL, not a file name.
    return location[:8].lower().startswith(("http://", "https://"))


def _plausible_host(host: str) -> bool:
    try:
        return bool(_HOST.fullmatch(host.encode("idna").decode("ascii")))
    except UnicodeError:  # an empty or over-long label
        return False


def retry_policy() -> RetryPolicy:
    """The feed's retries: a GET is safe to repeat, so timeouts and 5xx are tried again."""
    from newsletter.http import RetryPolicy

    return RetryPolicy(attempts=3, base_delay=1.0)


def fetch(
    location: str,
    *,
    validators: Validators | None = None,
    timeout: float = FeedConfig.timeout,
    user_agent: str,
    max_bytes: int = MAX_FEED_BYTES,
    retry: RetryPolicy | None = None,
    sleep: Callable[[float], None] = time.sleep,
    jitter: Jitter | None = None,
    transport: httpx.BaseTransport | None = None,
    table: str = "[feed]",
) -> FetchResult:
    """Fetch the feed; a 304 (nothing changed since `validators`) gives `body=None`.

    `timeout` bounds each read, and the whole request gets a few times that. `transport`
    replaces the network (an `httpx.MockTransport` in tests); `sleep` and `jitter` are how
    retries wait. `table` is how the author's newsletter.toml names the feed's settings
    (`[feed]`, or `[[feed]]`), for the sentences that say what to fix.
    """
    if not is_remote(location):
        if _SCHEME.match(location) and not location[:7].lower().startswith("file://"):
            raise ConfigError(
                f"The feed address {location} must start with http:// or https:// (or be a "
                f"local file path); fix {table} url or the --feed value."
            )
        return _read_local(location, max_bytes, table)
    # Imported here so that `newsletter --help` does not pay for httpx.
    import httpx

    from newsletter.http import DEADLINE_FACTOR, GaveUp, make_client, send_with_retries

    try:
        host = httpx.URL(location).host
    except httpx.InvalidURL:
        host = ""
    if not _plausible_host(host):
        raise ConfigError(
            f"The feed address {location} is not a valid URL; fix {table} url or the --feed value."
        )

    headers = {"User-Agent": user_agent, "Accept": ACCEPT}
    if validators and validators.etag:
        headers["If-None-Match"] = validators.etag
    if validators and validators.last_modified:
        headers["If-Modified-Since"] = validators.last_modified
    client = make_client(
        timeout=timeout,
        transport=transport,
        headers=headers,
        follow_redirects=True,
        max_redirects=MAX_REDIRECTS,
    )
    # Seen before httpx follows a redirect: one to a file, FTP, data: or javascript: address
    # is refused at once rather than tried as if the network had failed.
    client.event_hooks = {
        "response": [lambda response: _refuse_odd_redirect(response, location, table)]
    }
    with client:
        try:
            outcome = send_with_retries(
                lambda: _get(client, location, max_bytes, table),
                policy=retry or retry_policy(),
                repeatable=True,
                deadline=timeout * DEADLINE_FACTOR,
                sleep=sleep,
                jitter=jitter,
            )
        except GaveUp as gave_up:
            raise FeedError(_gave_up_sentence(location, gave_up)) from None
        except httpx.TooManyRedirects:
            raise FeedError(
                f"The feed at {location} redirects in a loop (or more than {MAX_REDIRECTS} "
                "times); open it in a browser to find where the feed really is, and set "
                f"{table} url to that."
            ) from None
    response = outcome.response
    if response.status_code == 304:
        return FetchResult(url=str(response.url), body=None, headers={}, validators=Validators())
    if response.status_code >= 400:
        status = response.status_code
        raise FeedError(_status_sentence(location, status, response.reason_phrase, table))
    return FetchResult(
        url=str(response.url),
        body=response.content,
        headers={k.lower(): v for k, v in response.headers.items()},
        validators=Validators(
            etag=response.headers.get("etag"),
            last_modified=response.headers.get("last-modified"),
        ),
    )


def _get(client: httpx.Client, location: str, max_bytes: int, table: str) -> httpx.Response:
    """One GET; the body is read (up to `max_bytes`) only for an answer that has one."""
    import httpx

    with client.stream("GET", location) as response:
        if response.status_code == 304 or response.status_code >= 400:
            return response
        declared = response.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > max_bytes:
            raise FeedError(_too_big_sentence(location, max_bytes, table))
        chunks: list[bytes] = []
        size = 0
        try:
            for chunk in response.iter_bytes():
                size += len(chunk)
                if size > max_bytes:
                    raise FeedError(_too_big_sentence(location, max_bytes, table))
                chunks.append(chunk)
        except httpx.DecodingError:
            encoding = response.headers.get("content-encoding", "compressed")
            raise FeedError(
                f"The feed at {location} says its body is {encoding}-compressed, but it is not; "
                "the server is set up wrong, so tell whoever runs it (a browser may hide this), "
                "then run again."
            ) from None
    return httpx.Response(
        response.status_code,
        headers=response.headers,
        content=b"".join(chunks),
        request=response.request,
    )


def _refuse_odd_redirect(response: httpx.Response, location: str, table: str) -> None:
    import httpx

    if not response.is_redirect:
        return
    target = response.headers.get("location", "")
    try:
        scheme = response.url.join(target).scheme
    except httpx.InvalidURL:
        scheme = ""
    if scheme not in ("http", "https"):
        where = f"a {scheme}: address" if scheme else "an address that is not a URL"
        raise FeedError(
            f"The feed at {location} redirects to {where}, not to a web page, so it was not "
            "followed; open it in a browser to find where the feed really is, and set "
            f"{table} url to that."
        )


def _read_local(location: str, max_bytes: int, table: str) -> FetchResult:
    path = (
        Path(unquote(urlsplit(location).path)) if location.startswith("file://") else Path(location)
    )
    try:
        if path.stat().st_size > max_bytes:
            raise FeedError(_too_big_sentence(str(path), max_bytes, table))
        body = path.read_bytes()
    except FileNotFoundError:
        raise ConfigError(
            f"The feed file {path} does not exist; check {table} url or the --feed path."
        ) from None
    except IsADirectoryError:
        raise ConfigError(f"The feed path {path} is a folder, not a feed file.") from None
    except OSError as error:
        raise FeedError(f"Cannot read the feed file {path} ({error.strerror}).") from None
    return FetchResult(url=path.resolve().as_uri(), body=body, headers={}, validators=Validators())


def _status_sentence(location: str, status: int, reason: str, table: str) -> str:
    if status in (401, 403):
        return (
            f"The feed at {location} refused access ({status} {reason}); some hosts block "
            f"unknown clients, so check the URL opens in a browser, or set {table} user_agent."
        )
    if status in (404, 410):
        return f"The feed at {location} was not found ({status} {reason}); check {table} url."
    return f"The feed at {location} answered {status} {reason}; check {table} url."


def _too_big_sentence(location: str, max_bytes: int, table: str) -> str:
    return (
        f"The feed at {location} is larger than {max_bytes // (1024 * 1024)} MB, which no blog "
        f"feed should be; check that {table} url points at the feed itself."
    )


def _gave_up_sentence(location: str, gave_up: GaveUp) -> str:
    tries = gave_up.attempts
    if gave_up.response is not None:
        answer = f"{gave_up.response.status_code} {gave_up.response.reason_phrase}"
        if gave_up.wait is not None:
            return (
                f"The feed at {location} answered {answer} and asks to wait "
                f"{gave_up.wait:.0f} seconds; try again later."
            )
        return (
            f"The feed at {location} answered {answer} {tries} times; the blog's server is "
            "having trouble, so try again later."
        )
    kind = "timed out" if gave_up.timed_out else "could not be reached"
    host = urlsplit(location).netloc
    return (
        f"The feed at {location} {kind} ({tries} tries); check that {host} is up and "
        "the address is right, then run again."
    )
