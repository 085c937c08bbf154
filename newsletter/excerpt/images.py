"""How wide a post's picture really is, and how it sits in the email's column.

An email cannot ask the image how big it is before laying out the page, so the width comes
from what the post says: its `width` attribute or inline style, the `w` descriptor of the
srcset candidate chosen (settled by `media`), WordPress's `name-WxH.jpg` file names, or the
resize limit that image CDNs write into the address. Pictures are never shown wider than
that: a 40 px icon stays 40 px, a 333 px picture is not blown up to the column.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import parse_qs, urlsplit

from lxml.html import HtmlElement

from newsletter.excerpt.tree import BLOCK_TAGS, is_blank, is_element, tag_of

COLUMN_WIDTH = 552
"""The 600 px email body minus 2 x 24 px padding."""
SMALL_IMAGE = 200
"""Narrower than this, an image is an icon, a badge or a signature, never the post's picture."""

_DECLARED = re.compile(r"\s*(\d+)\s*(?:px)?\s*$")
_STYLE_WIDTH = re.compile(r"(?:^|;)\s*width\s*:\s*(\d+)px", re.IGNORECASE)
_WORDPRESS_SIZE = re.compile(r"-(\d+)x\d+\.(?:jpe?g|png|gif|webp|avif)$", re.IGNORECASE)
"""WordPress names each resized copy `name-1024x683.jpg` (width x height)."""
_MEDIUM = re.compile(r"/(?:max/|v2/resize:(?:fit|fill):)(\d+)(?:/|$)")
_BLOGGER_SEGMENT = re.compile(r"/(?:s(\d+)(?:-[a-z0-9-]*)?|w(\d+)-h\d+(?:-[a-z0-9-]*)?)/")
_BLOGGER_SUFFIX = re.compile(r"=(?:s(\d+)|w(\d+)(?:-h\d+)?)(?:-[a-z0-9-]*)?$")
_SUBSTACK = re.compile(r"/image/fetch/(?:[^/]*,)?w_(\d+)[,/]")
_TUMBLR = re.compile(r"/s(\d+)x\d+/")
_BADGE_HOSTS = ("img.shields.io", "badge.fury.io", "badgen.net")


@dataclass(frozen=True)
class Width:
    pixels: int
    exact: bool
    """False when only an upper bound is known (a CDN shrinks, but never enlarges)."""


def known_width(img: HtmlElement, src: str) -> Width | None:
    declared = _declared(img)
    if declared:
        return Width(declared, exact=True)
    try:
        parts = urlsplit(src)
    except ValueError:  # an unbalanced IPv6 bracket ("//["): no address to read
        return None
    host, path = parts.netloc.lower(), parts.path
    wordpress = _WORDPRESS_SIZE.search(path)
    if wordpress:
        return Width(int(wordpress.group(1)), exact=True)
    bound = _cdn_bound(host, path, parts.query)
    return Width(bound, exact=False) if bound else None


def _declared(img: HtmlElement) -> int | None:
    match = _DECLARED.match(img.get("width") or "")
    if match:
        return int(match.group(1)) or None
    style = _STYLE_WIDTH.search(img.get("style") or "")
    return int(style.group(1)) or None if style else None


def _cdn_bound(host: str, path: str, query: str) -> int | None:
    """The width limit written into an image CDN's address (each CDN's own convention;
    `s0` and its like mean "the original", which says nothing)."""
    found: re.Match[str] | None = None
    if host.endswith("medium.com"):
        found = _MEDIUM.search(path)
    elif host == "blogger.googleusercontent.com" or host.endswith(".bp.blogspot.com"):
        found = _BLOGGER_SEGMENT.search(path) or _BLOGGER_SUFFIX.search(path)
    elif host == "substackcdn.com" or host.endswith(".substack.com"):
        found = _SUBSTACK.search(path)
    elif host.endswith(".media.tumblr.com"):
        found = _TUMBLR.search(path)
    elif host.endswith(("files.wordpress.com", ".wp.com")):
        # WordPress.com and Jetpack's image CDN resize with ?w=640 or ?resize=640,480.
        values = parse_qs(query)
        width = (values.get("w") or values.get("resize") or [""])[0].split(",")[0]
        return int(width) if width.isdigit() and int(width) else None
    if found is None:
        return None
    number = next((group for group in found.groups() if group), "0")
    return int(number) or None


def is_small(img: HtmlElement, src: str) -> bool:
    """An icon, badge or signature: too small (or too badge-like) to be the post's picture."""
    width = known_width(img, src)
    if width is not None and width.pixels < SMALL_IMAGE:
        return True
    try:
        return urlsplit(src).netloc.lower() in _BADGE_HOSTS
    except ValueError:
        return False


def fit_to_column(img: HtmlElement, src: str) -> None:
    """Set the width and inline style an image is shown with.

    A known width goes in the `width` attribute (capped at the column), which is all that
    Outlook for Windows reads; other clients get it as a `max-width`. When only a CDN's
    limit is known, `width:auto` lets them show the picture at its natural size, so a
    333 px picture behind a "max 1024" address is not enlarged. An image alone on its
    line is a block (no gap under it); one that shares its line with words or other
    images (an icon before a sentence, a row of badges) stays inline, as the post had it.
    """
    width = known_width(img, src)
    style = ["display:block" if _alone_on_its_line(img) else "vertical-align:middle"]
    if width is None:
        img.attrib.pop("width", None)
        style.append("max-width:100%")
    else:
        shown = min(width.pixels, COLUMN_WIDTH)
        img.set("width", str(shown))
        if width.exact and shown < COLUMN_WIDTH:
            # A percentage rather than the attribute's fixed size: when images are blocked,
            # a fixed-size placeholder would hold a phone's column open at its full width.
            style += ["width:100%", f"max-width:{shown}px"]
        else:
            style += ["width:auto" if not width.exact else "width:100%", "max-width:100%"]
    style.append("height:auto")
    img.set("style", ";".join(style))


def _alone_on_its_line(img: HtmlElement) -> bool:
    block = img.getparent()
    while block is not None and tag_of(block) not in BLOCK_TAGS and block.getparent() is not None:
        block = block.getparent()
    if block is None:
        return True
    return not _line_has_other_content(block, img)


def _line_has_other_content(element: HtmlElement, img: HtmlElement) -> bool:
    """Whether `element`'s own line (not the blocks nested in it) holds words or another
    image beside `img`."""
    if element is not img and not is_blank(element.text):
        return True
    for child in element:
        if not is_blank(child.tail):
            return True
        if not is_element(child) or child is img:
            continue
        if tag_of(child) == "img":
            return True
        on_this_line = tag_of(child) not in BLOCK_TAGS or img in child.iterdescendants()
        if on_this_line and _line_has_other_content(child, img):
            return True
    return False
