"""Start-up: `newsletter --help` against a bare `python -c pass`, whole processes."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

from bench.common import Section, Table, median, ratio, seconds, wall_times

GOAL = 2.5


def _newsletter_command() -> list[str]:
    """The installed console script next to this interpreter, else `python -m newsletter`."""
    script = Path(sys.executable).with_name("newsletter")
    if script.exists():
        return [str(script), "--help"]
    found = shutil.which("newsletter")
    return [found, "--help"] if found else [sys.executable, "-m", "newsletter", "--help"]


def _top_level_imports(arguments: list[str]) -> dict[str, int]:
    """Top-level modules a command imports, with cumulative microseconds (-X importtime)."""
    finished = subprocess.run(
        [sys.executable, "-X", "importtime", *arguments],
        capture_output=True,
        text=True,
        check=False,
    )
    found: dict[str, int] = {}
    for line in finished.stderr.splitlines():
        if not line.startswith("import time:") or "cumulative" in line:
            continue
        _self, cumulative, name = line.removeprefix("import time:").split("|")
        # One space of indent is a top-level import: its figure includes its children.
        if name.startswith(" ") and not name.startswith("  "):
            found[name.strip()] = int(cumulative)
    return found


def heaviest_imports(count: int = 6) -> list[tuple[str, int]]:
    """What `newsletter --help` imports beyond a bare interpreter, heaviest first."""
    bare = _top_level_imports(["-c", "pass"])
    ours = _top_level_imports(["-m", "newsletter", "--help"])
    extra = [(name, micro) for name, micro in ours.items() if name not in bare]
    return sorted(extra, key=lambda row: row[1], reverse=True)[:count]


def section(*, quick: bool) -> Section:
    runs = 10 if quick else 20
    commands = {"python -c pass": [sys.executable, "-c", "pass"], "help": _newsletter_command()}
    samples = wall_times(commands, runs)
    bare, help_ = median(samples["python -c pass"]), median(samples["help"])
    table = Table(["Command", "Median wall time", "Fastest", "Ratio to python -c pass"])
    table.rows.append(
        ["`python -c pass`", seconds(bare), seconds(min(samples["python -c pass"])), "1.00×"]
    )
    table.rows.append(
        [
            "`newsletter --help`",
            seconds(help_),
            seconds(min(samples["help"])),
            ratio(help_ / bare),
        ]
    )
    imports = Table(
        ["Imported by `newsletter --help`, not by `python -c pass`", "Cumulative (-X importtime)"]
    )
    imports.rows += [[f"`{name}`", seconds(micro / 1e6)] for name, micro in heaviest_imports()]
    measured = help_ / bare
    verdict = (
        f"{ratio(measured)} against the {GOAL}× goal: {'met' if measured <= GOAL else 'NOT met'}."
    )
    method = (
        f"Each command is spawned {runs} times in alternation (`subprocess.run`, output "
        "captured), with the same interpreter (the virtualenv's, so both pay for its `site` "
        "and .pth files); the figure is the median wall time from spawn to exit. The second "
        "table lists the top-level imports `python -X importtime -m newsletter --help` "
        "reports beyond those of a bare interpreter, heaviest first (one run, so only "
        "indicative)."
    )
    return Section("3. Start-up", method, [table, imports], verdict)
