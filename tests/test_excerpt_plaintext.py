"""The text part: readable paragraphs, lists, quotes, and links that keep their address."""

from __future__ import annotations

import pytest

from newsletter.excerpt.plaintext import to_text


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
    assert to_text(html) == text
