"""The excerpt as plain text, for the email's text part.

Paragraphs are separated by a blank line, list items start with "- " or "1. ", quotes with
"> ", and a link reads "label (https://url)" so that the address survives in any client;
a link whose label is its own address is written once. Prose is wrapped to lines of at most
TEXT_WIDTH characters (mail clients show text parts in a fixed-width column), never inside
a word or an address; code and tables keep their own lines.
"""

from __future__ import annotations

import re
import textwrap

from lxml.html import HtmlElement

from newsletter.excerpt.tree import BLOCK_TAGS, is_element, tag_of

_SPACES = re.compile(r"[ \t\n\r\f\v\xa0]+")
_LINE_BREAK = "\x00"
"""Stands for `<br>` while runs of whitespace are collapsed."""
_BLOCKS = BLOCK_TAGS | {"tr", "tbody", "thead", "tfoot", "caption"}
_STARTS_WORD = re.compile(r"\w")
TEXT_WIDTH = 76
"""Within the 78 characters RFC 5322 (section 2.1.1) recommends for a line."""


def tree_to_text(root: HtmlElement) -> str:
    blocks: list[str] = []
    _container(root, blocks, TEXT_WIDTH)
    return "\n\n".join(blocks)


def wrap(text: str, width: int = TEXT_WIDTH) -> str:
    """Each line of `text` wrapped at spaces to `width`; a longer word or address stays whole."""
    return "\n".join(
        "\n".join(
            textwrap.wrap(line, width, break_long_words=False, break_on_hyphens=False) or [""]
        )
        for line in text.split("\n")
    )


def _container(element: HtmlElement, blocks: list[str], width: int) -> None:
    """Render children that mix running text and blocks; each run of text is a paragraph."""
    run = [element.text or ""]
    for child in element:
        if is_element(child) and tag_of(child) in _BLOCKS:
            _flush(run, blocks, width)
            _block(child, blocks, width)
            run = []
        elif is_element(child):
            run.append(_inline(child))
        run.append(_spaced_tail(child, run))
    _flush(run, blocks, width)


def _spaced_tail(child: HtmlElement, run: list[str]) -> str:
    """The text after an inline element, kept apart from a picture's "[alt]" or "(address)":
    `<a><img alt="Gull"></a>Paparazzi` must not read "Gull (https://...)Paparazzi"."""
    tail = child.tail or ""
    shown_as = run[-1] if run else ""
    pictured = is_element(child) and any(True for _ in child.iter("img"))
    if pictured and shown_as.endswith((")", "]")) and _STARTS_WORD.match(tail):
        return " " + tail
    return tail


def _flush(run: list[str], blocks: list[str], width: int) -> None:
    text = _SPACES.sub(" ", "".join(run))
    lines = [line.strip() for line in text.split(_LINE_BREAK)]
    paragraph = "\n".join(lines).strip("\n")
    if paragraph.strip():
        blocks.append(wrap(paragraph, width))
    run.clear()


def _block(element: HtmlElement, blocks: list[str], width: int) -> None:
    tag = tag_of(element)
    if tag == "pre":
        blocks.append(_preformatted(element).strip("\n"))
    elif tag in ("ul", "ol"):
        items = _list_items(element, ordered=tag == "ol", width=width)
        if items:
            blocks.append("\n".join(items))
    elif tag == "blockquote":
        inner: list[str] = []
        _container(element, inner, width - 2)
        if inner:
            quoted = "\n\n".join(inner).split("\n")
            blocks.append("\n".join(f"> {line}".rstrip() for line in quoted))
    elif tag == "hr":
        blocks.append("* * *")
    elif tag == "table":
        rows = [_row(row) for row in element.iter("tr")]
        table = "\n".join(row for row in rows if row)
        if table:
            blocks.append(table)
    else:
        _container(element, blocks, width)


def _preformatted(element: HtmlElement) -> str:
    """Code as written: its own line breaks, and `<br>` where an editor wrote lines that way."""
    parts = [element.text or ""]
    for child in element:
        if is_element(child):
            parts.append("\n" if tag_of(child) == "br" else _preformatted(child))
        parts.append(child.tail or "")
    return "".join(parts)


def _list_items(element: HtmlElement, *, ordered: bool, width: int) -> list[str]:
    items: list[str] = []
    number = int(element.get("start") or 1) if (element.get("start") or "1").isdigit() else 1
    for child in element:
        if not is_element(child):
            continue
        parts: list[str] = []
        bullet = f"{number}. " if ordered else "- "
        _container(child, parts, width - len(bullet))
        if not parts:
            continue
        number += 1
        lines = "\n".join(parts).split("\n")
        indent = " " * len(bullet)
        items.append(
            bullet + lines[0] + "".join(f"\n{indent}{line}" if line else "\n" for line in lines[1:])
        )
    return items


def _row(row: HtmlElement) -> str:
    cells = [
        _SPACES.sub(" ", _inline_content(cell)).replace(_LINE_BREAK, " ").strip()
        for cell in row
        if is_element(cell)
    ]
    return " | ".join(cell for cell in cells if cell)


def _inline(element: HtmlElement) -> str:
    tag = tag_of(element)
    if tag == "br":
        return _LINE_BREAK
    if tag == "img":
        alt = " ".join((element.get("alt") or "").split())
        return f"[{alt}]" if alt else ""
    if tag == "a":
        return _link(element)
    return _inline_content(element)


def _inline_content(element: HtmlElement) -> str:
    parts = [element.text or ""]
    for child in element:
        if is_element(child):
            parts.append(_inline(child))
        parts.append(_spaced_tail(child, parts))
    return "".join(parts)


def _link(element: HtmlElement) -> str:
    content = _inline_content(element)
    written = _link_text(element, content)
    # A space the author typed just inside the link ("shared in<a> Saturday's post</a>")
    # still separates the words once the link is text.
    before = " " if content[:1].isspace() else ""
    after = " " if content[-1:].isspace() else ""
    return f"{before}{written}{after}" if written else ""


def _link_text(element: HtmlElement, content: str) -> str:
    href = (element.get("href") or "").strip()
    label = _SPACES.sub(" ", content).replace(_LINE_BREAK, " ").strip()
    label = label.removeprefix("[").removesuffix("]") if label.startswith("[") else label
    if not href:
        return label
    if not label:
        # A picture without words that links somewhere: nothing a reader could use.
        return ""
    shown = href.removeprefix("mailto:")
    if _bare(label) == _bare(shown):
        return shown
    return f"{label} ({shown})"


def _bare(url: str) -> str:
    return re.sub(r"^[a-z]+://(www\.)?", "", url.strip().lower()).rstrip("/")
