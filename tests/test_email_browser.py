"""The rendered email in a real headless Chromium: phone width, images, button, dark mode,
contrast and escaping, as a reader would see them."""

from __future__ import annotations

import re
import struct
import zlib
from collections.abc import Iterator
from typing import Any

import pytest

from newsletter.models import Email
from newsletter.screenshot import CHROMIUM_ARGS, find_chromium
from tests.test_render import render_one, sample_item

CHROMIUM = find_chromium()
pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(
        CHROMIUM is None,
        reason="needs Chromium: `apt-get install chromium` (.ci/run installs it on CI)",
    ),
]
playwright_api = pytest.importorskip(
    "playwright.sync_api", reason="needs Playwright for Python: pip install -e '.[test]'"
)

PHONE, DESKTOP = 375, 600


def png(width: int, height: int) -> bytes:
    """A small gradient PNG, so image requests succeed without a network."""
    row = bytes(b for x in range(width) for b in (40 + x * 180 // width, 90, 160))
    raw = b"".join(b"\x00" + row for _ in range(height))

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data))
            + kind
            + data
            + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
        )

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(raw))
        + chunk(b"IEND", b"")
    )


PICTURE = png(1104, 620)


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with playwright_api.sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=list(CHROMIUM_ARGS))
        yield launched
        launched.close()


def open_email(
    browser: Any, sent: Email, *, width: int, scheme: str = "light", images: bool = True
) -> Any:
    page = browser.new_page(viewport={"width": width, "height": 900}, color_scheme=scheme)

    def serve(route: Any) -> None:
        if images and route.request.resource_type == "image":
            route.fulfill(status=200, content_type="image/png", body=PICTURE)
        else:
            route.abort()

    page.route(re.compile(r"^https?://"), serve)
    page.set_content(sent.html, wait_until="load")
    return page


OVERFLOWING = """(width) => Array.from(document.querySelectorAll('body *'))
  .filter(e => {
    const r = e.getBoundingClientRect();
    return r.width > 0 && r.right > width + 0.5;
  })
  .map(e => e.tagName + ' ' + e.className + ' ' + Math.round(e.getBoundingClientRect().right))"""

# Every element that shows text of its own: its colour and the first opaque background
# behind it, walking up the tree.
TEXT_COLOURS = """() => {
  const opaque = c => c && c !== 'transparent' && !/rgba\\(.*,\\s*0\\)$/.test(c);
  const out = [];
  for (const e of document.querySelectorAll('body *')) {
    const own = Array.from(e.childNodes).some(n => n.nodeType === 3 && n.textContent.trim());
    const r = e.getBoundingClientRect();
    if (!own || r.width === 0 || r.height === 0) continue;
    let b = e, bg = null;
    while (b && !bg) {
      const c = getComputedStyle(b).backgroundColor;
      if (opaque(c)) bg = c;
      b = b.parentElement;
    }
    const text = e.textContent.trim().slice(0, 40);
    out.push([text, getComputedStyle(e).color, bg || 'rgb(255, 255, 255)']);
  }
  return out;
}"""


def luminance(colour: str) -> float:
    channels = [int(v) / 255 for v in re.findall(r"\d+", colour)[:3]]
    linear = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def contrast(one: str, other: str) -> float:
    light, dark = sorted((luminance(one), luminance(other)), reverse=True)
    return (light + 0.05) / (dark + 0.05)


@pytest.fixture(scope="module")
def digest() -> Email:
    items = [sample_item(n) for n in range(1, 4)]
    items.append(
        sample_item(
            4,
            excerpt_html=(
                "<p>A very long link: https://blog.example.org/a/really/long/path/without/any/spaces/"
                "that/keeps/going/and/going/forever</p>"
                '<figure><img src="https://cdn.example.net/f.jpg" alt="" width="552" '
                'style="display:block;max-width:100%;height:auto">'
                "<figcaption>A caption</figcaption></figure>"
                "<pre>def a_long_line_of_code(with_arguments, that_never_end, at_all): pass</pre>"
                "<blockquote><p>Quoted words.</p></blockquote>"
            ),
        )
    )
    return render_one(items, postal_address="12 Allotment Lane, Springfield")


@pytest.mark.parametrize("images", [True, False], ids=["images-loaded", "images-blocked"])
def test_no_sideways_scroll_on_a_phone(browser: Any, digest: Email, images: bool) -> None:
    page = open_email(browser, digest, width=PHONE, images=images)
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE
    assert page.evaluate(OVERFLOWING, PHONE) == []
    page.close()


def test_desktop_column_is_600_px(browser: Any, digest: Email) -> None:
    page = open_email(browser, digest, width=900)
    card = page.locator(".nl-card").first.bounding_box()
    assert card is not None and card["width"] == pytest.approx(600, abs=1)
    assert page.evaluate(OVERFLOWING, 900) == []
    page.close()


@pytest.mark.parametrize("width", [PHONE, DESKTOP])
def test_every_image_loads_inside_the_viewport(browser: Any, digest: Email, width: int) -> None:
    page = open_email(browser, digest, width=width)
    boxes = page.evaluate("""() => Array.from(document.images).map(i => {
        const r = i.getBoundingClientRect();
        return [i.src, i.naturalWidth, r.left, r.right, r.width]; })""")
    assert len(boxes) >= 7  # three pictures, three inline images, one figure
    for src, natural, left, right, shown in boxes:
        assert natural > 0, src
        assert left >= 0 and right <= width and shown > 0, (src, left, right)
    page.close()


@pytest.mark.parametrize("width", [PHONE, DESKTOP])
def test_the_button_is_visible_and_easy_to_tap(browser: Any, digest: Email, width: int) -> None:
    page = open_email(browser, digest, width=width)
    buttons = page.get_by_role("link", name="Continue reading")
    assert buttons.count() == 4
    first = buttons.first
    assert first.is_visible()
    box = first.bounding_box()
    assert box is not None and box["height"] >= 44 and box["x"] >= 0
    assert box["x"] + box["width"] <= width
    colour, background = first.evaluate(
        "e => [getComputedStyle(e).color, getComputedStyle(e).backgroundColor]"
    )
    assert contrast(colour, background) >= 4.5
    page.close()


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_all_text_contrasts_at_least_4_5(browser: Any, digest: Email, scheme: str) -> None:
    page = open_email(browser, digest, width=PHONE, scheme=scheme)
    texts = page.evaluate(TEXT_COLOURS)
    assert len(texts) > 20
    poor = [
        (text, fg, bg, round(contrast(fg, bg), 2))
        for text, fg, bg in texts
        if contrast(fg, bg) < 4.5
    ]
    assert poor == []
    page.close()


def test_dark_mode_changes_the_colours(browser: Any, digest: Email) -> None:
    probe = """() => {
      const card = document.querySelector('.nl-card');
      const text = document.querySelector('td.nl-text div p');
      const body = document.querySelector('.nl-body');
      return [getComputedStyle(card).backgroundColor, getComputedStyle(text).color,
              getComputedStyle(body).backgroundColor];
    }"""
    light_page = open_email(browser, digest, width=PHONE, scheme="light")
    light = light_page.evaluate(probe)
    dark_page = open_email(browser, digest, width=PHONE, scheme="dark")
    dark = dark_page.evaluate(probe)
    assert light[0] != dark[0] and light[1] != dark[1] and light[2] != dark[2]
    assert luminance(dark[0]) < 0.05 < luminance(dark[1])  # a dark card, light text
    assert contrast(dark[1], dark[0]) >= 4.5
    light_page.close()
    dark_page.close()


def test_markup_and_template_syntax_in_titles_show_as_text(browser: Any) -> None:
    title = "Beware <script>document.title='owned'</script> and {{ subscriber.email }}"
    sent = render_one([sample_item(1, title=title)])
    page = open_email(browser, sent, width=DESKTOP)
    assert page.evaluate("document.scripts.length") == 0
    heading = page.locator("h2").first.inner_text()
    assert heading == title
    assert page.title() == title
    page.close()


def test_headings_and_language_for_screen_readers(browser: Any, digest: Email) -> None:
    page = open_email(browser, digest, width=PHONE)
    assert page.evaluate("document.documentElement.lang") == "en"
    assert page.get_by_role("heading", level=1).inner_text() == "Garden Notes"
    headings = page.get_by_role("heading", level=2).all_text_contents()
    assert headings == ["In this issue"] + [f"Garden notes, week {n}" for n in range(1, 5)]
    missing_alt = page.evaluate(
        "Array.from(document.images).filter(i => !i.hasAttribute('alt')).length"
    )
    assert missing_alt == 0
    page.close()


def test_the_masthead_keeps_the_text_colour_in_dark_mode(browser: Any, digest: Email) -> None:
    # The per-post masthead is a <p>, not a heading; it used to turn link-blue in dark mode.
    colours = []
    for sent in (digest, render_one([sample_item(1)], mode="per-post")):
        page = open_email(browser, sent, width=PHONE, scheme="dark")
        colours.append(page.locator("a.nl-brand").evaluate("e => getComputedStyle(e).color"))
        page.close()
    assert colours[0] == colours[1]
    assert luminance(colours[0]) > 0.6  # light text on the dark page, not #8ab4f8 blue
