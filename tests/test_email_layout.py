"""Emails made from each platform's own markup (tests/fixtures/email/), in headless Chromium.

What a subscriber sees: nothing wider than a phone even when the client drops <style> and
blocks images; pictures at their natural size and never enlarged; icons and badges on their
line; tables that never split a word; code that looks like code; the post's headings below
its title, in a post and in a digest; Blogger's blank lines kept. A failing check writes
screenshots at 375 and 600 px, light and dark, next to the test's temporary files and names
them in the message (and a test makes sure it does).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from newsletter.models import Email
from tests.email_browser import (
    CHROMIUM,
    CHROMIUM_MISSING,
    CLIPPED,
    DESKTOP,
    OVERFLOWING,
    PHONE,
    launch,
    open_email,
    screenshots_on_failure,
    without_styles,
)
from tests.email_samples import every_test_email, natural_size

pytestmark = [pytest.mark.browser, pytest.mark.skipif(CHROMIUM is None, reason=CHROMIUM_MISSING)]
playwright_api = pytest.importorskip(
    "playwright.sync_api", reason="needs Playwright for Python: pip install -e '.[test]'"
)

EMAILS: dict[str, Email] = every_test_email()
COLUMN = {PHONE: PHONE - 48, DESKTOP: DESKTOP - 48}
"""The text column: the body (600 px at most) minus 24 px padding on each side."""


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with playwright_api.sync_playwright() as playwright:
        launched = launch(playwright)
        yield launched
        launched.close()


@pytest.mark.parametrize("styles", [True, False], ids=["with-style", "style-removed"])
@pytest.mark.parametrize("images", [True, False], ids=["images", "images-blocked"])
@pytest.mark.parametrize("name", sorted(EMAILS))
def test_nothing_is_wider_than_a_phone_or_cut_off(
    browser: Any, tmp_path: Path, name: str, styles: bool, images: bool
) -> None:
    sent = EMAILS[name]
    html = sent.html if styles else without_styles(sent.html)
    page = open_email(browser, html, width=PHONE, images=images)
    with screenshots_on_failure(browser, sent, tmp_path, name):
        assert page.evaluate("document.documentElement.scrollWidth") <= PHONE
        assert page.evaluate(OVERFLOWING, PHONE) == []
        assert page.evaluate(CLIPPED, PHONE) == []
    page.close()


# Each picture's natural and shown width, and the width of the text column it sits in.
PICTURES = """() => Array.from(document.images).map(i => {
  const cell = i.closest('td.nl-text'), s = getComputedStyle(cell);
  const column = cell.clientWidth - parseFloat(s.paddingLeft) - parseFloat(s.paddingRight);
  return {src: i.src, natural: i.naturalWidth, shown: i.getBoundingClientRect().width, column};
})"""


@pytest.mark.parametrize("styles", [True, False], ids=["with-style", "style-removed"])
@pytest.mark.parametrize("width", [PHONE, DESKTOP])
def test_pictures_show_at_their_own_size_up_to_the_column(
    browser: Any, tmp_path: Path, width: int, styles: bool
) -> None:
    sent = EMAILS["digest"]
    page = open_email(browser, sent.html if styles else without_styles(sent.html), width=width)
    pictures = page.evaluate(PICTURES)
    with screenshots_on_failure(browser, sent, tmp_path, f"pictures-{width}"):
        assert len(pictures) >= 12
        for picture in pictures:
            natural = natural_size(picture["src"])[0]
            assert picture["natural"] == natural, picture["src"]
            assert picture["column"] <= COLUMN[width]
            expected = min(natural, picture["column"])
            # Never enlarged (a 40 px icon, a 333 px Medium picture), never needlessly shrunk.
            assert picture["shown"] == pytest.approx(expected, abs=1), picture["src"]
    page.close()


def boxes(page: Any, fragment: str) -> list[dict[str, float]]:
    return page.evaluate(
        """(fragment) => Array.from(document.images).filter(i => i.src.includes(fragment))
          .map(i => { const r = i.getBoundingClientRect();
                      return {top: r.top, bottom: r.bottom, left: r.left, right: r.right}; })""",
        fragment,
    )


@pytest.mark.parametrize("styles", [True, False], ids=["with-style", "style-removed"])
def test_icons_and_badges_stay_on_their_line(browser: Any, tmp_path: Path, styles: bool) -> None:
    sent = EMAILS["digest"]
    page = open_email(browser, sent.html if styles else without_styles(sent.html), width=DESKTOP)
    with screenshots_on_failure(browser, sent, tmp_path, "icons"):
        badges = boxes(page, "img.shields.io")
        assert len(badges) == 3
        assert len({round(badge["top"]) for badge in badges}) == 1  # a row, not a stack
        assert badges[0]["right"] < badges[1]["left"] < badges[1]["right"] < badges[2]["left"]
        (feed_icon,) = boxes(page, "feed-icon.png")
        follow = page.get_by_text("Follow along with the feed").bounding_box()
        assert follow is not None
        # The icon sits on the sentence's first line, to the left of its words.
        assert feed_icon["top"] < follow["y"] + 20 < feed_icon["bottom"] + 20
        social = boxes(page, "mastodon.png") + boxes(page, "code.png")
        assert len({round(icon["top"]) for icon in social}) == 1
    page.close()


SPLIT_WORDS = """() => {
  const split = [];
  for (const cell of document.querySelectorAll('td td, td th')) {
    if (!cell.closest('table[style*="border-collapse:collapse"]')) continue;
    const walker = document.createTreeWalker(cell, NodeFilter.SHOW_TEXT);
    while (walker.nextNode()) {
      const node = walker.currentNode;
      for (const match of node.textContent.matchAll(/[^\\s-]+/g)) {
        const range = document.createRange();
        range.setStart(node, match.index);
        range.setEnd(node, match.index + match[0].length);
        const lines = new Set(Array.from(range.getClientRects()).map(r => Math.round(r.top)));
        if (lines.size > 1) split.push(match[0]);
      }
    }
  }
  return split;
}"""


@pytest.mark.parametrize("styles", [True, False], ids=["with-style", "style-removed"])
@pytest.mark.parametrize("width", [PHONE, DESKTOP])
def test_tables_never_split_a_word_and_pad_their_cells(
    browser: Any, tmp_path: Path, width: int, styles: bool
) -> None:
    sent = EMAILS["digest"]
    page = open_email(browser, sent.html if styles else without_styles(sent.html), width=width)
    with screenshots_on_failure(browser, sent, tmp_path, f"tables-{width}"):
        cells = page.locator("table[style*='border-collapse:collapse'] td")
        assert cells.count() >= 12  # the WordPress and Jekyll tables
        assert page.evaluate(SPLIT_WORDS) == []
        padding = cells.first.evaluate("e => parseFloat(getComputedStyle(e).paddingLeft)")
        assert padding >= 6
    page.close()


CODE = """() => {
  const pre = document.querySelector('pre');
  const inline = Array.from(document.querySelectorAll('p code'))
    .find(c => c.textContent.startsWith('systemctl'));
  const prose = inline.closest('p');
  const s = e => getComputedStyle(e);
  return {
    preBackground: s(pre).backgroundColor, prePadding: parseFloat(s(pre).paddingLeft),
    preFont: s(pre).fontFamily, preWrap: s(pre).whiteSpace,
    inlineFont: s(inline).fontFamily, inlineSize: parseFloat(s(inline).fontSize),
    proseSize: parseFloat(s(prose).fontSize),
  };
}"""


@pytest.mark.parametrize("styles", [True, False], ids=["with-style", "style-removed"])
def test_code_looks_like_code(browser: Any, tmp_path: Path, styles: bool) -> None:
    sent = EMAILS["digest"]
    page = open_email(browser, sent.html if styles else without_styles(sent.html), width=PHONE)
    with screenshots_on_failure(browser, sent, tmp_path, "code"):
        code = page.evaluate(CODE)
        assert code["preBackground"] not in ("rgba(0, 0, 0, 0)", "transparent")
        assert code["prePadding"] >= 8 and code["preWrap"] == "pre-wrap"
        assert "monospace" in code["preFont"]
        # WordPress's code, marked only by an inline font-family in the post, is still code,
        # and inline code is not larger than the words around it.
        assert "monospace" in code["inlineFont"]
        assert code["inlineSize"] < code["proseSize"]
    page.close()


def test_the_posts_own_headings_are_smaller_than_its_title(browser: Any) -> None:
    page = open_email(browser, EMAILS["jekyll-1"].html, width=PHONE)
    sizes = page.evaluate(
        """() => ['h1', 'h2', 'h3'].map(tag => Array.from(document.querySelectorAll(tag))
             .map(h => [h.textContent.trim(), parseFloat(getComputedStyle(h).fontSize)]))"""
    )
    page.close()
    (title,), (installing,), (options,) = sizes
    assert title[0].startswith("tally 1.4") and installing[0] == "Installing"
    assert title[1] > installing[1] > options[1] >= 17


HEADING_SIZES = """() => {
  const size = h => parseFloat(getComputedStyle(h).fontSize);
  const titles = Array.from(document.querySelectorAll('h2[id^="post-"]')).map(size);
  const own = Array.from(document.querySelectorAll('h3, h4, h5, h6'))
    .map(h => [h.tagName, h.textContent.trim(), size(h)]);
  return {titles, own};
}"""


@pytest.mark.parametrize("styles", [True, False], ids=["with-style", "style-removed"])
def test_in_a_digest_every_posts_own_headings_are_smaller_than_the_titles(
    browser: Any, styles: bool
) -> None:
    sent = EMAILS["digest"]
    page = open_email(browser, sent.html if styles else without_styles(sent.html), width=PHONE)
    sizes = page.evaluate(HEADING_SIZES)
    page.close()
    assert len(sizes["titles"]) == 6  # one per post of every platform
    # Medium's h3/h4 and Jekyll's h2/h3 come out as h3/h4, below the 22-24 px titles.
    assert len(sizes["own"]) >= 4
    smallest_title = min(sizes["titles"])
    for tag, words, size in sizes["own"]:
        assert 17 <= size < smallest_title, (tag, words, size)
    by_level = {tag: size for tag, _, size in sizes["own"]}
    assert by_level["H3"] > by_level["H4"]


def _fail_a_check(browser: Any, sent: Email, folder: Path) -> None:
    with screenshots_on_failure(browser, sent, folder, "demo"):
        raise AssertionError("the column is 700 px wide")


def test_a_failing_check_leaves_screenshots_light_and_dark_at_both_widths(
    browser: Any, tmp_path: Path
) -> None:
    with pytest.raises(AssertionError) as failure:
        _fail_a_check(browser, EMAILS["blogger-1"], tmp_path)
    message = str(failure.value)
    assert message.startswith("the column is 700 px wide\nScreenshots: ")
    shots = {}
    for width in (PHONE, DESKTOP):
        for scheme in ("light", "dark"):
            path = tmp_path / f"demo-{width}-{scheme}.png"
            assert str(path) in message
            data = path.read_bytes()
            assert data.startswith(b"\x89PNG\r\n\x1a\n")
            assert int.from_bytes(data[16:20], "big") == width  # IHDR: the picture's width
            shots[width, scheme] = data
    # Dark mode is a different picture, not the light one twice.
    assert shots[PHONE, "light"] != shots[PHONE, "dark"]


def test_blogger_blank_lines_still_separate_paragraphs(browser: Any) -> None:
    page = open_email(browser, without_styles(EMAILS["blogger-1"].html), width=PHONE)
    gaps = page.evaluate(
        """() => {
          const at = text => Array.from(document.querySelectorAll('p'))
            .find(p => p.textContent.includes(text)).getBoundingClientRect();
          const first = at('We drove out'), second = at('By ten the tide');
          return [first.bottom, second.top];
        }"""
    )
    page.close()
    bottom, top = gaps
    assert top - bottom >= 12  # a paragraph's gap, not the next line


def test_every_cut_post_has_a_button_named_for_it(browser: Any) -> None:
    page = open_email(browser, EMAILS["digest"].html, width=PHONE)
    names = page.get_by_role("link", name="Continue reading:").evaluate_all(
        "links => links.map(a => a.getAttribute('aria-label'))"
    )
    page.close()
    assert names == [
        "Continue reading: A windy Saturday at the coast",
        "Continue reading: Moving the status page",
        "Continue reading: tally 1.4: counting birds from the command line",
    ]
