"""Installing: what the weekly job spends before it runs, with pip and with uv, cold and warm.

Each figure installs the product and its dependencies into a new virtualenv, as a whole
process timed from spawn to exit (median of RUNS). *pip, from source* is what the workflow
did before (`pip install .`: an isolated setuptools build of the project's wheel, then every
file byte-compiled). The others install the wheel built once from this checkout: with pip,
and with `uv pip install`, first with an empty uv cache (cold: every wheel downloaded, as on a
runner whose cache was evicted) and then with the cache that run left (warm: what
`astral-sh/setup-uv`'s cache gives the weekly job). Needs uv (`pip install uv`); the section
says so and is skipped without it. Downloads come from the package index, so the cold figures
include the network.
"""

from __future__ import annotations

import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.common import ROOT, Section, Table, seconds

RUNS = 3


def _uv() -> str | None:
    return shutil.which("uv") or shutil.which("uv", path=str(Path(sys.executable).parent))


def _timed(command: list[str], env: dict[str, str]) -> float:
    start = time.perf_counter()
    subprocess.run(command, check=True, capture_output=True, env=env)
    return time.perf_counter() - start


def section(*, quick: bool) -> Section:
    uv = _uv()
    runs = 1 if quick else RUNS
    method = __doc__.split("\n\n", 1)[1].replace("\n", " ").strip() if __doc__ else ""
    if uv is None:
        return Section("6. Installing", method, [], "Skipped: uv is not installed.")
    env = {key: value for key, value in os.environ.items() if key != "PYTHONPATH"}
    table = Table(["Installer", "Median wall", "Runs"])
    with tempfile.TemporaryDirectory(prefix="bench-install-") as name:
        work = Path(name)
        subprocess.run(
            [uv, "build", "--wheel", "--out-dir", str(work / "dist"), str(ROOT)],
            check=True,
            capture_output=True,
        )
        (wheel,) = (work / "dist").glob("*.whl")
        samples: dict[str, list[float]] = {}
        for run in range(runs):
            venv = work / f"pip-source-{run}"
            subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
            pip = [str(venv / "bin" / "python"), "-m", "pip", "install", "--quiet"]
            samples.setdefault("pip, from source (`pip install .`)", []).append(
                _timed([*pip, str(ROOT)], env)
            )
            venv = work / f"pip-wheel-{run}"
            subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
            pip = [str(venv / "bin" / "python"), "-m", "pip", "install", "--quiet"]
            samples.setdefault("pip, the wheel", []).append(_timed([*pip, str(wheel)], env))
            cache = work / f"uv-cache-{run}"
            for label in ("uv, the wheel, cold cache", "uv, the wheel, warm cache"):
                venv = work / f"uv-{run}-{label.rsplit(' ', 2)[1]}"
                subprocess.run([uv, "venv", "--quiet", str(venv)], check=True, env=env)
                command = [
                    uv,
                    "pip",
                    "install",
                    "--quiet",
                    "--python",
                    str(venv / "bin" / "python"),
                    "--cache-dir",
                    str(cache),
                    str(wheel),
                ]
                samples.setdefault(label, []).append(_timed(command, env))
    for label, values in samples.items():
        table.rows.append([label, seconds(statistics.median(values)), str(len(values))])
    cold = statistics.median(samples["uv, the wheel, cold cache"])
    warm = statistics.median(samples["uv, the wheel, warm cache"])
    source = statistics.median(samples["pip, from source (`pip install .`)"])
    verdict = (
        f"pip building from source takes {seconds(source)}; uv installs the same release in "
        f"{seconds(cold)} with an empty cache and {seconds(warm)} from its cache."
    )
    return Section("6. Installing", method, [table], verdict)
