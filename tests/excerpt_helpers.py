"""Shared helpers for the excerpt tests: posts built by hand, platform fixtures, HTML checks."""

from __future__ import annotations

from html.parser import HTMLParser
from pathlib import Path
from typing import Any

from newsletter import feed
from newsletter.models import Feed, Post

PLATFORMS = Path(__file__).parent / "fixtures" / "platforms"
VOID_TAGS = frozenset(
    {
        "area",
        "base",
        "br",
        "col",
        "embed",
        "hr",
        "img",
        "input",
        "link",
        "meta",
        "source",
        "track",
        "wbr",
    }
)


def make_post(html: str, **fields: Any) -> Post:
    values: dict[str, Any] = {
        "id": "https://blog.example/2024/06/a-post/",
        "link": "https://blog.example/2024/06/a-post/",
        "title": "A post",
        "author": None,
        "published": None,
        "updated": None,
        "html": html,
        "base_url": "https://blog.example/2024/06/a-post/",
    }
    values.update(fields)
    return Post(**values)


def load_platform(name: str, url: str) -> Feed:
    return feed.parse((PLATFORMS / name).read_bytes(), url=url)


def post_titled(parsed: Feed, title: str) -> Post:
    matches = [post for post in parsed.posts if post.title == title]
    assert len(matches) == 1, f"{title!r} not in {[p.title for p in parsed.posts]}"
    return matches[0]


class _TagBalance(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.open: list[str] = []
        self.problems: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag not in VOID_TAGS:
            self.open.append(tag)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag not in VOID_TAGS:
            self.problems.append(f"self-closed <{tag}/>")

    def handle_endtag(self, tag: str) -> None:
        if tag in VOID_TAGS:
            self.problems.append(f"end tag for void <{tag}>")
        elif not self.open or self.open[-1] != tag:
            self.problems.append(f"</{tag}> while {self.open} are open")
        else:
            self.open.pop()


def unbalanced_tags(html: str) -> list[str]:
    """What is wrong with the nesting of `html` (empty when every tag is closed in order)."""
    checker = _TagBalance()
    checker.feed(html)
    checker.close()
    return checker.problems + [f"<{tag}> never closed" for tag in checker.open]
