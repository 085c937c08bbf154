"""What a post is known by, so that a blog that changes guids or permalinks resends nothing.

A post is the same post when its feed id (guid) is the same, or when its link is the same
once the differences a blog migration or a share button introduce are ignored
(`urls.normalise_link`). rss2email's tracker shows each of these resending a whole archive
to subscribers.

Within one feed, an id or a link that several different posts carry tells none of them apart
(`identify`): posts without a guid that share one link (a news page every item links to) are
known by their link and title; a guid that posts with different links and titles share (an
Atom template that copies the feed's own `<id>` into every entry) is set aside for their
links. And a link that differs only by its `#fragment` (day pages, changelog anchors) never
makes two posts with different guids one post (`fragment_only`).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import replace
from itertools import combinations
from urllib.parse import urlsplit

from newsletter.models import Post
from newsletter.urls import absolute_url, is_web_url, normalise_link


def feed_guid(post: Post) -> str:
    """The id the feed itself gave the post: "" when it gave none, or only the post's link
    again (an RSS permalink guid says nothing the link does not)."""
    guid = (post.id if post.guid is None else post.guid).strip()
    return "" if guid == post.link.strip() else guid


def identify(posts: Sequence[Post]) -> tuple[tuple[Post, ...], tuple[str, ...]]:
    """The feed's posts, each with the `id` it is known by in this feed, and a warning for
    each guid that several different posts share.

    A post keeps its guid, unless posts with different links and titles share it; then, as
    a post without a guid, it is known by its link, or by its link and title when other such
    posts share that link too. A post whose id does not change is returned as it was, and
    applying this twice changes nothing.
    """
    untrusted = _shared_guids(posts)
    set_aside = [post for post in posts if feed_guid(post) in untrusted or not feed_guid(post)]
    fallbacks = Counter(_fallback(post) for post in set_aside)
    identified: list[Post] = []
    for post in posts:
        guid = feed_guid(post)
        if guid and guid not in untrusted:
            key = guid
        else:
            key = _fallback(post)
            title = " ".join(post.title.split())
            if fallbacks[key] > 1 and title and key != title:
                key = f"{key} {title}"
        if key == post.id.strip():
            identified.append(post)
        else:
            identified.append(replace(post, id=key, guid=guid))
    warnings = tuple(
        f"{count} posts of the feed share the id {guid!r}, so it tells none of them apart; "
        "they are known by their links instead (the feed's template likely gives every item "
        "the same <guid> or <id>)."
        for guid, count in sorted(Counter(feed_guid(post) for post in posts).items())
        if guid in untrusted
    )
    return tuple(identified), warnings


def former_keys(post: Post) -> tuple[str, ...]:
    """The key a release before `identify` recorded this post under, when its key is now
    another: the guid it shares with other posts, or the link it shares with them.

    Such a record stands for the posts that carried the key when it was written (that
    release counted all of them as sent), so it matches those published no later than it.
    """
    former = feed_guid(post) or post.link.strip()
    return (former,) if former and former != post.id.strip() else ()


def fragment_only(post: Post, link: str, other_link: str, other_id: str) -> bool:
    """Whether `link` of `post` and a recorded `other_link` are one link only once their
    `#fragment`s are ignored, while both posts have guids of their own: then they are two
    posts (two anchors of a day page), never one post that changed its guid."""
    if (
        not feed_guid(post)
        or post.id.strip() != feed_guid(post)
        or _keyed_by_link(other_id, other_link)
    ):
        return False
    return urlsplit(link.strip()).fragment != urlsplit(other_link.strip()).fragment


def link_keys(post: Post) -> frozenset[str]:
    """The normalised links a post is known by: its link and FeedBurner's original link."""
    links = (post.link, post.orig_link or "")
    return frozenset(normalise_link(link) for link in links if link.strip())


def same_post(post: Post, reference: str) -> bool:
    """Whether `reference` (an id, the feed's own guid, or a link in any of its spellings)
    names this post."""
    wanted = reference.strip()
    if not wanted:
        return False
    if wanted in (post.id.strip(), feed_guid(post)):
        return True
    return normalise_link(wanted) in link_keys(post)


def _fallback(post: Post) -> str:
    """What a post is known by without a guid of its own: its link, else the guid it
    shares, else its title (as the feed reader's id for a post with neither)."""
    return post.link.strip() or feed_guid(post) or " ".join(post.title.split())


def _shared_guids(posts: Sequence[Post]) -> frozenset[str]:
    """Guids carried by two posts that differ in both link and title: not one post repeated
    (that shares one of the two), but different posts given the same id."""
    by_guid: dict[str, set[tuple[str, str]]] = {}
    for post in posts:
        guid = feed_guid(post)
        if guid:
            title = " ".join(post.title.split()).casefold()
            by_guid.setdefault(guid, set()).add((post.link.strip(), title))
    return frozenset(
        guid
        for guid, seen in by_guid.items()
        if any(a[0] != b[0] and a[1] != b[1] for a, b in combinations(seen, 2))
    )


def _keyed_by_link(key: str, link: str) -> bool:
    """Whether a record's key is its link (or its link and title), not a guid."""
    link = link.strip()
    return bool(link) and (key == link or key.startswith(link + " "))


def post_key(post: Post) -> str:
    """The id a post is recorded under: its guid, else its link ("" when it has neither)."""
    return post.id.strip() or post.link.strip()


def reference(post_id: str, feed: str | None) -> str:
    """How an email, a review file or the ledger names a post unambiguously: its id, and in a
    newsletter of several feeds (`feed` set) that feed too, since two feeds may give
    different posts the same id."""
    return f"{post_id} ({feed})" if feed else post_id


def post_reference(post: Post) -> str:
    return reference(post_key(post), post.feed_url)


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
