"""The outputs shown in docs/check.md are what the commands print (so the docs cannot rot)."""
from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest

from cnncalc.cli import main

ROOT = Path(__file__).resolve().parent.parent
DOCS = (ROOT / "docs" / "check.md").read_text()
EXAMPLE = (ROOT / "architectures" / "examples" / "small.cnn.yaml").read_text()


def shown_runs() -> list[tuple[str, list[str]]]:
    """Every ```text block that starts with `$ cnncalc ...`: (command, expected lines)."""
    runs = []
    for block in re.findall(r"```text\n(.*?)```", DOCS, re.S):
        first, *rest = block.rstrip("\n").split("\n")
        if first.startswith("$ cnncalc "):
            runs.append((first[2:], rest))
    return runs


def test_docs_show_runs() -> None:
    assert [command.split()[1] for command, _ in shown_runs()] == ["check", "check", "diff"]


@pytest.mark.parametrize("command, expected", shown_runs())
def test_docs_output_is_real(command: str, expected: list[str], tmp_path: Path,
                             monkeypatch: pytest.MonkeyPatch,
                             capsys: pytest.CaptureFixture[str]) -> None:
    # The docs' arch.cnn.yaml is the example with fc1 widened to 256 units; for the
    # command-line budgets they check the example as committed; old.cnn.yaml is the example.
    widened = EXAMPLE.replace("units: 128, name: fc1", "units: 256, name: fc1")
    assert widened != EXAMPLE
    budgets = "--max-params" in command
    (tmp_path / "arch.cnn.yaml").write_text(EXAMPLE if budgets else widened)
    (tmp_path / "old.cnn.yaml").write_text(EXAMPLE)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("NO_COLOR", "1")
    main(shlex.split(command)[1:])
    out, err = capsys.readouterr()
    assert err.splitlines() + out.splitlines() == expected
