"""What `newsletter preview` tells authors about their own posts, before readers see them.

Two things a blog editor hides and an email shows: pictures without alt text (a screen
reader says nothing, or reads the file name) and headings that skip a level (screen-reader
users move through a post by its headings, and a jump from h2 to h4 reads as a missing
section). Emails over Gmail's clipping size are reported by `compose.size_warnings`.
"""

from __future__ import annotations

from collections.abc import Sequence

from lxml.html import HtmlElement

from newsletter.excerpt.furniture import is_tracking_pixel
from newsletter.excerpt.media import is_emoji
from newsletter.excerpt.tree import HEADING_TAGS, parse_fragment, tag_of
from newsletter.models import Post


def author_notes(posts: Sequence[Post]) -> list[str]:
    """One sentence per problem found in each post's own HTML (the whole post, not only the
    part the email shows: the author fixes it once, on the blog)."""
    notes: list[str] = []
    for post in posts:
        root = parse_fragment(post.html or post.summary_html or "")
        unnamed = sum(1 for img in root.iter("img") if _needs_alt(img))
        if unnamed:
            pictures = "1 picture has" if unnamed == 1 else f"{unnamed} pictures have"
            notes.append(
                f"{post.title!r}: {pictures} no alt text, so screen readers skip them; "
                "describe each one in your blog's editor."
            )
        skipped = _skipped_heading(root)
        if skipped:
            notes.append(f"{post.title!r}: {skipped}")
    return notes


def _needs_alt(img: HtmlElement) -> bool:
    if is_tracking_pixel(img) or is_emoji(img):
        return False
    return not " ".join((img.get("alt") or "").split())


def _skipped_heading(root: HtmlElement) -> str | None:
    previous: int | None = None
    for heading in root.iter(*HEADING_TAGS):
        level = int(tag_of(heading)[1])
        if previous is not None and level > previous + 1:
            words = " ".join(heading.text_content().split())
            return (
                f"the heading {words!r} (h{level}) comes right after an h{previous}, skipping "
                f"a level; make it an h{previous + 1} so the post's outline reads in order."
            )
        previous = level
    return None
