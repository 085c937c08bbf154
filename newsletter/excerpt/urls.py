"""Where a link in the post leads: made absolute, and compared with the post's own address."""

from __future__ import annotations

from urllib.parse import urlsplit

from newsletter.identity import normalise_link
from newsletter.links import absolute_url
from newsletter.models import Post

EMAIL_SCHEMES = frozenset({"http", "https", "mailto"})


def base_of(post: Post) -> str:
    """What relative URLs in the body resolve against: xml:base, else the item's link
    (FeedBurner's original link rather than its proxy)."""
    if post.orig_link and post.base_url in ("", post.link):
        return post.orig_link
    return post.base_url or post.link


def resolve(url: str, base: str) -> str:
    return absolute_url(url, base)


def is_web_url(url: str) -> bool:
    try:
        scheme = urlsplit(url).scheme
    except ValueError:  # an unbalanced IPv6 bracket, "//[": no address at all
        return False
    return scheme.lower() in ("http", "https")


class PostAddress:
    """The addresses a post is known by, to recognise links back to the post itself.

    A "Continue reading" link is recognised by where it leads rather than by its words
    (themes say anything from "More" to "Weiterlesen"); FeedBurner items link through a
    proxy, so the original link counts too (reference/feed-excerpts.md §12, §15.4).
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
        return normalise_link(resolve(href, self.base)) in self.keys

    def is_link_to_site(self, href: str | None) -> bool:
        """A link to the blog's home (or a section of it) that contains this post."""
        if not href:
            return False
        target = normalise_link(resolve(href, self.base)).rstrip("/")
        return any(key != target and key.startswith(target + "/") for key in self.keys)
