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

from newsletter.excerpt.images import fit_to_column
from newsletter.excerpt.tree import BLOCK_TAGS, drop, is_element
from newsletter.urls import EMAIL_SCHEMES, absolute_url, is_web_url

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
    filter_style_properties={"display", "vertical-align", "width", "max-width", "height"},
)
_FONT_FAMILY = re.compile(r"font-family\s*:\s*([^;]*)", re.IGNORECASE)
_MONOSPACE = re.compile(
    r"monospace|courier|consolas|menlo|monaco|lucida console|andale mono|"
    r"(?:source code|roboto|ubuntu|dejavu sans|fira|jetbrains|noto sans) ?mono|fira code",
    re.IGNORECASE,
)
_CODE_TAGS = frozenset({"code", "pre", "kbd", "samp"})


def keep_monospace(root: HtmlElement) -> None:
    """Code the editor marked only with an inline `font-family` (WordPress's classic editor,
    Blogger) becomes `<code>`: the sanitiser drops every `style` but an image's, and the
    words would turn into prose."""
    for element in list(root.iter()):
        if not is_element(element) or element.tag in _CODE_TAGS:
            continue
        if element.tag == "tt":
            element.tag = "code"
            continue
        family = _FONT_FAMILY.search(element.get("style") or "")
        if not family or not _MONOSPACE.search(family.group(1)):
            continue
        if any(outer.tag in _CODE_TAGS for outer in element.iterancestors()):
            continue
        if element.tag in BLOCK_TAGS:
            code = element.makeelement("code", {})
            code.text, element.text = element.text, None
            code.extend(list(element))
            element.insert(0, code)
        else:
            element.tag = "code"
            element.attrib.clear()


def settle_urls_and_images(root: HtmlElement, base: str) -> None:
    """Absolute link and image URLs; images at their own size, up to the column's."""
    for link in list(root.iter("a")):
        raw = (link.get("href") or "").strip()
        href = absolute_url(raw, base)
        if raw and urlsplit(href).scheme.lower() in EMAIL_SCHEMES:
            link.set("href", href)
        else:
            # An empty, `javascript:` or unresolvable link: keep the words, lose the link.
            link.drop_tag()
    for img in list(root.iter("img")):
        src = absolute_url(img.get("src") or "", base)
        if not is_web_url(src):
            drop(img)
            continue
        # Sized before the other attributes go: the width may come from the inline style.
        # The height goes too: with the width capped, a fixed height would squash the picture.
        fit_to_column(img, src)
        kept = {name: img.get(name) for name in ("title", "width", "style") if img.get(name)}
        alt = " ".join((img.get("alt") or "").split())
        img.attrib.clear()
        # One attribute order for every image, so an excerpt reads back the same when cut again.
        img.set("src", src)
        img.set("alt", alt)
        for name, value in kept.items():
            img.set(name, value or "")


def email_safe(html: str) -> str:
    """The allowlist pass: what survives it is safe to put in front of any mail client."""
    return str(_CLEANER.clean(html)).strip()
