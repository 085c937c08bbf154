"""Posts and destinations for the ledger and planning tests."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from newsletter.ledger import DestinationLedger, Status
from newsletter.models import Post

NOW = datetime(2026, 11, 26, 8, 0, tzinfo=UTC)


def make_post(
    number: int,
    *,
    days_ago: float | None = 1,
    id: str | None = None,
    link: str | None = None,
    orig_link: str | None = None,
    title: str | None = None,
) -> Post:
    return Post(
        id=f"tag:example.org,2026:{number}" if id is None else id,
        link=f"https://example.org/posts/{number}/" if link is None else link,
        title=title or f"Post {number}",
        author="Anna",
        published=None if days_ago is None else NOW - timedelta(days=days_ago),
        updated=None,
        html=f"<p>Body of post {number}.</p>",
        orig_link=orig_link,
    )


def sent_destination(*posts: Post, name: str = "buttondown") -> DestinationLedger:
    destination = DestinationLedger(name)
    destination.mark(posts, Status.SENT, at=NOW - timedelta(days=7), message_id="msg-1")
    return destination
