"""Category filters: `include_categories` and `exclude_categories` per feed (by default
`no-newsletter`), matched without case on a category's term or label. A post they leave out
is never sent, is listed by `check` with the reason, and is recorded as skipped, so that
removing its category later does not mail an old post as new."""

from __future__ import annotations

import json
import shutil
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from newsletter import pipeline
from newsletter.categories import CategoryFilter
from newsletter.config import Config, parse_config
from newsletter.errors import ConfigError, SafetyRefusal
from newsletter.models import Category, Feed, Post
from newsletter.pipeline import SendOptions
from newsletter.plan import Limits, Request, decide
from newsletter.providers.base import Traits, Unsubscribe
from newsletter.report import plan_lines
from tests.cli_harness import run
from tests.post_helpers import NOW, make_post, sent_destination
from tests.test_pipeline import RecordingProvider, quiet

MEDIA = Path(__file__).parent / "fixtures" / "media"
FIXTURE_NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
"""A day after the newest post of wordpress-featured.xml."""


def in_categories(post: Post, *categories: Category) -> Post:
    return replace(post, categories=categories)


# --- the rule ----------------------------------------------------------------------------------


def test_no_newsletter_is_excluded_by_default_in_any_case() -> None:
    rule = CategoryFilter()
    tagged = in_categories(make_post(1), Category("Travel"), Category("No-Newsletter"))
    assert rule.reason(tagged) == (
        "in the category 'No-Newsletter', which exclude_categories leaves out"
    )
    assert rule.reason(in_categories(make_post(2), Category("Travel"))) is None
    assert rule.reason(make_post(3)) is None


def test_a_label_matches_as_well_as_the_term_and_spacing_does_not_matter() -> None:
    rule = CategoryFilter(exclude=("Sponsored  posts",))
    labelled = in_categories(make_post(1), Category("ad-42", label="Sponsored posts"))
    assert rule.reason(labelled) is not None
    termed = in_categories(make_post(2), Category("sponsored posts"))
    assert rule.reason(termed) is not None
    assert rule.reason(in_categories(make_post(3), Category("sponsored"))) is None


def test_include_lets_through_only_posts_in_one_of_its_categories() -> None:
    rule = CategoryFilter(include=("Podcast", "news"), exclude=())
    assert rule.reason(in_categories(make_post(1), Category("podcast"))) is None
    assert rule.reason(in_categories(make_post(2), Category("NEWS"))) is None
    assert rule.reason(in_categories(make_post(3), Category("Essays"))) == (
        "in none of include_categories ('Podcast', 'news')"
    )
    assert rule.reason(make_post(4)) == (
        "has no category, and include_categories asks for one of 'Podcast', 'news'"
    )


def test_exclusion_wins_over_inclusion() -> None:
    rule = CategoryFilter(include=("podcast",), exclude=("draft",))
    both = in_categories(make_post(1), Category("podcast"), Category("Draft"))
    assert rule.reason(both) is not None


def test_filtered_posts_are_skipped_by_the_plan_and_never_count_towards_the_flood() -> None:
    posts = [in_categories(make_post(n), Category("sponsored")) for n in range(2, 14)]
    wanted = make_post(1)
    records = sent_destination(make_post(99))
    feed_posts = (wanted, *posts)
    plan = decide(
        Feed("B", "https://example.org/", "https://example.org/feed", None, feed_posts),
        records,
        now=NOW,
        limits=Limits(first_run_days=7, max_posts=10, flood_limit=3),
        request=Request(),
        categories=CategoryFilter(exclude=("Sponsored",)),
    )
    assert plan.to_send == (wanted,)
    assert [skip.post for skip in plan.filtered] == posts
    assert all(skip.filtered and not skip.waits for skip in plan.filtered)
    assert not plan.flooded


# --- configuration -----------------------------------------------------------------------------


def test_the_filters_and_the_label_are_read_from_the_feed_table() -> None:
    default = parse_config({})
    assert default.feed.exclude_categories == ("no-newsletter",)
    assert default.feed.include_categories == ()
    assert default.feed.label == ""
    config = parse_config(
        {
            "feed": {
                "url": "f.xml",
                "label": "Podcast",
                "include_categories": ["Episodes"],
                "exclude_categories": [],
            }
        }
    )
    assert config.feed.categories == CategoryFilter(include=("Episodes",), exclude=())
    assert config.feed.label == "Podcast"


@pytest.mark.parametrize(
    ("table", "message"),
    [
        ({"exclude_categories": "sponsored"}, "feed.exclude_categories"),
        ({"include_categories": ["ok", ""]}, "feed.include_categories"),
        ({"label": "two\nlines"}, "feed.label"),
    ],
)
def test_bad_filter_values_name_their_key(table: dict[str, object], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        parse_config({"feed": {"url": "f.xml", **table}})


# --- send, check and the ledger ----------------------------------------------------------------


@pytest.fixture
def blog(tmp_path: Path) -> Path:
    shutil.copyfile(MEDIA / "wordpress-featured.xml", tmp_path / "feed.xml")
    return tmp_path


def blog_config(folder: Path, **feed: object) -> Config:
    return parse_config(
        {
            "feed": {"url": "feed.xml", **feed},
            "newsletter": {"from": "Allotment <news@allotment.example.org>", "mode": "per-post"},
        },
        path=folder / "newsletter.toml",
    )


def skipped_records(folder: Path) -> dict[str, str]:
    ledger = json.loads((folder / "state" / "ledger.json").read_text(encoding="utf-8"))
    posts = ledger["destinations"]["fake:list"]["posts"]
    return {
        record["title"]: record["reason"]
        for record in posts.values()
        if record["status"] == "skipped"
    }


@pytest.fixture
def provider() -> RecordingProvider:
    return RecordingProvider(
        Traits("fake", "fake:list", Unsubscribe("{{ unsubscribe_url }}"), idempotent=False)
    )


def send(
    provider: RecordingProvider, config: Config, posts: tuple[str, ...] = ()
) -> pipeline.Report:
    return pipeline.send(
        config,
        SendOptions(posts=posts),
        {},
        quiet,
        provider=provider,
        now=lambda: FIXTURE_NOW,
    )


def sent_titles(provider: RecordingProvider) -> list[str]:
    return [email.subject for email, _ in provider.sent]


def test_a_filtered_post_is_never_sent_and_stays_skipped_when_its_category_goes(
    blog: Path, provider: RecordingProvider
) -> None:
    config = blog_config(blog, exclude_categories=["no-newsletter", "SPONSORED"])
    send(provider, config)
    assert sorted(sent_titles(provider)) == ["Shed talk, recorded", "Sweet peas, at last"]
    assert skipped_records(blog) == {
        "Seed catalogue: this year’s sponsor": (
            "in the category 'Sponsored', which exclude_categories leaves out"
        ),
        "Plot rota (members only)": (
            "in the category 'No-Newsletter', which exclude_categories leaves out"
        ),
    }

    # The author drops the filter (or the post's category): the old posts stay unsent.
    unfiltered = blog_config(blog, exclude_categories=[])
    report = send(provider, unfiltered)
    assert len(provider.sent) == 2
    plan = report.plan
    assert plan is not None and plan.to_send == ()
    lines = "\n".join(plan_lines(plan))
    assert "Seed catalogue" in lines
    assert "skipped on 2026-11-25: in the category 'Sponsored'" in lines


def test_check_lists_a_filtered_post_with_its_reason_and_sends_nothing(
    blog: Path, provider: RecordingProvider
) -> None:
    config = blog_config(blog, exclude_categories=["no-newsletter", "sponsored"])
    report = pipeline.check(config, SendOptions(), {}, quiet, now=lambda: FIXTURE_NOW)
    assert report.plan is not None
    lines = plan_lines(report.plan)
    (sponsored,) = [line for line in lines if "Seed catalogue" in line]
    assert sponsored.startswith("  - ")
    assert "in the category 'Sponsored', which exclude_categories leaves out" in sponsored
    assert not any("Plot rota" in line and line.startswith("  + ") for line in lines)
    assert not (blog / "state" / "ledger.json").exists()


def test_send_post_still_sends_a_filtered_post_when_asked_for_by_name(
    blog: Path, provider: RecordingProvider
) -> None:
    config = blog_config(blog, exclude_categories=["sponsored"])
    send(provider, config)
    assert "Seed catalogue: this year’s sponsor" not in sent_titles(provider)
    link = "https://allotment.example.org/2026/11/seed-catalogue/"
    send(provider, config, posts=(link,))
    assert sent_titles(provider)[-1] == "Seed catalogue: this year’s sponsor"
    # Once sent, naming it again needs --force like any sent post.
    with pytest.raises(SafetyRefusal):
        send(provider, config, posts=(link,))


@pytest.mark.slow
def test_check_on_the_command_line_names_the_post_the_default_filter_leaves_out(
    blog: Path,
) -> None:
    (blog / "newsletter.toml").write_text(
        '[feed]\nurl = "feed.xml"\n\n'
        '[newsletter]\nfrom = "Allotment <news@allotment.example.org>"\n',
        encoding="utf-8",
    )
    since = (FIXTURE_NOW - timedelta(days=30)).date().isoformat()
    result = run(blog, "check", "--since", since)
    assert result.code == 0, result.stderr
    lines = result.stdout.splitlines()
    (rota,) = [line for line in lines if "Plot rota" in line]
    assert rota.startswith("  - ")
    assert "in the category 'No-Newsletter', which exclude_categories leaves out" in rota
    (sponsored,) = [line for line in lines if "Seed catalogue" in line]
    assert sponsored.startswith("  + ")  # only no-newsletter is left out by default
