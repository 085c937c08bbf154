"""The plain, frozen data that flows between pipeline stages.

feed.parse -> Feed/Post; excerpt.cut -> Excerpt; render.build -> Email; provider.send -> Receipt.
No stage reads configuration or the environment itself: it is handed these values.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime


@dataclass(frozen=True)
class Post:
    """One feed entry, as the feed gave it (HTML unsanitised, URLs possibly relative)."""

    id: str
    """The entry's guid/id, or its link when the feed gives none."""
    link: str
    title: str
    author: str | None
    published: datetime | None
    updated: datetime | None
    html: str
    """The best body: the longest text/html content, else an HTML summary, else escaped text."""
    summary_html: str | None = None
    """A real teaser (a summary that differs from the body), when the feed has one."""
    language: str | None = None
    base_url: str = ""
    """Where relative URLs in `html` resolve: the content's xml:base, else the item link."""
    orig_link: str | None = None
    """FeedBurner's feedburner:origLink, the real permalink behind a proxy link."""
    content_is_full: bool = True
    """False when the feed carried only a summary/description (the item is the teaser)."""


@dataclass(frozen=True)
class Feed:
    title: str
    link: str
    """The blog's home page."""
    url: str
    """Where the feed was read from (after redirects)."""
    language: str | None
    posts: tuple[Post, ...]
    warnings: tuple[str, ...] = ()


@dataclass(frozen=True)
class Validators:
    """HTTP conditional-GET validators remembered between runs."""

    etag: str | None = None
    last_modified: str | None = None


@dataclass(frozen=True)
class FetchResult:
    """Raw feed bytes plus what feedparser needs to decode them; `body is None` means 304."""

    url: str
    body: bytes | None
    headers: Mapping[str, str]
    validators: Validators


@dataclass(frozen=True)
class Excerpt:
    html: str
    """Email-safe HTML: sanitised, absolute URLs, nothing after the break."""
    text: str
    """Plain-text rendering with readable links, for the text part."""
    image: str | None
    """The post's picture (absolute URL), when it has one."""
    truncated: bool
    """True when the post goes on past the excerpt (so the button says 'Continue reading')."""


@dataclass(frozen=True)
class Email:
    subject: str
    preheader: str
    html: str
    text: str
    headers: Mapping[str, str] = field(default_factory=dict)
    """Extra headers (Reply-To, List-Unsubscribe, ...); From is `sender`."""
    sender: str = ""
    post_ids: tuple[str, ...] = ()
    language: str | None = None


@dataclass(frozen=True)
class Rejection:
    address: str
    reason: str


@dataclass(frozen=True)
class Receipt:
    provider: str
    message_id: str | None
    accepted: int
    rejected: tuple[Rejection, ...] = ()
    drafted: bool = False
