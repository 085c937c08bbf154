"""Read the blog's feed: fetch it (`feed.fetch`), then parse it (`feed.parse`).

Fetching and parsing are kept apart (as lemon24/reader does) so that parsing is a pure
function of bytes and headers, and the network is one small, testable seam.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from newsletter.config import FeedConfig
from newsletter.feed.fetch import MAX_FEED_BYTES, fetch, is_remote
from newsletter.feed.parse import parse
from newsletter.models import Feed, FetchResult, Validators

if TYPE_CHECKING:
    import httpx

__all__ = ["MAX_FEED_BYTES", "fetch", "is_remote", "load", "parse"]


def load(
    location: str,
    *,
    validators: Validators | None = None,
    timeout: float = FeedConfig.timeout,
    user_agent: str,
    transport: httpx.BaseTransport | None = None,
    sleep: Callable[[float], None] = time.sleep,
    table: str = "[feed]",
) -> tuple[Feed | None, FetchResult]:
    """Fetch and parse; `(None, result)` when the server said nothing changed (304).
    `table` names the author's feed settings (`[feed]` or `[[feed]]`) in what to fix."""
    result = fetch(
        location,
        validators=validators,
        timeout=timeout,
        user_agent=user_agent,
        transport=transport,
        sleep=sleep,
        table=table,
    )
    if result.body is None:
        return None, result
    return parse(result.body, url=result.url, headers=result.headers, table=table), result
