"""Start-up: `newsletter --help`, `status` and `check` against `python -c pass`, as users run them.

Both sides run from the same fresh virtualenv with the product installed the way users get
it (bench/installed.py: `pip install .`, not editable), as whole processes, A B A B …; the
figure is the median of the per-pair ratio (bench/paired.py). `status` and `check` run in a
folder with a 11-post feed file, a ledger and an outbox config (bench/pipeline_bench.py).
"""

from __future__ import annotations

import subprocess
import tempfile
from pathlib import Path

from bench import installed
from bench.common import Section, Table, ratio, run_json, seconds
from bench.paired import paired

GOAL = 2.0


def _top_level_imports(arguments: list[str], cwd: Path) -> dict[str, int]:
    """Top-level modules a command imports, with cumulative microseconds (-X importtime)."""
    finished = subprocess.run(
        [installed.python(), "-X", "importtime", *arguments],
        capture_output=True,
        text=True,
        check=False,
        cwd=cwd,
        env=installed.child_env(),
    )
    found: dict[str, int] = {}
    for line in finished.stderr.splitlines():
        if not line.startswith("import time:") or "cumulative" in line:
            continue
        _self, cumulative, name = line.removeprefix("import time:").split("|")
        if name.startswith(" ") and not name.startswith("  "):
            found[name.strip()] = int(cumulative)
    return found


def heaviest_imports(command: str, cwd: Path, count: int = 6) -> list[tuple[str, int]]:
    bare = _top_level_imports(["-c", "pass"], cwd)
    ours = _top_level_imports(["-m", "newsletter", *command.split()], cwd)
    extra = [(name, micro) for name, micro in ours.items() if name not in bare]
    return sorted(extra, key=lambda row: row[1], reverse=True)[:count]


def section(*, quick: bool) -> Section:
    runs = 10 if quick else 30
    bare = [installed.python(), "-c", "pass"]
    table = Table(
        ["Command", "Median wall", "Median CPU", "Ratio (wall, per pair)", "Ratio (CPU, per pair)"]
    )
    with tempfile.TemporaryDirectory(prefix="bench-startup-") as name:
        folder = Path(name)
        run_json("bench.pipeline_bench", "setup", "11", name)
        results = {}
        for command in ("--help", "status", "check"):
            argv = (
                [installed.script(), "-q", *command.split()]
                if command != "--help"
                else [
                    installed.script(),
                    "--help",
                ]
            )
            results[command] = paired(argv, bare, runs, cwd=folder, env=installed.child_env())
        base = results["--help"]
        table.rows.append(
            [
                "`python -c pass`",
                seconds(base.median("b")),
                seconds(base.median("b", "cpu")),
                "1.00×",
                "1.00×",
            ]
        )
        for command, pairs in results.items():
            table.rows.append(
                [
                    f"`newsletter {command}`",
                    seconds(pairs.median("a")),
                    seconds(pairs.median("a", "cpu")),
                    ratio(pairs.ratio()),
                    ratio(pairs.ratio("cpu")),
                ]
            )
        imports = Table(["Command", "Heaviest top-level imports beyond `python -c pass`"])
        for command in ("status", "check"):
            imports.rows.append(
                [
                    f"`newsletter {command}`",
                    ", ".join(
                        f"`{n}` {seconds(m / 1e6)}" for n, m in heaviest_imports(command, folder)
                    ),
                ]
            )
    measured = results["--help"].ratio()
    verdict = (
        f"`newsletter --help` is {ratio(measured)} `python -c pass` (wall, median per pair) "
        f"against the {GOAL}× goal: {'met' if measured <= GOAL else 'NOT met'}. Of what "
        "remains, pip's console script imports `re` before `newsletter` runs (uv's does "
        "not); the help itself is printed without argparse (newsletter/help_text.py)."
    )
    method = (
        "A fresh virtualenv with the product installed by `pip install .` (not editable: an "
        "editable install's path finder slows `python -c pass` itself). Each command is the "
        "console script pip wrote, run as a whole process in turn with `python -c pass` from "
        f"the same venv, {runs} pairs after one warm-up pair; wall is the time from spawn to "
        "exit, CPU the kernel's user + system time of the child (`os.wait4`), and each ratio "
        "the median of the per-pair ratios. `status` and `check` run against an 11-post feed "
        "file, its ledger and an outbox config. The import table is one `python -X importtime` "
        "run each (indicative only)."
    )
    return Section("3. Start-up", method, [table, imports], verdict)
