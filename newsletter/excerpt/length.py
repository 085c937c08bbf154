"""No break in the post: keep it whole when it is short, else cut near `fallback_words`.

The cut goes at the paragraph boundary nearest the word count, so a reader never gets half
a paragraph; only a post with no boundary near that count (one long paragraph) is cut inside
its text, at a sentence end when there is one, else after a word, with an ellipsis.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from lxml import etree
from lxml.html import HtmlElement

from newsletter.excerpt.tree import (
    BLOCK_TAGS,
    WALK_EVENTS,
    cut_in_text,
    drop_following,
    tag_of,
    text_segments,
)

_WORD = re.compile(r"\S+")
_SENTENCE_END = re.compile(r"[.!?…][\"'”’»)\]]*(?=\s|$)")
_BOUNDARY_TAGS = BLOCK_TAGS - {"div", "section", "article", "main", "header", "footer", "nav"}
"""Containers are not boundaries themselves: the paragraphs inside them are."""


@dataclass(frozen=True)
class LengthCut:
    truncated: bool
    mid_sentence: bool


def word_count(text: str) -> int:
    return len(_WORD.findall(text))


def cut_to_length(root: HtmlElement, target: int) -> LengthCut:
    if sum(word_count(text) for text in root.itertext()) <= target:  # the common case, fast
        return LengthCut(truncated=False, mid_sentence=False)
    boundaries, total = _boundaries(root)
    if total <= target:
        return LengthCut(truncated=False, mid_sentence=False)
    candidates = [(count, node) for count, node in boundaries if 0 < count < total]
    best_count, best_node = min(
        [*candidates, (total, None)],
        key=lambda candidate: (abs(candidate[0] - target), candidate[0]),
    )
    if abs(best_count - target) <= target // 2:
        if best_node is None:
            return LengthCut(truncated=False, mid_sentence=False)
        best_node.tail = None
        drop_following(best_node, root)
        return LengthCut(truncated=True, mid_sentence=False)
    return LengthCut(truncated=True, mid_sentence=_cut_inside_text(root, target))


def _boundaries(root: HtmlElement) -> tuple[list[tuple[int, HtmlElement]], int]:
    """(words so far, element) at the end of each paragraph-like block, and the total."""
    count = 0
    boundaries: list[tuple[int, HtmlElement]] = []
    for event, node in etree.iterwalk(root, events=WALK_EVENTS):
        if event == "comment":
            count += word_count(node.tail or "")
            continue
        if event == "start":
            count += word_count(node.text or "")
            continue
        if node is root:
            break
        tag = tag_of(node)
        if (
            tag in _BOUNDARY_TAGS
            or (tag == "div" and not any(tag_of(child) in BLOCK_TAGS for child in node))
            or _is_double_break(node)
        ):
            boundaries.append((count, node))
        count += word_count(node.tail or "")
    return boundaries, count


def _is_double_break(node: HtmlElement) -> bool:
    """`<br><br>`: how old Blogger posts and many editors separate paragraphs."""
    previous = node.getprevious()
    return (
        tag_of(node) == "br"
        and previous is not None
        and tag_of(previous) == "br"
        and not (previous.tail or "").strip()
    )


def _cut_inside_text(root: HtmlElement, target: int) -> bool:
    """Cut the text run holding word number `target`; True when it ends mid-sentence."""
    seen = 0
    for owner, in_tail, text in list(text_segments(root)):
        words = list(_WORD.finditer(text))
        if seen + len(words) < target:
            seen += len(words)
            continue
        word_end = words[target - seen - 1].end()
        sentence_ends = [
            m.end()
            for m in _SENTENCE_END.finditer(text, 0, word_end)
            if seen + word_count(text[: m.end()]) >= target // 2
        ]
        if sentence_ends:
            cut_in_text(owner, in_tail, sentence_ends[-1], root)
            return False
        cut_in_text(owner, in_tail, word_end, root)
        return True
    return False
