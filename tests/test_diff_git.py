"""`cnncalc diff REV:PATH ...` reads blobs with `git show`: never as an option, decoded like
files (a located error for bytes that are not UTF-8, no traceback)."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from cnncalc.cli import main

ARCH = Path(__file__).resolve().parent.parent / "architectures"
SMALL = (ARCH / "examples" / "small.cnn.yaml").read_text()


def _repo(tmp_path: Path, files: dict[str, bytes]) -> None:
    def git(*args: str) -> None:
        subprocess.run(["git", *args], cwd=tmp_path, check=True, capture_output=True)

    git("init", "-q")
    for name, data in files.items():
        (tmp_path / name).write_bytes(data)
        git("add", name)
    git("-c", "user.name=t", "-c", "user.email=t@example.com", "commit", "-q", "-m", "old")


def test_a_revision_that_looks_like_an_option_is_refused(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    _repo(tmp_path, {"arch.yaml": SMALL.encode()})
    monkeypatch.chdir(tmp_path)
    # `git show --output=FILE` would write FILE: the argument must never reach git as an option.
    assert main(["diff", "--", "--output=pwned:arch.yaml", "arch.yaml"]) == 2
    err = capsys.readouterr().err
    assert err == ("--output=pwned:arch.yaml:1:1: error: no such file, and REV:PATH cannot start "
                   "with '-'\n")
    assert not (tmp_path / "pwned").exists()


def test_git_is_told_where_the_options_end(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    _repo(tmp_path, {"arch.yaml": SMALL.encode()})
    monkeypatch.chdir(tmp_path)
    calls: list[list[str]] = []
    real = subprocess.run

    def spy(args: list[str], **kwargs):  # type: ignore[no-untyped-def]
        calls.append(list(args))
        return real(args, **kwargs)

    monkeypatch.setattr(subprocess, "run", spy)
    assert main(["diff", "HEAD:arch.yaml", "arch.yaml", "--json"]) == 0
    assert calls == [["git", "show", "--end-of-options", "HEAD:arch.yaml"]]
    capsys.readouterr()


def test_a_blob_that_is_not_utf8_gets_a_located_error(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    _repo(tmp_path, {"latin1.yaml": "name: caf\xe9\n".encode("latin-1") + SMALL.encode(),
                     "binary.yaml": bytes(range(256)), "arch.yaml": SMALL.encode()})
    monkeypatch.chdir(tmp_path)
    assert main(["diff", "HEAD:latin1.yaml", "arch.yaml"]) == 2
    assert capsys.readouterr().err == (
        "HEAD:latin1.yaml:1:10: error: not UTF-8 text: byte 0xe9 cannot start or continue a "
        "character (is it a binary file?)\n")
    # The same bytes in a file on disk get the same message.
    assert main(["diff", "latin1.yaml", "arch.yaml"]) == 2
    assert capsys.readouterr().err.startswith("latin1.yaml:1:10: error: not UTF-8 text")
    code = main(["diff", "HEAD:binary.yaml", "arch.yaml"])
    err = capsys.readouterr().err
    assert code == 2 and err.startswith("HEAD:binary.yaml:") and "Traceback" not in err


def test_binary_blob_in_a_subprocess_has_no_traceback(tmp_path: Path) -> None:
    _repo(tmp_path, {"b.yaml": b"\x00\x01\x02\xff" * 64, "arch.yaml": SMALL.encode()})
    root = Path(__file__).resolve().parent.parent
    run = subprocess.run([sys.executable, "-m", "cnncalc",
                          "diff", "HEAD:b.yaml", "arch.yaml"], cwd=tmp_path, capture_output=True,
                         text=True, env={"PYTHONPATH": str(root), "PATH": "/usr/bin:/bin"})
    assert run.returncode == 2 and "Traceback" not in run.stderr
    assert run.stderr.startswith("HEAD:b.yaml:1:4: error: not UTF-8 text: byte 0xff")
