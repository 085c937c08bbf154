"""What the templates see: posts and the blog, with links made absolute and tagged.

Values are prepared once here so the templates stay simple and an author's own template gets
the same safe, ready-to-print values as the built-in one.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass, replace
from datetime import datetime
from typing import TypeVar

from markupsafe import Markup

from newsletter.excerpt.tree import BLOCK_TAGS, parse_fragment
from newsletter.feed.media import same_picture
from newsletter.models import Category, Enclosure, Excerpt, Feed, Post
from newsletter.render.compiler import close_void_tags
from newsletter.render.dress import dress
from newsletter.render.environment import defuse_html
from newsletter.render.i18n import NewsletterLocale, format_date, text_direction, translations
from newsletter.render.media import (
    Audio,
    MediaWords,
    Video,
    audio_card,
    duration_text,
    top_picture,
    video_card,
)
from newsletter.render.words import EPISODE_ARTWORK, LISTEN, PLAY_VIDEO, WATCH
from newsletter.urls import LinkTagger, absolute_url, is_web_url, normalise_link

_IMG_SRC = re.compile(r"<img\b(?:[^>\"']|\"[^\"]*\"|'[^']*')*?\ssrc=\"([^\"]*)\"", re.IGNORECASE)
# Feeds write bylines for machines: feedparser gives Blogger's "Ann (noreply@blogger.com)",
# RSS 2.0 gives "ann@example.org (Ann)", and Blogger (hidden profile) and Zola (no author
# configured) write the placeholder "Unknown". A reader should see a name or nothing.
_NAME_AND_ADDRESS = re.compile(r"(.*?)\s*\(([^()]*)\)")
_ADDRESS = re.compile(r"[^@\s()]+@[^@\s()]+")
_PLACEHOLDER_AUTHORS = frozenset({"unknown", "unknown author"})


@dataclass(frozen=True)
class BlogView:
    title: str
    url: str
    """The home page, with UTM parameters."""
    language: str


@dataclass(frozen=True)
class PostView:
    id: str
    title: str
    url: str
    """The permalink, absolute, with UTM parameters."""
    published: datetime | None
    date: str
    """`published` for people, as the newsletter's locale writes it: 'March 5, 2024' in
    English, '5. März 2024' in German, '2024年3月5日' in Japanese (CLDR's long date)."""
    iso_date: str
    author: str | None
    image: str | None
    """The picture shown at the top of the post: the feed's featured image, or the post's
    own first picture when it comes after the break; None when the excerpt shows a picture
    of its own, or when an audio or video card shows it."""
    image_width: int | None
    """The width to show `image` at (at most the 552 px column); None: its natural size."""
    image_alt: str
    excerpt_html: Markup
    """Sanitised excerpt HTML, links tagged, ready for MJML."""
    excerpt_text: str
    summary: str
    """The excerpt's text on one line, for the preheader."""
    truncated: bool
    categories: tuple[Category, ...] = ()
    """The post's categories and tags: each has `term`, `label` (or None) and `name`."""
    enclosures: tuple[Enclosure, ...] = ()
    """Attached files: each has `url`, `type`, `length` (bytes or None) and `kind`
    (`audio`, `video`, `image` or `other`)."""
    featured_image: str | None = None
    """The feed's own featured image for the post, shown or not (see `image`)."""
    audio: Audio | None = None
    """The "Listen" card, for a post with an audio enclosure."""
    video: Video | None = None
    """The "Watch" card, for a post with a video enclosure."""
    duration: int | None = None
    """Seconds of audio or video, when the feed says."""
    duration_text: str = ""
    """`duration` as players write it: `1:02:05`, `45:09`."""
    comments: str | None = None
    """The web page of the post's comments."""
    feed_label: str = ""
    """The heading of the post's feed, in a newsletter of several feeds."""
    number: int = 0
    """Its place in the email, from 1 (the digest's list of titles links to `post-N`)."""


def blog_view(title: str, url: str, language: str, tagger: LinkTagger) -> BlogView:
    return BlogView(title=title.strip(), url=tagger.tag(url, always=True), language=language)


def post_view(
    post: Post,
    excerpt: Excerpt,
    *,
    base_url: str,
    locale: NewsletterLocale,
    tagger: LinkTagger,
    title_level: int = 2,
    feed: Feed | None = None,
) -> PostView:
    """`title_level`: the heading level of the post's title in the email (1 when the post is
    the whole email, 2 in a digest); the post's own headings go below it. `feed`: the feed
    the post came from (its picture stands in for an episode's own).

    A post without a web page of its own (its link a `tag:` or `urn:` id, or the feed's own
    address because the item has none) links to the blog's home page (`base_url`) and has
    no "Continue reading" button: there is nowhere to continue."""
    # FeedBurner's <link> is its own click-counting proxy; the blog's permalink is origLink.
    page = web_page(
        absolute_url(post.orig_link or post.link, post.base_url or base_url),
        feed.url if feed is not None else "",
    )
    link = page or base_url
    title = " ".join(post.title.split()) or link
    # The post's own direction (an English post in an Arabic newsletter stays left to right).
    direction = text_direction(excerpt.text) or text_direction(title) or locale.direction
    words = media_words(locale)
    dressed = dress(
        tagger.tag_html(excerpt.html, base=link),
        title_level=title_level,
        title=title,
        direction=direction,
        words=words,
    )
    excerpt_html = close_void_tags(dressed)
    shown = _image_sources(excerpt_html)
    audio = _unrepeated(audio_card(post, feed, title, words), shown)
    video = _unrepeated(video_card(post, title, words), shown)
    top = None if audio or video else top_picture(post, excerpt, shown, title)
    return PostView(
        id=post.id,
        title=title,
        url=tagger.tag(link, always=True) if link else "",
        published=post.published,
        date=format_date(post.published, locale.cldr),
        iso_date=post.published.date().isoformat() if post.published else "",
        author=byline(post.author),
        image=top.url if top else None,
        image_width=top.width if top else None,
        image_alt=top.alt if top else "",
        # Safe to mark: the excerpt stage ran it through its allowlist sanitiser (nh3).
        excerpt_html=Markup(defuse_html(excerpt_html)),  # noqa: S704
        excerpt_text=excerpt.text.strip(),
        summary=prose_of(excerpt.html),
        truncated=excerpt.truncated and page is not None,
        categories=post.categories,
        enclosures=post.enclosures,
        featured_image=post.image.url if post.image else None,
        audio=audio,
        video=video,
        duration=post.duration,
        duration_text=duration_text(post.duration),
        comments=tagger.tag(post.comments, always=True) if post.comments else None,
        feed_label=post.feed_label,
    )


def media_words(locale: NewsletterLocale) -> MediaWords:
    """The media cards' words in the newsletter's language."""
    gettext = translations(locale.catalogue).gettext
    return MediaWords(
        listen=gettext(LISTEN),
        watch=gettext(WATCH),
        play_video=lambda title: gettext(PLAY_VIDEO) % {"title": title},
        artwork=lambda title: gettext(EPISODE_ARTWORK) % {"title": title},
    )


Card = TypeVar("Card", Audio, Video)


def _unrepeated(card: Card | None, shown: set[str]) -> Card | None:
    """The card without its picture when the excerpt already shows that picture."""
    if card is None or card.image is None:
        return card
    if any(same_picture(card.image.url, other) for other in shown):
        return replace(card, image=None)
    return card


def web_page(link: str, feed_url: str) -> str | None:
    """`link` when it is a web page a reader can open: http(s), and not the feed itself."""
    if not is_web_url(link):
        return None
    if feed_url and normalise_link(link) == normalise_link(feed_url):
        return None
    return link


def prose_of(excerpt_html: str) -> str:
    """The excerpt's words on one line, for the inbox preview: no link addresses, alt texts,
    quote marks or rules, which the text part adds for readers of the whole text."""
    root = parse_fragment(excerpt_html)
    for element in root.iter():
        if isinstance(element.tag, str) and (element.tag in BLOCK_TAGS or element.tag == "br"):
            element.tail = " " + (element.tail or "")
            element.text = " " + (element.text or "")
    return " ".join(root.text_content().split())


def byline(author: str | None) -> str | None:
    """The author's name as a reader should see it, or None when the feed names nobody."""
    text = " ".join((author or "").split())
    paired = _NAME_AND_ADDRESS.fullmatch(text)
    if paired:
        outside, inside = paired.groups()
        if _ADDRESS.fullmatch(inside):
            text = outside
        elif _ADDRESS.fullmatch(outside):
            text = inside
    if not text or _ADDRESS.fullmatch(text) or text.casefold() in _PLACEHOLDER_AUTHORS:
        return None
    return text


def _image_sources(fragment: str) -> set[str]:
    return {html.unescape(match.group(1)) for match in _IMG_SRC.finditer(fragment)}
