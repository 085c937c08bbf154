"""No break in the post: whole when short, else cut at the paragraph boundary nearest the count."""

from __future__ import annotations

from newsletter.excerpt import cut
from tests.excerpt_helpers import make_post


def words(prefix: str, count: int) -> str:
    return " ".join(f"{prefix}{n}" for n in range(1, count + 1))


def paragraphs(*sizes: int) -> str:
    return "".join(f"<p>{words(chr(ord('a') + i), size)}.</p>" for i, size in enumerate(sizes))


def test_a_short_post_is_kept_whole() -> None:
    body = paragraphs(50, 50, 50)
    excerpt = cut(make_post(body), fallback_words=200)
    assert excerpt.html == body.replace("</p><p>", "</p>\n<p>")
    assert not excerpt.truncated


def test_exactly_fallback_words_is_still_whole() -> None:
    excerpt = cut(make_post(paragraphs(100, 100)), fallback_words=200)
    assert not excerpt.truncated


def test_a_long_post_is_cut_at_the_nearest_paragraph_boundary() -> None:
    # Boundaries at 90, 180, 270 words: 180 is nearest to 200.
    excerpt = cut(make_post(paragraphs(90, 90, 90, 90)), fallback_words=200)
    assert excerpt.html == f"<p>{words('a', 90)}.</p>\n<p>{words('b', 90)}.</p>"
    assert excerpt.truncated


def test_the_nearest_boundary_may_be_past_the_count() -> None:
    # Boundaries at 150 and 210: 210 is nearer to 200.
    excerpt = cut(make_post(paragraphs(150, 60, 200)), fallback_words=200)
    assert excerpt.html.count("<p>") == 2
    assert excerpt.truncated


def test_a_boundary_near_the_end_keeps_the_whole_post() -> None:
    # 230 words in all: the end of the post is the nearest boundary.
    excerpt = cut(make_post(paragraphs(150, 80)), fallback_words=200)
    assert excerpt.html.count("<p>") == 2
    assert not excerpt.truncated


def test_list_items_and_headings_are_boundaries() -> None:
    body = f"<h2>{words('h', 5)}</h2><ul><li>{words('a', 100)}</li><li>{words('b', 100)}</li></ul>"
    excerpt = cut(make_post(body + f"<p>{words('c', 300)}</p>"), fallback_words=100)
    assert excerpt.html == f"<h2>{words('h', 5)}</h2>\n<ul><li>{words('a', 100)}</li></ul>"


def test_one_long_paragraph_is_cut_at_a_sentence_end() -> None:
    body = f"<p>{words('a', 150)}. {words('b', 40)}. {words('c', 400)}.</p>"
    excerpt = cut(make_post(body), fallback_words=200)
    assert excerpt.html == f"<p>{words('a', 150)}. {words('b', 40)}.</p>"
    assert excerpt.truncated


def test_one_long_sentence_is_cut_after_a_word_with_an_ellipsis() -> None:
    excerpt = cut(make_post(f"<p>{words('a', 500)}</p>"), fallback_words=200)
    assert excerpt.html == f"<p>{words('a', 200)}…</p>"
    assert " ".join(excerpt.text.split()) == f"{words('a', 200)}…"
    assert excerpt.truncated


def test_double_line_breaks_separate_paragraphs() -> None:
    body = f"<div>{words('a', 90)}<br><br>{words('b', 90)}<br><br>{words('c', 300)}</div>"
    excerpt = cut(make_post(body), fallback_words=200)
    assert excerpt.html == f"<div>{words('a', 90)}<br><br>{words('b', 90)}</div>"


def test_summary_only_feed_keeps_its_teaser_and_says_it_goes_on() -> None:
    excerpt = cut(make_post("<p>A short teaser.</p>", content_is_full=False))
    assert excerpt.html == "<p>A short teaser.</p>"
    assert excerpt.truncated


def test_empty_post_sends_readers_to_the_blog() -> None:
    excerpt = cut(make_post("", summary_html=None))
    assert excerpt.html == ""
    assert excerpt.text == ""
    assert excerpt.truncated


def test_empty_body_falls_back_to_the_teaser() -> None:
    excerpt = cut(make_post("  ", summary_html="<p>The teaser.</p>"))
    assert excerpt.html == "<p>The teaser.</p>"
