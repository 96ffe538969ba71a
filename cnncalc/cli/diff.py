"""`cnncalc diff OLD NEW`: what an architecture change does to shapes, params, MACs, RF, memory.

Either side may be `-` (standard input), so a reviewer can compare with the committed
version: `git show HEAD:arch.yaml | cnncalc diff - arch.yaml`; `REV:PATH` (e.g.
`origin/main:arch.yaml`) is read with `git show` directly when no such file exists.
"""
from __future__ import annotations

import os
import subprocess
import sys
from typing import TYPE_CHECKING, Any

import click

from cnncalc.cli.common import Done, console, emit_json, fail, report_problems, use_color
from cnncalc.problems import SpecError
from cnncalc.spec.dtypes import OPTIMIZER_STATES

if TYPE_CHECKING:
    from cnncalc.diff import GraphDiff, RowDiff, Total
    from cnncalc.graph import Graph

MARKS = {"changed": "~", "added": "+", "removed": "-", "unchanged": " "}
MEMORY_KEYS = ("memory", "training_memory")


@click.command()
@click.argument("old", metavar="OLD", type=click.Path(dir_okay=False, allow_dash=True))
@click.argument("new", metavar="NEW", type=click.Path(dir_okay=False, allow_dash=True))
@click.option("--all", "show_all", is_flag=True, help="Also list unchanged layers.")
@click.option("--depth", type=click.IntRange(min=1), default=None,
              help="Compare blocks nested deeper than N levels as single rows.")
@click.option("--batch", type=click.IntRange(min=1), default=1, show_default=True,
              help="Batch size for MACs, FLOPs and memory.")
@click.option("--optimizer", type=click.Choice(list(OPTIMIZER_STATES)), default="adam", show_default=True,
              help="Optimizer for the training-step memory.")
@click.option("--exit-code", is_flag=True, help="Exit 1 when anything differs (like git diff).")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object to stdout.")
@click.option("--no-color", is_flag=True, help="No colour (also when NO_COLOR is set or output "
              "is not a terminal).")
def diff(old: str, new: str, show_all: bool, depth: int | None, batch: int, optimizer: str,
         exit_code: bool, as_json: bool, no_color: bool) -> None:
    """Compare two versions of a spec: totals, then every layer that changed.

    \b
    Examples:
      cnncalc diff old.yaml new.yaml
      git show HEAD:arch.yaml | cnncalc diff - arch.yaml
      cnncalc diff origin/main:arch.cnn.yaml arch.cnn.yaml --depth 1
    """
    from cnncalc.diff import diff_graphs

    if old == "-" and new == "-":
        raise click.UsageError("only one side can be '-' (standard input)")
    graphs, problems = [], []
    for path in (old, new):
        try:
            graphs.append(_load(path))
        except SpecError as exc:
            problems += exc.problems
    if problems:
        report_problems(problems)
        raise Done(2)
    result = diff_graphs(graphs[0], graphs[1], depth, batch, optimizer)
    if as_json:
        emit_json(result.as_json())
    else:
        _render(result, show_all, depth, no_color)
    raise Done(1 if exit_code and result.changed else 0)


def _load(path: str) -> Graph:
    """A file, standard input, or `REV:PATH` from git when no such file exists."""
    from cnncalc.graph import load_graph, load_graph_text

    if path == "-":
        return load_graph_text(sys.stdin.read(), "<stdin>")
    if os.path.exists(path) or ":" not in path:
        if not os.path.exists(path):
            fail(f"{path}: error: no such file")
        return load_graph(path)
    try:
        shown = subprocess.run(["git", "show", path], capture_output=True, text=True, check=False)
    except OSError:
        fail(f"{path}: error: no such file (and git is not available to read it as REV:PATH)")
    if shown.returncode != 0:
        fail(f"{path}: error: no such file, and `git show {path}` failed: "
             f"{shown.stderr.strip() or 'unknown error'}")
    return load_graph_text(shown.stdout, path)


def _render(result: GraphDiff, show_all: bool, depth: int | None, no_color: bool) -> None:
    from cnncalc.report.table import Table

    out, color = console(no_color), use_color(no_color)
    out.print(f"{result.old_file} -> {result.new_file}", markup=False)
    totals = Table([("", "left"), ("old", "right"), ("new", "right"), ("change", "right")])
    for total in result.totals:
        totals.add([total.label, _value(total.key, total.old), _value(total.key, total.new),
                    _change(total)], style="bold" if total.changed else "dim")
    totals.render(out, color)
    counts = result.counts()
    noun = "layers" if depth is None else f"rows at depth {depth}"
    out.print(f"{noun}: " + ", ".join(f"{n} {status}" for status, n in counts.items()),
              markup=False)
    shown = [row for row in result.rows if show_all or row.status != "unchanged"]
    if not shown:
        return
    table = Table([("", "left"), ("layer", "left"), ("op", "left"), ("shape", "right"),
                   ("params", "right"), ("MACs", "right"), ("RF", "right")])
    styles = {"added": "green", "removed": "red", "changed": "yellow", "unchanged": "dim"}
    for row in shown:
        table.add([MARKS[row.status], row.name, *_cells(row)], style=styles[row.status])
    table.render(out, color)


def _cells(row: RowDiff) -> list[str]:
    from cnncalc.report import text

    def show(field: str, value: Any) -> str:
        if field == "shape":
            return text.shape(value)
        return f"{value:,}" if isinstance(value, int) else str(value)

    cells = []
    for field in ("kind", "shape", "params", "macs", "rf"):
        if row.old is None or row.new is None:
            cells.append(show(field, getattr(row.old or row.new, field)))
            continue
        before, after = getattr(row.old, field), getattr(row.new, field)
        if before == after:
            cells.append(show(field, after))
        else:
            delta = f" ({after - before:+,})" if isinstance(after, int) else ""
            cells.append(f"{show(field, before)} -> {show(field, after)}{delta}")
    return cells


def _value(key: str, value: Any) -> str:
    from cnncalc.report import text

    if key in MEMORY_KEYS:
        return text.binary_bytes(value)
    if key == "input":
        return text.shape(value)
    if key == "outputs":
        return ", ".join(f"{name} {text.shape(shape)}" for name, shape in value.items())
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


def _change(total: Total) -> str:
    """'-507,870 (-4.3%)', '-15.01 MiB (-29.3%)', '+1', 'changed' or '='."""
    from cnncalc.report import text

    if not total.changed:
        return "="
    if not total.numeric:
        return "changed"
    delta = total.new - total.old
    if total.key in MEMORY_KEYS:
        shown = ("+" if delta >= 0 else "-") + text.binary_bytes(abs(delta))
    else:
        shown = f"{delta:+,}"
    if total.key == "layers" or not total.old:
        return shown
    return f"{shown} ({100 * delta / total.old:+.1f}%)"
