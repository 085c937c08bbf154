from __future__ import annotations

import email
from pathlib import Path

import pytest

from newsletter import preview
from newsletter.errors import ConfigError
from tests.test_render import render_one, sample_item


def test_each_email_gets_numbered_html_text_and_eml(tmp_path: Path) -> None:
    first = render_one([sample_item(1)])
    second = render_one([sample_item(2, title="Second: the sequel!")])
    written = preview.write_preview([first, second], tmp_path / "preview")
    names = [path.name for path in written]
    assert names == [
        "01-garden-notes-week-1.html",
        "01-garden-notes-week-1.txt",
        "01-garden-notes-week-1.eml",
        "02-second-the-sequel.html",
        "02-second-the-sequel.txt",
        "02-second-the-sequel.eml",
    ]
    assert written[0].read_text(encoding="utf-8") == first.html
    assert written[1].read_text(encoding="utf-8") == first.text
    message = email.message_from_bytes(written[2].read_bytes())
    assert message["To"] == "preview@example.invalid"
    assert message["Subject"] == first.subject


def test_an_unwritable_folder_is_a_plain_error(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    with pytest.raises(ConfigError, match=r"Cannot write the preview into .*--out"):
        preview.write_preview([render_one()], blocker / "preview")


def test_open_in_browser_opens_a_file_uri(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    opened: list[str] = []
    monkeypatch.setattr(preview.webbrowser, "open", opened.append)
    page = tmp_path / "01 email.html"
    preview.open_in_browser(page)
    assert opened == [page.resolve().as_uri()]
    assert opened[0].startswith("file:///") and "%20" in opened[0]
