"""Headless Chromium for the email tests: pictures served at their real size from loopback,
a page with or without the email's <style> blocks, and screenshots when a check fails."""

from __future__ import annotations

import re
import struct
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from newsletter.models import Email
from newsletter.screenshot import CHROMIUM_ARGS, find_chromium
from tests.email_samples import natural_size

CHROMIUM = find_chromium()
PHONE, DESKTOP = 375, 600
CHROMIUM_MISSING = "needs Chromium: `apt-get install chromium` (.ci/run installs it on CI)"
_STYLE_BLOCK = re.compile(r"<style\b[^>]*>.*?</style>", re.IGNORECASE | re.DOTALL)


def png(width: int, height: int) -> bytes:
    """A gradient PNG of the given size, so a picture request succeeds without a network."""
    row = bytes(b for x in range(width) for b in (40 + x * 180 // width, 90, 160))
    raw = b"".join(b"\x00" + row for _ in range(height))

    def chunk(kind: bytes, data: bytes) -> bytes:
        crc = struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
        return struct.pack(">I", len(data)) + kind + data + crc

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(raw))
        + (chunk(b"IEND", b""))
    )


def launch(playwright: Any) -> Any:
    """Debian's Chromium, headless, with the flags the product's own screenshots use."""
    return playwright.chromium.launch(executable_path=CHROMIUM, args=list(CHROMIUM_ARGS))


def without_styles(html: str) -> str:
    """The email as Gmail's apps with non-Google accounts, Gmail's mobile web and Yahoo on
    Android show it: every <style> block gone (https://www.caniemail.com/features/html-style/)."""
    return _STYLE_BLOCK.sub("", html)


def open_email(
    browser: Any,
    html: str,
    *,
    width: int,
    scheme: str = "light",
    images: bool = True,
) -> Any:
    """A page showing `html`; pictures come back at their real size, or not at all when
    `images` is False (the client blocks them); nothing else leaves the machine."""
    page = browser.new_page(viewport={"width": width, "height": 900}, color_scheme=scheme)
    pictures: dict[str, bytes] = {}

    def serve(route: Any) -> None:
        url = route.request.url
        if images and route.request.resource_type == "image":
            if url not in pictures:
                pictures[url] = png(*natural_size(url))
            route.fulfill(status=200, content_type="image/png", body=pictures[url])
        else:
            route.abort()

    page.route(re.compile(r"^https?://"), serve)
    page.set_content(html, wait_until="load")
    return page


@contextmanager
def screenshots_on_failure(browser: Any, sent: Email, folder: Path, name: str) -> Iterator[None]:
    """Run the checks; if one fails, photograph the email at 375 and 600 px in light and dark
    mode into `folder` and name the files in the failure message."""
    try:
        yield
    except AssertionError as failure:
        written = []
        folder.mkdir(parents=True, exist_ok=True)
        for width in (PHONE, DESKTOP):
            for scheme in ("light", "dark"):
                page = open_email(browser, sent.html, width=width, scheme=scheme)
                path = folder / f"{name}-{width}-{scheme}.png"
                page.screenshot(path=str(path), full_page=True)
                page.close()
                written.append(str(path))
        raise AssertionError(f"{failure}\nScreenshots: {', '.join(written)}") from failure


OVERFLOWING = """(width) => Array.from(document.querySelectorAll('body *'))
  .filter(e => { const r = e.getBoundingClientRect();
                 return r.width > 0 && r.right > width + 0.5; })
  .map(e => `${e.tagName.toLowerCase()}.${e.className}
             right=${Math.round(e.getBoundingClientRect().right)}`)"""

# Text cut off: a box that hides overflowing content it has, or a line of text that runs
# past either edge of the screen.
CLIPPED = """(width) => {
  const out = [];
  for (const e of document.querySelectorAll('body *')) {
    const style = getComputedStyle(e);
    const hides = style.overflowX !== 'visible' || style.overflowY !== 'visible';
    if (hides && e.offsetParent !== null && e.textContent.trim() &&
        (e.scrollWidth > e.clientWidth + 1 || e.scrollHeight > e.clientHeight + 1)) {
      out.push(`${e.tagName.toLowerCase()}.${e.className}: ${e.textContent.trim().slice(0, 40)}`);
    }
  }
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  while (walker.nextNode()) {
    const node = walker.currentNode;
    if (!node.textContent.trim()) continue;
    const range = document.createRange();
    range.selectNodeContents(node);
    for (const r of range.getClientRects()) {
      if (r.width > 0 && (r.left < -0.5 || r.right > width + 0.5)) {
        const where = `${Math.round(r.left)}..${Math.round(r.right)}`;
        out.push(`text "${node.textContent.trim().slice(0, 40)}" at ${where}`);
        break;
      }
    }
  }
  return out;
}"""
