"""`newsletter init`: the starter files it writes, and that it never overwrites anything."""

from __future__ import annotations

import re
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from newsletter import __version__
from newsletter.config import parse_config
from newsletter.errors import ConfigError, NewsletterError
from newsletter.init import init_project, pin_package
from newsletter.providers import PROVIDER_NAMES
from newsletter.requirement import Installed

ROOT = Path(__file__).resolve().parent.parent
WORKFLOW = ROOT / ".github" / "workflows" / "newsletter.yml"
STARTER = ROOT / "newsletter" / "starter"

CONFIG = Path("newsletter.toml")
WORKFLOW_IN_BLOG = Path(".github/workflows/newsletter.yml")
TEMPLATES_README = Path("templates/README.md")

README = ROOT / "README.md"


def documented_keys() -> set[str]:
    """Every key of the README's configuration table (`| `[table] key` | ...`), as table.key."""
    rows = re.findall(r"^\| `\[(\w+)\] (\w+)` \|", README.read_text(encoding="utf-8"), re.M)
    return {f"{table}.{key}" for table, key in rows}


def test_writes_the_three_starter_files_into_an_empty_folder(tmp_path: Path) -> None:
    report = init_project(tmp_path)

    assert report.written == (CONFIG, WORKFLOW_IN_BLOG, TEMPLATES_README)
    assert report.skipped == ()
    assert all((tmp_path / path).is_file() for path in report.written)
    assert "Settings > Secrets and variables > Actions" in report.next_steps


def test_the_starter_config_is_valid_and_sends_to_the_outbox(tmp_path: Path) -> None:
    init_project(tmp_path)
    path = tmp_path / CONFIG

    config = parse_config(tomllib.loads(path.read_text(encoding="utf-8")), path=path)

    assert config.provider.name == "outbox"
    assert config.provider.options["dir"] == tmp_path / "outbox"
    assert config.state.path == tmp_path / "state" / "ledger.json"
    assert config.newsletter.templates == tmp_path / "templates"


def test_the_starter_config_names_every_documented_key() -> None:
    # An author discovers every setting in the one file init writes, set or commented.
    documented = documented_keys()
    assert len(documented) > 10, "the README's configuration table was not found"
    named: set[str] = set()
    table = ""
    for line in (STARTER / "newsletter.toml").read_text(encoding="utf-8").splitlines():
        if heading := re.fullmatch(r"\[(\w+)\]", line):
            table = heading.group(1)
        elif key := re.match(r"#? ?(\w+) = ", line):
            named.add(f"{table}.{key.group(1)}")
    assert documented - named == set()


@pytest.mark.parametrize("provider", [name for name in PROVIDER_NAMES if name != "outbox"])
def test_each_commented_provider_example_is_a_valid_config(provider: str) -> None:
    text = (STARTER / "newsletter.toml").read_text(encoding="utf-8")
    block = re.search(rf'^# name = "{provider}"\n((?:# \w+ = .*\n)*)', text, re.MULTILINE)
    assert block, f"no commented example for {provider}"
    example = "[provider]\n" + re.sub(r"^# ", "", block.group(0), flags=re.MULTILINE)

    config = parse_config(tomllib.loads(example), path=Path("/blog/newsletter.toml"))

    assert config.provider.name == provider


def test_the_blog_gets_this_projects_workflow_pinned_to_this_version(tmp_path: Path) -> None:
    # Installed from PyPI (no direct_url.json): the release itself.
    init_project(tmp_path, found=Installed(__version__))

    written = (tmp_path / WORKFLOW_IN_BLOG).read_text(encoding="utf-8").splitlines()
    ours = WORKFLOW.read_text(encoding="utf-8").splitlines()
    differences = [(a, b) for a, b in zip(ours, written, strict=True) if a != b]
    pinned = f'  NEWSLETTER_PACKAGE: "blog-newsletter=={__version__}"'
    assert differences == [('  NEWSLETTER_PACKAGE: ""', pinned)]


def test_pinning_needs_the_unpinned_line() -> None:
    with pytest.raises(NewsletterError, match="NEWSLETTER_PACKAGE"):
        pin_package("name: Newsletter\n", "newsletter==1.0")


def test_never_overwrites_an_existing_file(tmp_path: Path) -> None:
    (tmp_path / CONFIG).write_text("# the author's own config\n", encoding="utf-8")
    workflow = tmp_path / WORKFLOW_IN_BLOG
    workflow.parent.mkdir(parents=True)
    workflow.write_text("name: mine\n", encoding="utf-8")

    report = init_project(tmp_path)

    assert report.written == (TEMPLATES_README,)
    assert report.skipped == (CONFIG, WORKFLOW_IN_BLOG)
    assert (tmp_path / CONFIG).read_text(encoding="utf-8") == "# the author's own config\n"
    assert workflow.read_text(encoding="utf-8") == "name: mine\n"


def test_a_second_run_changes_nothing(tmp_path: Path) -> None:
    init_project(tmp_path)
    (tmp_path / CONFIG).write_text("# edited\n", encoding="utf-8")

    report = init_project(tmp_path)

    assert report.written == ()
    assert report.skipped == (CONFIG, WORKFLOW_IN_BLOG, Path("templates"))
    assert (tmp_path / CONFIG).read_text(encoding="utf-8") == "# edited\n"


def test_an_existing_templates_folder_is_left_alone(tmp_path: Path) -> None:
    # Some site generators (Zola, for one) keep their own templates/ folder.
    (tmp_path / "templates").mkdir()
    (tmp_path / "templates" / "page.html").write_text("<html></html>", encoding="utf-8")

    report = init_project(tmp_path)

    assert Path("templates") in report.skipped
    assert sorted(p.name for p in (tmp_path / "templates").iterdir()) == ["page.html"]


def test_a_dangling_link_in_the_way_is_not_followed(tmp_path: Path) -> None:
    outside = tmp_path / "outside.toml"
    blog = tmp_path / "blog"
    blog.mkdir()
    (blog / CONFIG).symlink_to(outside)

    report = init_project(blog)

    assert CONFIG in report.skipped
    assert not outside.exists()


def test_a_target_that_is_not_a_folder_is_a_usage_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="--dir") as caught:
        init_project(tmp_path / "missing")
    assert caught.value.exit_code == 2


def test_a_file_in_the_way_of_a_folder_is_reported_plainly(tmp_path: Path) -> None:
    (tmp_path / ".github").write_text("not a folder", encoding="utf-8")

    with pytest.raises(NewsletterError, match=r"Cannot create the folder .*\.github"):
        init_project(tmp_path)


def test_the_init_command_reports_what_it_wrote_and_kept(tmp_path: Path) -> None:
    (tmp_path / CONFIG).write_text("# mine\n", encoding="utf-8")

    result = subprocess.run(
        [sys.executable, "-m", "newsletter", "init", "--dir", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env={"PYTHONPATH": str(ROOT), "PATH": ""},
    )

    assert result.returncode == 0, result.stderr
    assert f"wrote {WORKFLOW_IN_BLOG}" in result.stdout
    assert f"kept  {CONFIG}" in result.stdout
    assert (tmp_path / WORKFLOW_IN_BLOG).is_file()


def test_the_starters_placeholder_feed_is_named_not_fetched(tmp_path: Path) -> None:
    from newsletter import pipeline
    from newsletter.config import load_config

    init_project(tmp_path)
    config = load_config(str(tmp_path / "newsletter.toml"), {})
    assert config.feed.url == pipeline.STARTER_FEED_URL
    with pytest.raises(ConfigError, match="still the starter's placeholder"):
        pipeline.check(config, pipeline.SendOptions(), {}, lambda line: None)
