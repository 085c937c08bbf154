"""The built-in templates as Jinja compiled them when the release was made.

Jinja turns each template into Python source before it runs it, and lexing, parsing,
optimising and generating that source took about half of a small weekly run's own CPU
(bench/PROFILE.md), the same work every run for templates that ship with the package.
`compiled.json` keeps that Python source for each built-in template, with the SHA-256 of the
template text it came from and the Jinja version that wrote it. A template is taken from it
only when both still match; an edited template, another Jinja release or an author's own
template is compiled as usual. tests/test_precompiled.py fails when the file is stale;
`make templates` writes it again.

It plugs in as Jinja's bytecode cache, the hook Jinja gives for reusing compiled templates,
so the loaders and every error message stay Jinja's own.
"""

from __future__ import annotations

import functools
import hashlib
import json
from pathlib import Path
from types import CodeType

import jinja2
from jinja2.bccache import Bucket

COMPILED = Path(__file__).with_name("compiled.json")
TEMPLATES = Path(__file__).resolve().parent.parent / "templates"


def _digest(source: str) -> str:
    return hashlib.sha256(source.encode("utf-8")).hexdigest()


@functools.cache
def read_store(path: Path) -> dict[str, dict[str, str]]:
    """name -> {"sha256", "python"}; nothing if the file was written by another Jinja
    release or cannot be read (then every template is compiled as usual)."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    if not isinstance(data, dict) or data.get("jinja2") != jinja2.__version__:
        return {}
    templates = data.get("templates")
    return templates if isinstance(templates, dict) else {}


class BuiltinTemplates(jinja2.BytecodeCache):
    """Hands Jinja the stored code of an unchanged built-in template; anything else misses,
    and Jinja compiles it. Nothing is ever written.

    Jinja's loaders call get_bucket before compiling a template and set_bucket after; both
    are answered here, so the base class's file methods are never reached."""

    def __init__(self, store: Path = COMPILED) -> None:
        self.store = store

    def compiled_code(self, name: str, filename: str | None, source: str) -> CodeType | None:
        """The code of a built-in template from the store, if it is this very template."""
        if filename is None or Path(filename).parent != TEMPLATES:
            return None
        entry = read_store(self.store).get(name)
        if entry is None or entry.get("sha256") != _digest(source):
            return None
        # The call Jinja makes on the source it generates (Environment._compile); this module's
        # own `from __future__` must not leak into the template's code.
        return compile(entry["python"], filename, "exec", dont_inherit=True)

    def get_bucket(
        self, environment: jinja2.Environment, name: str, filename: str | None, source: str
    ) -> Bucket:
        bucket = Bucket(environment, name, "")
        code = self.compiled_code(name, filename, source)
        if code is not None:
            bucket.code = code
        return bucket

    def set_bucket(self, bucket: Bucket) -> None:
        """Nothing is kept of templates compiled at run time."""


def generate(env: jinja2.Environment) -> str:
    """The content of `compiled.json` for `env`, an environment made by render.environment."""
    templates: dict[str, dict[str, str]] = {}
    for path in sorted(TEMPLATES.glob("*.j2")):
        source = path.read_text(encoding="utf-8")
        python = env.compile(source, path.name, str(path), raw=True)
        assert isinstance(python, str)
        templates[path.name] = {"sha256": _digest(source), "python": python}
    data = {"jinja2": jinja2.__version__, "templates": templates}
    return json.dumps(data, indent=1, sort_keys=True) + "\n"


def write() -> None:
    """Write `compiled.json` again after a built-in template changed (`make templates`)."""
    from newsletter.render.environment import environment

    COMPILED.write_text(generate(environment(None)), encoding="utf-8")
