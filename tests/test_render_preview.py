from __future__ import annotations

import email
import subprocess
import sys
import webbrowser
from pathlib import Path

import pytest

from newsletter import preview
from newsletter.errors import ConfigError, NewsletterError
from tests.test_render import render_one, sample_item

ROOT = Path(__file__).resolve().parent.parent


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


def test_open_in_browser_opens_a_file_uri(tmp_path: Path) -> None:
    opened: list[str] = []

    def browser(url: str) -> bool:
        opened.append(url)
        return True

    page = tmp_path / "01 email.html"
    preview.open_in_browser(page, opener=browser)
    assert opened == [page.resolve().as_uri()]
    assert opened[0].startswith("file:///") and "%20" in opened[0]


@pytest.mark.parametrize("outcome", ["no browser", "browser error"])
def test_no_browser_is_said_plainly_with_the_file_to_open(tmp_path: Path, outcome: str) -> None:
    def browser(url: str) -> bool:
        if outcome == "browser error":
            raise webbrowser.Error("could not locate runnable browser")
        return False

    page = tmp_path / "01-email.html"
    with pytest.raises(NewsletterError, match="No web browser could be opened") as raised:
        preview.open_in_browser(page, opener=browser)
    assert str(page) in raised.value.message
    assert raised.value.exit_code == 1


@pytest.mark.skipif(
    sys.platform != "linux", reason="elsewhere the OS always offers its own browser"
)
def test_preview_open_without_a_browser_fails_and_names_the_file(tmp_path: Path) -> None:
    # No display and nothing on PATH: Python's webbrowser finds no browser to start.
    feed = tmp_path / "feed.xml"
    feed.write_text(ONE_POST_FEED, encoding="utf-8")
    (tmp_path / "empty-path").mkdir()
    result = subprocess.run(
        [sys.executable, "-m", "newsletter", "preview", "--feed", str(feed), "--open"],
        cwd=tmp_path,
        env={"PATH": str(tmp_path / "empty-path"), "PYTHONPATH": str(ROOT), "HOME": str(tmp_path)},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    html = sorted((tmp_path / "preview").glob("*.html"))
    assert len(html) == 1, result.stderr
    assert result.returncode == 1, result.stderr
    assert "No web browser could be opened" in result.stderr
    assert str(html[0].relative_to(tmp_path)) in result.stderr
    assert "Traceback" not in result.stderr


ONE_POST_FEED = """<?xml version="1.0" encoding="utf-8"?>
<rss version="2.0"><channel><title>Open Test</title><link>https://open.example/</link>
<description>A blog</description>
<item><title>Hello</title><link>https://open.example/hello/</link><guid>hello</guid>
<description>&lt;p&gt;Hello, reader.&lt;/p&gt;</description></item>
</channel></rss>
"""
