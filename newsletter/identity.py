"""What a post is known by, so that a blog that changes guids or permalinks resends nothing.

A post is the same post when its feed id (guid) is the same, or when its link is the same
once the differences a blog migration or a share button introduce are ignored
(`urls.normalise_link`). rss2email's tracker shows each of these resending a whole archive
to subscribers.
"""

from __future__ import annotations

from newsletter.models import Post
from newsletter.urls import absolute_url, is_web_url, normalise_link


def link_keys(post: Post) -> frozenset[str]:
    """The normalised links a post is known by: its link and FeedBurner's original link."""
    links = (post.link, post.orig_link or "")
    return frozenset(normalise_link(link) for link in links if link.strip())


def same_post(post: Post, reference: str) -> bool:
    """Whether `reference` (an id, or a link in any of its spellings) names this post."""
    wanted = reference.strip()
    if not wanted:
        return False
    return wanted == post.id.strip() or normalise_link(wanted) in link_keys(post)


def post_key(post: Post) -> str:
    """The id a post is recorded under: its guid, else its link ("" when it has neither)."""
    return post.id.strip() or post.link.strip()


def permalink(post: Post) -> str:
    """The link worth remembering: FeedBurner's original link outlives its proxy link."""
    return (post.orig_link or post.link).strip()


def base_of(post: Post) -> str:
    """What relative URLs in the body resolve against: xml:base, else the item's link
    (FeedBurner's original link rather than its proxy)."""
    if post.orig_link and post.base_url in ("", post.link):
        return post.orig_link
    return post.base_url or post.link


class PostAddress:
    """The addresses a post is known by, to recognise links back to the post itself.

    A "Continue reading" link is recognised by where it leads rather than by its words
    (themes say anything from "More" to "Weiterlesen"); FeedBurner items link through a
    proxy, so the original link counts too (docs/platform-breaks.md, "FeedBurner" and
    "How the cut is found").
    """

    def __init__(self, post: Post) -> None:
        self.base = base_of(post)
        candidates = (post.link, post.orig_link or "", post.id)
        self.keys = frozenset(
            normalise_link(link) for link in candidates if is_web_url(link.strip())
        )

    def is_link_to_post(self, href: str | None) -> bool:
        if not href or not self.keys:
            return False
        return normalise_link(absolute_url(href, self.base)) in self.keys

    def is_link_to_site(self, href: str | None) -> bool:
        """A link to the blog's home (or a section of it) that contains this post."""
        if not href:
            return False
        target = normalise_link(absolute_url(href, self.base)).rstrip("/")
        return any(key != target and key.startswith(target + "/") for key in self.keys)
