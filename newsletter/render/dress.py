"""The excerpt's HTML dressed for mail clients: the styles that matter, inline.

Gmail's apps with non-Google accounts, Gmail's mobile web and Yahoo on Android drop the
whole `<style>` block (https://www.caniemail.com/features/html-style/), so what keeps a
post readable and inside a phone's screen is written on the elements themselves: code that
wraps, tables with real cell padding that never break a word in the middle, headings that
sit below the post's title, figures and quotes without the browser's 40 px indent, and
pictures that can never hold the column open. The `<style>` block keeps only what cannot be
inline: dark mode and the inline code's tint.
"""

from __future__ import annotations

import re

from lxml.html import HtmlElement

from newsletter.excerpt.tree import inner_html, parse_fragment, tag_of
from newsletter.render.media import ENGLISH, MediaWords, is_video_link, mark_video

MONOSPACE = "Menlo,Consolas,'Courier New',monospace"
_HEADING_SIZES = ("20px", "18px")
"""The post's own headings, largest first, under a 24-28 px title; deeper ones are body size
(17 px) in bold."""
_STYLES = {
    "pre": (
        "margin:0 0 16px;padding:12px 14px;background-color:#f3f3ef;border-radius:6px;"
        f"font-family:{MONOSPACE};font-size:14px;line-height:1.5;"
        "white-space:pre-wrap;word-break:break-word;overflow-wrap:anywhere;"
    ),
    # A named font first: with `monospace` alone, browsers shrink code to 13/16 of the text.
    "code": f"font-family:{MONOSPACE};font-size:15px;",
    # Words in a table wrap between words only (MJML's `word-break:break-word` would split
    # "Service" into "Servic|e" to squeeze a column); a word too long for any column may
    # still break rather than widen the email.
    "table": (
        "border-collapse:collapse;width:100%;table-layout:auto;margin:0 0 16px;"
        "font-size:15px;line-height:1.4;word-break:normal;overflow-wrap:break-word;"
    ),
    "th": "padding:6px 8px;border-bottom:2px solid #d9d9d3;text-align:left;vertical-align:top;",
    "td": "padding:6px 8px;border-bottom:1px solid #e3e3de;text-align:left;vertical-align:top;",
    "figure": "margin:0 0 16px;",
    "blockquote": "margin:16px 0;padding:0 0 0 16px;border-left:3px solid #d0d0c8;",
}


_CSS_WIDTH = re.compile(r"(?:^|;)\s*width\s*:", re.IGNORECASE)
_CSS_MAX_WIDTH = re.compile(r"(?:^|;)\s*max-width\s*:", re.IGNORECASE)
_CSS_HEIGHT = re.compile(r"(?:^|;)\s*height\s*:", re.IGNORECASE)


def _mirrored(style: str) -> str:
    """The same style for a post written right to left: the quote's bar and the table
    cells' alignment on the right."""
    return (
        style.replace("padding:0 0 0 16px", "padding:0 16px 0 0")
        .replace("border-left", "border-right")
        .replace("text-align:left", "text-align:right")
    )


_RTL_STYLES = {tag: _mirrored(style) for tag, style in _STYLES.items()}


def dress(
    excerpt_html: str,
    *,
    title_level: int,
    title: str,
    direction: str = "ltr",
    words: MediaWords = ENGLISH,
) -> str:
    """Inline styles, headings renumbered below the post's title (an `h1` in a post becomes
    `h2` under a per-post email's `h1` title, `h3` under a digest's `h2`), the post's title
    as the alt text of pictures that are a link's only content, and a play cue with a
    "Watch" caption (in `words`) on videos. `direction` is the post's own (`ltr`/`rtl`),
    which places quote bars and aligns table cells."""
    styles = _RTL_STYLES if direction == "rtl" else _STYLES
    root = parse_fragment(excerpt_html)
    _renumber_headings(root, title_level)
    for element in list(root.iter()):
        tag = tag_of(element)
        if tag == "code" and any(tag_of(outer) == "pre" for outer in element.iterancestors()):
            element.drop_tag()  # the <pre> already sets the font
        elif tag in styles:
            element.set("style", styles[tag])
        elif tag == "img":
            _keep_inside_the_column(element)
        elif tag == "a":
            if is_video_link(element.get("href") or ""):
                mark_video(element, words, title)
            _name_picture_link(element, title)
    return inner_html(root)


def _renumber_headings(root: HtmlElement, title_level: int) -> None:
    headings = list(root.iter("h1", "h2", "h3", "h4", "h5", "h6"))
    levels = sorted({int(tag_of(h)[1]) for h in headings})
    for heading in headings:
        rank = levels.index(int(tag_of(heading)[1]))
        heading.tag = f"h{min(title_level + 1 + rank, 6)}"
        size = _HEADING_SIZES[rank] if rank < len(_HEADING_SIZES) else "17px"
        heading.set("style", f"margin:24px 0 8px;font-size:{size};line-height:1.3;")


def _keep_inside_the_column(img: HtmlElement) -> None:
    """Every picture says `max-width:100%` and `height:auto` inline, and one with a `width`
    attribute but no CSS width says `width:auto`. The excerpt's pictures already do; this
    holds for any other HTML that reaches the email. Without it, a client that blocks
    images draws the alt text in a box as wide as the attribute, and with `<style>` dropped
    the table around it grows to fit: a 552 px box holds a phone's column open."""
    style = (img.get("style") or "").strip().rstrip(";")
    added = []
    if img.get("width") and not _CSS_WIDTH.search(style):
        added.append("width:auto")
    if not _CSS_MAX_WIDTH.search(style):
        added.append("max-width:100%")
    if not _CSS_HEIGHT.search(style):
        added.append("height:auto")
    if added:
        img.set("style", ";".join(filter(None, [style, *added])))


def _name_picture_link(link: HtmlElement, title: str) -> None:
    """A link whose only content is a picture without alt text (Blogger links each picture
    to its full-size file) has no name for a screen reader; the post's title is the best
    description there is."""
    if link.text_content().strip():
        return
    pictures = list(link.iter("img"))
    if pictures and not any((img.get("alt") or "").strip() for img in pictures):
        pictures[0].set("alt", title)
