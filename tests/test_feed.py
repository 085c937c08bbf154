from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from newsletter import feed
from newsletter.errors import ConfigError, FeedError
from newsletter.http import RetryPolicy
from newsletter.models import Validators
from tests.feedserver import FeedServer, Route

UA = "newsletter-tests/1.0 (+https://example.org)"


def no_sleep(seconds: float) -> None:
    """Retries in these tests wait for nothing; test_http.py checks the pauses themselves."""


RSS = b"""<?xml version="1.0" encoding="UTF-8"?>
<rss version="2.0"
     xmlns:content="http://purl.org/rss/1.0/modules/content/"
     xmlns:itunes="http://www.itunes.com/dtds/podcast-1.0.dtd">
<channel><title>Tiny &amp; Blog</title><link>https://tiny.example.org/</link>
<language>fr</language>
<item><title>First</title><link>https://tiny.example.org/first/</link>
<guid isPermaLink="false">p-1</guid>
<pubDate>Tue, 24 Nov 2026 08:30:00 +0000</pubDate>
<itunes:summary>A short plain summary that comes first.</itunes:summary>
<description><![CDATA[<p>Teaser of the first post.</p>]]></description>
<content:encoded><![CDATA[<p>The whole first post, much longer than its teaser,
with <img src="pic.jpg"> a picture.</p>]]></content:encoded>
</item>
<item><title>Second</title><link>/second/</link>
<description>Only a description here.</description></item>
</channel></rss>"""

ATOM = b"""<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom"><title>Atom Blog</title>
<link href="https://atom.example.org/"/><id>urn:x</id><updated>2026-11-20T10:00:00Z</updated>
<entry><title type="html">Fish &amp;amp; &lt;em&gt;Chips&lt;/em&gt;</title>
<id>tag:atom.example.org,2026:1</id>
<link href="https://atom.example.org/2026/fish/"/><updated>2026-11-20T10:00:00Z</updated>
<content type="html" xml:base="https://atom.example.org/2026/fish/">&lt;p&gt;Body&lt;/p&gt;</content></entry>
</feed>"""


def test_parse_picks_the_longest_html_content_not_content_zero() -> None:
    parsed = feed.parse(RSS, url="https://tiny.example.org/feed/")
    first = parsed.posts[0]
    assert "The whole first post" in first.html
    # itunes:summary takes feedparser's `summary` slot and pushes <description> into
    # `content`; the HTML teaser is still found among the shorter contents.
    assert first.summary_html == "<p>Teaser of the first post.</p>"
    assert first.content_is_full
    assert first.id == "p-1"
    assert first.language == "fr"
    assert (
        first.published is not None and first.published.isoformat() == "2026-11-24T08:30:00+00:00"
    )
    assert parsed.title == "Tiny & Blog"
    assert parsed.language == "fr"


def test_description_only_item_is_the_post_and_links_are_made_absolute() -> None:
    second = feed.parse(RSS, url="https://tiny.example.org/feed/").posts[1]
    assert second.link == "https://tiny.example.org/second/"
    assert second.id == "https://tiny.example.org/second/"
    # No generator that is known to put summaries there: the description is the post.
    assert second.content_is_full
    assert second.summary_html is None
    assert second.published is None
    assert "Only a description here." in second.html


def test_relative_urls_anchor_on_the_item_link_without_xml_base() -> None:
    first = feed.parse(RSS, url="https://tiny.example.org/feed/").posts[0]
    assert first.base_url == "https://tiny.example.org/first/"
    assert "pic.jpg" in first.html  # left for the excerpt stage to resolve


def test_atom_xml_base_html_titles_and_updated_as_date() -> None:
    entry = feed.parse(ATOM, url="https://atom.example.org/feed.atom").posts[0]
    assert entry.title == "Fish & Chips"
    assert entry.base_url == "https://atom.example.org/2026/fish/"
    assert entry.published is not None and entry.published.day == 20


def test_content_type_charset_decodes_the_body() -> None:
    latin = RSS.replace(b'encoding="UTF-8"', b"").replace(
        b"First</title>", "Café</title>".encode("latin-1")
    )
    parsed = feed.parse(
        latin,
        url="https://x.example/feed",
        headers={"Content-Type": "application/rss+xml; charset=ISO-8859-1"},
    )
    assert parsed.posts[0].title == "Café"


def test_recoverable_fault_keeps_entries_with_a_warning() -> None:
    broken = RSS.replace(b' xmlns:content="http://purl.org/rss/1.0/modules/content/"', b"")
    parsed = feed.parse(broken, url="https://x.example/feed")
    assert len(parsed.posts) == 2
    assert parsed.warnings and "not well-formed" in parsed.warnings[0]


@pytest.mark.parametrize(
    ("body", "content_type", "error", "message"),
    [
        # The address names something that is not a feed: a configuration fix (exit 2).
        (
            b"<!DOCTYPE html><html><body><h1>My blog</h1></body></html>",
            "text/html",
            ConfigError,
            "web page, not a feed",
        ),
        (
            b"\x00\x9f\x92garbage\xff" * 20,
            "application/octet-stream",
            ConfigError,
            "does not contain an RSS or Atom feed",
        ),
        # An empty answer may pass: a failure of this run (exit 1).
        (b"", "application/rss+xml", FeedError, "empty"),
    ],
)
def test_not_a_feed_is_a_plain_sentence(
    body: bytes, content_type: str, error: type[Exception], message: str
) -> None:
    with pytest.raises(error, match=message):
        feed.parse(body, url="https://x.example/feed", headers={"content-type": content_type})


def test_empty_but_valid_feed_has_no_posts() -> None:
    empty = b'<?xml version="1.0"?><rss version="2.0"><channel><title>T</title><link>https://t.example/</link></channel></rss>'
    assert feed.parse(empty, url="https://t.example/feed").posts == ()


def test_fetch_sends_user_agent_and_validators_and_reads_304(feed_server: FeedServer) -> None:
    def respond(headers: dict[str, str]) -> Route:
        if headers.get("if-none-match") == '"v1"':
            return Route(b"", 304, {})
        return Route(
            RSS,
            headers={
                "Content-Type": "application/rss+xml",
                "ETag": '"v1"',
                "Last-Modified": "Tue, 24 Nov 2026 08:30:00 GMT",
            },
        )

    feed_server.routes["/feed.xml"] = Route(respond=respond)
    first = feed.fetch(feed_server.url(), user_agent=UA)
    assert first.body == RSS
    assert first.validators == Validators('"v1"', "Tue, 24 Nov 2026 08:30:00 GMT")
    assert feed_server.requests[0].headers["user-agent"] == UA
    assert "application/rss+xml" in feed_server.requests[0].headers["accept"]

    again = feed.fetch(feed_server.url(), user_agent=UA, validators=first.validators)
    assert again.body is None
    sent = feed_server.requests[1].headers
    assert sent["if-none-match"] == '"v1"'
    assert sent["if-modified-since"] == "Tue, 24 Nov 2026 08:30:00 GMT"


def test_fetch_follows_redirects_and_reports_the_final_url(feed_server: FeedServer) -> None:
    feed_server.routes["/old"] = Route(b"", 301, {"Location": "/feed.xml"})
    feed_server.routes["/feed.xml"] = Route(RSS)
    result = feed.fetch(feed_server.url("/old"), user_agent=UA)
    assert result.url == feed_server.url("/feed.xml")
    parsed = feed.parse(result.body or b"", url=result.url, headers=result.headers)
    assert len(parsed.posts) == 2


def test_fetch_retries_server_errors_then_succeeds(feed_server: FeedServer) -> None:
    feed_server.routes["/feed.xml"] = [Route(b"oops", 503), Route(b"oops", 502), Route(RSS)]
    result = feed.fetch(feed_server.url(), user_agent=UA, sleep=no_sleep)
    assert result.body == RSS
    assert len(feed_server.requests) == 3


def test_fetch_waits_as_long_as_a_429_asks_then_reads_the_feed(feed_server: FeedServer) -> None:
    feed_server.routes["/feed.xml"] = [
        Route(b"slow down", 429, {"Content-Type": "text/plain", "Retry-After": "7"}),
        Route(RSS),
    ]
    pauses: list[float] = []
    result = feed.fetch(feed_server.url(), user_agent=UA, sleep=pauses.append)
    assert result.body == RSS
    assert pauses == [7.0]


def test_fetch_refuses_a_429_that_asks_for_hours(feed_server: FeedServer) -> None:
    feed_server.routes["/feed.xml"] = Route(b"", 429, {"Retry-After": "7200"})
    with pytest.raises(FeedError, match=r"answered 429 Too Many Requests and asks to wait 7200"):
        feed.fetch(feed_server.url(), user_agent=UA, sleep=no_sleep)
    assert len(feed_server.requests) == 1


def test_fetch_gives_up_on_persistent_server_errors(feed_server: FeedServer) -> None:
    feed_server.routes["/feed.xml"] = Route(b"oops", 500)
    with pytest.raises(FeedError, match="answered 500"):
        feed.fetch(feed_server.url(), user_agent=UA, sleep=no_sleep, retry=RetryPolicy(attempts=2))
    assert len(feed_server.requests) == 2


@pytest.mark.parametrize(
    ("status", "words"), [(404, "not found"), (403, "user_agent"), (400, "answered 400")]
)
def test_client_errors_are_not_retried(feed_server: FeedServer, status: int, words: str) -> None:
    feed_server.routes["/feed.xml"] = Route(b"no", status, {"Content-Type": "text/plain"})
    with pytest.raises(FeedError, match=words):
        feed.fetch(feed_server.url(), user_agent=UA, sleep=no_sleep)
    assert len(feed_server.requests) == 1


def test_oversized_responses_are_refused(feed_server: FeedServer) -> None:
    feed_server.routes["/feed.xml"] = Route(RSS * 10)
    with pytest.raises(FeedError, match="larger than"):
        feed.fetch(feed_server.url(), user_agent=UA, max_bytes=len(RSS))


def test_oversized_chunked_responses_are_cut_off(feed_server: FeedServer) -> None:
    feed_server.routes["/feed.xml"] = Route(RSS * 10, send_length=False)
    with pytest.raises(FeedError, match="larger than"):
        feed.fetch(feed_server.url(), user_agent=UA, max_bytes=len(RSS))


def test_silent_server_times_out(feed_server: FeedServer) -> None:
    feed_server.routes["/feed.xml"] = Route(RSS, delay=1.0)
    with pytest.raises(FeedError, match="timed out"):
        feed.fetch(feed_server.url(), user_agent=UA, timeout=0.2, retry=RetryPolicy(attempts=1))


def test_trickling_server_hits_the_overall_deadline(feed_server: FeedServer) -> None:
    feed_server.routes["/feed.xml"] = Route(RSS, trickle=0.02)
    with pytest.raises(FeedError, match="timed out"):
        feed.fetch(feed_server.url(), user_agent=UA, timeout=0.1, retry=RetryPolicy(attempts=1))


def test_local_files_and_file_urls(tmp_path: Path) -> None:
    path = tmp_path / "feed.xml"
    path.write_bytes(ATOM)
    for location in (str(path), path.as_uri()):
        loaded, result = feed.load(location, user_agent=UA)
        assert loaded is not None and loaded.posts[0].id == "tag:atom.example.org,2026:1"
        assert result.url == path.as_uri()


def test_missing_local_file_names_the_path(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="does not exist"):
        feed.load(str(tmp_path / "nope.xml"), user_agent=UA)


@pytest.mark.parametrize("keep", [0.3, 0.6, 0.95])
def test_a_cut_off_download_is_refused_not_half_read(keep: float) -> None:
    with pytest.raises(FeedError, match="ends early"):
        feed.parse(RSS[: int(len(RSS) * keep)], url="https://tiny.example.org/feed/")


@pytest.mark.parametrize(
    ("generator", "full"),
    [
        ("Hugo 0.140", False),
        ("https://wordpress.org/?v=6.8", False),
        ("Ghost 5.82", False),
        ("Eleventy", True),
        ("Tumblr (3.0; @x)", True),
    ],
)
def test_description_only_items_are_teasers_only_where_the_platform_says_so(
    generator: str, full: bool
) -> None:
    body = RSS.replace(b"<language>fr</language>", f"<generator>{generator}</generator>".encode())
    assert feed.parse(body, url="https://tiny.example.org/feed/").posts[1].content_is_full is full
    assert feed.parse(body, url="https://tiny.example.org/feed/").posts[0].content_is_full


def test_a_redirect_loop_is_a_plain_feed_error(feed_server: FeedServer) -> None:
    feed_server.routes["/feed.xml"] = Route(b"", 302, {"Location": "/feed.xml"})
    with pytest.raises(FeedError, match="redirect"):
        feed.fetch(feed_server.url(), user_agent=UA, sleep=no_sleep)


@pytest.mark.parametrize("location", ["http://[::1/feed.xml", "https://", "http:///feed.xml"])
def test_a_malformed_feed_url_is_a_usage_error(location: str) -> None:
    with pytest.raises(ConfigError, match="not a valid"):
        feed.fetch(location, user_agent=UA, sleep=no_sleep)


@pytest.mark.parametrize("location", ["feed://blog.example.org/feed/", "ftp://example.org/f"])
def test_a_url_of_another_scheme_is_a_usage_error_not_a_missing_file(location: str) -> None:
    with pytest.raises(ConfigError, match="http:// or https://"):
        feed.fetch(location, user_agent=UA)


def test_the_url_scheme_is_case_insensitive(feed_server: FeedServer) -> None:
    feed_server.routes["/feed.xml"] = Route(RSS)
    result = feed.fetch(feed_server.url().replace("http://", "HTTP://"), user_agent=UA)
    assert result.body == RSS


def test_dates_keep_the_authors_offset_and_still_compare() -> None:
    body = RSS.replace(b"Tue, 24 Nov 2026 08:30:00 +0000", b"Tue, 24 Nov 2026 00:30:00 +0200")
    published = feed.parse(body, url="https://tiny.example.org/feed/").posts[0].published
    assert published is not None
    assert published.date().isoformat() == "2026-11-24"
    assert published.isoformat() == "2026-11-24T00:30:00+02:00"
    assert published < datetime(2026, 11, 24, 0, 0, tzinfo=UTC)
