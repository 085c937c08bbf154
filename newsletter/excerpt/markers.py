"""The author's own break markers, from `[excerpt] markers`.

The rule, so that every entry means one thing:
- written as an HTML comment (`<!-- cut -->`), or as plain words (`cut`, `read more`,
  `end-of-teaser`: letters, digits, spaces, `-`, `_`), it matches an HTML comment with that
  text, ignoring case and spacing;
- anything else is a CSS selector (`.jump`, `#fold`, `hr.break`, `div[data-break]`), and
  the break is just before the first element it matches, and that element is dropped.
  An element name on its own (`hr`) reads as comment text; to mean the element, write a
  selector with punctuation in it (`div > hr`, `hr:first-of-type`).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

from lxml import etree

from newsletter.errors import ConfigError

_PLAIN_WORDS = re.compile(r"[\w\s-]+")
_COMMENT = re.compile(r"<!--(.*?)-->", re.DOTALL)


@dataclass(frozen=True)
class AuthorMarkers:
    comments: frozenset[str]
    """Normalised comment texts (lower case, single spaces)."""
    selectors: tuple[etree.XPath, ...]


def comment_key(text: str) -> str:
    return " ".join(text.split()).casefold()


def compile_markers(markers: Sequence[str]) -> AuthorMarkers:
    return _compile(tuple(markers))


@lru_cache(maxsize=16)
def _compile(markers: tuple[str, ...]) -> AuthorMarkers:
    comments: set[str] = set()
    selectors: list[etree.XPath] = []
    for raw in markers:
        marker = raw.strip()
        comment = _COMMENT.fullmatch(marker)
        if comment:
            comments.add(comment_key(comment.group(1)))
        elif _PLAIN_WORDS.fullmatch(marker):
            comments.add(comment_key(marker))
        elif marker:
            selectors.append(_selector(marker))
    comments.discard("")
    return AuthorMarkers(frozenset(comments), tuple(selectors))


def _selector(css: str) -> etree.XPath:
    try:
        from cssselect import HTMLTranslator, SelectorError
    except ImportError:  # pragma: no cover - cssselect is a declared dependency
        raise ConfigError(
            f"The [excerpt] marker {css!r} is a CSS selector, which needs the cssselect "
            "package; install it with `pip install cssselect`."
        ) from None
    try:
        return etree.XPath(HTMLTranslator().css_to_xpath(css, prefix="descendant::"))
    except (SelectorError, etree.XPathSyntaxError):
        raise ConfigError(
            f"The [excerpt] marker {css!r} is neither an HTML comment nor a valid CSS "
            'selector; write a comment such as "<!-- cut -->" or a selector such as ".jump".'
        ) from None
