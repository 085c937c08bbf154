"""What the code and the documentation cite can be followed from a fresh clone.

Comments, templates, workflows, tests, benchmarks and build files cite
`docs/<page>.md#<section>` (or a public URL), never documents that live outside the
repository; every relative link in the Markdown files leads to a file, and every `#section`
to a heading, that exists.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
CITING = ("newsletter", "templates", ".github", "tests", "bench", "examples", ".ci")
CITING_FILES = ("Makefile", "pyproject.toml", "babel.cfg", "MANIFEST.in")
CITING_SUFFIXES = {".py", ".j2", ".yml", ".yaml", ".toml", ".md", ".txt", ".mjs", ".cfg", ""}
DOCS_CITATION = re.compile(r"\bdocs/[\w./-]+\.md(?:#[\w-]+)?")
# Documents the project was written from but does not ship, spelt so that this file is no
# match.
_SPEC = "SPE" + "C"
OUTSIDE = re.compile(
    "|".join(
        (
            rf"\b{_SPEC}\b",
            r"\bDESIG" + r"N\b",
            "refer" + "ence/",
            "feed-" + "excerpts",
        )
    )
)
MARKDOWN = [
    ROOT / "README.md",
    ROOT / "CONTRIBUTING.md",
    ROOT / "CHANGELOG.md",
    *sorted((ROOT / "docs").glob("*.md")),
]
LINK = re.compile(r"\]\(([^)\s]+)\)")


def citing_files() -> Iterator[Path]:
    yield from (ROOT / name for name in CITING_FILES)
    for folder in CITING:
        for path in sorted((ROOT / folder).rglob("*")):
            # Installed npm packages (tests/tools/node_modules) are not the project's words.
            skipped = {"fixtures", "node_modules"} & set(path.parts)
            if path.suffix in CITING_SUFFIXES and path.is_file() and not skipped:
                yield path


def anchors(page: Path) -> set[str]:
    """The `#fragment` of each heading, as GitHub spells it."""
    found: set[str] = set()
    for line in page.read_text(encoding="utf-8").splitlines():
        if heading := re.match(r"#{1,6} (.+)", line):
            text = re.sub(r"[^\w\- ]", "", heading.group(1).strip().lower())
            slug = text.replace(" ", "-")
            candidate, number = slug, 0
            while candidate in found:
                number += 1
                candidate = f"{slug}-{number}"
            found.add(candidate)
    return found


def resolves(target: str, relative_to: Path) -> bool:
    path_part, _, fragment = target.partition("#")
    page = (relative_to / path_part).resolve() if path_part else None
    if page is not None and not page.exists():
        return False
    if fragment and page is not None and page.suffix == ".md":
        return fragment in anchors(page)
    return True


@pytest.mark.parametrize("path", list(citing_files()), ids=lambda path: str(path.relative_to(ROOT)))
def test_citations_point_into_the_repository(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    outside = sorted({match.group(0) for match in OUTSIDE.finditer(text)})
    assert outside == [], "cite a docs/ page or a public URL instead"
    dangling = [cited for cited in DOCS_CITATION.findall(text) if not resolves(cited, ROOT)]
    assert dangling == []


@pytest.mark.parametrize("page", MARKDOWN, ids=lambda path: str(path.relative_to(ROOT)))
def test_relative_links_in_the_documentation_resolve(page: Path) -> None:
    links = LINK.findall(page.read_text(encoding="utf-8"))
    local = [link for link in links if not re.match(r"[a-z]+:", link)]
    if page.name == "README.md":
        assert local, "the README links its documentation"
    assert [link for link in local if not resolves(link, page.parent)] == []
