from __future__ import annotations

import builtins
import struct
from pathlib import Path
from typing import Any

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


def no_chromium(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(screenshot.shutil, "which", lambda name: None)
    monkeypatch.setattr(screenshot, "_SYSTEM_CHROMIUM", tmp_path / "no-chromium-here")


def test_missing_chromium_is_one_clear_sentence(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    no_chromium(monkeypatch, tmp_path)
    assert screenshot.find_chromium() is None
    page = tmp_path / "01-email.html"
    page.write_text("<p>hi</p>")
    with pytest.raises(ConfigError, match=r"Screenshots need Chromium.*apt-get install chromium"):
        screenshot.screenshot(page)
    assert list(tmp_path.glob("*.png")) == []


def test_finds_chromium_under_any_of_its_names(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    no_chromium(monkeypatch, tmp_path)
    monkeypatch.setattr(
        screenshot.shutil, "which", lambda name: "/opt/chrome" if name == "google-chrome" else None
    )
    assert screenshot.find_chromium() == "/opt/chrome"


def write_email(tmp_path: Path) -> Path:
    page = tmp_path / "01-garden.html"
    page.write_text(render_one().html, encoding="utf-8")
    return page


@pytest.mark.browser
@needs_chromium
def test_desktop_and_phone_screenshots(tmp_path: Path) -> None:
    pytest.importorskip("playwright.sync_api", reason="needs Playwright for Python")
    desktop, phone = screenshot.screenshot(write_email(tmp_path))
    assert desktop.name == "01-garden-desktop.png" and phone.name == "01-garden-phone.png"
    desktop_width, desktop_height = png_size(desktop)
    phone_width, phone_height = png_size(phone)
    assert (desktop_width, phone_width) == (600, 375)
    assert phone_height > desktop_height > 800  # full page, and text wraps more on a phone


@pytest.mark.browser
@needs_chromium
def test_screenshots_without_playwright_use_chromium_itself(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real_import = builtins.__import__

    def no_playwright(name: str, *args: Any, **kwargs: Any) -> Any:
        if name.startswith("playwright"):
            raise ImportError(name)
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_playwright)
    desktop, phone = screenshot.screenshot(write_email(tmp_path))
    assert png_size(desktop)[0] == 600
    assert png_size(phone)[0] == 375
