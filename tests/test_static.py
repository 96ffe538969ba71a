"""The package stays `mypy --strict` clean and ruff clean (the pinned versions of the `test`
extra); skipped where they are not installed."""
from __future__ import annotations

import importlib.util
import subprocess
import sys

import pytest
from helpers import ROOT


def _run(module: str, *args: str) -> subprocess.CompletedProcess[str]:
    if importlib.util.find_spec(module) is None:
        pytest.skip(f"{module} is not installed (pip install -e '.[test]')")
    return subprocess.run([sys.executable, "-m", module, *args], cwd=ROOT, capture_output=True,
                          text=True, timeout=300)


def test_mypy_strict_is_clean() -> None:
    done = _run("mypy", "--strict", "cnncalc")
    assert done.returncode == 0, done.stdout + done.stderr


def test_ruff_is_clean() -> None:
    done = _run("ruff", "check", "cnncalc", "tests", "benchmarks")
    assert done.returncode == 0, done.stdout + done.stderr
