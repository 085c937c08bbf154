"""A feed that cannot be read says what to fix in the table the author wrote: `[feed] url`
under one `[feed]` table, `[[feed]] url` under `[[feed]]` tables (one or several)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from newsletter import pipeline
from newsletter.config import parse_config
from newsletter.errors import NewsletterError
from newsletter.pipeline import SendOptions

NOW = datetime(2026, 11, 26, 9, 0, tzinfo=UTC)
GOOD = "https://garden.example.org/feed.xml"
RSS = (
    '<?xml version="1.0"?><rss version="2.0"><channel><title>Garden</title>'
    "<link>https://garden.example.org/</link><item><title>Leeks</title>"
    "<link>https://garden.example.org/leeks/</link><guid>leeks</guid>"
    "<pubDate>Tue, 24 Nov 2026 08:00:00 GMT</pubDate></item></channel></rss>"
)


def server(request: httpx.Request) -> httpx.Response:
    path = request.url.path
    if request.url.host == "garden.example.org":
        return httpx.Response(200, text=RSS, headers={"content-type": "application/rss+xml"})
    if path == "/gone.xml":
        return httpx.Response(404)
    if path == "/private.xml":
        return httpx.Response(403)
    return httpx.Response(
        200, text="<!doctype html><p>Home</p>", headers={"content-type": "text/html"}
    )


def refusal(tmp_path: Path, broken: str, shape: str) -> str:
    """What `check` says when `broken` cannot be read, with the feeds written as `shape`:
    one [feed] table, one [[feed]] table, or two [[feed]] tables (the good one first)."""
    feed: Any
    if shape == "[feed]":
        feed = {"url": broken}
    elif shape == "one [[feed]]":
        feed = [{"url": broken}]
    else:
        feed = [{"url": GOOD}, {"url": broken, "label": "Pond"}]
    config = parse_config(
        {"feed": feed, "newsletter": {"from": "Garden <news@garden.example.org>"}},
        path=tmp_path / "newsletter.toml",
    )
    with pytest.raises(NewsletterError) as failure:
        pipeline.check(
            config,
            SendOptions(),
            {},
            lambda line: None,
            transport=httpx.MockTransport(server),
            now=lambda: NOW,
        )
    return failure.value.message


@pytest.mark.parametrize(
    ("broken", "advice"),
    [
        ("https://pond.example.org/gone.xml", "check {table} url."),
        ("https://pond.example.org/private.xml", "or set {table} user_agent."),
        ("https://pond.example.org/", "set {table} url to the blog's RSS or Atom feed"),
        ("missing.xml", "check {table} url or the --feed path."),
    ],
)
@pytest.mark.parametrize(
    ("shape", "table"),
    [("[feed]", "[feed]"), ("one [[feed]]", "[[feed]]"), ("two [[feed]]", "[[feed]]")],
)
def test_a_feed_read_error_names_the_table_the_author_wrote(
    tmp_path: Path, broken: str, advice: str, shape: str, table: str
) -> None:
    message = refusal(tmp_path, broken, shape)
    assert advice.format(table=table) in message
    if table == "[[feed]]":
        assert "[feed] url" not in message and "[feed] user_agent" not in message
