"""`newsletter check --feed FILE --strict`: the gate for a blog's own pull requests. It fails
(exit 3) when the feed the site is about to publish would make the next send refuse a flood,
or moves the guid or permalink of a post already sent; otherwise it passes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from newsletter.cli import main
from newsletter.ledger import Ledger, Status
from newsletter.models import Post
from tests.cli_harness import FeedPost, rss

NOW = datetime.now(UTC)


def feed_post(number: int, *, guid: str | None = None, link: str | None = None) -> FeedPost:
    return FeedPost(
        guid=guid or f"tag:blog.example.org,2026:{number}",
        link=link or f"https://blog.example.org/{number}/",
        title=f"Post number {number}",
        published=NOW - timedelta(days=40 - number),
    )


@pytest.fixture
def blog(tmp_path: Path) -> Path:
    (tmp_path / "newsletter.toml").write_text(
        '[feed]\nurl = "https://blog.example.org/feed.xml"\n\n'
        '[newsletter]\nfrom = "Blog <news@blog.example.org>"\nflood_limit = 3\n\n'
        '[provider]\nname = "outbox"\n',
        encoding="utf-8",
    )
    with Ledger.locked(tmp_path / "state" / "ledger.json") as ledger:
        sent = [
            Post(p.guid, p.link, p.title, None, p.published, None, "")
            for p in (feed_post(1), feed_post(2))
        ]
        ledger.destination("outbox").mark(sent, Status.SENT, at=NOW - timedelta(days=30))
        ledger.save()
    return tmp_path


def check(blog: Path, posts: list[FeedPost], *extra: str) -> int:
    built = blog / "_site" / "feed.xml"
    built.parent.mkdir(exist_ok=True)
    built.write_bytes(rss(posts))
    config = str(blog / "newsletter.toml")
    return main(["--config", config, "check", "--feed", str(built), *extra])


def test_a_feed_with_one_new_post_passes(blog: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert check(blog, [feed_post(1), feed_post(2), feed_post(3)], "--strict") == 0
    assert "Post number 3" in capsys.readouterr().out


def test_a_flood_fails_the_strict_check_only(
    blog: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    posts = [feed_post(n) for n in range(1, 8)]
    assert check(blog, posts) == 0, "without --strict, check only warns"
    assert check(blog, posts, "--strict") == 3
    err = capsys.readouterr().err
    assert "more than flood_limit (3)" in err
    assert "check --strict found 1 problem(s)" in err


def test_a_moved_permalink_of_a_sent_post_fails(
    blog: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    moved = feed_post(2, link="https://blog.example.org/2026/02/post-2/")
    assert check(blog, [feed_post(1), moved], "--strict") == 3
    err = capsys.readouterr().err
    assert "https://blog.example.org/2/" in err and "2026/02/post-2/" in err


def test_a_new_permalink_style_that_would_resend_the_archive_fails(
    blog: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # A site generator's new permalinks, with guids that are the URLs, changes both.
    posts = [
        feed_post(
            n,
            guid=f"https://blog.example.org/posts/{n}",
            link=f"https://blog.example.org/posts/{n}",
        )
        for n in (1, 2)
    ]
    assert check(blog, posts, "--strict") == 3
    assert "would send it again" in capsys.readouterr().err


def test_the_step_summary_lists_the_problems(
    blog: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    summary = tmp_path / "summary.md"
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary))
    ledger = blog / "state" / "ledger.json"
    before = ledger.read_bytes()
    moved = feed_post(2, link="https://blog.example.org/elsewhere/")
    assert check(blog, [feed_post(1), moved], "--strict") == 3
    text = summary.read_text(encoding="utf-8")
    assert "elsewhere" in text
    assert "Failed (exit 3)" in text
    assert ledger.read_bytes() == before, "check never writes the ledger"
