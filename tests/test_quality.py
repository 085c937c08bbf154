"""The code stays ruff- and mypy --strict-clean: checked here so that CI enforces it."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _run(*command: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(command, cwd=ROOT, capture_output=True, text=True, check=False)


def test_ruff_finds_nothing() -> None:
    # Through this interpreter, as mypy below: a ruff missing from the test extra fails the
    # test instead of skipping it.
    result = _run(sys.executable, "-m", "ruff", "check", "newsletter", "tests", "bench")
    assert result.returncode == 0, result.stdout + result.stderr


def test_ruff_format_changes_nothing() -> None:
    result = _run(sys.executable, "-m", "ruff", "format", "--check", "newsletter", "tests", "bench")
    assert result.returncode == 0, result.stdout + result.stderr


def test_mypy_strict_finds_nothing() -> None:
    result = _run(sys.executable, "-m", "mypy", "--strict", "newsletter")
    assert result.returncode == 0, result.stdout + result.stderr
