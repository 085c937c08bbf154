"""The product as users run it: installed (not editable) into a fresh virtualenv.

An editable install puts a path finder in a `.pth` file that every interpreter of the venv
runs at start-up, `python -c pass` included, which roughly doubles the bare interpreter's
start and so hides half of any start-up cost in a ratio. A wheel built from this checkout and
installed into a new venv is what `pip install blog-newsletter` gives a user.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path

from bench.common import ROOT

_cache: dict[str, Path] = {}


def installed_venv() -> Path:
    """A venv (made once per bench run) with this checkout installed by `pip install .`."""
    if "venv" not in _cache:
        folder = Path(tempfile.mkdtemp(prefix="bench-installed-")) / "venv"
        subprocess.run([sys.executable, "-m", "venv", str(folder)], check=True)
        subprocess.run(
            [str(folder / "bin" / "python"), "-m", "pip", "install", "--quiet", str(ROOT)],
            check=True,
            capture_output=True,
            env={**os.environ, "PIP_DISABLE_PIP_VERSION_CHECK": "1"},
        )
        _cache["venv"] = folder
    return _cache["venv"]


def python() -> str:
    return str(installed_venv() / "bin" / "python")


def script(name: str = "newsletter") -> str:
    """The console script pip wrote, which is what a user types."""
    return str(installed_venv() / "bin" / name)


def child_env() -> dict[str, str]:
    """The environment without this checkout on PYTHONPATH: the venv's own packages only."""
    env = {key: value for key, value in os.environ.items() if key != "PYTHONPATH"}
    env["COLUMNS"] = "80"
    return env
