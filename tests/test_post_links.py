"""Links in the email always lead to a web page of the blog.

A post with no web address of its own (an Atom entry with only a `tag:` id, an RSS guid
that is a `urn:uuid:`, an item with no link at all) links its title to the blog's home page
and has no "Continue reading" button; a feed with no web link uses the site it is served
from. Never `tag:`, `urn:` or the feed's own XML in a title, a button or the footer.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from newsletter.cli import main
from tests.feedserver import FeedServer, Route

LONG_BODY = "&lt;p&gt;" + " ".join(["Many words about the garden."] * 120) + "&lt;/p&gt;"

ATOM_ENTRY_WITHOUT_LINK = f"""<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom"><title>Research Notes</title>
<link rel="alternate" href="https://notes.example.org/"/>
<link rel="self" href="https://notes.example.org/feed.atom"/>
<id>tag:notes.example.org,2026:feed</id><updated>2026-11-20T10:00:00Z</updated>
<entry><title>On proofs</title><id>tag:notes.example.org,2026:proofs</id>
<updated>2026-11-20T10:00:00Z</updated><content type="html">{LONG_BODY}</content></entry>
</feed>"""

RSS_URN_GUID = f"""<?xml version="1.0" encoding="utf-8"?>
<rss version="2.0"><channel><title>Research Notes</title><link>https://notes.example.org/</link>
<item><title>On proofs</title><guid>urn:uuid:1b4e28ba-2fa1-11d2-883f-0016d3cca427</guid>
<description>{LONG_BODY}</description></item></channel></rss>"""

RSS_NO_LINK_NO_GUID = f"""<?xml version="1.0" encoding="utf-8"?>
<rss version="2.0"><channel><title>Research Notes</title><link>https://notes.example.org/</link>
<item><title>On proofs</title><description>{LONG_BODY}</description></item></channel></rss>"""

FEED_WITHOUT_HOME = """<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom"><title>Research Notes</title>
<id>urn:uuid:60a76c80-d399-11d9-b93c-0003939e0af6</id><updated>2026-11-20T10:00:00Z</updated>
<entry><title>On proofs</title><id>tag:notes.example.org,2026:proofs</id>
<link href="https://notes.example.org/proofs/"/>
<updated>2026-11-20T10:00:00Z</updated><content type="html">&lt;p&gt;Short.&lt;/p&gt;</content>
</entry></feed>"""


def preview(folder: Path, feed: str) -> tuple[str, str]:
    (folder / "newsletter.toml").write_text(
        f'[feed]\nurl = "{feed}"\n[newsletter]\nfrom = "Notes <news@notes.example.org>"\n'
        'mode = "per-post"\n[links]\nutm = {}\n',
        encoding="utf-8",
    )
    assert main(["--config", str(folder / "newsletter.toml"), "-q", "preview", "--out", "p"]) == 0
    html = next((folder / "p").glob("*.html")).read_text(encoding="utf-8")
    text = next((folder / "p").glob("*.txt")).read_text(encoding="utf-8")
    return html, text


def hrefs(html: str) -> set[str]:
    return {link for link in re.findall(r'href="([^"]*)"', html) if not link.startswith("mailto:")}


@pytest.mark.parametrize(
    "xml",
    [ATOM_ENTRY_WITHOUT_LINK, RSS_URN_GUID, RSS_NO_LINK_NO_GUID],
    ids=["atom-tag-id", "rss-urn-guid", "rss-nothing"],
)
def test_a_post_without_a_web_address_links_home_and_has_no_button(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, xml: str
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "feed.xml").write_text(xml, encoding="utf-8")
    html, text = preview(tmp_path, "feed.xml")
    links = hrefs(html)
    assert "https://notes.example.org/" in links
    assert all(link.startswith(("https://", "mailto:")) for link in links), links
    for part in (html, text):
        assert "tag:notes" not in part and "urn:uuid" not in part and "feed.xml" not in part
    assert "Continue reading" not in html and "Continue reading" not in text
    assert 'class="nl-button"' not in html


def test_a_feed_without_a_web_link_uses_the_site_it_is_served_from(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, feed_server: FeedServer
) -> None:
    monkeypatch.chdir(tmp_path)
    feed_server.routes["/feeds/notes.atom"] = Route(
        body=FEED_WITHOUT_HOME.encode(), headers={"Content-Type": "application/atom+xml"}
    )
    feed_url = feed_server.url("/feeds/notes.atom")
    html, text = preview(tmp_path, feed_url)
    site = feed_url.removesuffix("feeds/notes.atom")
    assert site in hrefs(html)
    assert f"({site})" in text
    assert "notes.atom" not in html and "notes.atom" not in text
    assert "https://notes.example.org/proofs/" in hrefs(html)


def test_a_local_feed_without_a_web_link_puts_no_file_link_in_the_email(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "feed.xml").write_text(FEED_WITHOUT_HOME, encoding="utf-8")
    html, text = preview(tmp_path, "feed.xml")
    assert hrefs(html) == {"https://notes.example.org/proofs/"}
    for part in (html, text):
        assert "file:" not in part and "urn:uuid" not in part
    assert "Research Notes" in html
