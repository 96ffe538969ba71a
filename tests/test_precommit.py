"""The pre-commit hook, installed by the real `pre-commit` tool into a throw-away git repo.

The hook repository is a snapshot of this checkout (tracked and untracked-but-not-ignored
files, committed into a temporary git repo) so the test works the same on a dirty working
tree, a fresh CI clone or an unpacked source tree. pre-commit then clones it, pip-installs
cnncalc into its own environment (language: python) and runs `cnncalc check` on commit.
"""
from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
HOOK_ID = "cnncalc-check"
SKIP_DIRS = {".git", ".venv", "venv", "__pycache__", ".pytest_cache", ".mypy_cache",
             ".ruff_cache", ".hypothesis", "build", "dist"}

GOOD = """\
input: [3, 8, 8]
layers:
  - conv: {filters: 4, kernel: 3}
  - relu
checks:
  params: {max: 1K}
  output: [4, 6, 6]
"""


def hooks() -> list[dict[str, object]]:
    return yaml.safe_load((ROOT / ".pre-commit-hooks.yaml").read_text())


def test_hook_definition() -> None:
    (hook,) = hooks()
    assert hook["id"] == HOOK_ID
    assert hook["language"] == "python"
    assert hook["entry"] == "cnncalc check"
    files = re.compile(str(hook["files"]))
    assert files.search("arch.cnn.yaml") and files.search("models/net.cnn.yml")
    assert not files.search("arch.yaml") and not files.search(".pre-commit-config.yaml")
    assert not files.search("arch.cnn.yaml.bak")


def test_hook_is_documented() -> None:
    docs = (ROOT / "docs" / "check.md").read_text()
    readme = ROOT / "README.md"
    text = docs + (readme.read_text() if readme.exists() else "")
    assert f"id: {HOOK_ID}" in text
    assert ".pre-commit-config.yaml" in text
    assert "files:" in text  # how to widen the default file pattern


def _git(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, check=True)


def _snapshot(dest: Path) -> str:
    """This checkout's files committed into a fresh repo at `dest`; returns the commit."""
    dest.mkdir()
    try:
        listed = _git(ROOT, "ls-files", "--cached", "--others", "--exclude-standard", "-z").stdout
        names = [name for name in listed.split("\0") if name]
    except (subprocess.CalledProcessError, FileNotFoundError):  # not a git checkout
        names = [str(p.relative_to(ROOT)) for p in ROOT.rglob("*")
                 if p.is_file() and not SKIP_DIRS & set(p.relative_to(ROOT).parts)]
    for name in names:
        source = ROOT / name
        if source.is_file() and not SKIP_DIRS & set(Path(name).parts):
            (dest / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, dest / name)
    _git(dest, "init", "-q")
    _git(dest, "add", "-A")
    _git(dest, "commit", "-q", "-m", "snapshot")
    return _git(dest, "rev-parse", "HEAD").stdout.strip()


def _requirements() -> list[str]:
    """What pip must fetch to install cnncalc: the build backend and the dependencies."""
    text = (ROOT / "pyproject.toml").read_text()
    try:
        import tomllib
    except ModuleNotFoundError:  # Python 3.10: the two lists are simple enough to read
        return [r for block in re.findall(r"^(?:requires|dependencies) = \[(.*?)\]", text, re.M | re.S)
                for r in re.findall(r'"([^"]+)"', block)]
    doc = tomllib.loads(text)
    return [*doc["build-system"]["requires"], *doc["project"]["dependencies"]]


def _no_package_index() -> str | None:
    """Why pip cannot fetch cnncalc's requirements here (no index reachable, offline machine,
    empty mirror), or None when it can. pre-commit installs the hook with pip, under the same
    configuration (PIP_* variables, pip.conf): a dry run resolves the same requirements in a
    few seconds, and fails fast (no retries, short timeout) where the index is out of reach."""
    probe = subprocess.run(
        [sys.executable, "-m", "pip", "install", "--dry-run", "--ignore-installed", "--no-deps",
         "--quiet", "--retries", "0", "--timeout", "10", *_requirements()],
        capture_output=True, text=True, timeout=300)
    if probe.returncode == 0 or "No module named pip" in probe.stderr:
        return None  # reachable, or nothing to probe with: let the test itself decide
    errors = [line for line in probe.stderr.splitlines() if line.startswith("ERROR")]
    return (errors or probe.stderr.strip().splitlines() or ["pip failed"])[-1]


def test_probe_sees_an_unreachable_index(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    # No index, no mirror, no wheel folder: the probe must say why instead of passing.
    for key in ("PIP_FIND_LINKS", "PIP_EXTRA_INDEX_URL"):
        monkeypatch.delenv(key, raising=False)
    config = tmp_path / "pip.conf"
    config.write_text("[global]\nindex-url = http://127.0.0.1:9/simple\n")
    monkeypatch.setenv("PIP_CONFIG_FILE", str(config))
    monkeypatch.setenv("PIP_INDEX_URL", "http://127.0.0.1:9/simple")
    monkeypatch.setenv("PIP_NO_CACHE_DIR", "1")
    monkeypatch.setenv("PIP_FIND_LINKS", "")
    monkeypatch.setenv("PIP_EXTRA_INDEX_URL", "")
    reason = _no_package_index()
    assert reason and "setuptools" in reason


@pytest.mark.slow
def test_precommit_blocks_a_bad_commit_and_passes_a_good_one(tmp_path: Path,
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    pytest.importorskip("pre_commit")  # a test dependency (pip install -e '.[test]')
    reason = _no_package_index()
    if reason:
        pytest.skip(f"pre-commit installs the hook with pip, and no package index is reachable: {reason}")
    for key, value in (("GIT_AUTHOR_NAME", "t"), ("GIT_AUTHOR_EMAIL", "t@example.com"),
                       ("GIT_COMMITTER_NAME", "t"), ("GIT_COMMITTER_EMAIL", "t@example.com"),
                       ("PRE_COMMIT_HOME", str(tmp_path / "cache")), ("NO_COLOR", "1")):
        monkeypatch.setenv(key, value)
    rev = _snapshot(tmp_path / "hookrepo")
    user = tmp_path / "user"
    user.mkdir()
    _git(user, "init", "-q")
    (user / ".pre-commit-config.yaml").write_text(
        f"repos:\n  - repo: {tmp_path / 'hookrepo'}\n    rev: {rev}\n"
        f"    hooks:\n      - id: {HOOK_ID}\n")
    precommit = [sys.executable, "-m", "pre_commit"]
    subprocess.run([*precommit, "install"], cwd=user, check=True, capture_output=True)

    def commit(message: str) -> subprocess.CompletedProcess[str]:
        _git(user, "add", "-A")
        return subprocess.run(["git", "commit", "-m", message], cwd=user, capture_output=True,
                              text=True, timeout=600, env=os.environ)

    spec = user / "net.cnn.yaml"
    spec.write_text(GOOD)
    good = commit("a network within budget")
    assert good.returncode == 0, good.stdout + good.stderr
    assert re.search(r"cnncalc check\.+Passed", good.stdout + good.stderr)

    # ten times the filters: 3*3*3*40 + 40 = 1,120 params, output [40, 6, 6]
    spec.write_text(GOOD.replace("filters: 4", "filters: 40"))
    bad = commit("over budget")
    assert bad.returncode == 1
    report = bad.stdout + bad.stderr
    assert "net.cnn.yaml:6:12: error: params 1,120 exceeds max 1K (+12.0%) [checks.params]" in report
    assert "net.cnn.yaml:7:3: error: output 'relu1' has shape [40, 6, 6], expected [4, 6, 6]" \
        in report
    assert _git(user, "rev-list", "--count", "HEAD").stdout.strip() == "1"  # blocked

    # a file outside the default pattern is not checked; fixing the spec lets the commit in
    (user / "notes.yaml").write_text("input: [3]\nlayers: [nonsense]\n")
    spec.write_text(GOOD.replace("max: 1K", "max: 2K").replace("[4, 6, 6]", "[40, 6, 6]")
                    .replace("filters: 4", "filters: 40"))
    fixed = commit("budget raised")
    assert fixed.returncode == 0, fixed.stdout + fixed.stderr
    assert _git(user, "rev-list", "--count", "HEAD").stdout.strip() == "2"

    # widening `files` (as docs/check.md shows) brings other YAML files in
    (user / ".pre-commit-config.yaml").write_text(
        f"repos:\n  - repo: {tmp_path / 'hookrepo'}\n    rev: {rev}\n"
        f"    hooks:\n      - id: {HOOK_ID}\n        files: \\.ya?ml$\n"
        "        exclude: ^\\.pre-commit-config\\.yaml$\n")
    (user / "notes.yaml").write_text("input: [3]\nlayers: [nonsense, more]\n")
    widened = commit("not a spec")
    assert widened.returncode == 1  # pre-commit's code for a failed hook
    assert "notes.yaml:2:10: error:" in widened.stdout + widened.stderr
