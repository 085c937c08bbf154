"""The house rules that keep `newsletter/` easy to carry on, checked on the source itself.

Tests inject what they replace instead of patching the product; every function and class
the package defines is used by the package (not only by its tests); retrying with a pause
happens in one loop, `newsletter/http.py`'s; the README's table of settings states each
default as `newsletter/config.py`, the one place it is written, holds it; and no module
grows past 450 lines.
"""

from __future__ import annotations

import ast
import re
import tomllib
from collections.abc import Iterator, Mapping
from dataclasses import MISSING, fields
from pathlib import Path
from typing import Any

import pytest

from newsletter.config import SECTIONS, ProviderConfig

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "newsletter"
TESTS = ROOT / "tests"
PATCHERS = {"setattr", "delattr", "patch", "object"}
"""`monkeypatch.setattr/delattr`, `mock.patch(...)`, `mock.patch.object(...)`."""


def python_files(folder: Path) -> list[Path]:
    return sorted(path for path in folder.rglob("*.py") if "node_modules" not in path.parts)


def parsed(path: Path) -> ast.Module:
    return ast.parse(path.read_text(encoding="utf-8"), filename=str(path))


def call_name(node: ast.Call) -> str:
    function = node.func
    if isinstance(function, ast.Attribute):
        return function.attr
    return function.id if isinstance(function, ast.Name) else ""


def root_name(node: ast.expr) -> str | None:
    while isinstance(node, ast.Attribute):
        node = node.value
    return node.id if isinstance(node, ast.Name) else None


def product_names(tree: ast.Module) -> set[str]:
    """The names a test module binds to something imported from the product."""
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("newsletter"):
            names.update(alias.asname or alias.name for alias in node.names)
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.startswith("newsletter"):
                    names.add(alias.asname or alias.name.split(".")[0])
    return names


def patches_of_the_product(tree: ast.Module) -> Iterator[str]:
    imported = product_names(tree)
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call) or call_name(node) not in PATCHERS or not node.args:
            continue
        target = node.args[0]
        if isinstance(target, ast.Constant) and isinstance(target.value, str):
            if target.value.startswith("newsletter"):
                yield f"line {node.lineno}: {target.value}"
            continue
        named = node.args[1] if len(node.args) > 1 else None
        attribute = named.value if isinstance(named, ast.Constant) else None
        private = isinstance(attribute, str) and re.match(r"_(?!_)", attribute)
        if root_name(target) in imported or private:
            yield f"line {node.lineno}: {ast.unparse(target)}.{attribute}"


def test_patch_finder_sees_each_way_of_patching_the_product() -> None:
    tree = ast.parse(
        "from newsletter.providers import postmark\n"
        "import newsletter.pipeline\n"
        "monkeypatch.setattr(postmark, 'MAX_BATCH_BYTES', 10)\n"
        "monkeypatch.setattr(newsletter.pipeline, 'send', None)\n"
        "monkeypatch.setattr('newsletter.http.send_with_retries', None)\n"
        "mock.patch.object(anything, '_private', None)\n"
        "monkeypatch.setattr(os, 'replace', None)\n"
        "monkeypatch.setattr(thing, '__call__', None)\n"
    )
    assert [found.split(":")[0] for found in patches_of_the_product(tree)] == [
        "line 3",
        "line 4",
        "line 5",
        "line 6",
    ]


@pytest.mark.parametrize("path", python_files(TESTS), ids=lambda path: path.name)
def test_no_test_patches_the_product(path: Path) -> None:
    found = list(patches_of_the_product(parsed(path)))
    assert found == [], "hand the code what it should use (a provider, transport, clock, sleep)"


# --- dead code --------------------------------------------------------------------------------


def names_used(files: list[Path], others: list[Path]) -> set[str]:
    """Every name the package mentions: read, imported, an attribute, a word in a string (a
    registry or getattr), or a word in a template or pyproject.toml (the console script)."""
    used: set[str] = set()
    for path in files:
        for node in ast.walk(parsed(path)):
            if isinstance(node, ast.Name):
                used.add(node.id)
            elif isinstance(node, ast.Attribute):
                used.add(node.attr)
            elif isinstance(node, ast.alias):
                used.add(node.name.split(".")[-1])
            elif isinstance(node, ast.Constant) and isinstance(node.value, str):
                used.update(re.findall(r"\w+", node.value))
    for path in others:
        used.update(re.findall(r"\w+", path.read_text(encoding="utf-8")))
    return used


def test_every_function_and_class_is_used_by_the_package_itself() -> None:
    files = python_files(PACKAGE)
    used = names_used(files, [*PACKAGE.rglob("*.j2"), ROOT / "pyproject.toml"])
    defined = [
        (f"{path.relative_to(ROOT)}:{node.lineno}", node.name)
        for path in files
        for node in ast.walk(parsed(path))
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef)
        and not node.name.startswith("__")
    ]
    unused = [f"{where} {name}" for where, name in defined if name not in used]
    assert unused == [], "used only by tests, or not at all: delete it with its tests"


# --- one retry loop ---------------------------------------------------------------------------


def sleeps_in_a_loop(tree: ast.Module) -> Iterator[int]:
    for loop in ast.walk(tree):
        if isinstance(loop, ast.For | ast.While | ast.AsyncFor):
            for node in ast.walk(loop):
                if isinstance(node, ast.Call) and "sleep" in call_name(node).lower():
                    yield node.lineno


def test_the_loop_finder_sees_a_pause_between_tries() -> None:
    loop = "while True:\n    try:\n        go()\n    except OSError:\n        self._sleep(2)\n"
    assert list(sleeps_in_a_loop(ast.parse(loop))) == [5]


def test_only_the_http_layer_waits_between_tries() -> None:
    found = [
        f"{path.relative_to(ROOT)}:{line}"
        for path in python_files(PACKAGE)
        if path != PACKAGE / "http.py"
        for line in sleeps_in_a_loop(parsed(path))
    ]
    assert found == [], "retry through newsletter.http.send_with_retries"
    assert list(sleeps_in_a_loop(parsed(PACKAGE / "http.py"))), "the one loop moved"


# --- defaults, written once -------------------------------------------------------------------

README_ROW = re.compile(r"^\| `\[(\w+)\] (\w+)` \| `([^`]+)` \|", re.MULTILINE)


def plain(value: Any) -> Any:
    """A default as TOML would spell it."""
    if isinstance(value, tuple | list):
        return [plain(item) for item in value]
    if isinstance(value, Mapping):
        return {key: plain(item) for key, item in value.items()}
    return str(value) if isinstance(value, Path) else value


def config_defaults() -> dict[tuple[str, str], Any]:
    found: dict[tuple[str, str], Any] = {}
    for section, cls in {**SECTIONS, "provider": ProviderConfig}.items():
        for setting in fields(cls):
            key = setting.metadata.get("key") or setting.name
            if setting.default is not MISSING:
                found[section, key] = plain(setting.default)
            elif setting.default_factory is not MISSING:
                found[section, key] = plain(setting.default_factory())
    return found


def toml_value(literal: str) -> Any:
    """The value a cell spells in TOML, or None for words in backticks (`newsletter/VERSION`)."""
    try:
        return tomllib.loads(f"value = {literal}")["value"]
    except tomllib.TOMLDecodeError:
        return None


def test_the_readme_states_each_default_as_the_config_holds_it() -> None:
    defaults = config_defaults()
    rows = README_ROW.findall((ROOT / "README.md").read_text(encoding="utf-8"))
    stated = {
        (section, key): value
        for section, key, literal in rows
        if (value := toml_value(literal)) is not None
    }
    assert len(stated) >= 10, "the README's table of settings moved"
    assert {where: defaults.get(where) for where in stated} == stated


# --- small modules ----------------------------------------------------------------------------

MOST_LINES = 450
"""CONTRIBUTING.md asks for modules of one job, none much over 400 lines; this leaves room
for the change before a split, and stops growth that only a reviewer would notice."""


def test_no_module_in_the_package_is_over_450_lines() -> None:
    sizes = {
        str(path.relative_to(ROOT)): len(path.read_text(encoding="utf-8").splitlines())
        for path in python_files(PACKAGE)
    }
    assert len(sizes) > 50, "the package moved"
    assert {name: lines for name, lines in sizes.items() if lines > MOST_LINES} == {}, (
        "split the module by job, as pipeline.py (run.py) and http.py (deadline.py) were"
    )
