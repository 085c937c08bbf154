"""Titles say what the feed said: plain-text titles keep their angle brackets, HTML titles
lose their tags (feedparser's `title_detail.type` tells the two apart)."""

from __future__ import annotations

import pytest

from newsletter import feed

RSS = """<?xml version="1.0" encoding="utf-8"?>
<rss version="2.0"><channel><title>{channel}</title><link>https://code.example.org/</link>
<item><title>{title}</title><link>https://code.example.org/1/</link>
<description>&lt;p&gt;Words.&lt;/p&gt;</description></item></channel></rss>"""

ATOM = """<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom"><title type="{kind}">{channel}</title>
<id>urn:uuid:7d1c1b52-4a53-4f0e-9d0b-3c1f2f0e9a11</id><updated>2026-11-20T10:00:00Z</updated>
<link href="https://code.example.org/"/>
<entry><title type="{kind}">{title}</title><id>tag:code.example.org,2026:1</id>
<link href="https://code.example.org/1/"/><updated>2026-11-20T10:00:00Z</updated>
<content type="html">&lt;p&gt;Words.&lt;/p&gt;</content></entry></feed>"""


def titles(xml: str) -> tuple[str, str]:
    parsed = feed.parse(xml.encode(), url="https://code.example.org/feed.xml")
    return parsed.title, parsed.posts[0].title


@pytest.mark.parametrize(
    ("written", "shown"),
    [
        ("Understanding Vec&lt;T&gt; in Rust", "Understanding Vec<T> in Rust"),
        ("The &lt;details&gt; element", "The <details> element"),
        ("Use &lt;br&gt; for line breaks", "Use <br> for line breaks"),
        (
            "Templates: &lt;% end %&gt; and &lt;T extends U&gt;",
            "Templates: <% end %> and <T extends U>",
        ),
        ("&lt;b&gt;Bold&lt;/b&gt; moves &amp;amp; more", "Bold moves & more"),
        ("<![CDATA[Fish & <em>Chips</em>]]>", "Fish & Chips"),
    ],
)
def test_rss_titles_keep_their_words_and_lose_only_real_markup(written: str, shown: str) -> None:
    assert titles(RSS.format(channel=written, title=written)) == (shown, shown)


@pytest.mark.parametrize(
    ("kind", "written", "shown"),
    [
        ("text", "Understanding Vec&lt;T&gt; in Rust", "Understanding Vec<T> in Rust"),
        ("text", "The &lt;details&gt; element", "The <details> element"),
        (
            "html",
            "The &amp;lt;details&amp;gt; element &lt;em&gt;now&lt;/em&gt;",
            "The <details> element now",
        ),
        (
            "html",
            "&lt;code&gt;Option&amp;lt;T&amp;gt;&lt;/code&gt; explained",
            "Option<T> explained",
        ),
    ],
)
def test_atom_titles_follow_their_declared_type(kind: str, written: str, shown: str) -> None:
    assert titles(ATOM.format(kind=kind, channel=written, title=written)) == (shown, shown)
