"""The newsletter's feeds as the templates see them, and a digest's posts grouped by feed.

A newsletter may gather several feeds (`[[feed]]` tables); its digest shows each feed's
posts under the feed's label, in the order the configuration lists the feeds. With one feed
there is one group, and the templates need not care.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TypeVar

from newsletter.models import Feed, Post
from newsletter.render.context import PostView
from newsletter.urls import LinkTagger


@dataclass(frozen=True)
class FeedView:
    label: str
    """`[feed] label`, else the feed's title."""
    title: str
    """The feed's own title."""
    url: str
    """The feed's blog, its home page (with UTM parameters)."""
    image: str | None
    """The feed's own picture (a podcast's cover), when it has one."""


@dataclass(frozen=True)
class Group:
    """A digest's posts from one feed."""

    label: str
    url: str
    posts: tuple[PostView, ...]
    """The posts (as the templates see them), newest first."""


Item = TypeVar("Item")


def parts_of(feed: Feed) -> tuple[Feed, ...]:
    """The feeds a newsletter reads: the parts of a gathered feed, else the feed itself."""
    return feed.parts or (feed,)


def part_of(post: Post, feed: Feed) -> Feed:
    """The feed a post came from (the first, for a post no feed claims)."""
    parts = parts_of(feed)
    return next(
        (part for part in parts if part.location and part.location == post.feed_url), parts[0]
    )


def feed_view(part: Feed, tagger: LinkTagger) -> FeedView:
    home = part.link  # never the feed itself: a reader can do nothing with its XML
    return FeedView(
        label=part.label or part.title,
        title=part.title,
        url=tagger.tag(home, always=True) if home else "",
        image=part.image,
    )


def by_feed(
    items: Sequence[tuple[Post, Item]], feed: Feed
) -> list[tuple[Feed, list[tuple[Post, Item]]]]:
    """The items grouped by the feed each came from, in the configuration's order (items
    keep their order within a group); feeds without items are left out."""
    parts = parts_of(feed)
    groups: dict[int, list[tuple[Post, Item]]] = {}
    for post, item in items:
        groups.setdefault(parts.index(part_of(post, feed)), []).append((post, item))
    return [(parts[index], groups[index]) for index in sorted(groups)]
