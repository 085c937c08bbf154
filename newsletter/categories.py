"""Which posts a feed's category filters let through: `[feed] include_categories` and
`exclude_categories` (by default, `no-newsletter`).

A category matches when its term or its label equals a listed name, ignoring case and
spacing, since feeds write the same category as `Sponsored`, `sponsored` or a label such as
`Sponsored posts` beside the term `sponsored`. Exclusion wins over inclusion. A post the
filters leave out is never sent; the send records it as skipped, so that removing its
category later does not make an old post look new.
"""

from __future__ import annotations

from dataclasses import dataclass

from newsletter.models import Category, Post

DEFAULT_EXCLUDED = ("no-newsletter",)


def _key(name: str) -> str:
    return " ".join(name.split()).casefold()


@dataclass(frozen=True)
class CategoryFilter:
    include: tuple[str, ...] = ()
    """Only posts in at least one of these go out; () lets every post through."""
    exclude: tuple[str, ...] = DEFAULT_EXCLUDED
    """Posts in any of these never go out."""

    def reason(self, post: Post) -> str | None:
        """Why the filters leave the post out, in words for `check`; None when it goes out."""
        excluded = {_key(name) for name in self.exclude}
        for category in post.categories:
            if _names(category) & excluded:
                return f"in the category {category.name!r}, which exclude_categories leaves out"
        if not self.include:
            return None
        included = {_key(name) for name in self.include}
        if any(_names(category) & included for category in post.categories):
            return None
        listed = ", ".join(repr(name) for name in self.include)
        if not post.categories:
            return f"has no category, and include_categories asks for one of {listed}"
        return f"in none of include_categories ({listed})"


def _names(category: Category) -> set[str]:
    return {_key(name) for name in (category.term, category.label or "") if name.strip()}
