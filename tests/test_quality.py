"""The code stays ruff- and mypy --strict-clean: checked here so that CI enforces it."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def _run(*command: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(command, cwd=ROOT, capture_output=True, text=True, check=False)


@pytest.mark.skipif(
    shutil.which("ruff") is None, reason="ruff is not installed: pip install -e '.[test]'"
)
def test_ruff_finds_nothing() -> None:
    result = _run("ruff", "check", "newsletter", "tests", "bench")
    assert result.returncode == 0, result.stdout + result.stderr


def test_mypy_strict_finds_nothing() -> None:
    pytest.importorskip("mypy", reason="mypy is not installed: pip install -e '.[test]'")
    result = _run(sys.executable, "-m", "mypy", "--strict", "newsletter")
    assert result.returncode == 0, result.stdout + result.stderr
