"""Generated WordPress-style RSS feeds of any size, so every run measures the same bytes.

Each item looks like what WordPress writes: a permalink and a `?p=N` guid, `dc:creator`,
categories, a `description` teaser, and a `content:encoded` body of a few paragraphs with an
image (srcset and sizes, as WordPress emits them), a list, and the `<span id="more-N">` that
marks where the author put the "continue reading" break. The text is varied but
deterministic: the same count gives the same bytes (dates count back from yesterday, so
the newest posts are always recent and never dated in the future).
"""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from xml.sax.saxutils import escape

BLOG = "https://workshop.example.org"

_VOCABULARY = (
    "plane iron chisel bevel mortise tenon dovetail shoulder cheek pare saw kerf grain "
    "figure quartersawn riven oak ash walnut cherry maple jig fence stop block sharpen "
    "hone strop burr flatten lap camber mouth frog tote knob sole bed wedge drawbore peg "
    "glue clamp cure finish shellac wax oil rub layout gauge knife line square true joint "
    "edge face board stock rough dimension season wind twist cup bow crook check split "
    "knot pin tail socket"
)
_WORDS = _VOCABULARY.split()


def _sentence(rng: random.Random) -> str:
    words = [rng.choice(_WORDS) for _ in range(rng.randint(8, 18))]
    return " ".join(words).capitalize() + "."


def _paragraph(rng: random.Random) -> str:
    sentences = " ".join(_sentence(rng) for _ in range(rng.randint(3, 5)))
    # Some inline markup, as real posts have: a link, emphasis.
    link = f'<a href="{BLOG}/tools/{rng.choice(_WORDS)}/">{rng.choice(_WORDS)}</a>'
    return f"<p>{sentences} See the <em>{rng.choice(_WORDS)}</em> notes on {link}.</p>"


def _image(number: int) -> str:
    base = f"{BLOG}/wp-content/uploads/2026/11/bench-{number}"
    return (
        f'<figure class="wp-block-image size-large"><img decoding="async" width="1024" '
        f'height="683" src="{base}-1024x683.jpg" alt="The bench, step {number}" '
        f'class="wp-image-{number + 1000}" srcset="{base}-1024x683.jpg 1024w, '
        f'{base}-300x200.jpg 300w, {base}-768x512.jpg 768w, {base}.jpg 1600w" '
        f'sizes="(max-width: 1024px) 100vw, 1024px" />'
        f"<figcaption>Step {number}: marking out.</figcaption></figure>"
    )


def _body(number: int, rng: random.Random) -> str:
    before = [_paragraph(rng) for _ in range(2)]
    after = [_paragraph(rng) for _ in range(rng.randint(2, 4))]
    items = "".join(f"<li>{_sentence(rng)}</li>" for _ in range(4))
    return "\n".join(
        [
            before[0],
            _image(number),
            before[1],
            f'<p><span id="more-{number}"></span></p>',
            *after[:2],
            f"<ul>{items}</ul>",
            *after[2:],
        ]
    )


def _item(number: int, rng: random.Random, newest: datetime) -> str:
    published = newest - timedelta(days=number - 1)
    slug = f"post-{number}-{rng.choice(_WORDS)}-{rng.choice(_WORDS)}"
    link = f"{BLOG}/{published:%Y/%m/%d}/{slug}/"
    title = f"{_sentence(rng)[:-1]} (part {number})"
    body = _body(number, rng)
    teaser = _sentence(rng) + " " + _sentence(rng) + " [&#8230;]"
    categories = "".join(f"<category><![CDATA[{rng.choice(_WORDS)}]]></category>" for _ in range(3))
    return (
        "<item>"
        f"<title>{escape(title)}</title>"
        f"<link>{link}</link>"
        f"<comments>{link}#respond</comments>"
        "<dc:creator><![CDATA[Ada Joiner]]></dc:creator>"
        f"<pubDate>{format_datetime(published)}</pubDate>"
        f"{categories}"
        f'<guid isPermaLink="false">{BLOG}/?p={number}</guid>'
        f"<description><![CDATA[{teaser}]]></description>"
        f"<content:encoded><![CDATA[{body}]]></content:encoded>"
        f"<wfw:commentRss>{link}feed/</wfw:commentRss>"
        "<slash:comments>0</slash:comments>"
        "</item>\n"
    )


def newest_date() -> datetime:
    """Yesterday at 09:00 UTC: the newest post's date; the others go back a day each."""
    today = datetime.now(UTC).replace(hour=9, minute=0, second=0, microsecond=0)
    return today - timedelta(days=1)


def wordpress_feed(count: int, *, seed: int = 8) -> bytes:
    """An RSS 2.0 feed of `count` posts, newest first, as WordPress serves /feed/."""
    rng = random.Random(seed)
    newest = newest_date()
    items = "".join(_item(number, rng, newest) for number in range(1, count + 1))
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<rss version="2.0" xmlns:content="http://purl.org/rss/1.0/modules/content/" '
        'xmlns:wfw="http://wellformedweb.org/CommentAPI/" '
        'xmlns:dc="http://purl.org/dc/elements/1.1/" '
        'xmlns:atom="http://www.w3.org/2005/Atom" '
        'xmlns:sy="http://purl.org/rss/1.0/modules/syndication/" '
        'xmlns:slash="http://purl.org/rss/1.0/modules/slash/">\n'
        "<channel>\n"
        "<title>Workshop Notes</title>\n"
        f'<atom:link href="{BLOG}/feed/" rel="self" type="application/rss+xml" />\n'
        f"<link>{BLOG}</link>\n"
        "<description>Hand tools, joinery and the odd mistake</description>\n"
        f"<lastBuildDate>{format_datetime(newest)}</lastBuildDate>\n"
        "<language>en-GB</language>\n"
        "<sy:updatePeriod>hourly</sy:updatePeriod>\n"
        "<generator>https://wordpress.org/?v=6.7</generator>\n"
        f"{items}"
        "</channel>\n</rss>\n"
    ).encode()
