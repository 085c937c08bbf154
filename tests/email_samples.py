"""Emails built from the project's own small feeds, one per blogging platform's markup
(tests/fixtures/email/): Blogger's one-div-per-line posts and linked pictures, Medium and
Substack images, a WordPress table and code, a Jekyll post with badges, code and a table.

They go through the real stages (feed.parse, excerpt.cut, render.build_emails), so the
browser, accessibility and client-support tests look at what a subscriber would get.
`every_test_email()` is the one list those tests share, so none of them can skip an email.
"""

from __future__ import annotations

import functools
from dataclasses import replace
from pathlib import Path
from typing import Literal

from newsletter import feed
from newsletter.excerpt import cut
from newsletter.models import Email, Excerpt, Feed, Post
from newsletter.providers.base import Unsubscribe
from newsletter.render import RenderSettings, build_emails
from tests.test_render import render_one, sample_item

FEEDS = Path(__file__).parent / "fixtures" / "email"
PLATFORMS = {
    "blogger": "https://tidepools.blogspot.com/feeds/posts/default",
    "medium": "https://medium.com/feed/@workshopnotes",
    "substack": "https://allotmentletter.substack.com/feed",
    "wordpress": "https://plainops.example.com/feed/",
    "jekyll": "https://fieldcode.example.org/feed.xml",
}
UNSUBSCRIBE = Unsubscribe(url="https://newsletter.example/unsubscribe?who=reader")

# What each picture in the feeds really measures (width, height), as its server would
# send it; anything else is a large photo.
NATURAL_SIZES = {
    "s320/crab.jpg": (320, 240),
    "s200/paparazzi.jpg": (200, 150),
    "s150/signature.png": (150, 50),
    "1*scraper-small.png": (333, 250),
    "1*vice-wide.png": (1400, 900),
    "w_1456,c_limit,f_auto": (1456, 971),
    "w_300,c_limit": (300, 220),
    "feed-icon.png": (40, 40),
    "mastodon.png": (24, 24),
    "code.png": (24, 24),
    "img.shields.io/badge/": (90, 20),
}
LARGE_PHOTO = (1104, 620)


def natural_size(url: str) -> tuple[int, int]:
    return next((size for key, size in NATURAL_SIZES.items() if key in url), LARGE_PHOTO)


@functools.cache
def platform_feed(name: str) -> Feed:
    return feed.parse((FEEDS / f"{name}.xml").read_bytes(), url=PLATFORMS[name])


def items(name: str) -> list[tuple[Post, Excerpt]]:
    return [(post, cut(post)) for post in platform_feed(name).posts]


def settings(
    parsed: Feed,
    *,
    mode: Literal["digest", "per-post"] = "per-post",
    **changes: object,
) -> RenderSettings:
    base = RenderSettings(
        blog_title=parsed.title,
        blog_url=parsed.link,
        language=parsed.language,
        mode=mode,
        subject_template=None,
        read_more="Continue reading",
        postal_address="1 Harbour Road, Porthleven",
        utm={"utm_source": "newsletter", "utm_medium": "email"},
        templates_dir=None,
        sender="Newsletter <news@newsletter.example>",
        reply_to=None,
    )
    return replace(base, **changes)  # type: ignore[arg-type]


def per_post_emails() -> dict[str, Email]:
    """Every post of every platform feed as its own email, keyed "platform-N"."""
    emails: dict[str, Email] = {}
    for name in PLATFORMS:
        parsed = platform_feed(name)
        built = build_emails(parsed, items(name), settings(parsed), UNSUBSCRIBE)
        for number, email in enumerate(built, start=1):
            emails[f"{name}-{number}"] = email
    return emails


def digest_of_every_platform(**changes: object) -> Email:
    """One digest holding every post of every feed (as if one blog wrote them all)."""
    every = [item for name in PLATFORMS for item in items(name)]
    home = platform_feed("blogger")
    built = build_emails(home, every, settings(home, mode="digest", **changes), UNSUBSCRIBE)
    assert len(built) == 1
    return built[0]


MEDIA_FEEDS = Path(__file__).parent / "fixtures" / "media"


def media_emails() -> dict[str, Email]:
    """Every post of the media feeds (tests/fixtures/media/: featured images, episodes,
    videos) as its own email, keyed "media-feed-N", and one digest gathering two of those
    feeds under their labels, keyed "media-two-feeds"."""
    emails: dict[str, Email] = {}
    parts = []
    for path in sorted(MEDIA_FEEDS.glob("*.xml")):
        parsed = feed.parse(path.read_bytes(), url=f"https://feeds.example.net/{path.name}")
        chosen = [(post, cut(post)) for post in parsed.posts]
        built = build_emails(parsed, chosen, settings(parsed), UNSUBSCRIBE)
        for number, email in enumerate(built, start=1):
            emails[f"media-{path.stem}-{number}"] = email
        if path.stem in ("podcast", "wordpress-featured"):
            location = str(path)
            label = path.stem.replace("-", " ").title()
            posts = tuple(
                replace(post, feed_url=location, feed_label=label) for post in parsed.posts
            )
            parts.append(replace(parsed, posts=posts, location=location, label=label))
    gathered = replace(
        parts[0], posts=tuple(p for part in parts for p in part.posts), parts=tuple(parts)
    )
    every = [(post, cut(post)) for post in gathered.posts]
    (digest,) = build_emails(gathered, every, settings(gathered, mode="digest"), UNSUBSCRIBE)
    emails["media-two-feeds"] = digest
    return emails


def every_test_email() -> dict[str, Email]:
    """Every email the layout, accessibility and client-support tests check: each platform's
    posts on their own, a full and a short digest of all of them, the media feeds' emails,
    and the render tests' plain sample post on its own and in a digest."""
    return {
        **per_post_emails(),
        "digest": digest_of_every_platform(),
        "digest-short": digest_of_every_platform(digest_excerpts="short"),
        **media_emails(),
        "per-post-plain": render_one([sample_item(1)], mode="per-post"),
        "digest-plain": render_one([sample_item(n) for n in (1, 2, 3)]),
    }
