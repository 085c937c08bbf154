"""The HTML tree the cutter works on: parse once, cut in document order, serialise once.

lxml keeps text in two places: `element.text` (before the first child) and `child.tail`
(after the child, inside the parent). "Everything after a point in document order" is
therefore the point's own tail, its following siblings, and the same again for each
ancestor up to the root.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from html import escape
from typing import Literal

import lxml.html
from lxml import etree
from lxml.html import HtmlElement

BLOCK_TAGS = frozenset(
    {
        "address",
        "article",
        "aside",
        "blockquote",
        "dd",
        "details",
        "div",
        "dl",
        "dt",
        "figcaption",
        "figure",
        "footer",
        "h1",
        "h2",
        "h3",
        "h4",
        "h5",
        "h6",
        "header",
        "hr",
        "li",
        "main",
        "nav",
        "ol",
        "p",
        "pre",
        "section",
        "table",
        "ul",
    }
)
HEADING_TAGS = frozenset({"h1", "h2", "h3", "h4", "h5", "h6"})
CONTENT_TAGS = frozenset({"img", "iframe", "video", "audio", "picture"})
"""Elements that are content without any text (players become links before the cut)."""
_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ud800-\udfff]")
"""Characters no HTML (or lxml) text may hold: C0 controls other than tab and newlines, and
lone surrogates."""
EMPTY_IS_NOTHING = HEADING_TAGS | {"p", "div", "span", "blockquote", "ul", "ol", "li"}
"""Top-level elements that show nothing when empty (unlike a rule or a table cell)."""
WALK_EVENTS: tuple[Literal["start", "end", "comment"], ...] = ("start", "end", "comment")
"""For `etree.iterwalk`: a comment comes as one "comment" event (its tail is text too)."""
_UNKNOWN_VOIDS = ("embed", "source", "track", "wbr", "keygen")
"""HTML5 empty elements that libxml2's HTML 4 parser reads as containers: everything after
an unclosed `<embed src=...>` would become its content, and go wherever the embed goes."""
_KEEP_WHEN_EMPTY = frozenset({"td", "th", "tr", "thead", "tbody", "tfoot", "col", "colgroup"})
"""Table structure: an empty cell still holds its row together."""


def parse_fragment(html: str) -> HtmlElement:
    """The publisher's HTML inside one `<div>` root (a whole document is reduced to its body)."""
    try:
        root = lxml.html.fragment_fromstring(_CONTROL.sub("", html), create_parent="div")
    except (etree.ParserError, ValueError):
        # Input that libxml2 rejects outright (only control characters, say): nothing to keep.
        return lxml.html.fragment_fromstring("", create_parent="div")
    for void in list(root.iter(*_UNKNOWN_VOIDS)):
        _empty_out(void)
    return root


def _empty_out(void: HtmlElement) -> None:
    """Put what libxml2 nested inside an empty element back after it, as HTML5 reads it."""
    parent = void.getparent()
    if parent is None or (void.text is None and not len(void)):
        return
    children = list(void)
    tail = void.tail or ""
    void.tail = void.text
    void.text = None
    index = parent.index(void)
    for offset, child in enumerate(children, start=1):
        parent.insert(index + offset, child)
    if children:
        children[-1].tail = (children[-1].tail or "") + tail
    else:
        void.tail = (void.tail or "") + tail


def inner_html(root: HtmlElement) -> str:
    """The root's content, without the root's own tags."""
    parts = [escape(root.text, quote=False)] if root.text else []
    parts.extend(lxml.html.tostring(child, encoding="unicode", with_tail=True) for child in root)
    return "".join(parts)


def is_element(node: object) -> bool:
    """True for elements, False for comments and processing instructions."""
    return isinstance(node, HtmlElement) and isinstance(node.tag, str)


def tag_of(node: HtmlElement) -> str:
    """The element's name ("" for a comment); the HTML parser already lower-cases names."""
    tag = node.tag
    return tag if isinstance(tag, str) else ""


def classes(node: HtmlElement) -> frozenset[str]:
    return frozenset((node.get("class") or "").split())


def is_blank(text: str | None) -> bool:
    return not text or not text.strip()


def is_empty(node: HtmlElement) -> bool:
    """No visible text and no image: what a cut may leave behind and should not keep."""
    if not is_element(node):
        return True
    if tag_of(node) in CONTENT_TAGS:
        return False
    if not is_blank(node.text_content()):
        return False
    return not any(True for _ in node.iter(*CONTENT_TAGS))


def drop(node: HtmlElement) -> None:
    """Remove a node with its content, keeping the text that follows it."""
    parent = node.getparent()
    if parent is None:
        return
    tail = node.tail
    previous = node.getprevious()
    parent.remove(node)
    if tail:
        if previous is not None:
            previous.tail = (previous.tail or "") + tail
        else:
            parent.text = (parent.text or "") + tail


def drop_following(node: HtmlElement, root: HtmlElement) -> None:
    """Remove everything after `node` and its tail, up to the end of `root`."""
    current = node
    while current is not root:
        parent = current.getparent()
        if parent is None:
            return
        for sibling in list(current.itersiblings()):
            parent.remove(sibling)
        if parent is root:
            return
        parent.tail = None
        current = parent


def cut_before(node: HtmlElement, root: HtmlElement) -> None:
    """Keep only what precedes `node`; drop the node and ancestors the cut leaves empty."""
    parent = node.getparent()
    node.tail = None
    drop_following(node, root)
    if parent is None:
        return
    parent.remove(node)
    prune_empty(parent, root)


def cut_in_text(node: HtmlElement, in_tail: bool, offset: int, root: HtmlElement) -> None:
    """Keep only what precedes character `offset` of the node's text (or tail)."""
    if in_tail:
        node.tail = (node.tail or "")[:offset]
        drop_following(node, root)
        return
    node.text = (node.text or "")[:offset]
    for child in list(node):
        node.remove(child)
    node.tail = None
    drop_following(node, root)
    prune_empty(node, root)


def prune_empty(node: HtmlElement, root: HtmlElement) -> None:
    """Drop `node` and then each ancestor for as long as they hold nothing visible."""
    current: HtmlElement | None = node
    while current is not None and current is not root and is_empty(current):
        parent = current.getparent()
        drop(current)
        current = parent


def trim_trailing(root: HtmlElement) -> None:
    """Drop empty elements, line breaks and comments at the very end of the document."""
    node = root
    while len(node):
        last = node[-1]
        if not is_blank(last.tail):
            return
        if (is_empty(last) and tag_of(last) not in _KEEP_WHEN_EMPTY) or not is_element(last):
            node.remove(last)
            node = root
            continue
        if (not is_blank(last.text) and len(last) == 0) or tag_of(last) in CONTENT_TAGS:
            return
        node = last


def text_segments(root: HtmlElement) -> Iterator[tuple[HtmlElement, bool, str]]:
    """Every text run in document order: (owner, is_tail, text), comments' text excluded."""
    for event, node in etree.iterwalk(root, events=WALK_EVENTS):
        if event == "start":
            if node.text:
                yield node, False, node.text
        elif node is not root and node.tail:
            yield node, True, node.tail


def last_text_segment(root: HtmlElement) -> tuple[HtmlElement, bool, str] | None:
    """The last non-blank text run of the document, searched from the end."""
    return next(
        (segment for segment in _segments_backwards(root) if not is_blank(segment[2])), None
    )


def _segments_backwards(node: HtmlElement) -> Iterator[tuple[HtmlElement, bool, str]]:
    for child in reversed(node):
        if child.tail:
            yield child, True, child.tail
        if is_element(child):
            yield from _segments_backwards(child)
    if node.text and is_element(node):
        yield node, False, node.text


def set_segment(owner: HtmlElement, in_tail: bool, text: str) -> None:
    if in_tail:
        owner.tail = text
    else:
        owner.text = text


def block_of(node: HtmlElement, root: HtmlElement) -> HtmlElement:
    """The nearest block-level ancestor (or the root): the node's paragraph."""
    current = node.getparent()
    while current is not None and current is not root and tag_of(current) not in BLOCK_TAGS:
        current = current.getparent()
    return current if current is not None else root


def has_content_after(node: HtmlElement, within: HtmlElement) -> bool:
    """Whether visible text or an image follows `node` inside `within`."""
    current = node
    while current is not within:
        if not is_blank(current.tail):
            return True
        for sibling in current.itersiblings():
            if not is_empty(sibling) or not is_blank(sibling.tail):
                return True
        parent = current.getparent()
        if parent is None:
            return False
        current = parent
    return False


def has_content_before(node: HtmlElement, within: HtmlElement) -> bool:
    """Whether visible text or an image precedes `node` inside `within`."""
    current = node
    while current is not within:
        parent = current.getparent()
        if parent is None:
            return False
        for sibling in current.itersiblings(preceding=True):
            if not is_empty(sibling) or not is_blank(sibling.tail):
                return True
        if not is_blank(parent.text):
            return True
        current = parent
    return False


def content_follows(owner: HtmlElement, in_tail: bool, root: HtmlElement) -> bool:
    """Whether an image or text comes after a text run (its owner's text, or its tail)."""
    if not in_tail and any(not is_empty(child) or not is_blank(child.tail) for child in owner):
        return True
    current = owner
    if not in_tail:
        if owner is root:
            return False
        if not is_blank(owner.tail):
            return True
    while current is not root:
        for sibling in current.itersiblings():
            if not is_empty(sibling) or not is_blank(sibling.tail):
                return True
        parent = current.getparent()
        if parent is None:
            return False
        if parent is not root and not is_blank(parent.tail):
            return True
        current = parent
    return False


def tidy_top_level(root: HtmlElement) -> None:
    """Drop comments, put loose top-level text and inline elements into paragraphs, and
    reduce blank runs between blocks to one newline: the same shape on every run."""
    for comment in list(root.iter(etree.Comment, etree.ProcessingInstruction)):
        drop(comment)
    for misplaced in [p for p in root.iter("p") if _holds_block(p)]:
        # libxml2 lets a <p> hold a table or a list; an HTML5 parser (the sanitiser, a mail
        # client) would split it, so the excerpt would not read back the same.
        misplaced.drop_tag()
    paragraph: HtmlElement | None = None
    if not is_blank(root.text):
        paragraph = root.makeelement("p", {})
        paragraph.text = (root.text or "").lstrip()
        root.insert(0, paragraph)
    root.text = None
    for child in list(root):
        if child is paragraph:
            continue
        if tag_of(child) not in BLOCK_TAGS and not _holds_block(child):
            if paragraph is None:
                paragraph = root.makeelement("p", {})
                child.addprevious(paragraph)
            paragraph.append(child)  # its tail comes along, inside the paragraph
            continue
        paragraph = None
        if not is_blank(child.tail):
            paragraph = root.makeelement("p", {})
            paragraph.text = (child.tail or "").lstrip()
            child.addnext(paragraph)
        child.tail = None
    for line_break in reversed(list(root.iter("br"))):
        # A line break that ends a paragraph only adds a blank line in some clients.
        holder = line_break.getparent()
        if (
            holder is not None
            and line_break.getnext() is None
            and is_blank(line_break.tail)
            and tag_of(holder) in BLOCK_TAGS
            and not is_empty(holder)
        ):
            drop(line_break)
    for block in list(root):
        if tag_of(block) in EMPTY_IS_NOTHING and is_empty(block):
            drop(block)
    for block in root[:-1]:
        block.tail = "\n"


def _holds_block(node: HtmlElement) -> bool:
    return any(tag_of(inner) in BLOCK_TAGS for inner in node.iterdescendants())
