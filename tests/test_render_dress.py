"""The excerpt dressed for mail clients: inline safeguards that survive a client dropping
<style>, headings under the post's title, names for picture links."""

from __future__ import annotations

import re

import pytest

from newsletter.render.dress import dress
from tests.test_render import render_one, sample_item


def body_of(excerpt_html: str, mode: str = "digest", title: str = "Garden notes") -> str:
    sent = render_one([sample_item(1, title=title, excerpt_html=excerpt_html)], mode=mode)
    return sent.html.split("<body", 1)[1]


def test_headings_go_below_a_per_post_title_and_keep_their_order() -> None:
    dressed = dress("<h1>A</h1><p>x</p><h3>B</h3><h4>C</h4><h3>D</h3>", title_level=1, title="T")
    tags = re.findall(r"<(h\d) style=\"[^\"]*font-size:(\d+)px", dressed)
    assert tags == [("h2", "20"), ("h3", "18"), ("h4", "17"), ("h3", "18")]


def test_headings_in_a_digest_go_below_its_h2_titles() -> None:
    html = body_of("<p>Intro.</p><h2>Section</h2><p>Text.</p><h3>Part</h3><p>More.</p>")
    assert re.search(r"<h3 style=\"[^\"]*font-size:20px[^\"]*\">Section</h3>", html)
    assert re.search(r"<h4 style=\"[^\"]*font-size:18px[^\"]*\">Part</h4>", html)
    # The post's own title stays the largest heading of the post.
    assert re.search(r"<h2 [^>]*style=\"[^\"]*font-size:24px", html)


def test_code_wraps_and_keeps_a_monospace_font_without_a_style_sheet() -> None:
    html = body_of(
        "<p>Call <code>tally()</code> first.</p>"
        "<pre><code>a_very_long_line = compute(with_arguments, that_never_end)</code></pre>"
    )
    pre = re.search(r"<pre style=\"([^\"]*)\">(.*?)</pre>", html, re.S)
    assert pre is not None
    assert "white-space:pre-wrap" in pre.group(1) and "overflow-wrap:anywhere" in pre.group(1)
    assert "monospace" in pre.group(1) and "background-color" in pre.group(1)
    assert "<code" not in pre.group(2)  # the <pre> sets the font once
    inline = re.search(r"<code style=\"([^\"]*)\">tally\(\)</code>", html)
    assert inline is not None
    # A named font first (a bare `monospace` shrinks it) and smaller than the 17 px text.
    assert inline.group(1).startswith("font-family:Menlo") and "font-size:15px" in inline.group(1)


def test_tables_never_break_words_and_have_real_cell_padding() -> None:
    html = body_of(
        "<table><tr><th>Service</th><th>Change</th></tr>"
        "<tr><td>Authentication</td><td>Moved</td></tr></table>"
    )
    table = re.search(r"<table style=\"([^\"]*)\"><tr><th", html)
    assert table is not None
    assert "word-break:normal" in table.group(1) and "table-layout:auto" in table.group(1)
    assert re.search(r"<th style=\"padding:6px 8px;[^\"]*\">Service</th>", html)
    assert re.search(r"<td style=\"padding:6px 8px;[^\"]*\">Authentication</td>", html)


def test_figures_and_quotes_lose_the_browsers_40_px_indent() -> None:
    html = body_of("<figure><p>x</p></figure><blockquote><p>Quoted.</p></blockquote>")
    assert '<figure style="margin:0 0 16px;">' in html
    assert re.search(r'<blockquote style="margin:16px 0;', html)


@pytest.mark.parametrize(
    ("link", "alt"),
    [
        # Blogger: every picture links to its full-size file, with alt="".
        ('<a href="https://x.example/big.jpg"><img src="https://x.example/s.jpg" alt=""></a>', "T"),
        # The author's own alt text stays.
        ('<a href="https://x.example/"><img src="https://x.example/s.jpg" alt="Crab"></a>', "Crab"),
        # A link with words is named by them; its picture is decoration.
        ('<a href="https://x.example/"><img src="https://x.example/s.jpg" alt=""> More</a>', ""),
    ],
)
def test_a_link_that_is_only_a_picture_gets_a_name(link: str, alt: str) -> None:
    dressed = dress(f"<p>{link}</p>", title_level=2, title="T")
    assert f'alt="{alt}"' in dressed


EXCERPT_STYLE = "display:block;width:auto;max-width:100%;height:auto"
EXACT_STYLE = "display:block;width:100%;max-width:150px;height:auto"


@pytest.mark.parametrize(
    ("attributes", "style"),
    [
        # As the excerpt writes them: left alone.
        (f'width="552" style="{EXCERPT_STYLE}"', EXCERPT_STYLE),
        (f'width="150" style="{EXACT_STYLE}"', EXACT_STYLE),
        # A fixed width attribute and no CSS width: the blocked picture's box may shrink.
        (
            'width="552" style="display:block;max-width:100%;height:auto"',
            "display:block;max-width:100%;height:auto;width:auto",
        ),
        ('width="552"', "width:auto;max-width:100%;height:auto"),
        ("", "max-width:100%;height:auto"),
        # An emoji's own height is kept.
        ('style="height:1em;max-height:1em;"', "height:1em;max-height:1em;max-width:100%"),
    ],
)
def test_every_picture_is_kept_inside_the_column(attributes: str, style: str) -> None:
    dressed = dress(f'<p><img src="a.jpg" alt="A" {attributes}></p>', title_level=1, title="T")
    found = re.search(r'<img [^>]*style="([^"]*)"', dressed)
    assert found is not None and found.group(1) == style
