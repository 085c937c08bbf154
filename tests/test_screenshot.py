"""`preview --screenshot`: whole-page desktop and phone pictures, or one sentence saying
what is missing."""

from __future__ import annotations

import struct
import sys
from pathlib import Path

import pytest

from newsletter import screenshot
from newsletter.errors import ConfigError
from tests.test_render import render_one

CHROMIUM = screenshot.find_chromium()
needs_chromium = pytest.mark.skipif(
    CHROMIUM is None,
    reason="needs Chromium: `apt-get install chromium` (.ci/run installs it on CI)",
)


def png_size(path: Path) -> tuple[int, int]:
    header = path.read_bytes()[:24]
    assert header.startswith(b"\x89PNG")
    width, height = struct.unpack(">II", header[16:24])
    return width, height


def nothing_on_path(name: str) -> str | None:
    return None


def test_missing_chromium_is_one_clear_sentence(tmp_path: Path) -> None:
    nowhere = tmp_path / "no-chromium-here"
    assert screenshot.find_chromium(which=nothing_on_path, system_chromium=nowhere) is None
    with pytest.raises(ConfigError, match=r"Screenshots need Chromium.*apt-get install chromium"):
        screenshot.require_chromium(which=nothing_on_path, system_chromium=nowhere)


def test_finds_chromium_under_any_of_its_names(tmp_path: Path) -> None:
    def only_chrome(name: str) -> str | None:
        return "/opt/chrome" if name == "google-chrome" else None

    found = screenshot.find_chromium(which=only_chrome, system_chromium=tmp_path / "none")
    assert found == "/opt/chrome"


def test_without_playwright_one_sentence_says_what_to_install(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # As on a machine where only `pip install blog-newsletter` ran: Playwright cannot be
    # imported. It used to fall back to fixed-height, mostly blank pictures.
    monkeypatch.setitem(sys.modules, "playwright", None)
    monkeypatch.setitem(sys.modules, "playwright.sync_api", None)
    page = write_email(tmp_path)
    with pytest.raises(ConfigError, match="Playwright") as raised:
        screenshot.screenshot(page, chromium=CHROMIUM or "/usr/bin/chromium")
    assert "pip install 'blog-newsletter[screenshots]'" in raised.value.message
    assert raised.value.exit_code == 2
    assert list(tmp_path.glob("*.png")) == []


def write_email(tmp_path: Path) -> Path:
    page = tmp_path / "01-garden.html"
    page.write_text(render_one().html, encoding="utf-8")
    return page


@pytest.mark.browser
@needs_chromium
def test_desktop_and_phone_screenshots_show_the_whole_email(tmp_path: Path) -> None:
    pytest.importorskip("playwright.sync_api", reason="needs Playwright for Python")
    desktop, phone = screenshot.screenshot(write_email(tmp_path))
    assert desktop.name == "01-garden-desktop.png" and phone.name == "01-garden-phone.png"
    desktop_width, desktop_height = png_size(desktop)
    phone_width, phone_height = png_size(phone)
    assert (desktop_width, phone_width) == (600, 375)
    # The whole email, whatever the window: text wraps more on a phone, so its picture is
    # taller. (Chromium's own --screenshot gave both a fixed 4000 px height, mostly blank.)
    assert phone_height > desktop_height > 500
