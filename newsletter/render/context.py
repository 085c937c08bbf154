"""What the templates see: posts and the blog, with links made absolute and tagged.

Values are prepared once here so the templates stay simple and an author's own template gets
the same safe, ready-to-print values as the built-in one.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass
from datetime import datetime

from markupsafe import Markup

from newsletter.excerpt.tree import BLOCK_TAGS, parse_fragment
from newsletter.models import Excerpt, Post
from newsletter.render.compiler import close_void_tags
from newsletter.render.dress import dress
from newsletter.render.i18n import NewsletterLocale, format_date, text_direction
from newsletter.urls import LinkTagger, absolute_url

_IMG_SRC = re.compile(r"<img\b(?:[^>\"']|\"[^\"]*\"|'[^']*')*?\ssrc=\"([^\"]*)\"", re.IGNORECASE)
_BRACE_ENTITIES = str.maketrans({"{": "&#123;", "}": "&#125;"})
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
    """The post's picture when the excerpt does not already show it."""
    excerpt_html: Markup
    """Sanitised excerpt HTML, links tagged, ready for MJML."""
    excerpt_text: str
    summary: str
    """The excerpt's text on one line, for the preheader."""
    truncated: bool


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
) -> PostView:
    """`title_level`: the heading level of the post's title in the email (1 when the post is
    the whole email, 2 in a digest); the post's own headings go below it."""
    # FeedBurner's <link> is its own click-counting proxy; the blog's permalink is origLink.
    link = absolute_url(post.orig_link or post.link, post.base_url or base_url)
    title = " ".join(post.title.split()) or link
    # The post's own direction (an English post in an Arabic newsletter stays left to right).
    direction = text_direction(excerpt.text) or text_direction(title) or locale.direction
    dressed = dress(
        tagger.tag_html(excerpt.html, base=link),
        title_level=title_level,
        title=title,
        direction=direction,
    )
    excerpt_html = close_void_tags(dressed)
    image = excerpt.image
    if image and image in _image_sources(excerpt_html):
        image = None
    return PostView(
        id=post.id,
        title=title,
        url=tagger.tag(link, always=True),
        published=post.published,
        date=format_date(post.published, locale.cldr),
        iso_date=post.published.date().isoformat() if post.published else "",
        author=byline(post.author),
        image=image,
        # Safe to mark: the excerpt stage ran it through its allowlist sanitiser (nh3).
        excerpt_html=Markup(excerpt_html.translate(_BRACE_ENTITIES)),  # noqa: S704
        excerpt_text=excerpt.text.strip(),
        summary=prose_of(excerpt.html),
        truncated=excerpt.truncated,
    )


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
