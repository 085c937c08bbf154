"""Properties of the cut over generated posts (hypothesis).

Words before the break are spelt `keep<n>` and words after it `gone<n>`, so "nothing after
the break reached the excerpt" is a plain substring check.
"""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from newsletter.excerpt import cut
from newsletter.excerpt.tree import inner_html, parse_fragment
from tests.excerpt_helpers import make_post, unbalanced_tags

MARKERS = [
    "<!--more-->",
    "<!-- more -->",
    '<span id="more-42"></span>',
    '<span id="more-7" style="margin:0"></span>',
    '<a name="more"></a>',
    "<span><a name='more'></a></span>",
    "<!-- excerpt -->",
    "<!--break-->",
    '<span id="more"></span>',
    '<span id="continue-reading"></span>',
    '<a class="more-link" href="https://blog.example/2024/06/a-post/#more-42">(more…)</a>',
]
INLINE_TAGS = ["em", "strong", "span", "a", "code", "b"]
BLOCK_TAGS = ["p", "h2", "blockquote", "li", "div", "pre"]


@dataclass(frozen=True)
class Piece:
    kind: str  # "text", an inline tag, "br" or "img"
    words: int


pieces = st.one_of(
    st.builds(Piece, st.just("text"), st.integers(1, 6)),
    st.builds(Piece, st.sampled_from(INLINE_TAGS), st.integers(1, 4)),
    st.builds(Piece, st.sampled_from(["br", "img"]), st.just(0)),
)
blocks = st.tuples(st.sampled_from(BLOCK_TAGS), st.lists(pieces, min_size=1, max_size=5))
documents = st.lists(blocks, min_size=1, max_size=8)


class _Writer:
    """Renders the generated document, with the marker at slot number `marker_at`."""

    def __init__(self, marker: str, marker_at: int) -> None:
        self.marker = marker
        self.marker_at = marker_at
        self.slot = 0
        self.kept = 0
        self.gone = 0
        self.gone_images = 0
        self.passed = False

    def maybe_marker(self) -> str:
        here = self.slot == self.marker_at
        self.slot += 1
        if here:
            self.passed = True
            return self.marker
        return ""

    def words(self, count: int) -> str:
        out = []
        for _ in range(count):
            if self.passed:
                self.gone += 1
                out.append(f"gone{self.gone}")
            else:
                self.kept += 1
                out.append(f"keep{self.kept}")
        return " ".join(out)

    def piece(self, piece: Piece) -> str:
        if piece.kind == "text":
            return self.words(piece.words) + " "
        if piece.kind == "br":
            return "<br>"
        if piece.kind == "img":
            self.gone_images += self.passed
            return '<img src="/pic.jpg" width="800" height="600" alt="">'
        attributes = ' href="https://elsewhere.example/page"' if piece.kind == "a" else ""
        return f"<{piece.kind}{attributes}>{self.words(piece.words)}</{piece.kind}> "

    def document(self, document: list[tuple[str, list[Piece]]]) -> str:
        html = []
        for tag, content in document:
            html.append(self.maybe_marker())
            inner = "".join(self.maybe_marker() + self.piece(piece) for piece in content)
            inner += self.maybe_marker()
            if tag == "li":
                html.append(f"<ul><li>{inner}</li></ul>\n")
            else:
                html.append(f"<{tag}>{inner}</{tag}>\n")
        html.append(self.maybe_marker())
        return "".join(html)


def _render(document: list[tuple[str, list[Piece]]], marker: str, position: int) -> _Writer:
    slots = sum(len(content) + 2 for _, content in document) + 1
    writer = _Writer(marker, position % slots)
    writer.html = writer.document(document)  # type: ignore[attr-defined]
    return writer


@pytest.mark.slow
@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(documents, st.sampled_from(MARKERS), st.integers(0, 10_000))
def test_nothing_after_the_marker_reaches_the_excerpt(
    document: list[tuple[str, list[Piece]]], marker: str, position: int
) -> None:
    writer = _render(document, marker, position)
    assume(writer.kept > 0)
    excerpt = cut(make_post(writer.html), fallback_words=1000)

    assert "gone" not in excerpt.html
    assert "gone" not in excerpt.text
    continues = writer.gone > 0 or writer.gone_images > 0 or "more-link" in marker
    assert excerpt.truncated is continues
    assert unbalanced_tags(excerpt.html) == []
    # Parses and re-serialises unchanged.
    assert inner_html(parse_fragment(excerpt.html)) == excerpt.html
    # Cutting the excerpt again changes nothing.
    again = cut(make_post(excerpt.html), fallback_words=1000)
    assert again.html == excerpt.html
    assert again.text == excerpt.text


@pytest.mark.slow
@settings(max_examples=200, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(documents, st.integers(3, 60))
def test_a_length_cut_is_stable_and_well_formed(
    document: list[tuple[str, list[Piece]]], fallback_words: int
) -> None:
    writer = _render(document, "", 0)
    words = writer.kept + writer.gone
    assume(words > 0)
    excerpt = cut(make_post(writer.html), fallback_words=fallback_words)

    assert unbalanced_tags(excerpt.html) == []
    assert inner_html(parse_fragment(excerpt.html)) == excerpt.html
    again = cut(make_post(excerpt.html), fallback_words=fallback_words)
    assert again.html == excerpt.html
    assert not again.truncated
    if words <= fallback_words:
        assert not excerpt.truncated


HOSTILE = [
    "<script>alert('gone')</script>",
    "<style>p{color:red}</style>",
    '<iframe src="https://evil.example/frame"></iframe>',
    '<form action="https://evil.example/"><input name="q"><button>Go</button></form>',
    '<img src="x.jpg" onerror="alert(1)">',
    '<a href="javascript:alert(1)">click</a>',
    '<p onclick="alert(1)" style="position:fixed">text</p>',
    '<object data="movie.swf"></object>',
    "<svg><script>alert(1)</script></svg>",
]


@pytest.mark.slow
@settings(max_examples=200, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(documents, st.lists(st.sampled_from(HOSTILE), min_size=1, max_size=4), st.integers(0, 50))
def test_hostile_markup_never_reaches_the_email(
    document: list[tuple[str, list[Piece]]], hostile: list[str], where: int
) -> None:
    html = _render(document, "", 0).html  # type: ignore[attr-defined]
    at = where % (len(html) + 1)
    # Insert only between tags, so the hostile markup is not swallowed by an attribute.
    at = html.rfind(">", 0, at) + 1
    excerpt = cut(make_post(html[:at] + "".join(hostile) + html[at:]), fallback_words=1000)

    lowered = excerpt.html.lower()
    for forbidden in (
        "<script",
        "<style",
        "<iframe",
        "<form",
        "<input",
        "<button",
        "<object",
        "<svg",
        "javascript:",
        "onerror",
        "onclick",
        "position:fixed",
        "alert(",
    ):
        assert forbidden not in lowered
    assert unbalanced_tags(excerpt.html) == []


TAG_SOUP = st.lists(
    st.sampled_from(
        [
            *"<>/&;#\"'= abc.…[]",
            "\x00",
            "\x0b",
            "\xa0",
            "<p>",
            "</p>",
            "<!--",
            "-->",
            "<br>",
            "<a href='",
            "<img src=",
            "<span id='more-1'>",
            "&#8230;",
            "&nbsp;",
            "<script>",
            "<![CDATA[",
            "<?x",
            "<table><tr><td>",
            "<h2>",
            "<li>",
            "<pre>",
            "<!--more-->",
            "<div>",
            "</div>",
            "<b>",
            "<ul>",
        ]
    ),
    max_size=60,
).map("".join)


@pytest.mark.slow
@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(TAG_SOUP, st.integers(1, 50))
def test_any_markup_gives_a_well_formed_excerpt_without_crashing(html: str, words: int) -> None:
    excerpt = cut(make_post(html), fallback_words=words)
    assert unbalanced_tags(excerpt.html) == []
    assert "\x00" not in excerpt.html
