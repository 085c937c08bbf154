"""What a release ships: the sdist and wheel built from this tree, opened and read.

`pip install blog-newsletter` users get only the wheel: the email templates, the starter
files `newsletter init` writes, and the licence must be inside it, or the installed command
fails (or ships unlicensed) where the repository works. The wheel is built from the sdist,
as `python -m build` does, so a file missing from the sdist shows up here too.
"""

from __future__ import annotations

import email
import shutil
import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path

import pytest

from newsletter import __version__

ROOT = Path(__file__).resolve().parent.parent
TEMPLATES = sorted(path.name for path in (ROOT / "templates").iterdir())
PACKAGE = ROOT / "newsletter"
STARTER = sorted(path.name for path in (PACKAGE / "starter").iterdir())
CATALOGUES = sorted((PACKAGE / "locale").rglob("*.mo"))
_NOT_SOURCE = shutil.ignore_patterns(
    ".git", ".venv", "venv", "build", "dist", "*.egg-info", "__pycache__", ".*_cache",
    ".hypothesis", "node_modules", "outbox", "preview", "state",
)  # fmt: skip


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """(sdist, wheel), built without network from a copy of the working tree."""
    work = tmp_path_factory.mktemp("release")
    source = work / "source"
    shutil.copytree(ROOT, source, ignore=_NOT_SOURCE, symlinks=True)
    result = subprocess.run(
        [sys.executable, "-m", "build", "--no-isolation", "--outdir", str(work / "dist"), "."],
        cwd=source,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    (sdist,) = (work / "dist").glob("*.tar.gz")
    (wheel,) = (work / "dist").glob("*.whl")
    return sdist, wheel


@pytest.mark.slow
def test_the_wheel_carries_templates_starter_files_and_licence(built: tuple[Path, Path]) -> None:
    _, wheel = built
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
        dist_info = f"blog_newsletter-{__version__}.dist-info"
        metadata = email.message_from_bytes(archive.read(f"{dist_info}/METADATA"))
        shipped_workflow = archive.read("newsletter/starter/newsletter.yml")
        shipped_compiled = archive.read("newsletter/render/compiled.json")
        shipped_cldr = archive.read("newsletter/render/cldr.json")
        shipped_templates = {
            name: archive.read(f"newsletter/templates/{name}")
            for name in TEMPLATES
            if f"newsletter/templates/{name}" in names
        }
    # Exactly the templates the repository's templates/ holds, not a stale copy.
    assert shipped_templates == {
        name: (ROOT / "templates" / name).read_bytes() for name in TEMPLATES
    }
    assert {f"newsletter/starter/{name}" for name in STARTER} <= names
    # The built-in templates' compiled code (render/precompiled.py), as the repository has it.
    assert shipped_compiled == (PACKAGE / "render" / "compiled.json").read_bytes()
    # Babel's answers for the shipped languages (render/cldr.py): without them every run
    # loads Babel's dates and CLDR data again, slower but the same emails.
    assert shipped_cldr == (PACKAGE / "render" / "cldr.json").read_bytes()
    # Without its catalogue, a newsletter in German silently comes out in English.
    assert {f"newsletter/{path.relative_to(PACKAGE)}" for path in CATALOGUES} <= names
    assert f"{dist_info}/licenses/LICENSE" in names
    assert metadata["License-Expression"] == "MIT"
    assert metadata["Version"] == __version__
    # `newsletter init` copies this file into blogs: it must be the real workflow's text.
    workflow = (ROOT / ".github" / "workflows" / "newsletter.yml").read_bytes()
    assert shipped_workflow == workflow


@pytest.mark.slow
def test_the_sdist_carries_the_licence_docs_and_examples(built: tuple[Path, Path]) -> None:
    sdist, _ = built
    with tarfile.open(sdist) as archive:
        top = f"blog_newsletter-{__version__}"
        names = {name.removeprefix(f"{top}/") for name in archive.getnames()}
    for needed in ("LICENSE", "README.md", "CHANGELOG.md", "CONTRIBUTING.md", "pyproject.toml"):
        assert needed in names
    assert {f"docs/{path.name}" for path in (ROOT / "docs").glob("*.md")} <= names
    assert {"examples/newsletter.toml", "examples/feed.xml"} <= names
    assert {f"newsletter/templates/{name}" for name in TEMPLATES} <= names


@pytest.mark.slow
def test_the_wheel_carries_every_compiled_catalogue(built: tuple[Path, Path]) -> None:
    # The emails' words in every language come from these .mo files; a wheel without them
    # would quietly send English.
    _, wheel = built
    compiled = sorted((ROOT / "newsletter" / "locale").glob("*/LC_MESSAGES/newsletter.mo"))
    assert len(compiled) >= 22
    with zipfile.ZipFile(wheel) as archive:
        for path in compiled:
            shipped = archive.read(path.relative_to(ROOT).as_posix())
            assert shipped == path.read_bytes(), path
