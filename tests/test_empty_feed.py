"""A feed with no items says why nothing happens, in every command that reads it."""

from __future__ import annotations

from pathlib import Path

import pytest

from newsletter.cli import main

EMPTY = (
    '<?xml version="1.0"?><rss version="2.0"><channel><title>Quiet Blog</title>'
    "<link>https://quiet.example.org/</link><description>Soon</description></channel></rss>"
)


@pytest.mark.parametrize(
    ("command", "sentence"),
    [
        ("preview", "The feed has no posts yet, so there is no email to preview."),
        ("check", "The feed has no posts yet, so there is nothing to send."),
        ("send", "The feed has no posts yet, so there is nothing to send."),
    ],
)
def test_an_empty_feed_says_it_is_empty(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], command: str, sentence: str
) -> None:
    (tmp_path / "feed.xml").write_text(EMPTY, encoding="utf-8")
    (tmp_path / "newsletter.toml").write_text(
        '[feed]\nurl = "feed.xml"\n[newsletter]\nfrom = "Quiet <news@quiet.example.org>"\n'
        '[provider]\nname = "outbox"\ndir = "outbox"\n',
        encoding="utf-8",
    )
    extra = ["--out", str(tmp_path / "preview")] if command == "preview" else []
    assert main(["--config", str(tmp_path / "newsletter.toml"), command, *extra]) == 0
    assert sentence in capsys.readouterr().out
    assert not (tmp_path / "outbox").exists()
