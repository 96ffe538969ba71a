"""CI runs the property tests deterministically: .ci/run selects the profile, conftest honours it."""
from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_ci_script_selects_the_deterministic_profile() -> None:
    script = (ROOT / ".ci" / "run").read_text()
    export = re.search(r"^export .*\bHYPOTHESIS_PROFILE=ci\b", script, re.M)
    pytest_run = script.find("python -m pytest")
    assert export and 0 <= export.start() < pytest_run


def _profile(env: dict[str, str]) -> tuple[bool, object]:
    code = ("import sys; sys.path.insert(0, 'tests'); import conftest; "
            "from hypothesis import settings; print(settings.default.derandomize, settings.default.database)")
    clean = {k: v for k, v in __import__("os").environ.items() if k not in ("CI", "HYPOTHESIS_PROFILE")}
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env={**clean, **env},
                         capture_output=True, text=True, check=True).stdout.split(" ", 1)
    return out[0] == "True", out[1].strip()


def test_conftest_honours_the_profile() -> None:
    assert _profile({"HYPOTHESIS_PROFILE": "ci"}) == (True, "None")
    assert _profile({"CI": "true"}) == (True, "None")
    assert _profile({})[0] is False  # locally: new draws every run, failures replayed
