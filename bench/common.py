"""What every benchmark section shares: its result shape, child processes, number formats."""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
"""The repository: children run from here so `bench` and `newsletter` import alike."""


@dataclass
class Table:
    headers: Sequence[str]
    rows: list[Sequence[str]] = field(default_factory=list)

    def markdown(self) -> str:
        lines = [
            "| " + " | ".join(self.headers) + " |",
            "|" + "|".join("---" for _ in self.headers) + "|",
        ]
        lines += ["| " + " | ".join(row) + " |" for row in self.rows]
        return "\n".join(lines)


@dataclass
class Section:
    """One numbered figure of the issue: how it was measured, the numbers, what they say."""

    title: str
    method: str
    tables: list[Table] = field(default_factory=list)
    verdict: str = ""

    def markdown(self) -> str:
        parts = [f"## {self.title}", f"**Method.** {self.method}"]
        parts += [table.markdown() for table in self.tables]
        if self.verdict:
            parts.append(f"**Verdict.** {self.verdict}")
        return "\n\n".join(parts)


def child_env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH", "")]))
    return env


def run_json(module: str, *args: str, timeout: float = 900) -> Any:
    """Run `python -m module args...` from the repository; its last stdout line is JSON."""
    finished = subprocess.run(
        [sys.executable, "-m", module, *args],
        cwd=ROOT,
        env=child_env(),
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    if finished.returncode != 0:
        raise RuntimeError(f"{module} {' '.join(args)} failed:\n{finished.stderr[-2000:]}")
    return json.loads(finished.stdout.strip().splitlines()[-1])


def wall_times(
    commands: Mapping[str, Sequence[str]],
    runs: int,
    *,
    cwd: Path | None = None,
    env: dict[str, str] | None = None,
    prepare: Callable[[str], None] | None = None,
) -> dict[str, list[float]]:
    """Whole-process wall seconds of each command, taken in turn (ABAB...) `runs` times, so
    any change in the machine's load falls on every command alike. `prepare(name)` runs
    before each start, outside the clock (to reset state)."""
    samples: dict[str, list[float]] = {name: [] for name in commands}
    for _ in range(runs):
        for name, command in commands.items():
            if prepare is not None:
                prepare(name)
            start = time.perf_counter()
            finished = subprocess.run(
                command, cwd=cwd, env=env, capture_output=True, text=True, check=False
            )
            samples[name].append(time.perf_counter() - start)
            if finished.returncode != 0:
                raise RuntimeError(
                    f"{' '.join(command)} exited {finished.returncode}:\n{finished.stderr[-2000:]}"
                )
    return samples


def median(values: Sequence[float]) -> float:
    return statistics.median(values)


def seconds(value: float) -> str:
    """A duration in the unit that keeps three significant figures readable."""
    if value >= 1:
        return f"{value:.2f} s"
    if value >= 0.001:
        return f"{value * 1000:.1f} ms"
    return f"{value * 1_000_000:.0f} µs"


def ratio(value: float) -> str:
    return f"{value:.2f}×"


def mebibytes(kib: float) -> str:
    return f"{kib / 1024:.1f} MiB"
