"""Email-safe HTML: absolute links, images sized for the column, then an allowlist sanitiser.

nh3 (ammonia) decides what may reach a subscriber: only the tags and attributes below, only
http(s) and mailto URLs, no relative URLs, no comments. Everything it would have to guess
about (URLs, image sizes) is settled on the tree first.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

import nh3
from lxml.html import HtmlElement

from newsletter.excerpt.tree import drop
from newsletter.excerpt.urls import EMAIL_SCHEMES, is_web_url, resolve

COLUMN_WIDTH = 552
"""The 600 px email body minus 2 x 24 px padding."""
IMAGE_STYLE = "display:block;max-width:100%;height:auto"

ALLOWED_TAGS = frozenset(
    {
        "a",
        "abbr",
        "b",
        "blockquote",
        "br",
        "caption",
        "cite",
        "code",
        "dd",
        "del",
        "div",
        "dl",
        "dt",
        "em",
        "figcaption",
        "figure",
        "h1",
        "h2",
        "h3",
        "h4",
        "h5",
        "h6",
        "hr",
        "i",
        "img",
        "ins",
        "kbd",
        "li",
        "mark",
        "ol",
        "p",
        "pre",
        "q",
        "s",
        "samp",
        "small",
        "span",
        "strong",
        "sub",
        "sup",
        "table",
        "tbody",
        "td",
        "tfoot",
        "th",
        "thead",
        "tr",
        "u",
        "ul",
        "var",
    }
)
ALLOWED_ATTRIBUTES = {
    "*": {"lang", "dir"},
    "a": {"href", "title"},
    "abbr": {"title"},
    "img": {"src", "alt", "width", "style", "title"},
    "ol": {"start"},
    "td": {"colspan", "rowspan"},
    "th": {"colspan", "rowspan"},
}
_CLEANER = nh3.Cleaner(
    tags=set(ALLOWED_TAGS),
    clean_content_tags={"script", "style", "template", "noscript", "iframe", "object", "svg"},
    attributes={tag: set(names) for tag, names in ALLOWED_ATTRIBUTES.items()},
    url_schemes={"http", "https", "mailto"},
    url_relative="deny",
    link_rel=None,
    strip_comments=True,
    filter_style_properties={"display", "max-width", "height"},
)
_STYLE_WIDTH = re.compile(r"(?:^|;)\s*width\s*:\s*(\d+)px", re.IGNORECASE)


def settle_urls_and_images(root: HtmlElement, base: str) -> None:
    """Absolute link and image URLs; images that fit a 600 px column without distortion."""
    for link in list(root.iter("a")):
        raw = (link.get("href") or "").strip()
        href = resolve(raw, base)
        if raw and urlsplit(href).scheme.lower() in EMAIL_SCHEMES:
            link.set("href", href)
        else:
            # An empty, `javascript:` or unresolvable link: keep the words, lose the link.
            link.drop_tag()
    for img in list(root.iter("img")):
        src = resolve(img.get("src") or "", base)
        if not is_web_url(src):
            drop(img)
            continue
        width = _declared_width(img)
        for name in list(img.attrib):
            if name not in ALLOWED_ATTRIBUTES["img"]:
                del img.attrib[name]
        img.set("src", src)
        img.set("alt", " ".join((img.get("alt") or "").split()))
        img.set("width", str(min(width, COLUMN_WIDTH) if width else COLUMN_WIDTH))
        # The height goes: with the width capped, a fixed height would squash the picture.
        img.set("style", IMAGE_STYLE)


def _declared_width(img: HtmlElement) -> int | None:
    match = re.match(r"\s*(\d+)\s*(?:px)?\s*$", img.get("width") or "")
    if match:
        return int(match.group(1)) or None
    style = _STYLE_WIDTH.search(img.get("style") or "")
    return int(style.group(1)) or None if style else None


def email_safe(html: str) -> str:
    """The allowlist pass: what survives it is safe to put in front of any mail client."""
    return str(_CLEANER.clean(html)).strip()
