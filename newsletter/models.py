"""The plain, frozen data that flows between pipeline stages.

feed.parse -> Feed/Post; excerpt.cut -> Excerpt; render.build -> Email; provider.send -> Receipt.
No stage reads configuration or the environment itself: it is handed these values.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime


@dataclass(frozen=True)
class Category:
    """One of the post's categories or tags, as the feed names it."""

    term: str
    label: str | None = None
    """A human-readable name, where the feed gives one besides the term (Atom's `label`)."""
    scheme: str | None = None
    """The vocabulary it belongs to (Atom's `scheme`, RSS's `domain`), when the feed says."""

    @property
    def name(self) -> str:
        """What a reader should see: the label, else the term."""
        return self.label or self.term


@dataclass(frozen=True)
class Enclosure:
    """A file attached to the post: a podcast episode, a video, a cover picture."""

    url: str
    """Absolute."""
    type: str = ""
    """The media type, lower-cased, without parameters (`audio/mpeg`); "" when unknown."""
    length: int | None = None
    """The file's size in bytes, when the feed gives a real one (Substack writes 0)."""

    @property
    def kind(self) -> str:
        """`audio`, `video`, `image` or `other`: the type's first half, else the file's ending."""
        major = self.type.partition("/")[0]
        if major in ("audio", "video", "image"):
            return major
        if self.type:
            return "other"
        return _kind_by_ending(self.url)


_ENDINGS = {
    "audio": (".mp3", ".m4a", ".aac", ".ogg", ".oga", ".opus", ".wav", ".flac"),
    "video": (".mp4", ".m4v", ".mov", ".webm", ".ogv"),
    "image": (".jpg", ".jpeg", ".png", ".gif", ".webp", ".avif"),
}


def _kind_by_ending(url: str) -> str:
    path = url.split("?", 1)[0].split("#", 1)[0].lower()
    return next((kind for kind, ends in _ENDINGS.items() if path.endswith(ends)), "other")


@dataclass(frozen=True)
class FeaturedImage:
    """The picture the feed names for the post, outside its body."""

    url: str
    """Absolute."""
    width: int | None = None
    """In pixels, when the feed says (and the address was not changed to ask for another size)."""
    height: int | None = None
    crop: bool = False
    """A small crop of some picture of the post (Blogger's 72 px thumbnail, asked for at a
    larger size): the post's own first picture, when it has one, is the better choice."""


@dataclass(frozen=True)
class Post:
    """One feed entry, as the feed gave it (HTML unsanitised, URLs possibly relative)."""

    id: str
    """What the post is known by in its feed (`identity.identify`): the entry's guid/id;
    its link when the feed gives none, or when several posts share that guid; its link and
    title when several such posts also share the link."""
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
    categories: tuple[Category, ...] = ()
    """Its categories and tags, in feed order, each once (podcast directories' categories
    are not the author's and are left out)."""
    enclosures: tuple[Enclosure, ...] = ()
    """Attached files, in feed order, each address once."""
    image: FeaturedImage | None = None
    """The featured image: media:thumbnail/media:content, an image enclosure, itunes:image."""
    duration: int | None = None
    """Seconds of audio or video (itunes:duration, else the media's own), when the feed says."""
    comments: str | None = None
    """The web page of the post's comments, when the feed gives one."""
    feed_url: str = ""
    """The feed it came from, as configured (its url or path); "" until a run says."""
    feed_label: str = ""
    """That feed's heading in a newsletter of several feeds: its label, else its title."""
    guid: str | None = None
    """The entry's id as the feed wrote it ("" when it has none), once `identify` has given
    the post a different `id`; None means `id` is the feed's own."""


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
    image: str | None = None
    """The feed's own picture (a podcast's cover art, the RSS channel image), absolute."""
    label: str = ""
    """Its heading in a newsletter of several feeds (`[feed] label`); "" means its title."""
    location: str = ""
    """Where the configuration says to read it (its url or path, before any redirect)."""
    parts: tuple[Feed, ...] = ()
    """The feeds this one gathers, in the configuration's order, when the newsletter reads
    several (`[[feed]]`); () for a single feed."""


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
