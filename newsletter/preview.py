"""`newsletter preview`: each email as `.html`, `.txt` and `.eml` files to look at.

Files are numbered in sending order (`01-<subject>.html`, ...), so a digest and a run of
per-post emails both list in the order readers would get them.
"""

from __future__ import annotations

import webbrowser
from collections.abc import Callable, Sequence
from pathlib import Path

from newsletter.errors import ConfigError, NewsletterError
from newsletter.message import build_message
from newsletter.models import Email
from newsletter.providers.outbox import slugify

PREVIEW_RECIPIENT = "preview@example.invalid"


def write_preview(emails: Sequence[Email], out_dir: Path) -> list[Path]:
    """Write every email's parts into `out_dir`; returns the paths, HTML first per email."""
    written: list[Path] = []
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
        for number, email in enumerate(emails, start=1):
            stem = f"{number:02d}-{slugify(email.subject)}"
            html_path = out_dir / f"{stem}.html"
            text_path = out_dir / f"{stem}.txt"
            eml_path = out_dir / f"{stem}.eml"
            html_path.write_text(email.html, encoding="utf-8")
            text_path.write_text(email.text, encoding="utf-8")
            eml_path.write_bytes(bytes(build_message(email, to=PREVIEW_RECIPIENT)))
            written += [html_path, text_path, eml_path]
    except OSError as error:
        raise ConfigError(
            f"Cannot write the preview into {out_dir} ({error.strerror}); "
            "choose a writable folder with --out."
        ) from None
    return written


def open_in_browser(path: Path, *, opener: Callable[[str], bool] = webbrowser.open) -> None:
    """Show `path` in the desktop's browser, or say plainly that none could be opened.

    `webbrowser.open` answers False when it finds no browser at all (a server, a container,
    an SSH session); printing success then would leave the author waiting for a window.
    """
    try:
        opened = opener(path.resolve().as_uri())
    except webbrowser.Error:
        opened = False
    if not opened:
        raise NewsletterError(
            f"No web browser could be opened on this machine, so the preview was written but "
            f"not shown; open {path} yourself."
        )
