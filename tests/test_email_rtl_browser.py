"""A right-to-left newsletter in headless Chromium: lines start at the right edge, the button
and the footer are mirrored, an English post inside keeps reading left to right, and nothing
overflows a phone's width (issue 16)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from newsletter.models import Email
from newsletter.screenshot import CHROMIUM_ARGS
from tests.test_email_browser import CHROMIUM, OVERFLOWING, PHONE, open_email, playwright_api
from tests.test_render import render_one, sample_item

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(
        CHROMIUM is None,
        reason="needs Chromium: `apt-get install chromium` (.ci/run installs it on CI)",
    ),
]

ARABIC_BODY = (
    "<p>بدأ الربيع في الحديقة، وظهرت أول أوراق الطماطم بعد أسبوع من المطر.</p>"
    "<blockquote><p>ازرع ما تأكل، وكل ما تزرع.</p></blockquote>"
    "<p>في هذه التدوينة أشرح كيف جهّزنا الأحواض قبل الشتل.</p>"
)
ENGLISH_BODY = "<p>Some posts on this blog are in English, and they should read left to right.</p>"

# Where an element's first line of text sits, and how it is laid out; `box` is the column
# the text lives in (the mj-text's own div, inside its padding).
LAYOUT = """(element) => {
  const range = document.createRange();
  range.selectNodeContents(element);
  // The first line: every box of text on the same line as the first one.
  const boxes = Array.from(range.getClientRects()).filter(r => r.width > 0);
  const top = Math.min(...boxes.map(r => r.top));
  const first = boxes.filter(r => Math.abs(r.top - top) < 4);
  const line = {
    left: Math.min(...first.map(r => r.left)), right: Math.max(...first.map(r => r.right)),
  };
  let box = element.parentElement;
  while (box && !(box.parentElement && box.parentElement.tagName === 'TD')) {
    box = box.parentElement;
  }
  const column = box.getBoundingClientRect();
  const own = element.getBoundingClientRect();
  const style = getComputedStyle(element);
  return {
    direction: style.direction,
    lineLeft: line.left, lineRight: line.right,
    left: own.left, right: own.right,
    columnLeft: column.left, columnRight: column.right,
    borderLeft: style.borderLeftWidth, borderRight: style.borderRightWidth,
  };
}"""


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with playwright_api.sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=list(CHROMIUM_ARGS))
        yield launched
        launched.close()


def newsletter(language: str) -> Email:
    return render_one(
        [
            sample_item(1, title="ربيع الحديقة", excerpt_html=ARABIC_BODY),
            sample_item(2, title="Spring, in English", excerpt_html=ENGLISH_BODY),
        ],
        language=language,
        postal_address="12 Allotment Lane, Springfield",
    )


@pytest.fixture(scope="module")
def arabic() -> Email:
    return newsletter("ar")


def layout(page: Any, selector: str, post: int = 0) -> dict[str, Any]:
    """The layout of the first `selector` in the `post`-th post (0: the Arabic one)."""
    scope = page.locator("td.nl-text").filter(has=page.locator("a.nl-button")).nth(post)
    found: dict[str, Any] = scope.locator(selector).first.evaluate(LAYOUT)
    return found


@pytest.mark.parametrize("width", [PHONE, 600])
def test_arabic_text_starts_at_the_right_edge(browser: Any, arabic: Email, width: int) -> None:
    page = open_email(browser, arabic, width=width)
    assert page.evaluate("document.documentElement.dir") == "rtl"
    for selector in ("h2", ".nl-meta", "div[dir=auto] p"):
        shown = layout(page, selector)
        assert shown["direction"] == "rtl", selector
        assert shown["lineRight"] == pytest.approx(shown["columnRight"], abs=2), selector
        assert shown["lineLeft"] > shown["columnLeft"] + 20, selector  # not left-aligned
    quote = layout(page, "blockquote")
    assert (quote["borderRight"], quote["borderLeft"]) == ("3px", "0px")
    page.close()


@pytest.mark.parametrize("width", [PHONE, 600])
def test_the_button_sits_at_the_right(browser: Any, arabic: Email, width: int) -> None:
    page = open_email(browser, arabic, width=width)
    button = layout(page, "a.nl-button")
    assert button["right"] == pytest.approx(button["columnRight"], abs=2)
    assert button["left"] > button["columnLeft"] + 40
    assert page.locator("a.nl-button").first.inner_text() == "متابعة القراءة"
    page.close()


def test_the_button_sits_at_the_left_in_a_left_to_right_newsletter(browser: Any) -> None:
    page = open_email(browser, newsletter("de"), width=PHONE)
    button = layout(page, "a.nl-button")
    assert button["left"] == pytest.approx(button["columnLeft"], abs=2)
    assert button["right"] < button["columnRight"] - 40
    page.close()


def test_the_footer_reads_right_to_left(browser: Any, arabic: Email) -> None:
    page = open_email(browser, arabic, width=PHONE)
    footer = page.locator("td.nl-muted p").filter(has_text="تصلك هذه الرسالة")
    shown = footer.evaluate(LAYOUT)
    assert shown["direction"] == "rtl"
    # Centred, so mirrored onto itself: equal room on both sides of the first line.
    room_left = shown["lineLeft"] - shown["columnLeft"]
    room_right = shown["columnRight"] - shown["lineRight"]
    assert room_left == pytest.approx(room_right, abs=2)
    # In right-to-left order the blog's link comes after "you subscribed to", i.e. left of it.
    link = footer.locator("a").bounding_box()
    words = page.evaluate(
        """() => {
          const p = Array.from(document.querySelectorAll('td.nl-muted p'))
            .find(e => e.textContent.includes('تصلك'));
          const range = document.createRange();
          range.setStart(p.firstChild, 0);
          range.setEnd(p.firstChild, 5);
          return range.getBoundingClientRect().left;
        }"""
    )
    assert link is not None and link["x"] < words
    assert page.get_by_role("link", name="إلغاء الاشتراك").is_visible()
    page.close()


@pytest.mark.parametrize("width", [PHONE, 600])
def test_an_english_post_keeps_reading_left_to_right(
    browser: Any, arabic: Email, width: int
) -> None:
    page = open_email(browser, arabic, width=width)
    for selector in ("h2", "div[dir=auto] p"):
        shown = layout(page, selector, post=1)
        assert shown["direction"] == "ltr", selector
        assert shown["lineLeft"] == pytest.approx(shown["columnLeft"], abs=2), selector
    page.close()


@pytest.mark.parametrize("language", ["ar", "he", "fa"])
def test_no_sideways_scroll_on_a_phone(browser: Any, language: str) -> None:
    page = open_email(browser, newsletter(language), width=PHONE)
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE
    assert page.evaluate(OVERFLOWING, PHONE) == []
    page.close()


def test_the_authors_own_words_keep_their_direction(browser: Any, arabic: Email) -> None:
    # "12 Allotment Lane" must not turn into "Allotment Lane, Springfield 12".
    page = open_email(browser, arabic, width=PHONE)
    address = page.locator("td.nl-muted p").filter(has_text="Allotment Lane")
    assert address.evaluate("e => getComputedStyle(e).direction") == "ltr"
    number = address.evaluate(
        """e => { const r = document.createRange(); r.setStart(e.firstChild, 0);
                  r.setEnd(e.firstChild, 2); return r.getBoundingClientRect().left; }"""
    )
    rest = address.evaluate(
        """e => { const r = document.createRange(); r.setStart(e.firstChild, 3);
                  r.setEnd(e.firstChild, 12); return r.getBoundingClientRect().left; }"""
    )
    assert number < rest
    page.close()
