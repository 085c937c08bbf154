"""A post's opening for a short-form digest: about sixty words of its prose."""

from __future__ import annotations

from newsletter.excerpt import cut
from newsletter.excerpt.opening import opening
from tests.excerpt_helpers import make_post

SENTENCE = "The tide was out and the pools were full of small crabs and anemones. "


def test_the_opening_is_about_sixty_words_of_prose() -> None:
    body = (
        f"<p>{SENTENCE * 2}</p>"
        '<figure><img src="https://x.example/a.jpg" width="800"><figcaption>Crab</figcaption>'
        "</figure><h2>Later</h2><pre>code = 1</pre>"
        "<table><tr><td>cell</td></tr></table>"
        f"<p>{SENTENCE * 3}</p><p>{SENTENCE * 3}</p>"
    )
    post = make_post(body)
    short = opening(post, cut(post, fallback_words=1000))
    assert 40 <= len(short.text.split()) <= 90
    for left_out in ("<img", "<figure", "<h2", "<pre", "<table", "Crab", "code = 1", "cell"):
        assert left_out not in short.html
    assert short.truncated and short.image is None


def test_a_long_first_paragraph_is_cut_at_a_sentence() -> None:
    post = make_post(f"<p>{SENTENCE * 12}</p>")
    short = opening(post, cut(post, fallback_words=1000))
    assert short.text.endswith("anemones.")
    assert len(short.text.split()) <= 75 and short.truncated


def test_a_post_that_is_already_short_is_shown_whole() -> None:
    post = make_post("<p>Just a note: the beach is closed on Sunday.</p>")
    whole = cut(post)
    short = opening(post, whole)
    assert short.html == whole.html and not short.truncated


def test_an_excerpt_that_goes_on_past_its_break_still_goes_on() -> None:
    post = make_post("<p>A short teaser.</p><!--more--><p>The rest.</p>")
    assert opening(post, cut(post)).truncated


def test_a_link_that_held_only_a_picture_goes_with_it() -> None:
    # An empty link is still a stop for keyboard and screen-reader users, with no name.
    post = make_post(
        '<p><a href="https://x.example/big.jpg"><img src="https://x.example/s.jpg"></a></p>'
        f'<p><a href="https://x.example/b.jpg"><img src="https://x.example/b.jpg"></a>{SENTENCE}</p>'
    )
    short = opening(post, cut(post))
    assert "<a" not in short.html and short.html.startswith("<p>The tide")
