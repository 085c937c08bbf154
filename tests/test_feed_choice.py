"""`--feed` with several `[[feed]]` tables picks one of them by its label or by its url as
newsletter.toml writes it (a relative path is read from the file's folder, wherever the
command runs); a value that names none of them is refused with the ways each feed may be
named."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from newsletter import pipeline
from newsletter.config import Config, parse_config
from newsletter.errors import ConfigError
from newsletter.pipeline import SendOptions

NOW = datetime(2026, 11, 26, 9, 0, tzinfo=UTC)


def rss(title: str, *posts: str) -> str:
    items = "".join(
        f"<item><title>{name}</title><link>https://{title.lower()}.example.org/{number}/</link>"
        f"<guid>{title}-{number}</guid><pubDate>Tue, 24 Nov 2026 08:00:00 GMT</pubDate>"
        f"<description>{name}, in a few words.</description></item>"
        for number, name in enumerate(posts, start=1)
    )
    return (
        f'<?xml version="1.0"?><rss version="2.0"><channel><title>{title}</title>'
        f"<link>https://{title.lower()}.example.org/</link>{items}</channel></rss>"
    )


@pytest.fixture
def config(tmp_path: Path) -> Config:
    site = tmp_path / "site"
    (site / "feeds").mkdir(parents=True)
    (site / "a.xml").write_text(rss("Orchard", "Pruning the pear"), encoding="utf-8")
    (site / "feeds" / "b.xml").write_text(rss("Pond", "Frogspawn"), encoding="utf-8")
    return parse_config(
        {
            "feed": [{"url": "a.xml"}, {"url": "feeds/b.xml", "label": "The pond"}],
            "newsletter": {"from": "Garden <news@garden.example.org>"},
        },
        path=site / "newsletter.toml",
    )


def titles_checked(config: Config, feed: str) -> list[str]:
    report = pipeline.check(config, SendOptions(feed=feed), {}, lambda line: None, now=lambda: NOW)
    assert report.plan is not None
    return sorted(post.title for post in report.plan.feed.posts)


@pytest.mark.parametrize("written", ["a.xml", "./a.xml", "feeds/../a.xml"])
def test_the_url_as_written_picks_the_feed_wherever_the_command_runs(
    config: Config, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, written: str
) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    assert titles_checked(config, written) == ["Pruning the pear"]
    assert titles_checked(config, "feeds/b.xml") == ["Frogspawn"]


def test_the_resolved_path_and_the_label_still_pick_the_feed(config: Config) -> None:
    assert titles_checked(config, str(config.base_dir / "a.xml")) == ["Pruning the pear"]
    assert titles_checked(config, "The pond") == ["Frogspawn"]


def test_a_value_naming_no_feed_is_refused_with_the_ways_to_name_each(config: Config) -> None:
    with pytest.raises(ConfigError) as refused:
        titles_checked(config, "b.xml")  # the file name alone is not the url written
    assert refused.value.message == (
        "--feed b.xml is none of the feeds in newsletter.toml; give a feed's label or its url "
        "as newsletter.toml writes it: a.xml; 'The pond' or feeds/b.xml."
    )


def test_a_home_folder_of_nobody_on_this_machine_is_refused_like_any_other_value(
    config: Config,
) -> None:
    # Path.expanduser raises for `~name` when the machine has no such user.
    with pytest.raises(
        ConfigError, match=r"--feed ~nobody-here-[0-9]+/a\.xml is none of the feeds"
    ):
        titles_checked(config, "~nobody-here-4711/a.xml")
