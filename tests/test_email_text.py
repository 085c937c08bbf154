"""The text part of the emails made from each platform's own markup (tests/fixtures/email/):
what a reader of plain-text mail gets from Blogger's linked pictures and line-per-div posts,
Medium, Substack, WordPress's code and Jekyll's code blocks."""

from __future__ import annotations

import re

import lxml.html
import pytest

from newsletter.models import Email
from tests.email_samples import digest_of_every_platform, per_post_emails

EMAILS: dict[str, Email] = {
    **per_post_emails(),
    "digest": digest_of_every_platform(),
    "digest-short": digest_of_every_platform(digest_excerpts="short"),
}
WIDTH = 78
"""The longest line plain-text mail should carry (RFC 5322 section 2.1.1)."""


def code_lines(sent: Email) -> set[str]:
    """The lines of the posts' code blocks, which are never wrapped."""
    lines: set[str] = set()
    for block in lxml.html.fromstring(sent.html).iter("pre"):
        for br in block.iter("br"):
            br.tail = "\n" + (br.tail or "")
        lines.update(line.strip() for line in block.text_content().splitlines())
    return lines


@pytest.mark.parametrize("name", sorted(EMAILS))
def test_lines_are_wrapped_except_addresses_and_code(name: str) -> None:
    sent = EMAILS[name]
    code = code_lines(sent)
    for line in sent.text.splitlines():
        if len(line) > WIDTH:
            assert "https://" in line or line.strip() in code, line


@pytest.mark.parametrize("name", sorted(EMAILS))
def test_an_address_is_never_glued_to_the_next_word(name: str) -> None:
    # Blogger's linked picture used to read "...paparazzi.jpg)Paparazzi".
    assert not re.search(r"https?://\S*\)\w", EMAILS[name].text)


@pytest.mark.parametrize("name", ["blogger-1", "digest"])
def test_blogger_words_links_and_blank_lines_survive(name: str) -> None:
    text = EMAILS[name].text
    # The space Blogger puts just inside a link still separates the words.
    assert "shared in Saturday's Post" in " ".join(text.split())
    # A <div><br></div> blank line is a paragraph break, a plain <div> a line break.
    assert "car park.\n\nBy ten the tide" in text
    assert "every rock pool was busy.\nThe children counted" in text
    # The linked picture has its words and its address, and the caption its own line.
    picture = "https://blogger.googleusercontent.com/img/b/R29vZ2xl/AVvXsEiGull/s1600/paparazzi.jpg"
    assert f"({picture})\nPaparazzi on the sea wall" in text
