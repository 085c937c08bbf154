"""Render stage: posts and their excerpts become finished emails (HTML + text).

Jinja2 renders MJML (compiled to HTML by mjml-python) and a plain-text part from templates
in `templates/`; an author's own templates folder overrides any of them file by file.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Literal

from markupsafe import Markup, escape

from newsletter.excerpt.opening import opening
from newsletter.header_text import one_line, sender_domain
from newsletter.identity import post_reference
from newsletter.models import Email, Excerpt, Feed, Post
from newsletter.providers.base import Unsubscribe
from newsletter.render.compiler import compile_mjml
from newsletter.render.context import BlogView, PostView, blog_view, post_view
from newsletter.render.environment import (
    Verbatim,
    environment,
    render,
    render_string,
    undo_text_defusing,
)
from newsletter.render.feeds import FeedView, Group, by_feed, feed_view, part_of, parts_of
from newsletter.render.i18n import NewsletterLocale, resolve_locale, translations
from newsletter.render.words import READ_MORE
from newsletter.urls import LinkTagger

__all__ = ["GMAIL_CLIP_BYTES", "RenderSettings", "build_emails", "html_size"]

GMAIL_CLIP_BYTES = 102_000
"""Gmail hides everything after about 102 KB of HTML behind "[Message clipped]", and with it
the unsubscribe link. Sources disagree on whether that K is 1,000 or 1,024 bytes, so we take
the smaller reading; the figure is the UTF-8 size of the HTML part as we produce it."""

# Invisible characters after the preheader keep mail apps from filling the preview line
# with the start of the body ("View in browser", the blog's name...).
_PREHEADER_PADDING = Markup("&#847;&zwnj;&nbsp;" * 40)  # noqa: S704 (a constant)
_NOT_LABEL = re.compile(r"[^a-z0-9]+")
_PLAIN_PHRASE = re.compile(r"[^\x00-\x1f()<>\[\]:;@\\,.\"]+")
"""Words RFC 5322 lets a display name hold without quotes."""


@dataclass(frozen=True)
class RenderSettings:
    blog_title: str
    """Config `newsletter.title`, else the feed's title."""
    blog_url: str
    """The blog's home page (feed.link)."""
    language: str | None
    """Config `[newsletter] language` (a BCP 47 tag), or None to follow the feed's."""
    mode: Literal["digest", "per-post"]
    subject_template: str | None
    """Config `newsletter.subject` (a Jinja2 template), or None for the default per mode."""
    read_more: str
    postal_address: str
    utm: Mapping[str, str]
    templates_dir: Path | None
    """The author's folder; any file in it overrides the built-in one of the same name."""
    sender: str
    reply_to: str | None
    digest_excerpts: Literal["full", "short"] = "full"
    """"short": a digest shows each post's opening (about 60 words) after a list of titles."""


def build_emails(
    feed: Feed,
    items: Sequence[tuple[Post, Excerpt]],
    settings: RenderSettings,
    unsubscribe: Unsubscribe,
) -> list[Email]:
    """Digest mode: one email with every item, grouped by feed when the newsletter reads
    several; per-post mode: one email per item."""
    if not items:
        return []
    parts = parts_of(feed)
    locale = resolve_locale(settings.language, [part.language for part in parts])
    env = environment(settings.templates_dir, locale)
    # Never the feed's own address: a reader can do nothing with its XML.
    blog_url = settings.blog_url or feed.link
    tagger = LinkTagger(blog_url, settings.utm)
    blog = blog_view(settings.blog_title or feed.title or blog_url, blog_url, locale.tag, tagger)
    # Each feed's links back to its own blog get the UTM parameters.
    feed_taggers = {part.url: LinkTagger(part.link or blog_url, settings.utm) for part in parts}
    feeds = tuple(feed_view(part, feed_taggers.get(part.url, tagger)) for part in parts)
    digest = settings.mode == "digest"
    several = digest and len(parts) > 1
    if digest and settings.digest_excerpts == "short":
        items = [(post, opening(post, excerpt)) for post, excerpt in items]

    def views(part: Feed, chosen: Sequence[tuple[Post, Excerpt]], first: int) -> Group:
        part_tagger = feed_taggers.get(part.url, tagger)
        label = part.label or part.title
        shown = tuple(
            replace(
                post_view(
                    post,
                    excerpt,
                    base_url=part.link or blog_url,
                    locale=locale,
                    tagger=part_tagger,
                    title_level=(3 if several else 2) if digest else 1,
                    feed=part,
                ),
                number=first + offset,
                feed_label=post.feed_label or label,
            )
            for offset, (post, excerpt) in enumerate(chosen)
        )
        return Group(label, part_tagger.tag(part.link or blog_url, always=True), shown)

    headers = _headers(settings, unsubscribe, blog.title)
    if digest:
        groups: list[Group] = []
        names: list[str] = []
        for part, chosen in by_feed(items, feed):
            groups.append(views(part, chosen, 1 + len(names)))
            names += [post_reference(post) for post, _excerpt in chosen]
        emails = [(groups, several, names)]
    else:
        emails = [
            ([views(part_of(post, feed), [(post, excerpt)], 1)], False, [post_reference(post)])
            for post, excerpt in items
        ]
    return [
        replace(
            _build_email(
                env, chosen_groups, feeds, grouped, blog, settings, unsubscribe, locale, headers
            ),
            post_ids=tuple(names),
        )
        for chosen_groups, grouped, names in emails
    ]


def html_size(email: Email) -> int:
    """The HTML part's size in bytes, as Gmail counts it for clipping."""
    return len(email.html.encode("utf-8"))


def _build_email(
    env: Any,
    groups: Sequence[Group],
    feeds: Sequence[FeedView],
    grouped: bool,
    blog: BlogView,
    settings: RenderSettings,
    unsubscribe: Unsubscribe,
    locale: NewsletterLocale,
    headers: Mapping[str, str],
) -> Email:
    """One email of these posts; `grouped`: a digest of several feeds shows each group
    under its feed's label."""
    posts: list[PostView] = [post for group in groups for post in group.posts]
    base: dict[str, Any] = {
        "posts": posts,
        "post": posts[0],
        "groups": list(groups),
        "grouped": grouped,
        "feeds": list(feeds),
        "blog": blog,
        "count": len(posts),
        "mode": settings.mode,
        "language": locale.tag,
        "direction": locale.direction,
        "start_side": locale.start_side,
        "end_side": locale.end_side,
        "read_more": _read_more(settings.read_more, locale),
        "custom_read_more": settings.read_more != READ_MORE,
        "postal_address": settings.postal_address.strip(),
        "contents": _shows_contents(settings, len(posts)),
    }
    subject = one_line(_subject(env, settings, base)) or one_line(blog.title)
    preheader = one_line(render(env, "preheader.txt.j2", base))
    name = "digest" if settings.mode == "digest" else "post"
    mjml_source = render(
        env,
        f"{name}.mjml.j2",
        {
            **base,
            "subject": undo_text_defusing(subject),
            "preheader": undo_text_defusing(preheader),
            "unsubscribe_url": escape(unsubscribe.url),
            "preheader_padding": _PREHEADER_PADDING if preheader else Markup(""),
        },
    )
    html = compile_mjml(mjml_source, env=env, template=f"{name}.mjml.j2")
    text = render(
        env,
        f"{name}.txt.j2",
        {
            **base,
            "subject": subject,
            "preheader": preheader,
            "unsubscribe_url": Verbatim(unsubscribe.url),
        },
    )
    return Email(
        subject=subject,
        preheader=preheader,
        html=html,
        text=text.strip() + "\n",
        headers=headers,
        sender=settings.sender,
        # The header gets the tag as `lang` has it (en_US -> en-US), and none when unknown.
        language=locale.tag if locale.declared else None,
    )


def _shows_contents(settings: RenderSettings, count: int) -> bool:
    """A digest lists its titles first when it is short-form, or long enough to need it."""
    if settings.mode != "digest":
        return False
    return count >= 3 or (settings.digest_excerpts == "short" and count >= 2)


def _subject(env: Any, settings: RenderSettings, context: Mapping[str, Any]) -> str:
    if settings.subject_template:
        return render_string(env, settings.subject_template, context, where="newsletter.subject")
    return render(env, "subject.txt.j2", context)


def _headers(settings: RenderSettings, unsubscribe: Unsubscribe, title: str) -> dict[str, str]:
    headers: dict[str, str] = {"List-Id": list_id(title, settings.sender)}
    if settings.reply_to:
        headers["Reply-To"] = settings.reply_to
    if unsubscribe.list_unsubscribe is not None:
        headers["List-Unsubscribe"] = unsubscribe.list_unsubscribe
        # RFC 8058 one-click is a POST to an https link; never to a mailto: or plain http.
        if unsubscribe.one_click and unsubscribe.list_unsubscribe.startswith("<https://"):
            headers["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    return headers


def list_id(title: str, sender: str) -> str:
    """RFC 2919's `List-Id`: the newsletter's name, then a label under the sender's domain
    (`Garden Notes <garden-notes.blog.example.org>`), so mail apps can group and filter it."""
    ascii_title = unicodedata.normalize("NFKD", title).encode("ascii", "ignore").decode()
    label = _NOT_LABEL.sub("-", ascii_title.lower()).strip("-")[:60].strip("-") or "newsletter"
    name = one_line(title)
    if not _PLAIN_PHRASE.fullmatch(name):
        name = '"' + name.replace("\\", "\\\\").replace('"', '\\"') + '"'
    return f"{name} <{label}.{sender_domain(sender)}>"


def _read_more(configured: str, locale: NewsletterLocale) -> str:
    """The default button text in the newsletter's language; an author's own text as written."""
    if configured == READ_MORE:
        return translations(locale.catalogue).gettext(READ_MORE)
    return configured
