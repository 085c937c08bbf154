"""Blogger-style posts (one <div> per line, <div><br></div> for a blank line) keep the
author's paragraphs instead of collapsing into a wall of lines."""

from __future__ import annotations

from newsletter.excerpt import cut
from tests.excerpt_helpers import make_post

BLOGGER = (
    '<div dir="ltr" style="text-align: left;" trbidi="on">\n'
    "<div>First line.</div>\n<div>Second line.</div>\n<div><br /></div>\n"
    "<div>New paragraph.</div>\n<div>&nbsp;</div>\n"
    '<div class="separator"><a href="https://x.example/big.jpg">'
    '<img src="https://x.example/s320/a.jpg" width="320"></a></div>\n'
    "<div><br></div>\n<div>Last <b>words</b>.</div>\n</div>"
)


def test_blank_line_divs_separate_paragraphs_and_lines_keep_their_breaks() -> None:
    html = cut(make_post(BLOGGER)).html
    assert html.count("<p>") == 4
    assert "<p>First line.<br>Second line.</p>" in html
    assert "<p>New paragraph.</p>" in html
    assert "<p>Last <b>words</b>.</p>" in html
    assert "<div><br>" not in html and "&nbsp;" not in html


def test_the_text_part_has_the_same_paragraphs() -> None:
    text = cut(make_post(BLOGGER)).text
    assert text == "First line.\nSecond line.\n\nNew paragraph.\n\nLast words."


def test_the_jump_break_between_lines_still_cuts_there() -> None:
    body = (
        "<div>Before the break.</div><div><br /></div><a name='more'></a>"
        "<div>After the break.</div><div><br /></div><div>Much later.</div>"
    )
    excerpt = cut(make_post(body))
    assert excerpt.html == "<p>Before the break.</p>"
    assert excerpt.truncated


def test_divs_without_blank_lines_are_left_alone() -> None:
    # Without blank-line divs there is no sign of how the author meant the lines grouped.
    body = "<div>One.</div><div>Two.</div>"
    assert cut(make_post(body)).html == "<div>One.</div>\n<div>Two.</div>"


def test_lists_between_lines_stay_lists() -> None:
    body = "<div>Shopping:</div><ul><li>Bread</li></ul><div><br></div><div>Done.</div>"
    assert cut(make_post(body)).html == "<p>Shopping:</p>\n<ul><li>Bread</li></ul>\n<p>Done.</p>"


def test_a_break_comment_inside_a_blank_line_is_still_the_break() -> None:
    # Found by the property test: the blank-line div went, and the marker with it.
    body = "<p>Kept.</p><div><br><!--more--></div><p>Gone.</p>"
    excerpt = cut(make_post(body))
    assert excerpt.html == "<p>Kept.</p>" and excerpt.truncated


def test_words_after_the_br_make_it_a_line_not_a_blank() -> None:
    body = "<div>One.</div><div><br></div><div><br>Two.</div>"
    assert "Two." in cut(make_post(body)).html
