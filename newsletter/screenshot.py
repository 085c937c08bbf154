"""Desktop and phone screenshots of an email with headless Chromium (`preview --screenshot`).

Playwright gives full-page captures; without it, Chromium's own `--screenshot` flag still
works (a fixed window height, so a long email is cut at the bottom).
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

from newsletter.errors import ConfigError

DESKTOP_WIDTH = 600
PHONE_WIDTH = 375
_FALLBACK_HEIGHT = 4000
_CANDIDATES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
_SYSTEM_CHROMIUM = Path("/usr/bin/chromium")
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


def find_chromium() -> str | None:
    for name in _CANDIDATES:
        found = shutil.which(name)
        if found:
            return found
    return str(_SYSTEM_CHROMIUM) if os.access(_SYSTEM_CHROMIUM, os.X_OK) else None


def require_chromium() -> str:
    chromium = find_chromium()
    if chromium is None:
        raise ConfigError(
            "Screenshots need Chromium, which is not installed; install it (for example "
            "`sudo apt-get install chromium`) or run preview without --screenshot."
        )
    return chromium


def screenshot(html_path: Path) -> list[Path]:
    """Write `<name>-desktop.png` (600 px wide) and `<name>-phone.png` (375 px) next to
    `html_path`, and return their paths."""
    chromium = require_chromium()
    shots = [
        (html_path.with_name(f"{html_path.stem}-desktop.png"), DESKTOP_WIDTH),
        (html_path.with_name(f"{html_path.stem}-phone.png"), PHONE_WIDTH),
    ]
    try:
        from playwright.sync_api import Error as PlaywrightError
    except ImportError:
        for path, width in shots:
            _capture_with_cli(chromium, html_path, path, width)
        return [path for path, _ in shots]
    try:
        _capture_with_playwright(chromium, html_path, shots)
    except PlaywrightError as error:
        raise ConfigError(
            f"Chromium ({chromium}) could not take the screenshots "
            f"({str(error).splitlines()[0]}); check that it starts with --headless."
        ) from None
    return [path for path, _ in shots]


def _capture_with_playwright(chromium: str, html_path: Path, shots: list[tuple[Path, int]]) -> None:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium, args=list(CHROMIUM_ARGS))
        try:
            for path, width in shots:
                page = browser.new_page(viewport={"width": width, "height": 800})
                page.goto(html_path.resolve().as_uri(), wait_until="load")
                page.screenshot(path=str(path), full_page=True)
                page.close()
        finally:
            browser.close()


def _capture_with_cli(chromium: str, html_path: Path, path: Path, width: int) -> None:
    command = [
        chromium,
        *CHROMIUM_ARGS,
        "--hide-scrollbars",
        f"--window-size={width},{_FALLBACK_HEIGHT}",
        f"--screenshot={path.resolve()}",
        html_path.resolve().as_uri(),
    ]
    try:
        completed = subprocess.run(command, capture_output=True, timeout=60, check=False)
    except (OSError, subprocess.TimeoutExpired) as error:
        raise ConfigError(
            f"Chromium ({chromium}) could not take a screenshot ({error}); "
            "check that it runs headless on this machine."
        ) from None
    if completed.returncode != 0 or not path.is_file():
        raise ConfigError(
            f"Chromium ({chromium}) did not write the screenshot {path.name} "
            f"(exit {completed.returncode}); check that it runs headless on this machine."
        )
