"""Run one feed of tests/fixtures/corpus/ through `check`, `preview` and `send` (to the outbox)
in a folder of its own, and gather what a reader and an author would see."""

from __future__ import annotations

import email
import email.policy
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from email.message import EmailMessage
from html import unescape
from pathlib import Path
from typing import Any

import pytest

from newsletter.cli import main
from tests.feedserver import FeedServer, Route

CORPUS = Path(__file__).parent / "fixtures" / "corpus"
CONTENT_TYPES = {
    ".xml": "application/xml",
    ".html": "text/html; charset=utf-8",
    ".bin": "application/octet-stream",
}
_TITLE_LINK = re.compile(r'<h[12][^>]*><a href="([^"]*)"')
_HOME_LINK = re.compile(r'<a href="([^"]*)" class="nl-brand"')
_HREF = re.compile(r'href="([^"]*)"')


@dataclass
class Said:
    code: int
    out: str
    err: str

    @property
    def error_line(self) -> str:
        errors = [line for line in self.err.splitlines() if line.startswith("error: ")]
        return errors[-1].removeprefix("error: ") if errors else ""


@dataclass
class Observed:
    feed_url: str
    check: Said
    preview: Said
    send: Said
    subjects: list[str] = field(default_factory=list)
    title_links: list[str] = field(default_factory=list)
    """The links of the posts' titles (and of the blog's name where it is a heading)."""
    home_links: set[str] = field(default_factory=set)
    """Where the blog's name at the top of each email leads."""
    links: set[str] = field(default_factory=set)
    buttons: int = 0
    texts: list[str] = field(default_factory=list)


def serve(server: FeedServer) -> None:
    for path in CORPUS.iterdir():
        if path.suffix in CONTENT_TYPES:
            server.routes[f"/corpus/{path.name}"] = Route(
                body=path.read_bytes(), headers={"Content-Type": CONTENT_TYPES[path.suffix]}
            )


def write_config(folder: Path, feed_url: str, settings: Mapping[str, Any]) -> Path:
    newsletter = {"mode": "per-post", "first_run_days": 3650, **settings}
    lines = ["[feed]", f'url = "{feed_url}"', "", "[newsletter]"]
    lines.append('from = "Corpus <news@corpus.example.org>"')
    for key, value in newsletter.items():
        lines.append(f'{key} = "{value}"' if isinstance(value, str) else f"{key} = {value}")
    lines += ["", "[links]", "utm = {}", "", "[provider]", 'name = "outbox"', 'dir = "outbox"']
    path = folder / "newsletter.toml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def run(
    name: str,
    settings: Mapping[str, Any],
    server: FeedServer,
    folder: Path,
    capsys: pytest.CaptureFixture[str],
) -> Observed:
    feed_url = server.url(f"/corpus/{name}")
    config = str(write_config(folder, feed_url, settings))

    def command(*args: str) -> Said:
        code = main(["--config", config, *args])
        captured = capsys.readouterr()
        return Said(code, captured.out, captured.err)

    observed = Observed(
        feed_url,
        check=command("check"),
        preview=command("preview", "--out", str(folder / "preview")),
        send=command("send"),
    )
    outbox = folder / "outbox"
    for path in sorted(outbox.glob("*.eml")) if outbox.is_dir() else []:
        message = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
        assert isinstance(message, EmailMessage)
        observed.subjects.append(str(message["Subject"]))
        html_part, text_part = message.get_body(("html",)), message.get_body(("plain",))
        assert html_part is not None and text_part is not None
        html, text = html_part.get_content(), text_part.get_content()
        observed.title_links += [unescape(link) for link in _TITLE_LINK.findall(html)]
        observed.home_links |= {unescape(link) for link in _HOME_LINK.findall(html)}
        observed.links |= {unescape(link) for link in _HREF.findall(html)}
        observed.buttons += html.count('class="nl-button"')
        observed.texts.append(text)
    return observed
