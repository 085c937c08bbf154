"""The text part: readable paragraphs, lists, quotes, and links that keep their address."""

from __future__ import annotations

import pytest

from newsletter.excerpt.plaintext import tree_to_text
from newsletter.excerpt.tree import parse_fragment


def text_of(html: str) -> str:
    return tree_to_text(parse_fragment(html))


@pytest.mark.parametrize(
    ("html", "text"),
    [
        ("<p>One.</p><p>Two.</p>", "One.\n\nTwo."),
        ("<p>  Spaced\n   out   words </p>", "Spaced out words"),
        ("<p>Line<br>break</p>", "Line\nbreak"),
        (
            '<p>See <a href="https://x.example/a">the page</a>.</p>',
            "See the page (https://x.example/a).",
        ),
        ('<p><a href="https://x.example/a">https://x.example/a</a></p>', "https://x.example/a"),
        ('<p><a href="https://www.x.example/a/">x.example/a</a></p>', "https://www.x.example/a/"),
        ('<p>Mail <a href="mailto:me@x.example">me</a></p>', "Mail me (me@x.example)"),
        ('<p><a href="mailto:me@x.example">me@x.example</a></p>', "me@x.example"),
        ("<ul><li>One</li><li>Two</li></ul>", "- One\n- Two"),
        ('<ol start="3"><li>Three</li><li>Four</li></ol>', "3. Three\n4. Four"),
        ("<ul><li><p>Para one</p><p>Para two</p></li></ul>", "- Para one\n  Para two"),
        ("<blockquote><p>Quoted.</p><p>Twice.</p></blockquote>", "> Quoted.\n>\n> Twice."),
        ("<pre>code\n  indented</pre>", "code\n  indented"),
        ("<h2>Title</h2><p>Body</p>", "Title\n\nBody"),
        ("<p>Before</p><hr><p>After</p>", "Before\n\n* * *\n\nAfter"),
        ('<p><img src="https://x.example/a.jpg" alt="A cat"></p>', "[A cat]"),
        ('<p><img src="https://x.example/a.jpg" alt=""></p><p>Text</p>', "Text"),
        ('<p><a href="https://y.example/"><img src="https://x.example/a.jpg" alt=""></a></p>', ""),
        (
            '<p><a href="https://youtu.be/x"><img src="t.jpg" alt="Clip"></a></p>',
            "Clip (https://youtu.be/x)",
        ),
        (
            "<table><tr><th>A</th><th>B</th></tr><tr><td>1</td><td>2</td></tr></table>",
            "A | B\n1 | 2",
        ),
        ("<p>Fish &amp; chips &lt;3</p>", "Fish & chips <3"),
        ("Loose <em>text</em>", "Loose text"),
    ],
)
def test_text_rendering(html: str, text: str) -> None:
    assert text_of(html) == text


@pytest.mark.parametrize(
    ("html", "text"),
    [
        # A linked picture, then words: a space keeps the address off the next word.
        (
            '<p><a href="https://x.example/big.jpg"><img src="s.jpg" alt="Gull"></a>Paparazzi!</p>',
            "Gull (https://x.example/big.jpg) Paparazzi!",
        ),
        ('<p><img src="s.jpg" alt="Gull">Paparazzi</p>', "[Gull] Paparazzi"),
        # Punctuation after a picture stays where it was.
        ('<p><img src="s.jpg" alt="Gull">.</p>', "[Gull]."),
        # The space just inside a link separates the words, as it did in the post.
        (
            '<p>Shared in<a href="https://x.example/p"> Saturday\'s post</a> too.</p>',
            "Shared in Saturday's post (https://x.example/p) too.",
        ),
        ('<p><a href="https://x.example/p">Read </a>this</p>', "Read (https://x.example/p) this"),
        # Lines an editor wrote with <br> inside <pre> are still lines of code.
        ("<pre>one<br>two<br>  three</pre>", "one\ntwo\n  three"),
    ],
)
def test_words_stay_apart_and_code_keeps_its_lines(html: str, text: str) -> None:
    assert text_of(html) == text


def test_prose_is_wrapped_without_breaking_words_or_addresses() -> None:
    address = "https://blog.example.org/2024/06/a-very-long-address-that-goes-on-and-on-forever/"
    sentence = "The tide went out further than anyone on the beach had seen it go in years. "
    html = f'<p>{sentence * 3}See <a href="{address}">the tide table</a> for more.</p>'
    lines = text_of(html).split("\n")
    assert len(lines) > 3
    assert all(len(line) <= 76 for line in lines if address not in line)
    assert any(line.strip("().") == address for line in lines)  # whole, on its own line
    assert " ".join(lines) == " ".join(text_of(html).split())  # only spaces became breaks


def test_lists_and_quotes_wrap_inside_their_indent() -> None:
    long = "word " * 40
    text = text_of(f"<ul><li>{long}</li></ul><blockquote><p>{long}</p></blockquote>")
    for line in filter(None, text.split("\n")):
        assert len(line) <= 76, line
        assert line.startswith(("- ", "  ", ">")), line


def test_code_and_tables_are_never_wrapped() -> None:
    code = "x = compute(" + ", ".join(f"arg{n}" for n in range(30)) + ")"
    assert text_of(f"<pre>{code}</pre>") == code
    cells = "".join(f"<td>cell number {n}</td>" for n in range(8))
    assert "\n" not in text_of(f"<table><tr>{cells}</tr></table>")
