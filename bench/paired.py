"""Whole processes timed in pairs: A B A B …, and the median of the per-pair ratio A/B.

Pairing keeps a ratio meaningful on a machine whose speed drifts during the run (other jobs,
frequency scaling): both halves of a pair see the same conditions. Wall time is taken around
the child; CPU time (user + system) is the kernel's own accounting of the finished child
(`os.wait4`), which other processes on the machine disturb less.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path


@dataclass
class Run:
    wall: float
    cpu: float


@dataclass
class Pairs:
    a: list[Run] = field(default_factory=list)
    b: list[Run] = field(default_factory=list)

    def median(self, side: str, measure: str = "wall") -> float:
        return statistics.median(getattr(run, measure) for run in getattr(self, side))

    def ratio(self, measure: str = "wall") -> float:
        """The median of the per-pair ratios, not the ratio of the medians."""
        return statistics.median(
            getattr(a, measure) / getattr(b, measure) for a, b in zip(self.a, self.b, strict=True)
        )


def run_once(
    command: Sequence[str], *, cwd: Path | None = None, env: Mapping[str, str] | None = None
) -> Run:
    start = time.perf_counter()
    child = subprocess.Popen(
        command,
        cwd=cwd,
        env=None if env is None else dict(env),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    assert child.stderr is not None
    errors = child.stderr.read()
    _, status, usage = os.wait4(child.pid, 0)
    wall = time.perf_counter() - start
    child.returncode = os.waitstatus_to_exitcode(status)
    child.stderr.close()
    if child.returncode != 0:
        raise RuntimeError(
            f"{' '.join(command)} exited {child.returncode}:\n{errors.decode()[-2000:]}"
        )
    return Run(wall=wall, cpu=usage.ru_utime + usage.ru_stime)


def paired(
    a: Sequence[str],
    b: Sequence[str],
    runs: int,
    *,
    cwd: Path | None = None,
    env: Mapping[str, str] | None = None,
    prepare: Callable[[], None] | None = None,
    warmup: int = 1,
) -> Pairs:
    """Run A and B in turn `runs` times after `warmup` uncounted pairs; `prepare()` runs
    before each start, outside the clock (to reset state such as a ledger)."""
    pairs = Pairs()
    for index in range(warmup + runs):
        for command, into in ((a, pairs.a), (b, pairs.b)):
            if prepare is not None:
                prepare()
            run = run_once(command, cwd=cwd, env=env)
            if index >= warmup:
                into.append(run)
    return pairs
