"""Posts already sent whose identity changed in the feed: a guid or a permalink that moved.

The ledger recognises a post by its guid or by its link, so one of the two changing resends
nothing, but it still matters: a moved permalink breaks the links in every email already sent,
and a change of both (a site generator's new permalink style, where the guid is the URL)
makes an old post look new, and it would go out again. `newsletter check --strict` runs this
on the feed a site build is about to publish, so the blog's own pull request catches it
(docs/schedule-and-review.md, "Checking the feed in the blog's pull requests").
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from enum import StrEnum

from newsletter.identity import former_keys, link_keys, permalink, post_key
from newsletter.ledger import DestinationLedger, PostRecord, Status
from newsletter.models import Post
from newsletter.urls import normalise_link

HANDLED = frozenset({Status.SENT, Status.DRAFTED, Status.PENDING})
"""Records of posts that may have reached readers; baseline posts never did."""


class Change(StrEnum):
    LINK = "permalink moved"
    GUID = "guid changed"
    BOTH = "guid and permalink changed"


@dataclass(frozen=True)
class Moved:
    post: Post
    record: PostRecord
    change: Change

    def describe(self) -> str:
        title = " ".join(self.post.title.split()) or self.record.title
        if self.change is Change.LINK:
            return (
                f"“{title}” was sent linking to {self.record.link}; the feed now links it "
                f"to {permalink(self.post)}, so the emails already sent point at the old address"
            )
        if self.change is Change.GUID:
            return (
                f"“{title}” was sent with the guid {self.record.id}; the feed now gives it "
                f"{post_key(self.post)} (the same link still recognises it)"
            )
        return (
            f"“{title}” looks like the post sent as {self.record.link or self.record.id}, but "
            f"both its guid and its link changed ({permalink(self.post)}), so the next send "
            "would send it again"
        )


def moved_posts(posts: Sequence[Post], ledger: DestinationLedger) -> list[Moved]:
    """Every post of the feed whose recorded identity (sent, drafted or pending) moved."""
    found: list[Moved] = []
    unmatched: list[Post] = []
    for post in posts:
        record = ledger.match(post)
        if record is None:
            unmatched.append(post)
            continue
        if record.status not in HANDLED:
            continue
        if record.id in former_keys(post):
            continue  # recorded under a key the feed now shares: nothing moved
        if record.id != post_key(post):
            found.append(Moved(post, record, Change.GUID))
        elif record.link and normalise_link(record.link) not in link_keys(post):
            found.append(Moved(post, record, Change.LINK))
    found.extend(_same_title(unmatched, ledger.records(), posts))
    return found


def _same_title(
    unmatched: Iterable[Post], records: Iterable[PostRecord], feed: Sequence[Post]
) -> list[Moved]:
    """Unrecognised posts whose title is that of exactly one handled record, which no post
    of the feed matches any more: most likely the same post under a new guid and link."""
    by_title: dict[str, list[PostRecord]] = {}
    for record in records:
        if record.status in HANDLED and record.title.strip():
            by_title.setdefault(_fold(record.title), []).append(record)
    still_in_feed = {post_key(post) for post in feed} | {
        key for post in feed for key in link_keys(post)
    }
    moved: list[Moved] = []
    for post in unmatched:
        candidates = by_title.get(_fold(post.title), [])
        if len(candidates) != 1:
            continue
        (record,) = candidates
        if record.id in still_in_feed or normalise_link(record.link) in still_in_feed:
            continue
        moved.append(Moved(post, record, Change.BOTH))
    return moved


def _fold(title: str) -> str:
    return " ".join(title.split()).casefold()
