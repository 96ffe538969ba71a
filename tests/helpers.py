"""Shared test helpers: build graphs from inline YAML, run the CLI, collect problems."""
from __future__ import annotations

import textwrap
from pathlib import Path

from cnncalc import SpecError, load_graph_text
from cnncalc.graph import Graph
from cnncalc.problems import Problem

ROOT = Path(__file__).resolve().parent.parent
ARCH = ROOT / "architectures"


def graph(yaml_text: str, input_shape: tuple[int, ...] | None = None) -> Graph:
    return load_graph_text(textwrap.dedent(yaml_text), "spec.yaml", input_shape)


def problems(yaml_text: str) -> list[Problem]:
    try:
        graph(yaml_text)
    except SpecError as exc:
        return exc.problems
    raise AssertionError("expected the spec to be rejected")


def where(yaml_text: str) -> list[tuple[int, int, str]]:
    """(line, col, code) of every problem, the way tests assert them."""
    return [(p.loc.line, p.loc.col, p.code) for p in problems(yaml_text)]


def run_ok(capsys, *args: str) -> str:  # type: ignore[no-untyped-def]
    """Run the CLI, expect exit 0, return what it printed on stdout."""
    from cnncalc.cli import main

    assert main(list(args)) == 0
    return capsys.readouterr().out
