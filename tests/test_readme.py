"""The README's commands work as written, in the order a newcomer types them.

Run against a copy of `examples/` in an empty folder, as right after a fresh clone: the
"Try it" command first, then every "Everyday use" line (with the `export` it shows).
`--open` and `--screenshot` need a desktop and a browser; `tests/test_render_preview.py`
and `tests/test_screenshot.py` cover them, so here they are left off their `preview` line.
"""

from __future__ import annotations

import re
import shlex
import shutil
from pathlib import Path

import pytest

from newsletter.cli import main

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text(encoding="utf-8")
NEEDS_A_DESKTOP = ("--open", "--screenshot")


def section(title: str) -> str:
    start = README.index(f"## {title}\n")
    end = README.find("\n## ", start + 1)
    return README[start : end if end != -1 else None]


def shell_lines(text: str) -> list[str]:
    blocks = re.findall(r"```sh\n(.*?)```", text, re.DOTALL)
    return [line for block in blocks for line in block.splitlines() if line.strip()]


def commands() -> list[str]:
    """The README's shell lines for a newcomer: the `newsletter` part of the "Try it" line,
    then the "Everyday use" lines, comments removed."""
    (try_it,) = shell_lines(section("Try it (no account, no network)"))
    lines = [try_it[try_it.index("newsletter ") :]]
    lines += shell_lines(section("Everyday use"))
    return [shlex.join(shlex.split(line, comments=True)) for line in lines]


def test_every_everyday_command_works_right_after_the_first_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    shutil.copytree(ROOT / "examples", tmp_path / "examples")
    monkeypatch.chdir(tmp_path)
    for name in ("NEWSLETTER_CONFIG", "GITHUB_STEP_SUMMARY"):
        monkeypatch.delenv(name, raising=False)
    ran = []
    for line in commands():
        if line.startswith("export "):
            name, _, value = line.removeprefix("export ").partition("=")
            monkeypatch.setenv(name, value)
            continue
        argv = [word for word in shlex.split(line) if word not in NEEDS_A_DESKTOP]
        assert argv[0] == "newsletter", line
        code = main(argv[1:])
        output = capsys.readouterr()
        assert code == 0, f"{line!r} exited {code}: {output.err}"
        ran.append(argv[1])
    assert {"check", "preview", "send", "status"} <= set(ran)
    assert list((tmp_path / "outbox").glob("*.eml")), "the first command wrote the example email"
