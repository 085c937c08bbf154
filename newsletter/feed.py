"""Read the blog's feed: fetch it (httpx or a local file), then parse it (feedparser).

Fetching and parsing are kept apart (as lemon24/reader does) so that parsing is a pure
function of bytes and headers, and the network is one small, testable seam.
"""

from __future__ import annotations

import functools
import io
import re
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager, suppress
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote, urljoin, urlsplit

from newsletter.config import FeedConfig
from newsletter.errors import ConfigError, FeedError
from newsletter.models import Feed, FetchResult, Post, Validators

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
HTML_TYPES = ("text/html", "application/xhtml+xml")
MAX_REDIRECTS = 5


_SCHEME = re.compile(r"^[a-z][a-z0-9+.-]*://", re.I)


def is_remote(location: str) -> bool:
    # URL schemes are case-insensitive (RFC 3986): "HTTP://..." is a URL, not a file name.
    return location[:8].lower().startswith(("http://", "https://"))


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
) -> FetchResult:
    """Fetch the feed; a 304 (nothing changed since `validators`) gives `body=None`.

    `timeout` bounds each read, and the whole request gets a few times that. `transport`
    replaces the network (an `httpx.MockTransport` in tests); `sleep` and `jitter` are how
    retries wait.
    """
    if not is_remote(location):
        if _SCHEME.match(location) and not location[:7].lower().startswith("file://"):
            raise ConfigError(
                f"The feed address {location} must start with http:// or https:// (or be a "
                "local file path); fix [feed] url or the --feed value."
            )
        return _read_local(location, max_bytes)
    # Imported here so that `newsletter --help` does not pay for httpx.
    import httpx

    from newsletter.http import DEADLINE_FACTOR, GaveUp, make_client, send_with_retries

    try:
        host = httpx.URL(location).host
    except httpx.InvalidURL:
        host = ""
    if not host:
        raise ConfigError(
            f"The feed address {location} is not a valid URL; fix [feed] url or the --feed value."
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
    with client:
        try:
            outcome = send_with_retries(
                lambda: _get(client, location, max_bytes),
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
                "[feed] url to that."
            ) from None
    response = outcome.response
    if response.status_code == 304:
        return FetchResult(url=str(response.url), body=None, headers={}, validators=Validators())
    if response.status_code >= 400:
        status = response.status_code
        raise FeedError(_status_sentence(location, status, response.reason_phrase))
    return FetchResult(
        url=str(response.url),
        body=response.content,
        headers={k.lower(): v for k, v in response.headers.items()},
        validators=Validators(
            etag=response.headers.get("etag"),
            last_modified=response.headers.get("last-modified"),
        ),
    )


def _get(client: httpx.Client, location: str, max_bytes: int) -> httpx.Response:
    """One GET; the body is read (up to `max_bytes`) only for an answer that has one."""
    import httpx

    with client.stream("GET", location) as response:
        if response.status_code == 304 or response.status_code >= 400:
            return response
        declared = response.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > max_bytes:
            raise FeedError(_too_big_sentence(location, max_bytes))
        chunks: list[bytes] = []
        size = 0
        for chunk in response.iter_bytes():
            size += len(chunk)
            if size > max_bytes:
                raise FeedError(_too_big_sentence(location, max_bytes))
            chunks.append(chunk)
    return httpx.Response(
        response.status_code,
        headers=response.headers,
        content=b"".join(chunks),
        request=response.request,
    )


def _read_local(location: str, max_bytes: int) -> FetchResult:
    path = (
        Path(unquote(urlsplit(location).path)) if location.startswith("file://") else Path(location)
    )
    try:
        if path.stat().st_size > max_bytes:
            raise FeedError(_too_big_sentence(str(path), max_bytes))
        body = path.read_bytes()
    except FileNotFoundError:
        raise ConfigError(
            f"The feed file {path} does not exist; check [feed] url or the --feed path."
        ) from None
    except IsADirectoryError:
        raise ConfigError(f"The feed path {path} is a folder, not a feed file.") from None
    except OSError as error:
        raise FeedError(f"Cannot read the feed file {path} ({error.strerror}).") from None
    return FetchResult(url=path.resolve().as_uri(), body=body, headers={}, validators=Validators())


def _status_sentence(location: str, status: int, reason: str) -> str:
    if status in (401, 403):
        return (
            f"The feed at {location} refused access ({status} {reason}); some hosts block "
            "unknown clients, so check the URL opens in a browser, or set [feed] user_agent."
        )
    if status in (404, 410):
        return f"The feed at {location} was not found ({status} {reason}); check [feed] url."
    return f"The feed at {location} answered {status} {reason}; check [feed] url."


def _too_big_sentence(location: str, max_bytes: int) -> str:
    return (
        f"The feed at {location} is larger than {max_bytes // (1024 * 1024)} MB, which no blog "
        "feed should be; check that [feed] url points at the feed itself."
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


# --- parsing --------------------------------------------------------------------------


def parse(body: bytes, *, url: str, headers: Mapping[str, str] | None = None) -> Feed:
    """Parse feed bytes; raise FeedError when they are not a feed at all.

    feedparser is given bytes (so it honours the XML declaration and BOM) and lower-cased
    headers with an absolute content-location; HTML sanitising and URL resolution are left
    to the excerpt stage, which needs the publisher's own markup to find the break
    (reference/feed-excerpts.md §14.1, §14.6).
    """
    import feedparser

    response_headers = {k.lower(): v for k, v in (headers or {}).items()}
    if is_remote(url):
        response_headers["content-location"] = url
    if "content-type" not in response_headers:
        # A local file or a header-less server: say it is XML so feedparser decodes it by
        # its declaration instead of flagging a missing content type.
        response_headers["content-type"] = "application/xml"
    with _base_uri_memo():
        parsed: Any = feedparser.parse(
            io.BytesIO(body),
            response_headers=response_headers,
            sanitize_html=False,
            resolve_relative_uris=False,
        )
    entries = parsed.entries
    channel = parsed.feed
    if not parsed.get("version") and not entries:
        raise FeedError(_not_a_feed_sentence(url, body, response_headers.get("content-type", "")))
    warnings: list[str] = []
    problem = parsed.get("bozo_exception")
    if parsed.bozo and _cut_off(body, problem):
        # The loose parser keeps the half-read last item (no body, or the feed's own URL as
        # its link), which would be mailed and recorded as sent.
        raise FeedError(
            f"The feed at {url} ends early (the download looks cut off), so nothing was sent; "
            "run again later."
        )
    if parsed.bozo and not isinstance(problem, feedparser.ThingsNobodyCaresAboutButMe):
        warnings.append(
            f"The feed at {url} is not well-formed ({parsed.bozo_exception}); "
            f"{len(entries)} posts were read anyway."
        )

    link = urljoin(url, channel.get("link") or "") or url
    language = channel.get("language") or None
    generator = channel.get("generator") or None
    # Where an item has no content element, Hugo's <description> is the page summary,
    # WordPress's is the excerpt (excerpt-only mode) and Ghost's is the public preview of a
    # paid post; other platforms that use <description> alone (Eleventy, Tumblr,
    # Squarespace, Blogger's RSS) put the whole post there, and truncating ones (Drupal
    # teasers, Medium cards) leave a trailer the excerpt stage recognises
    # (feed-excerpts.md §1.4, §3, §4, §8-§11).
    summaries_only = any(
        name in (generator or "").lower() for name in ("hugo", "wordpress", "ghost")
    )
    posts = tuple(
        _post(entry, feed_url=url, feed_language=language, summaries_only=summaries_only)
        for entry in entries
    )
    return Feed(
        title=_plain(channel.get("title")) or urlsplit(link).netloc or "Blog",
        link=link,
        url=url,
        language=language,
        posts=posts,
        warnings=tuple(warnings),
    )


_ROOT_END = re.compile(rb"</(?:[\w-]+:)?(?:rss|feed|rdf)\s*>\s*(?:<!--.*?-->\s*)*$", re.I | re.S)


def _cut_off(body: bytes, problem: object) -> bool:
    """A well-formedness error in a document that never closes its root element."""
    from xml.sax import SAXParseException

    return isinstance(problem, SAXParseException) and not _ROOT_END.search(body[-512:])


@contextmanager
def _base_uri_memo() -> Iterator[None]:
    """Remember feedparser's base-URI resolutions for the length of one parse.

    To follow xml:base, feedparser resolves the current base URI against the element's at
    every start tag, almost always the same pair of strings: a fifth of parsing a large feed
    (bench/PROFILE.md). The function is pure for a given feedparser configuration, so a
    cache that lives only for this parse returns exactly what it would have computed.
    """
    from feedparser import mixin

    resolve = getattr(mixin, "make_safe_absolute_uri", None)
    if resolve is None or hasattr(resolve, "cache_info"):
        # A feedparser without this internal parses as it always did; a cache already in
        # place belongs to a parse running in another thread.
        yield
        return
    mixin.make_safe_absolute_uri = functools.lru_cache(maxsize=64)(resolve)
    try:
        yield
    finally:
        mixin.make_safe_absolute_uri = resolve


def _not_a_feed_sentence(url: str, body: bytes, content_type: str) -> str:
    head = body[:2048].lstrip().lower()
    if content_type.startswith(HTML_TYPES) or head.startswith((b"<!doctype html", b"<html")):
        return (
            f"{url} is a web page, not a feed; set [feed] url to the blog's RSS or Atom feed "
            "(often /feed/, /rss.xml, /atom.xml or /index.xml)."
        )
    if not body.strip():
        return f"{url} is empty, not a feed; check [feed] url."
    return f"{url} does not contain an RSS or Atom feed; check [feed] url."


def _post(entry: Any, *, feed_url: str, feed_language: str | None, summaries_only: bool) -> Post:
    link = urljoin(feed_url, entry.get("link") or "")
    body, summary_html, base, language, full = _choose_body(entry, summaries_only)
    if not base or base == feed_url:
        # feedparser fills `base` with the document URL when there is no xml:base; the
        # item's own link is the better anchor for relative URLs in its content (§14.4).
        base = link or feed_url
    # dict.get: feedparser's own .get maps a missing updated_parsed onto published_parsed
    # (with a DeprecationWarning), which would blur the two dates.
    updated = _datetime(dict.get(entry, "updated"), dict.get(entry, "updated_parsed"))
    published = (
        _datetime(dict.get(entry, "published"), dict.get(entry, "published_parsed")) or updated
    )
    title = _plain(entry.get("title")) or _first_words(body) or "Untitled"
    return Post(
        id=(entry.get("id") or link or title).strip(),
        link=link,
        title=title,
        author=_plain(entry.get("author")) or None,
        published=published,
        updated=updated,
        html=body,
        summary_html=summary_html,
        language=language or feed_language,
        base_url=base,
        orig_link=entry.get("feedburner_origlink") or None,
        content_is_full=full,
    )


def _choose_body(entry: Any, summaries_only: bool) -> tuple[str, str | None, str, str | None, bool]:
    """The longest HTML content (not content[0]: podcast feeds put itunes:summary first),
    and the summary only when it is a real teaser, not feedparser's copy of the content."""
    contents = [c for c in entry.get("content", []) if c.get("value")]
    html_contents = [
        c for c in contents if c.get("type", "text/html") in (*HTML_TYPES, "text/html")
    ]
    summary = entry.get("summary") or ""
    detail = entry.get("summary_detail") or {}
    summary_is_html = detail.get("type", "text/html") in HTML_TYPES
    summary_html = summary if summary_is_html else _escape_text(summary)
    if html_contents or contents:
        best = max(html_contents or contents, key=lambda c: len(c.get("value", "")))
        value = best["value"]
        if best.get("type") == "text/plain":
            value = _escape_text(value)
        # A real teaser differs from the body: feedparser copies the content into `summary`
        # when there is none, and a second summary-like element (itunes:summary first)
        # lands in `content` instead (feed-excerpts.md §14.2).
        teasers = [c["value"] for c in html_contents if c is not best and c["value"] != value]
        if summary and "summary_detail" in entry and summary != best["value"]:
            teasers.insert(0 if summary_is_html else len(teasers), summary_html)
        return (
            value,
            (teasers[0] if teasers else None),
            best.get("base", ""),
            best.get("language"),
            True,
        )
    # A plain-text summary (Blogger "Short", jekyll-feed's excerpt_only) is always a teaser.
    full = summary_is_html and not summaries_only
    return summary_html, None, detail.get("base", ""), detail.get("language"), full


def _escape_text(text: str) -> str:
    from html import escape

    paragraphs = [p.strip() for p in text.split("\n\n") if p.strip()]
    return "".join(f"<p>{escape(p)}</p>" for p in paragraphs)


def _plain(value: Any) -> str:
    """Feed titles and names sometimes carry markup or entities; emails want plain text."""
    if not value:
        return ""
    text = str(value)
    if "<" in text or "&" in text:
        from html import unescape

        import lxml.html

        try:
            text = lxml.html.fragment_fromstring(text, create_parent="div").text_content()
        except Exception:
            text = unescape(text)
    return " ".join(text.split())


def _first_words(html_body: str, count: int = 8) -> str:
    words = _plain(html_body).split()
    return " ".join(words[:count]) + ("…" if len(words) > count else "")


def _datetime(raw: Any, parsed: Any) -> datetime | None:
    """The date with the author's own UTC offset, so the email shows the day they published.

    feedparser's `*_parsed` tuple is in UTC: "Mon, 03 Jun 2024 00:30 +0200" becomes 2 June.
    The raw RFC 822 (RSS) or ISO 8601 (Atom) string keeps the offset; the tuple is the
    fallback for the many other formats feedparser understands.
    """
    if isinstance(raw, str) and raw.strip():
        text = raw.strip()
        with suppress(TypeError, ValueError, IndexError):
            moment = parsedate_to_datetime(text)
            if moment.tzinfo is not None:
                return moment
        with suppress(ValueError):
            moment = datetime.fromisoformat(text.replace("Z", "+00:00").replace("z", "+00:00"))
            if moment.tzinfo is not None:
                return moment
    if not parsed:
        return None
    try:
        year, month, day, hour, minute, second = parsed[:6]
        return datetime(year, month, day, hour, minute, second, tzinfo=UTC)
    except (TypeError, ValueError):
        return None


def load(
    location: str,
    *,
    validators: Validators | None = None,
    timeout: float = FeedConfig.timeout,
    user_agent: str,
    transport: httpx.BaseTransport | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> tuple[Feed | None, FetchResult]:
    """Fetch and parse; `(None, result)` when the server said nothing changed (304)."""
    result = fetch(
        location,
        validators=validators,
        timeout=timeout,
        user_agent=user_agent,
        transport=transport,
        sleep=sleep,
    )
    if result.body is None:
        return None, result
    return parse(result.body, url=result.url, headers=result.headers), result
