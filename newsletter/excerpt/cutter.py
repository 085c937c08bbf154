"""Cut a post at the author's "continue reading" break and make the result email-safe.

One parse, one pass over the tree per step, one serialisation, one sanitiser run:
parse -> strip platform furniture -> one-div-per-line text into paragraphs -> settle images
and embeds -> find the break (a marker in full content, else a platform teaser's trailer,
else a length cut) -> tidy the end -> code marked only by its font becomes <code> ->
absolute URLs and sized images -> nh3 allowlist -> plain text.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from lxml.html import HtmlElement

from newsletter.config import ExcerptConfig
from newsletter.excerpt.breaks import find_break, strip_teaser_trailer
from newsletter.excerpt.furniture import remove_furniture
from newsletter.excerpt.length import cut_to_length
from newsletter.excerpt.lines import paragraphs_from_lines
from newsletter.excerpt.markers import AuthorMarkers, compile_markers
from newsletter.excerpt.media import first_image, prepare_media
from newsletter.excerpt.plaintext import tree_to_text
from newsletter.excerpt.sanitize import email_safe, keep_monospace, settle_urls_and_images
from newsletter.excerpt.tree import (
    BLOCK_TAGS,
    HEADING_TAGS,
    block_of,
    content_follows,
    cut_before,
    has_content_before,
    inner_html,
    is_empty,
    last_text_segment,
    parse_fragment,
    set_segment,
    tag_of,
    tidy_top_level,
    trim_trailing,
)
from newsletter.identity import PostAddress
from newsletter.models import Excerpt, Post

ELLIPSIS = "…"
_SPACED_ELLIPSIS = re.compile(r"\s+(…|\.\.\.)$")
_ENDS_SENTENCE = re.compile(r"[.!?…:][\"'”’»)\]]*$")
_NOT_PROSE = HEADING_TAGS | {"pre", "figcaption", "td", "th"}
"""A heading, code or a caption that stops without a full stop is not a sentence cut short."""


def cut(
    post: Post,
    *,
    markers: Sequence[str] = (),
    fallback_words: int = ExcerptConfig.fallback_words,
) -> Excerpt:
    """The post up to its break, as email-safe HTML and plain text.

    `markers` are the author's extra break markers (see `markers.py` for how each entry is
    read); without a break, a post longer than `fallback_words` words is cut at the
    paragraph boundary nearest that count. Raises ConfigError for a malformed marker.
    """
    author_markers = compile_markers(markers)
    address = PostAddress(post)
    root = parse_fragment(post.html if post.html.strip() else post.summary_html or "")
    remove_furniture(root, address)
    paragraphs_from_lines(root)
    prepare_media(root, address.base)
    image = first_image(root, address.base)
    truncated, mid_sentence = _cut(root, post, address, author_markers, fallback_words)
    _tidy_end(root, mid_sentence=mid_sentence, truncated=truncated)
    tidy_top_level(root)
    keep_monospace(root)
    settle_urls_and_images(root, address.base)
    html, final = _settled(email_safe(inner_html(root)))
    return Excerpt(html=html, text=tree_to_text(final), image=image, truncated=truncated)


def _settled(html: str) -> tuple[str, HtmlElement]:
    """The sanitised HTML as it reads back, and its tree (which the text part needs anyway).

    The sanitiser parses as HTML5 does, which can split what libxml2 nested (a heading in
    a heading, a table in a paragraph) and leave an empty element behind; tidying once more
    makes the excerpt read back unchanged, so cutting it again changes nothing.
    """
    tree = parse_fragment(html)
    trim_trailing(tree)
    tidy_top_level(tree)
    tidied = inner_html(tree)
    if tidied.replace("\xa0", "&nbsp;") == html:
        return html, tree
    html = email_safe(tidied)
    return html, parse_fragment(html)


def _cut(
    root: HtmlElement,
    post: Post,
    address: PostAddress,
    markers: AuthorMarkers,
    fallback_words: int,
) -> tuple[bool, bool]:
    """Cut the tree; returns (the post goes on past the excerpt, the cut is mid-sentence)."""
    if is_empty(root):
        # Nothing to show (a members-only post, say): the whole post is on the blog.
        return True, False
    found = find_break(root, address, markers)
    if found is not None:
        cut_before(found.node, root)
        return found.continues, found.mid_paragraph
    is_teaser, mid_sentence = strip_teaser_trailer(root, address)
    if is_teaser:
        return True, mid_sentence
    # Paragraphs first: loose text becomes the paragraph it will be in the email, so the
    # boundaries counted now are the ones a second cut would see.
    tidy_top_level(root)
    by_length = cut_to_length(root, fallback_words)
    if post.content_is_full:
        return by_length.truncated, by_length.mid_sentence
    # A summary-only feed (Hugo, WordPress excerpts, Blogger "Short") is a teaser by design,
    # cut wherever the platform's word count ran out.
    return True, True


def _tidy_end(root: HtmlElement, *, mid_sentence: bool, truncated: bool) -> None:
    """No blank or empty tail, no heading left introducing nothing; a cut in mid-sentence
    ends with an ellipsis."""
    trim_trailing(root)
    while (
        truncated
        and len(root)
        and tag_of(root[-1]) in HEADING_TAGS
        and has_content_before(root[-1], root)
    ):
        root.remove(root[-1])
        trim_trailing(root)
    segment = last_text_segment(root)
    if segment is None:
        return
    owner, in_tail, text = segment
    if content_follows(owner, in_tail, root):
        return
    text = _SPACED_ELLIPSIS.sub(ELLIPSIS, text.rstrip())
    paragraph = owner if not in_tail and tag_of(owner) in BLOCK_TAGS else block_of(owner, root)
    if not mid_sentence or _ENDS_SENTENCE.search(text) or tag_of(paragraph) in _NOT_PROSE:
        set_segment(owner, in_tail, text)
        return
    if in_tail or tag_of(owner) in BLOCK_TAGS or owner is root:
        set_segment(owner, in_tail, text + ELLIPSIS)
        return
    # Inside a link or emphasis: the ellipsis goes after it, not into the link text.
    set_segment(owner, in_tail, text)
    outermost = owner
    parent = owner.getparent()
    while parent is not None and parent is not root and tag_of(parent) not in BLOCK_TAGS:
        outermost = parent
        parent = outermost.getparent()
    outermost.tail = ELLIPSIS + (outermost.tail or "").lstrip()
