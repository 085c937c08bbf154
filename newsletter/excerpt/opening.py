"""A post's opening: its first words of prose, for a digest that lists many posts briefly.

`digest_excerpts = "short"` shows each post as its title, about sixty words and the button,
so ten posts fit on a few phone screens. Pictures, code, tables and headings are what make
an excerpt long; the opening keeps the prose that tells a reader what the post is about,
cut the way every excerpt is cut (at a paragraph boundary near the count, else at a
sentence), so it reads the same as any other teaser.
"""

from __future__ import annotations

from dataclasses import replace

from newsletter.excerpt.cutter import cut
from newsletter.excerpt.tree import drop, inner_html, parse_fragment, prune_empty, tag_of
from newsletter.models import Excerpt, Post

OPENING_WORDS = 60
_NOT_PROSE = frozenset(
    {"img", "figure", "table", "pre", "hr", "h1", "h2", "h3", "h4", "h5", "h6", "figcaption"}
)


def opening(post: Post, excerpt: Excerpt, words: int = OPENING_WORDS) -> Excerpt:
    """The excerpt's first `words` words or so of prose; `truncated` whenever the post goes
    on past them (so the email offers the button)."""
    root = parse_fragment(excerpt.html)
    left_out = [element for element in root.iter() if tag_of(element) in _NOT_PROSE]
    for element in left_out:
        holder = element.getparent()
        if holder is not None:
            drop(element)
            prune_empty(holder, root)  # a link that held only a picture goes with it
    # The excerpt is already sanitised and absolute; cutting it again only shortens it.
    short = cut(replace(post, html=inner_html(root), summary_html=None), fallback_words=words)
    return Excerpt(
        html=short.html,
        text=short.text,
        image=None,
        truncated=excerpt.truncated or short.truncated or bool(left_out),
    )
