"""What platforms add to a post that is not the author's writing: pixels, footers, widgets.

Removed before looking for the break, because most of it sits at the end of the post,
exactly where a truncated teaser's "Continue reading" link would be. What each platform
adds: docs/platform-breaks.md#furniture.
"""

from __future__ import annotations

import re

from lxml.html import HtmlElement

from newsletter.excerpt.tree import (
    classes,
    drop,
    has_content_after,
    is_blank,
    is_element,
    tag_of,
    trim_trailing,
)
from newsletter.identity import PostAddress

TRACKER_SOURCES = (
    "pixel.wp.com/",  # WordPress.com stats
    "stats.wordpress.com/",
    "medium.com/_/stat",  # Medium read counter
    "feeds.feedburner.com/~r/",  # FeedBurner click and view counters
    "feeds.feedburner.com/~ff/",
    "feedproxy.google.com/~r/",
    "feeds.wordpress.com/1.0/",  # WordPress.com "comments" feedflare
)
_TRACKER_LINKS = ("feeds.wordpress.com/1.0/", "feeds.feedburner.com/~ff/", "feedads.g.doubleclick")
WIDGET_FRAMES = ("/slashdot-it.pl",)
"""Frames that embed the site's own comment or voting widget, not part of the post:
Slashdot's discussion box."""

REMOVED_TAGS = frozenset(
    {
        "script",
        "style",
        "noscript",
        "template",
        "link",
        "meta",
        "title",
        "head",
        "form",
        "input",
        "button",
        "select",
        "textarea",
        "label",
        "fieldset",
    }
)
"""Never content in an email. `noscript` only repeats a lazy-loaded image, which the media
stage recovers from its `data-src`."""

WIDGET_CLASSES = frozenset(
    {
        # Substack subscribe and share buttons, in free and paid posts
        "subscription-widget-wrap-editor",
        "subscription-widget-wrap",
        "subscription-widget",
        "button-wrapper",
        "subscribe-widget",
        # FeedBurner and Jetpack sharing rows
        "feedflare",
        "sharedaddy",
        "jp-relatedposts",
        "wp-block-jetpack-subscriptions",
        # Slashdot's share buttons
        "share_submission",
    }
)

_YOAST = re.compile(r"appeared first on", re.IGNORECASE)
_MEDIUM_FOOTER = re.compile(r"was originally published in .+ on Medium", re.IGNORECASE | re.DOTALL)
_READ_MORE_OF_STORY = re.compile(r"\s*read more of this story\s+at\s+\S[^.]{0,40}\.?\s*", re.I)
_PIXEL_SIZE = 2
_HIDDEN_STYLE = re.compile(r"(?:^|;)\s*(?:display\s*:\s*none|visibility\s*:\s*hidden)\b", re.I)


def is_hidden(node: HtmlElement) -> bool:
    """Hidden on the blog (`hidden`, `display:none`, `visibility:hidden`): Pinterest "pin"
    pictures, plugin markup and open trackers that no reader of the post ever sees."""
    return node.get("hidden") is not None or bool(_HIDDEN_STYLE.search(node.get("style") or ""))


def is_tracking_pixel(img: HtmlElement) -> bool:
    src = img.get("src") or ""
    if any(source in src for source in TRACKER_SOURCES) or is_hidden(img):
        return True
    style = img.get("style") or ""
    sizes = [_pixels(img.get(name)) for name in ("width", "height")]
    # Trackers sized by CSS (`style="width:1px;height:1px"`) are just as invisible.
    sizes += [_style_pixels(style, name) for name in ("width", "height")]
    given = [size for size in sizes if size is not None]
    return bool(given) and all(size <= _PIXEL_SIZE for size in given)


def _style_pixels(style: str, name: str) -> int | None:
    match = re.search(rf"(?:^|;)\s*{name}\s*:\s*(\d+)\s*(?:px)?\s*(?:;|$)", style, re.I)
    return int(match.group(1)) if match else None


def _pixels(value: str | None) -> int | None:
    match = re.match(r"\s*(\d+)\s*(?:px)?\s*$", value or "")
    return int(match.group(1)) if match else None


def remove_furniture(root: HtmlElement, address: PostAddress) -> None:
    """Strip trackers, widgets and platform footers, then blank space at the end."""
    doomed: list[HtmlElement] = []
    for node in root.iter():
        if not is_element(node):
            continue
        tag = tag_of(node)
        if tag in REMOVED_TAGS or classes(node) & WIDGET_CLASSES or is_hidden(node):
            doomed.append(node)
        elif tag == "img" and is_tracking_pixel(node):
            # A pixel wrapped in its own link (feedflare) takes the link with it.
            parent = node.getparent()
            only_child = parent is not None and tag_of(parent) == "a" and len(parent) == 1
            doomed.append(parent if only_child and parent is not None else node)
        elif _is_tracker_link(node, tag) or _is_widget_frame(node, tag):
            doomed.append(node)
    for node in doomed:
        if node.getparent() is not None:
            drop(node)
    trim_trailing(root)
    while _drop_footer(root, address):
        trim_trailing(root)


def _is_tracker_link(node: HtmlElement, tag: str) -> bool:
    return tag == "a" and any(link in (node.get("href") or "") for link in _TRACKER_LINKS)


def _is_widget_frame(node: HtmlElement, tag: str) -> bool:
    return tag == "iframe" and any(frame in (node.get("src") or "") for frame in WIDGET_FRAMES)


def _drop_footer(root: HtmlElement, address: PostAddress) -> bool:
    """Remove one trailing platform footer paragraph; True if there was one."""
    paragraphs = list(root.iter("p"))
    if not paragraphs:
        return False
    last = paragraphs[-1]
    if has_content_after(last, root):
        return False
    text = last.text_content()
    if _MEDIUM_FOOTER.search(text):
        rule = last.getprevious()
        if rule is not None and tag_of(rule) == "hr" and is_blank(rule.tail):
            drop(rule)
        drop(last)
        return True
    if _is_yoast_footer(last, text, address) or _is_story_link(last, text, address):
        drop(last)
        return True
    return False


def _is_story_link(paragraph: HtmlElement, text: str, address: PostAddress) -> bool:
    """Slashdot's "Read more of this story at Slashdot.": one link to the post itself,
    which the email's own button already gives (docs/platform-breaks.md#furniture)."""
    links = list(paragraph.iter("a"))
    if len(links) != 1 or not address.is_link_to_post(links[0].get("href")):
        return False
    return bool(_READ_MORE_OF_STORY.fullmatch(text))


def _is_yoast_footer(paragraph: HtmlElement, text: str, address: PostAddress) -> bool:
    """Yoast's "The post X appeared first on Y." in any language: a link to the post, then a
    link to the blog, and nothing else but a few words (docs/platform-breaks.md#yoast-seo)."""
    links = list(paragraph.iter("a"))
    if len(links) != 2 or not address.is_link_to_post(links[0].get("href")):
        return False
    if _YOAST.search(text):
        return True
    words_outside_links = len(text.split()) - sum(len(a.text_content().split()) for a in links)
    return address.is_link_to_site(links[1].get("href")) and words_outside_links <= 8
