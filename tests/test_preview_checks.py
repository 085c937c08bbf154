"""`newsletter preview` points out what the author can fix on the blog itself."""

from __future__ import annotations

from newsletter.preview_checks import author_notes
from tests.excerpt_helpers import make_post


def test_pictures_without_alt_text_are_counted_per_post() -> None:
    body = (
        '<p><img src="https://x.example/a.jpg"> <img src="https://x.example/b.jpg" alt=" ">'
        '<img src="https://x.example/c.jpg" alt="A crab"></p>'
        # Not pictures a reader sees: a tracking pixel and WordPress's emoji image.
        '<img src="https://x.example/p.gif" width="1" height="1">'
        '<img class="wp-smiley" src="https://s.w.org/images/core/emoji/15.0.3/72x72/1f600.png">'
    )
    notes = author_notes([make_post(body, title="Crabs")])
    assert notes == [
        "'Crabs': 2 pictures have no alt text, so screen readers skip them; describe each one "
        "in your blog's editor."
    ]


def test_one_picture_is_one_picture() -> None:
    (note,) = author_notes([make_post('<p><img src="https://x.example/a.jpg"></p>')])
    assert "1 picture has no alt text" in note


def test_a_heading_that_skips_a_level_is_named() -> None:
    body = "<h2>Installing</h2><p>x</p><h4>Options</h4><h2>Later</h2>"
    (note,) = author_notes([make_post(body, title="tally")])
    assert note == (
        "'tally': the heading 'Options' (h4) comes right after an h2, skipping a level; make "
        "it an h3 so the post's outline reads in order."
    )


def test_a_tidy_post_gets_no_notes() -> None:
    body = (
        '<h2>One</h2><h3>Two</h3><h2>Three</h2><p><img src="https://x.example/a.jpg" alt="A"></p>'
    )
    assert author_notes([make_post(body)]) == []
