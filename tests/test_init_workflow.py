"""`newsletter init` writes the workflow for the blog's own [schedule] and [review]."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from newsletter import __version__
from newsletter.cli import main
from newsletter.init import init_project
from newsletter.requirement import Installed

WORKFLOW_IN_BLOG = Path(".github/workflows/newsletter.yml")


def workflow(blog: Path) -> dict[Any, Any]:
    loaded = yaml.safe_load((blog / WORKFLOW_IN_BLOG).read_text(encoding="utf-8"))
    assert isinstance(loaded, dict)
    return loaded


def on(loaded: dict[Any, Any]) -> dict[str, Any]:
    value = loaded["on"] if "on" in loaded else loaded[True]
    assert isinstance(value, dict)
    return value


def permissions(loaded: dict[Any, Any]) -> dict[str, str]:
    (job,) = loaded["jobs"].values()
    assert isinstance(job["permissions"], dict)
    return job["permissions"]


def write_config(blog: Path, extra: str) -> None:
    (blog / "newsletter.toml").write_text(
        '[feed]\nurl = "https://blog.example.org/feed.xml"\n\n'
        '[newsletter]\nfrom = "Blog <news@blog.example.org>"\n\n' + extra,
        encoding="utf-8",
    )


def test_a_fresh_blog_gets_the_weekly_utc_line_and_no_pull_request_permission(
    tmp_path: Path,
) -> None:
    init_project(tmp_path)
    written = workflow(tmp_path)
    assert on(written)["schedule"] == [{"cron": "17 7 * * 2"}]
    assert permissions(written) == {"contents": "write"}
    assert "pull_request" not in on(written)


def test_an_authors_schedule_becomes_zoned_cron_lines(tmp_path: Path) -> None:
    write_config(
        tmp_path,
        '[schedule]\ntimezone = "America/Chicago"\ndays = ["monday", "thursday"]\ntime = "06:45"\n',
    )
    report = init_project(tmp_path, found=Installed(__version__))
    assert WORKFLOW_IN_BLOG in report.written
    zone = {"timezone": "America/Chicago"}
    assert on(workflow(tmp_path))["schedule"] == [
        {"cron": "45 6 * * 1,4", **zone},
        {"cron": "45 9 * * 1,4", **zone},
    ]
    text = (tmp_path / WORKFLOW_IN_BLOG).read_text(encoding="utf-8")
    assert f'NEWSLETTER_PACKAGE: "blog-newsletter=={__version__}"' in text, "still pinned"


def test_review_mode_asks_for_pull_requests_and_runs_on_their_close(tmp_path: Path) -> None:
    write_config(
        tmp_path,
        '[state]\npath = "newsletter-state/ledger.json"\n\n'
        '[schedule]\ntimezone = "Europe/Paris"\ndays = ["friday"]\ntime = "07:30"\n\n'
        '[review]\nmode = "pull-request"\nhours_ahead = 48\n',
    )
    init_project(tmp_path)
    written = workflow(tmp_path)
    assert permissions(written) == {"contents": "write", "pull-requests": "write"}
    assert on(written)["pull_request"] == {
        "types": ["closed"],
        "paths": ["newsletter-state/review/**"],
    }
    zone = {"timezone": "Europe/Paris"}
    assert on(written)["schedule"][0] == {"cron": "30 7 * * 3", **zone}, "two days ahead"


def test_a_broken_config_is_named_before_any_workflow_is_written(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write_config(tmp_path, '[schedule]\ntimezone = "Europe/Lundon"\ndays = ["friday"]\n')
    code = main(["init", "--dir", str(tmp_path)])
    assert code == 2
    assert "schedule.timezone" in capsys.readouterr().err
    assert not (tmp_path / WORKFLOW_IN_BLOG).exists()
