"""Desktop and phone screenshots of an email with headless Chromium (`preview --screenshot`).

Playwright drives the Chromium already on the machine (no browser download) and captures
the whole page at each width. Chromium's own `--screenshot` flag is no substitute: it
captures a fixed window (a short email came out as a picture mostly blank), and current
headless Chromium will not lay a window out narrower than 500 px, so the "phone" picture
was a desktop layout cropped to 375 px. Without Playwright, one sentence says what to
install instead.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable
from pathlib import Path

from newsletter.errors import ConfigError

DESKTOP_WIDTH = 600
PHONE_WIDTH = 375
_VIEWPORT_HEIGHT = 100
INSTALL_PLAYWRIGHT = "pip install 'blog-newsletter[screenshots]'"
CHROMIUM_NAMES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
SYSTEM_CHROMIUM = Path("/usr/bin/chromium")
# The machine may have no network: without these Chromium keeps trying to reach Google's
# services, which only slows the capture down.
CHROMIUM_ARGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
)


def find_chromium(
    *,
    which: Callable[[str], str | None] = shutil.which,
    system_chromium: Path = SYSTEM_CHROMIUM,
) -> str | None:
    """Chromium (or Chrome) on PATH under any of its usual names, else Debian's path."""
    for name in CHROMIUM_NAMES:
        found = which(name)
        if found:
            return found
    return str(system_chromium) if os.access(system_chromium, os.X_OK) else None


def require_chromium(
    *,
    which: Callable[[str], str | None] = shutil.which,
    system_chromium: Path = SYSTEM_CHROMIUM,
) -> str:
    """The Chromium `find_chromium` finds, or a ConfigError saying how to install it."""
    chromium = find_chromium(which=which, system_chromium=system_chromium)
    if chromium is None:
        raise ConfigError(
            "Screenshots need Chromium, which is not installed; install it (for example "
            "`sudo apt-get install chromium`) or run preview without --screenshot."
        )
    return chromium


def screenshot(html_path: Path, *, chromium: str | None = None) -> list[Path]:
    """Write `<name>-desktop.png` (600 px wide) and `<name>-phone.png` (375 px), each the
    whole page, next to `html_path`, and return their paths.

    `chromium` is the browser to drive; by default the one `find_chromium` finds.
    """
    try:
        from playwright.sync_api import Error as PlaywrightError
    except ImportError:
        raise ConfigError(
            "Screenshots need Playwright for Python, which is not installed; run "
            f"`{INSTALL_PLAYWRIGHT}` (it drives the Chromium on this machine and downloads "
            "no browser), or run preview without --screenshot."
        ) from None
    executable = chromium or require_chromium()
    shots = [
        (html_path.with_name(f"{html_path.stem}-desktop.png"), DESKTOP_WIDTH),
        (html_path.with_name(f"{html_path.stem}-phone.png"), PHONE_WIDTH),
    ]
    try:
        _capture(executable, html_path, shots)
    except PlaywrightError as error:
        raise ConfigError(
            f"Chromium ({executable}) could not take the screenshots "
            f"({str(error).splitlines()[0]}); check that it starts with --headless."
        ) from None
    return [path for path, _ in shots]


def _capture(chromium: str, html_path: Path, shots: list[tuple[Path, int]]) -> None:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium, args=list(CHROMIUM_ARGS))
        try:
            for path, width in shots:
                # A short viewport: the full-page capture is then as tall as the email
                # itself, with no blank band under a short one.
                page = browser.new_page(viewport={"width": width, "height": _VIEWPORT_HEIGHT})
                page.goto(html_path.resolve().as_uri(), wait_until="load")
                page.screenshot(path=str(path), full_page=True)
                page.close()
        finally:
            browser.close()
