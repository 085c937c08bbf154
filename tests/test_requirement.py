"""`newsletter init` pins a requirement that resolves, whichever way newsletter was installed."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from newsletter import __version__
from newsletter.cli import main
from newsletter.requirement import PLACEHOLDER_SOURCE, Installed, installed, starter_requirement

ROOT = Path(__file__).resolve().parent.parent
SOURCE = "https://github.com/example-author/newsletter"


def test_a_release_from_an_index_pins_that_release() -> None:
    assert starter_requirement(Installed("0.3.1", source=SOURCE)) == "blog-newsletter==0.3.1"


def test_a_git_install_pins_the_same_repository_and_tag() -> None:
    found = Installed(
        "0.3.1",
        direct_url={
            "url": "https://github.com/someone/fork",
            "vcs_info": {"vcs": "git", "requested_revision": "v0.3.1", "commit_id": "ab" * 20},
        },
        source=SOURCE,
    )
    assert starter_requirement(found) == (
        "blog-newsletter @ git+https://github.com/someone/fork@v0.3.1"
    )
    unnamed = Installed(
        "0.3.1",
        direct_url={
            "url": "https://example.org/n.git",
            "vcs_info": {"vcs": "git", "commit_id": "c" * 40},
        },
    )
    assert (
        starter_requirement(unnamed)
        == f"blog-newsletter @ git+https://example.org/n.git@{'c' * 40}"
    )


@pytest.mark.parametrize(
    "direct_url",
    [{"url": "file:///home/me/newsletter", "dir_info": {"editable": True}}, {}],
    ids=["local-checkout", "never-installed"],
)
def test_a_local_install_pins_the_projects_repository_at_the_versions_tag(
    direct_url: dict[str, object],
) -> None:
    # Before the first release nothing is on PyPI: `==0.1.0` would fail every weekly run.
    found = Installed("0.1.0", direct_url=direct_url, source=SOURCE + "/")
    assert starter_requirement(found) == f"blog-newsletter @ git+{SOURCE}@v0.1.0"


def test_the_author_can_ask_for_the_git_pin_and_sees_the_placeholder_to_replace() -> None:
    assert starter_requirement(Installed("0.2.0", source=SOURCE), from_git=True) == (
        f"blog-newsletter @ git+{SOURCE}@v0.2.0"
    )
    assert starter_requirement(Installed("0.2.0"), from_git=True) == (
        f"blog-newsletter @ git+{PLACEHOLDER_SOURCE}@v0.2.0"
    )


def test_this_checkout_reads_its_own_install_record() -> None:
    found = installed()
    assert found.version == __version__
    assert found.source == PLACEHOLDER_SOURCE


def test_init_from_git_on_the_command_line(tmp_path: Path) -> None:
    assert main(["init", "--dir", str(tmp_path), "--from-git"]) == 0
    workflow = (tmp_path / ".github" / "workflows" / "newsletter.yml").read_text(encoding="utf-8")
    assert (
        f'NEWSLETTER_PACKAGE: "blog-newsletter @ git+{PLACEHOLDER_SOURCE}@v{__version__}"'
        in workflow
    )


def test_the_git_pin_is_a_requirement_pip_reads(tmp_path: Path) -> None:
    requirement = starter_requirement(Installed("0.2.0", source=SOURCE), from_git=True)
    checked = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys; from packaging.requirements import Requirement as R; "
            "r = R(sys.argv[1]); print(r.name, r.url)",
            requirement,
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    if "No module named 'packaging'" in checked.stderr:
        pytest.skip("packaging is not installed")
    assert checked.stdout.split() == ["blog-newsletter", f"git+{SOURCE}@v0.2.0"]
