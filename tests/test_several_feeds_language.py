"""A newsletter of several feeds speaks one language and bears one name: the configured
language, else the first feed's, whichever of its feeds brought this week's posts (issue 16)."""

from __future__ import annotations

from datetime import timedelta
from email.utils import format_datetime
from pathlib import Path

import pytest

from tests.test_several_feeds import (
    BLOG,
    NOW,
    PODCAST,
    Blogs,
    provider,
    send,
    two_feeds,
)
from tests.test_several_feeds import (
    blogs as blogs,  # the fixture
)


def in_languages(blogs: Blogs, first: str, second: str) -> None:
    """The blog writes German, the podcast's feed says English."""
    blogs.bodies[BLOG] = blogs.bodies[BLOG].replace(
        "<title>Garden Notes</title>", f"<title>Garden Notes</title><language>{first}</language>"
    )
    blogs.bodies[PODCAST] = blogs.bodies[PODCAST].replace(
        "<title>Kitchen Radio</title>",
        f"<title>Kitchen Radio</title><language>{second}</language>",
    )


def test_the_first_feeds_language_and_title_even_when_only_another_feed_changed(
    tmp_path: Path, blogs: Blogs
) -> None:
    in_languages(blogs, "de", "en")
    sink = provider()
    config = two_feeds(tmp_path, first_run_days=30)
    send(config, sink, blogs)
    first_week = sink.sent[0][0]
    assert first_week.language == "de"

    # A week later only the podcast has something new; the blog's feed is unchanged (304).
    blogs.bodies[PODCAST] = blogs.bodies[PODCAST].replace(
        "<item>",
        "<item><title>Episode 10</title><link>https://radio.example.org/r-10/</link>"
        '<guid isPermaLink="false">r-10</guid>'
        f"<pubDate>{format_datetime(NOW - timedelta(hours=2))}</pubDate>"
        "<description>Episode 10, in words.</description></item><item>",
        1,
    )
    send(config, sink, blogs)
    assert blogs.asked(BLOG)[1].headers.get("if-none-match") == blogs.etag(BLOG), "a 304"

    email = sink.sent[-1][0]
    assert email.post_ids == (f"r-10 ({PODCAST})",)
    assert email.language == "de", "the newsletter's language, not the podcast's"
    assert "Abmelden" in email.html and "Unsubscribe" not in email.html
    assert "Garden Notes" in email.text, "the newsletter's own name, the first feed's title"


@pytest.mark.parametrize(("configured", "expected"), [("fr", "fr"), (None, "de")])
def test_the_configured_language_else_the_first_feeds(
    tmp_path: Path, blogs: Blogs, configured: str | None, expected: str
) -> None:
    in_languages(blogs, "de", "en")
    sink = provider()
    extra = {"language": configured} if configured else {}
    send(two_feeds(tmp_path, first_run_days=30, **extra), sink, blogs)
    assert sink.sent[0][0].language == expected
