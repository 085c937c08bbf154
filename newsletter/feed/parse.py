"""Parse feed bytes with feedparser into `Feed` and `Post` values: a pure function of the
bytes and the response headers (docs/platform-breaks.md, "feedparser")."""

from __future__ import annotations

import functools
import io
import re
from collections.abc import Iterator, Mapping
from contextlib import contextmanager, suppress
from dataclasses import replace
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import urljoin, urlsplit

from newsletter.errors import ConfigError, FeedError
from newsletter.feed import media
from newsletter.feed.fetch import is_remote
from newsletter.identity import identify
from newsletter.models import Feed, Post
from newsletter.urls import is_web_url, normalise_link

HTML_TYPES = ("text/html", "application/xhtml+xml")


def parse(
    body: bytes, *, url: str, headers: Mapping[str, str] | None = None, table: str = "[feed]"
) -> Feed:
    """Parse feed bytes; raise FeedError when they are not a feed at all. `table` is how the
    author's newsletter.toml names the feed's settings (`[feed]` or `[[feed]]`), for the
    sentence that says what to fix.

    feedparser is given bytes (so it honours the XML declaration and BOM) and lower-cased
    headers with an absolute content-location; HTML sanitising and URL resolution are left
    to the excerpt stage, which needs the publisher's own markup to find the break
    (docs/platform-breaks.md, "Sanitising and relative links" and "Fetching outside
    feedparser").
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
        _refuse_what_is_not_a_feed(url, body, response_headers.get("content-type", ""), table)
    warnings: list[str] = []
    problem = parsed.get("bozo_exception")
    if parsed.bozo and _cut_off(body, problem):
        # The loose parser keeps the half-read last item (no body, or the feed's own URL as
        # its link), which would be mailed and recorded as sent.
        if not is_remote(url):
            raise FeedError(
                f"The feed file {url} ends early (it looks cut off), so nothing was sent; "
                "check the file, or whatever writes it."
            )
        raise FeedError(
            f"The feed at {url} ends early (the download looks cut off), so nothing was sent; "
            "run again later."
        )
    undefined_entities = parsed.bozo and "undefined entity" in str(problem)
    if undefined_entities and _ENTITY_DECLARATION.search(body[:65536]):
        # feedparser drops entities declared in terms of others, the shape of a "billion
        # laughs" attack, and then reads their names as text (`&lol9;` as a title).
        raise FeedError(
            f"The feed at {url} declares XML entities built from other entities, which are "
            "never expanded (that is how a 'billion laughs' attack is made), so it was not "
            "read; ask whoever publishes the feed to remove them."
        )
    if parsed.bozo and not isinstance(problem, feedparser.ThingsNobodyCaresAboutButMe):
        warnings.append(
            f"The feed at {url} is not well-formed ({parsed.bozo_exception}); "
            f"{len(entries)} posts were read anyway."
        )

    link = _home_page(channel.get("link") or "", url)
    language = channel.get("language") or None
    generator = channel.get("generator") or None
    # Where an item has no content element, Hugo's <description> is the page summary,
    # WordPress's is the excerpt (excerpt-only mode) and Ghost's is the public preview of a
    # paid post; other platforms that use <description> alone (Eleventy, Tumblr,
    # Squarespace, Blogger's RSS) put the whole post there, and truncating ones (Drupal
    # teasers, Medium cards) leave a trailer the excerpt stage recognises
    # (docs/platform-breaks.md, "Bodies and summaries").
    summaries_only = any(
        name in (generator or "").lower() for name in ("hugo", "wordpress", "ghost")
    )
    read = [
        _post(entry, feed_url=url, feed_language=language, summaries_only=summaries_only)
        for entry in entries
    ]
    if undefined_entities:
        # An entity no one defined (`&trade;` is HTML's, `&lol9;` nobody's) stays in a title
        # as its name; the name is not the author's words, so it goes.
        read = [
            replace(post, title=_known_entities_only(post.title) or "Untitled") for post in read
        ]
    posts, shared = identify(read)
    warnings.extend(shared)
    return Feed(
        title=(_known_entities_only(_title(channel)) if undefined_entities else _title(channel))
        or urlsplit(link).netloc
        or "Blog",
        link=link,
        url=url,
        language=language,
        posts=posts,
        warnings=tuple(warnings),
        image=media.channel_image(channel, link),
    )


def _home_page(channel_link: str, feed_url: str) -> str:
    """The blog's home page: the channel's link when it is a web page other than the feed
    itself, else the site the feed is served from ("" for a local file)."""
    link = urljoin(feed_url, channel_link.strip())
    if is_web_url(link) and normalise_link(link) != normalise_link(feed_url):
        return link
    if is_remote(feed_url):
        parts = urlsplit(feed_url)
        return f"{parts.scheme}://{parts.netloc}/"
    return ""


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


def _refuse_what_is_not_a_feed(url: str, body: bytes, content_type: str, table: str) -> None:
    """A web page or other bytes where the feed should be: the address is wrong (exit 2);
    an empty answer may pass, so it is a failure of this run (exit 1)."""
    head = body[:2048].lstrip().lower()
    if content_type.startswith(HTML_TYPES) or head.startswith((b"<!doctype html", b"<html")):
        raise ConfigError(
            f"{url} is a web page, not a feed; set {table} url to the blog's RSS or Atom feed "
            "(often /feed/, /rss.xml, /atom.xml or /index.xml)."
        )
    if not body.strip():
        raise FeedError(
            f"{url} is empty, not a feed; run again later, and if it stays empty, check "
            f"{table} url."
        )
    raise ConfigError(f"{url} does not contain an RSS or Atom feed; check {table} url.")


_ENTITY_DECLARATION = re.compile(rb"<!DOCTYPE[^>\[]*\[[^\]]*<!ENTITY", re.I | re.S)
_ENTITY_REFERENCE = re.compile(r"&([A-Za-z][A-Za-z0-9]*);")


def _known_entities_only(title: str) -> str:
    from html.entities import html5

    kept = _ENTITY_REFERENCE.sub(
        lambda match: match.group(0) if f"{match.group(1)};" in html5 else "", title
    )
    return " ".join(kept.split())


def _post(entry: Any, *, feed_url: str, feed_language: str | None, summaries_only: bool) -> Post:
    link = urljoin(feed_url, entry.get("link") or "")
    body, summary_html, base, language, full = _choose_body(entry, summaries_only)
    if not base or base == feed_url:
        # feedparser fills `base` with the document URL when there is no xml:base; the
        # item's own link is the better anchor for relative URLs in its content
        # (docs/platform-breaks.md, "Sanitising and relative links").
        base = link if is_web_url(link) else feed_url
    # dict.get: feedparser's own .get maps a missing updated_parsed onto published_parsed
    # (with a DeprecationWarning), which would blur the two dates.
    updated = _datetime(dict.get(entry, "updated"), dict.get(entry, "updated_parsed"))
    published = (
        _datetime(dict.get(entry, "published"), dict.get(entry, "published_parsed")) or updated
    )
    title = _title(entry) or _first_words(body) or "Untitled"
    # Files and pictures resolve against the item's own page, as its body's links do.
    anchor = link or feed_url
    attached = media.enclosures(entry, anchor)
    return Post(
        id=(entry.get("id") or link or title).strip(),
        guid=(entry.get("id") or "").strip(),
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
        categories=media.categories(entry),
        enclosures=attached,
        image=media.featured_image(entry, anchor, attached),
        duration=media.duration(entry),
        comments=media.comments_page(entry, anchor),
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
        # lands in `content` instead (docs/platform-breaks.md, "Bodies and summaries").
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


def _title(element: Any) -> str:
    """A feed's or an entry's title as plain text.

    feedparser says what the title is (`title_detail.type`): plain text keeps every
    character, so "Understanding Vec&lt;T&gt; in Rust" is about `Vec<T>` and "The
    &lt;details&gt; element" keeps its `<details>`; only an HTML title (Atom's
    `type="html"`, or RSS text that feedparser finds to be markup) loses its tags.
    """
    value = element.get("title")
    detail = element.get("title_detail") or {}
    if value and detail.get("type") == "text/plain":
        return " ".join(str(value).split())
    return _plain(value)


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
