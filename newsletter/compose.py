"""From posts to finished emails, as the configuration asks: cut, render, and the size policy.

The stages themselves read no configuration (`excerpt.cut`, `render.build_emails`); this is
where `[newsletter]`, `[excerpt]` and `[links]` become their arguments. The size policy lives
here too: Gmail clips an email's HTML beyond about 102 KB, and the unsubscribe link with it,
so `send` refuses such an email unless forced and `preview` warns about it.
"""

from __future__ import annotations

from collections.abc import Sequence

from newsletter.config import Config
from newsletter.errors import SafetyRefusal
from newsletter.models import Email, Excerpt, Feed, Post
from newsletter.plan import newest_first
from newsletter.providers.base import Unsubscribe


def compose(
    config: Config, feed: Feed, posts: Sequence[Post], unsubscribe: Unsubscribe
) -> list[Email]:
    """Cut each post at its break and render the email(s) the provider would send."""
    from newsletter.excerpt import cut
    from newsletter.render import RenderSettings, build_emails
    from newsletter.render.words import READ_MORE

    if config.newsletter.mode == "digest":
        posts = newest_first(posts)
    excerpts = config.excerpt
    items: list[tuple[Post, Excerpt]] = [
        (post, cut(post, markers=excerpts.markers, fallback_words=excerpts.fallback_words))
        for post in posts
    ]
    settings = RenderSettings(
        blog_title=config.newsletter.title or feed.title,
        blog_url=feed.link,
        language=config.newsletter.language,
        mode=config.newsletter.mode,
        subject_template=config.newsletter.subject,
        read_more=READ_MORE if excerpts.read_more is None else excerpts.read_more,
        postal_address=config.newsletter.postal_address,
        utm=config.links.utm,
        templates_dir=config.newsletter.templates,
        sender=config.newsletter.sender,
        reply_to=config.newsletter.reply_to,
        digest_excerpts=config.newsletter.digest_excerpts,
    )
    return build_emails(feed, items, settings, unsubscribe)


def size_warnings(emails: Sequence[Email], *, limit: int | None = None) -> list[str]:
    """What `preview` says of each email Gmail would clip (it still writes them)."""
    return [
        _too_large(email, size, cap, sending=False) for email, size, cap in _over(emails, limit)
    ]


def refuse_oversized(emails: Sequence[Email], *, force: bool, limit: int | None = None) -> None:
    """Stop a send (SafetyRefusal) before an email Gmail would clip goes out, unless forced."""
    for email, size, cap in _over(emails, limit):
        if not force:
            raise SafetyRefusal(_too_large(email, size, cap, sending=True))


def _over(emails: Sequence[Email], limit: int | None) -> list[tuple[Email, int, int]]:
    from newsletter.render import GMAIL_CLIP_BYTES, html_size

    cap = GMAIL_CLIP_BYTES if limit is None else limit
    return [(email, size, cap) for email in emails if (size := html_size(email)) > cap]


def _too_large(email: Email, size: int, limit: int, *, sending: bool) -> str:
    advice = (
        "lower max_posts or fallback_words, or add --force to send it anyway"
        if sending
        else "Gmail will clip it; lower max_posts or fallback_words"
    )
    return (
        f"The email {email.subject!r} is {size // 1000} KB of HTML, over Gmail's "
        f"{limit // 1000} KB limit; {advice}."
    )
