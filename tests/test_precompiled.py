"""The built-in templates' stored compiled code: current, used only when it is the very
template, and never in the way of an edited one, an author's own or another Jinja release."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from newsletter.render.environment import BUILTIN_TEMPLATES, environment
from newsletter.render.i18n import parse_locale
from newsletter.render.precompiled import COMPILED, BuiltinTemplates, generate

BUILTINS = sorted(path.name for path in BUILTIN_TEMPLATES.glob("*.j2"))


def test_the_stored_code_is_what_jinja_generates_now() -> None:
    stored = COMPILED.read_text(encoding="utf-8")
    assert generate(environment(None)) == stored, (
        "newsletter/render/compiled.json is stale: a built-in template (or the environment) "
        "changed; run `make templates` and commit the file"
    )


@pytest.mark.parametrize("language", ["de", "ar"])
def test_the_language_does_not_change_the_code(language: str) -> None:
    locale = parse_locale(language)
    assert locale is not None
    assert generate(environment(None, locale)) == COMPILED.read_text(encoding="utf-8")


@pytest.mark.parametrize("name", BUILTINS)
def test_each_built_in_template_gets_the_code_jinja_would_compile(name: str) -> None:
    env = environment(None)
    path = BUILTIN_TEMPLATES / name
    source = path.read_text(encoding="utf-8")
    stored = BuiltinTemplates().compiled_code(name, str(path), source)
    assert stored is not None
    assert stored == env.compile(source, name, str(path))
    assert stored.co_filename == str(path)  # errors still name the template file


def test_the_environment_loads_built_ins_from_the_store() -> None:
    env = environment(None)
    assert isinstance(env.bytecode_cache, BuiltinTemplates)
    template = env.get_template("subject.txt.j2")
    assert template.filename == str(BUILTIN_TEMPLATES / "subject.txt.j2")


def test_an_edited_built_in_template_is_compiled_as_usual() -> None:
    path = BUILTIN_TEMPLATES / "digest.txt.j2"
    edited = path.read_text(encoding="utf-8") + "\nedited\n"
    assert BuiltinTemplates().compiled_code("digest.txt.j2", str(path), edited) is None


def test_an_authors_copy_of_a_built_in_is_never_taken_from_the_store(tmp_path: Path) -> None:
    source = (BUILTIN_TEMPLATES / "digest.txt.j2").read_text(encoding="utf-8")
    copy = tmp_path / "digest.txt.j2"
    copy.write_text(source, encoding="utf-8")
    assert BuiltinTemplates().compiled_code("digest.txt.j2", str(copy), source) is None
    (tmp_path / "subject.txt.j2").write_text("Mine: {{ blog.title }}", encoding="utf-8")
    template = environment(tmp_path).get_template("subject.txt.j2")
    assert template.render(blog={"title": "Notes"}) == "Mine: Notes"


@pytest.mark.parametrize(
    "content",
    [
        json.dumps({"jinja2": "0.0.1", "templates": {}}),
        "{ not json",
        json.dumps(["a list"]),
    ],
)
def test_a_store_from_another_jinja_or_unreadable_is_ignored(tmp_path: Path, content: str) -> None:
    good = json.loads(COMPILED.read_text(encoding="utf-8"))
    if content.startswith('{"jinja2"'):
        content = json.dumps({"jinja2": "0.0.1", "templates": good["templates"]})
    store = tmp_path / "compiled.json"
    store.write_text(content, encoding="utf-8")
    path = BUILTIN_TEMPLATES / "subject.txt.j2"
    source = path.read_text(encoding="utf-8")
    assert BuiltinTemplates(store).compiled_code("subject.txt.j2", str(path), source) is None
