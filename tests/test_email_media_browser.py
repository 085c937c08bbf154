"""Pictures, episodes and videos from each platform's feed shape, as a reader sees them in a
real headless Chromium: the featured image once, at its natural size or the column's width,
with alt text; the "Listen" card's file, also in the text part; the play cue under a video;
a post the category filters leave out absent from the email and listed by `check`."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import pytest

from newsletter import feed as feeds
from newsletter import pipeline
from newsletter.compose import compose
from newsletter.config import parse_config
from newsletter.models import Email, Feed
from newsletter.pipeline import SendOptions
from newsletter.providers.base import Unsubscribe
from newsletter.report import plan_lines
from newsletter.screenshot import CHROMIUM_ARGS, find_chromium
from tests.test_email_browser import contrast, png

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

MEDIA = Path(__file__).parent / "fixtures" / "media"
PHONE, DESKTOP = 375, 600
COLUMN = 552
"""The text column at desktop width: 600 px less 2 x 24 px padding."""

SIZES = {
    "sweet-peas.jpg": (900, 600),
    "anemone.jpg": (1600, 1000),
    "colophon.jpeg": (320, 200),
    "kyle.jpg": (1200, 800),
    "quilt.jpg": (1104, 1104),
    "binding.jpg": (640, 360),
    "basting.png": (1104, 500),
    "launch.jpg": (1200, 800),
    "ep12.jpg": (1400, 1400),
    "show.jpg": (1400, 1400),
    "bakery.jpg": (1280, 720),
    "night-crossing.jpg": (640, 360),
    "hqdefault.jpg": (480, 360),
}
"""The natural size each picture is served at, by its file name."""


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with playwright_api.sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=list(CHROMIUM_ARGS))
        yield launched
        launched.close()


def read(name: str) -> Feed:
    return feeds.parse((MEDIA / name).read_bytes(), url=f"https://feeds.example.net/{name}")


def per_post(name: str, start: str) -> Email:
    parsed = read(name)
    post = next(post for post in parsed.posts if post.title.startswith(start))
    config = parse_config({"newsletter": {"from": "Blog <news@example.org>", "mode": "per-post"}})
    (email,) = compose(config, parsed, [post], Unsubscribe("https://example.org/unsubscribe"))
    return email


def open_html(browser: Any, html: str, *, width: int, scheme: str = "light") -> Any:
    page = browser.new_page(viewport={"width": width, "height": 900}, color_scheme=scheme)

    def serve(route: Any) -> None:
        url = route.request.url
        if route.request.resource_type != "image":
            route.abort()
            return
        name = unquote(url.split("?", 1)[0]).rsplit("/", 1)[-1]
        size = SIZES.get(name)
        if size is None:
            route.abort()
        else:
            route.fulfill(status=200, content_type="image/png", body=png(*size))

    page.route(re.compile(r"^https?://"), serve)
    page.set_content(html, wait_until="load")
    return page


PICTURES = """() => Array.from(document.images).map(i => {
  const r = i.getBoundingClientRect();
  return {src: i.src, alt: i.alt, natural: i.naturalWidth, width: r.width, left: r.left,
          right: r.right, top: r.top, bottom: r.bottom,
          visible: r.width > 0 && r.height > 0 && getComputedStyle(i).visibility !== 'hidden'};
})"""


def pictures(page: Any) -> list[dict[str, Any]]:
    return [picture for picture in page.evaluate(PICTURES) if picture["visible"]]


def column(width: int) -> float:
    return min(COLUMN, width - 48)


@pytest.mark.parametrize("width", [PHONE, DESKTOP])
@pytest.mark.parametrize(
    ("feed", "start", "name"),
    [
        ("ghost.xml", "Anemones", "anemone.jpg"),
        ("wordpress-featured.xml", "Sweet peas", "sweet-peas.jpg"),
        ("substack.xml", "Why the colophon", "colophon.jpeg"),
        ("jekyll.xml", "The 07:12", "kyle.jpg"),
        ("blogger.xml", "A quilt", "quilt.jpg"),
        # Today's Blogger spellings of the 72 px crop (s72-w640-c-h360, s72-w629-h285-c):
        # the post's own picture after the break, else the crop at the column's size.
        ("blogger.xml", "Binding", "/s640/binding.jpg"),
        ("blogger.xml", "Basting", "/s1104/basting.png"),
        ("mediarss.xml", "The lifeboat", "launch.jpg"),
    ],
)
def test_the_featured_image_is_shown_once_at_its_size_with_alt_text(
    browser: Any, feed: str, start: str, name: str, width: int
) -> None:
    page = open_html(browser, per_post(feed, start).html, width=width)
    (shown,) = pictures(page)
    assert shown["src"].split("?", 1)[0].endswith(name)
    natural = SIZES[name.rsplit("/", 1)[-1]][0]
    assert shown["natural"] == natural
    # Its natural size, or the column when it is wider: never enlarged, never past the edge.
    assert shown["width"] == pytest.approx(min(natural, column(width)), abs=1)
    assert shown["left"] >= 0 and shown["right"] <= width
    assert shown["alt"].startswith(start)
    assert page.evaluate("document.documentElement.scrollWidth") <= width
    page.close()


@pytest.mark.parametrize("width", [PHONE, DESKTOP])
def test_the_listen_card_plays_the_file_the_text_part_names(browser: Any, width: int) -> None:
    email = per_post("podcast.xml", "Episode 12")
    page = open_html(browser, email.html, width=width)
    listen = page.get_by_role("link", name="Listen")
    assert listen.count() == 1 and listen.is_visible()
    href = listen.get_attribute("href")
    assert href == "https://cdn.radio.example.org/audio/ktr-12.mp3"
    assert f"Listen: {href} (1:02:05)" in email.text
    box = listen.bounding_box()
    assert box is not None and box["height"] >= 44 and box["x"] + box["width"] <= width
    colour, background = listen.evaluate(
        "e => [getComputedStyle(e).color, getComputedStyle(e).backgroundColor]"
    )
    assert contrast(colour, background) >= 4.5
    (artwork,) = pictures(page)
    assert artwork["alt"] == "Episode artwork: Episode 12: Bread"
    assert artwork["width"] == pytest.approx(96, abs=1)
    # The picture sits beside the title and the button, not above them.
    title = page.get_by_text("1:02:05").bounding_box()
    assert title is not None and title["x"] > artwork["right"]
    assert page.evaluate("document.documentElement.scrollWidth") <= width
    page.close()


@pytest.mark.parametrize("width", [PHONE, DESKTOP])
def test_a_video_shows_its_picture_with_a_play_cue_right_under_it(browser: Any, width: int) -> None:
    email = per_post("podcast.xml", "Video extra")
    page = open_html(browser, email.html, width=width)
    (still,) = pictures(page)
    assert still["alt"] == "Play video: Video extra: the bakery tour"
    caption = page.locator("a.nl-button", has_text="Watch")
    assert caption.count() == 1 and caption.is_visible()
    assert "\u25b6" in caption.inner_text()
    box = caption.bounding_box()
    assert box is not None
    # One unit: the strip starts where the picture ends, as wide as the picture.
    assert box["y"] == pytest.approx(still["bottom"], abs=1)
    assert box["x"] == pytest.approx(still["left"], abs=1)
    assert box["width"] == pytest.approx(still["width"], abs=1)
    assert box["height"] >= 44
    colour, background = caption.evaluate(
        "e => [getComputedStyle(e).color, getComputedStyle(e).backgroundColor]"
    )
    assert contrast(colour, background) >= 4.5
    assert caption.get_attribute("href") == "https://cdn.radio.example.org/video/bakery.mp4"
    page.close()


def test_a_youtube_player_in_the_post_gets_the_same_cue(browser: Any) -> None:
    parsed = read("jekyll.xml")
    post = replace(
        parsed.posts[0],
        html='<p>Winter.</p><iframe src="https://www.youtube.com/embed/dQw4w9WgXcQ"></iframe>',
    )
    config = parse_config({"newsletter": {"from": "Blog <news@example.org>", "mode": "per-post"}})
    (email,) = compose(config, parsed, [post], Unsubscribe("https://example.org/unsubscribe"))
    page = open_html(browser, email.html, width=PHONE)
    (still,) = pictures(page)
    assert still["alt"] == "Play video: The 07:12 to Kyle"
    caption = page.locator("a.nl-button", has_text="Watch")
    box = caption.bounding_box()
    assert box is not None and box["y"] == pytest.approx(still["bottom"], abs=1)
    assert box["width"] == pytest.approx(still["width"], abs=1)
    page.close()


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_the_cards_stay_readable_in_dark_mode(browser: Any, scheme: str) -> None:
    for start in ("Episode 12", "Video extra"):
        page = open_html(browser, per_post("podcast.xml", start).html, width=PHONE, scheme=scheme)
        texts = page.evaluate(
            """() => Array.from(document.querySelectorAll('body *')).filter(e =>
              Array.from(e.childNodes).some(n => n.nodeType === 3 && n.textContent.trim())
              && e.getBoundingClientRect().width > 0).map(e => {
                let b = e, bg = null;
                while (b && !bg) { const c = getComputedStyle(b).backgroundColor;
                  if (c && c !== 'transparent' && !/rgba\\(.*,\\s*0\\)$/.test(c)) bg = c;
                  b = b.parentElement; }
                return [e.textContent.trim().slice(0, 30), getComputedStyle(e).color,
                        bg || 'rgb(255, 255, 255)']; })"""
        )
        poor = [(text, fg, bg) for text, fg, bg in texts if contrast(fg, bg) < 4.5]
        assert poor == []
        page.close()


NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)


def test_a_filtered_post_is_absent_from_the_email_and_listed_by_check(
    browser: Any, tmp_path: Path
) -> None:
    (tmp_path / "feed.xml").write_bytes((MEDIA / "wordpress-featured.xml").read_bytes())
    config = parse_config(
        {
            "feed": {"url": "feed.xml", "exclude_categories": ["no-newsletter", "sponsored"]},
            "newsletter": {"from": "Allotment <news@allotment.example.org>"},
        },
        path=tmp_path / "newsletter.toml",
    )
    report = pipeline.preview(
        config, SendOptions(), {}, lambda line: None, out_dir=tmp_path / "out", now=lambda: NOW
    )
    (page_file,) = [path for path in report.files if path.suffix == ".html"]
    page = open_html(browser, page_file.read_text(encoding="utf-8"), width=DESKTOP)
    text = page.inner_text("body")
    assert "Sweet peas, at last" in text and "Shed talk, recorded" in text
    assert "Seed catalogue" not in text and "Plot rota" not in text
    page.close()

    check = pipeline.check(config, SendOptions(), {}, lambda line: None, now=lambda: NOW)
    assert check.plan is not None
    lines = plan_lines(check.plan)
    assert any(
        "Seed catalogue" in line and "'Sponsored', which exclude_categories leaves out" in line
        for line in lines
    )
    assert any("Plot rota" in line and "'No-Newsletter'" in line for line in lines)


def top(page: Any, heading: str) -> float:
    box = page.get_by_role("heading", name=heading, exact=True).bounding_box()
    assert box is not None, heading
    return float(box["y"])


def test_a_digest_of_two_feeds_shows_each_feeds_posts_under_its_label(
    browser: Any, tmp_path: Path
) -> None:
    for name in ("wordpress-featured.xml", "podcast.xml"):
        (tmp_path / name).write_bytes((MEDIA / name).read_bytes())
    config = parse_config(
        {
            "feed": [
                {"url": "wordpress-featured.xml", "label": "From the plot"},
                {"url": "podcast.xml", "label": "Podcast"},
            ],
            "newsletter": {"from": "Allotment <news@allotment.example.org>"},
        },
        path=tmp_path / "newsletter.toml",
    )
    at = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
    report = pipeline.preview(
        config, SendOptions(), {}, lambda line: None, out_dir=tmp_path / "out", now=lambda: at
    )
    (page_file,) = [path for path in report.files if path.suffix == ".html"]
    for width in (PHONE, DESKTOP):
        page = open_html(browser, page_file.read_text(encoding="utf-8"), width=width)

        plot, podcast = top(page, "From the plot"), top(page, "Podcast")
        assert plot < top(page, "Sweet peas, at last") < top(page, "Shed talk, recorded")
        assert top(page, "Shed talk, recorded") < podcast
        # Newest first within the group (episode 11 is older than the first run's week).
        assert podcast < top(page, "Video extra: the bakery tour") < top(page, "Episode 12: Bread")
        # Each feed's own filters and cards: the podcast's episodes get their Listen cards.
        assert page.get_by_role("link", name="Listen").count() == 2  # an episode and a talk
        assert "Plot rota" not in page.inner_text("body")
        assert page.evaluate("document.documentElement.scrollWidth") <= width
        page.close()
