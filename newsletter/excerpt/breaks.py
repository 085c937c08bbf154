"""Where the author's "continue reading" break is, as each platform writes it in its feed.

Two kinds (docs/platform-breaks.md#how-the-cut-is-found):
- a marker inside full content: the post goes on after it, and the excerpt stops before it;
- a teaser the platform already cut, ending in its own "read more" trailer: the trailer goes,
  and the post continues on the blog.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from lxml.html import HtmlElement

from newsletter.excerpt.markers import AuthorMarkers, comment_key
from newsletter.excerpt.tree import (
    BLOCK_TAGS,
    block_of,
    classes,
    cut_before,
    drop,
    has_content_after,
    has_content_before,
    is_blank,
    is_element,
    last_text_segment,
    set_segment,
    tag_of,
)
from newsletter.identity import PostAddress

_BREAK_COMMENT = re.compile(
    r"\s*(?:(?:wp:)?more(?:\s.*)?|break|excerpt|read[\s_-]?more|jump(?:[\s_-]?break)?|members-only)\s*",
    re.IGNORECASE | re.DOTALL,
)
"""`<!--more-->` (also WordPress's `<!--more Custom text-->`), Jekyll/Eleventy/Hexo/Tumblr
separators, Drupal's `<!--break-->`, Ghost's paywall. Editor bookkeeping such as
`<!-- wp:paragraph -->` or `<!--kg-card-begin: html-->` is not a break."""
_WORDPRESS_MORE_ID = re.compile(r"more-\d+")
_ANCHOR_IDS = frozenset({"more", "continue-reading"})
"""Hexo leaves `<span id="more">` (older: `<a id="more">`), Zola `<span id="continue-reading">`."""
READ_MORE_LINK_CLASSES = frozenset({"more-link", "wp-block-read-more"})
_BRACKET_ELLIPSIS = re.compile(r"\s*\[\s*(?:…|\.\.\.|&hellip;|&#8230;)\s*\]\s*$")
_WORD = re.compile(r"\w")


@dataclass(frozen=True)
class Break:
    node: HtmlElement
    """The marker: the excerpt is everything before it."""
    continues: bool
    """Whether the post goes on after the marker (a link to the rest always does)."""
    mid_paragraph: bool
    """Whether the marker's paragraph had text on both sides: the cut ends mid-sentence."""


def find_break(root: HtmlElement, address: PostAddress, markers: AuthorMarkers) -> Break | None:
    """The first marker in document order with something before it.

    A marker with nothing before it does not count: WordPress's `<!--noteaser-->` hides the
    teaser and leaves the span at the very top.
    """
    chosen: set[HtmlElement] = set()
    for selector in markers.selectors:
        chosen.update(node for node in selector(root) if isinstance(node, HtmlElement))
    for node in root.iter():
        if node is root:
            continue
        link_to_rest = _is_read_more_link(node, address)
        if not (link_to_rest or node in chosen or _is_marker(node, markers)):
            continue
        if not has_content_before(node, root):
            continue
        block = block_of(node, root)
        return Break(
            node=node,
            continues=link_to_rest or has_content_after(node, root),
            mid_paragraph=block is not root
            and has_content_before(node, block)
            and has_content_after(node, block)
            and not _between_blocks(node),
        )
    return None


def _between_blocks(node: HtmlElement) -> bool:
    """Whether the marker sits between two block elements (list items, paragraphs in a
    quote), so that what precedes it is whole, not a sentence cut short."""
    if not is_blank(node.tail):
        return False
    before = node.getprevious()
    while before is not None and not is_element(before) and is_blank(before.tail):
        before = before.getprevious()  # editor comments such as <!-- wp:paragraph -->
    after = node.getnext()
    while after is not None and not is_element(after):
        if not is_blank(after.tail):
            return False
        after = after.getnext()
    return (
        before is not None
        and tag_of(before) in BLOCK_TAGS
        and is_blank(before.tail)
        and (after is None or tag_of(after) in BLOCK_TAGS)
    )


def _is_marker(node: HtmlElement, markers: AuthorMarkers) -> bool:
    if not is_element(node):
        text = node.text or ""
        return bool(_BREAK_COMMENT.fullmatch(text)) or comment_key(text) in markers.comments
    node_id = node.get("id") or ""
    tag = tag_of(node)
    if _WORDPRESS_MORE_ID.fullmatch(node_id):
        return True
    if tag in ("span", "a") and node_id in _ANCHOR_IDS:
        return True
    return tag == "a" and node.get("name") == "more"


def _is_read_more_link(node: HtmlElement, address: PostAddress) -> bool:
    """WordPress's `a.more-link` (a feed rendered with the more tag honoured) and the block
    editor's Read More block, when they lead to this post."""
    return (
        tag_of(node) == "a"
        and bool(classes(node) & READ_MORE_LINK_CLASSES)
        and address.is_link_to_post(node.get("href"))
    )


def strip_teaser_trailer(root: HtmlElement, address: PostAddress) -> tuple[bool, bool]:
    """Remove the trailer of a teaser the platform already cut.

    Returns (found, mid_sentence): whether this is such a teaser, and whether its text
    stops mid-sentence (WordPress's `[…]`).
    """
    found = _strip_platform_link_list(root) or _strip_trailing_link_to_post(root, address)
    segment = last_text_segment(root)
    if segment is not None:
        owner, in_tail, text = segment
        stripped = _BRACKET_ELLIPSIS.sub("", text)
        if stripped != text:
            set_segment(owner, in_tail, stripped)
            return True, True
    return found, False


def _strip_platform_link_list(root: HtmlElement) -> bool:
    """Medium's snippet card link and Drupal's teaser links, recognised by their classes."""
    for node in root.iter("p", "li"):
        names = classes(node)
        if "medium-feed-link" in names:
            drop(node)
            return True
        if "node-readmore" in names:
            parent = node.getparent()
            drop(parent if parent is not None and tag_of(parent) in ("ul", "ol") else node)
            return True
    return False


def _strip_trailing_link_to_post(root: HtmlElement, address: PostAddress) -> bool:
    """The last link, when it leads back to the post and only punctuation follows it:
    a theme's "Continue reading →", Blogger's jump link (`POST#more`), Substack's "Read
    more", Tumblr's "Keep reading". Matched by where it leads, not by what it says."""
    links = list(root.iter("a"))
    if not links:
        return False
    last = links[-1]
    if not address.is_link_to_post(last.get("href")) or _words_after(last, root):
        return False
    cut_before(last, root)
    return True


def _words_after(node: HtmlElement, root: HtmlElement) -> bool:
    current = node
    while current is not root:
        if _WORD.search(current.tail or ""):
            return True
        for sibling in current.itersiblings():
            if _WORD.search(sibling.text_content() if is_element(sibling) else "") or _WORD.search(
                sibling.tail or ""
            ):
                return True
            if is_element(sibling) and any(True for _ in sibling.iter("img")):
                return True
        parent = current.getparent()
        if parent is None:
            return False
        current = parent
    return False
