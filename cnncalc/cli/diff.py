"""`cnncalc diff OLD NEW`: what an architecture change does to shapes, params, MACs, RF, memory.

Either side may be `-` (standard input), so a reviewer can compare with the committed
version: `git show HEAD:arch.yaml | cnncalc diff - arch.yaml`; `REV:PATH` (e.g.
`origin/main:arch.yaml`) is read with `git show` directly when no such file exists.
"""
from __future__ import annotations

import os
import subprocess
from typing import TYPE_CHECKING, Any

import click

from cnncalc.checks.layout import layout_warnings
from cnncalc.cli.common import (
    Done,
    depth_option,
    file_error,
    graph_from_text,
    input_option,
    load_graph_or_raise,
    output_options,
    report,
)
from cnncalc.diff import diff_graphs
from cnncalc.problems import SpecError
from cnncalc.report import text
from cnncalc.report.diffgraph import diff_mermaid
from cnncalc.report.output import Output
from cnncalc.report.table import Cell, Table, bytes_cell, count_cell
from cnncalc.spec.dtypes import OPTIMIZER_STATES
from cnncalc.spec.source import decode

if TYPE_CHECKING:
    from cnncalc.diff import GraphDiff, RowDiff, Total
    from cnncalc.graph import Graph
    from cnncalc.report.table import Table

MARKS = {"changed": "~", "added": "+", "removed": "-", "unchanged": " "}
MEMORY_KEYS = ("inference_peak", "memory", "training_memory")


@click.command()
@click.argument("old", metavar="OLD", type=click.Path(dir_okay=False, allow_dash=True))
@click.argument("new", metavar="NEW", type=click.Path(dir_okay=False, allow_dash=True))
@input_option
@click.option("--all", "show_all", is_flag=True, help="Also list unchanged layers.")
@depth_option
@click.option("--batch", type=click.IntRange(min=1), default=1, show_default=True,
              help="Batch size for MACs, FLOPs and memory.")
@click.option("--optimizer", type=click.Choice(list(OPTIMIZER_STATES)), default="adam", show_default=True,
              help="Optimizer for the training-step memory.")
@click.option("--exit-code", is_flag=True, help="Exit 1 when anything differs (like git diff).")
@output_options()
def diff(old: str, new: str, input_shape: tuple[int, ...] | None, show_all: bool,
         depth: int | None, batch: int, optimizer: str, exit_code: bool, out: Output) -> None:
    """Compare two versions of a spec: totals, then every layer that changed.

    \b
    Examples:
      cnncalc diff old.yaml new.yaml
      git show HEAD:arch.yaml | cnncalc diff - arch.yaml
      cnncalc diff origin/main:arch.cnn.yaml arch.cnn.yaml --depth 1
    """

    if old == "-" and new == "-":
        raise click.UsageError("only one side can be '-' (standard input)")
    graphs, problems = [], []
    for path in (old, new):
        try:
            graphs.append(_load(path, input_shape))
        except SpecError as exc:
            problems += exc.problems
    if problems:
        report(problems)
        raise Done(2)
    for graph in graphs:
        report(layout_warnings(graph))
    result = diff_graphs(graphs[0], graphs[1], depth, batch, optimizer)
    if out.json_wanted:
        out.json(result.as_json())
    else:
        _render(out, result, show_all, depth)
        if out.format == "markdown":
            out.stream.write(diff_mermaid(graphs[0], graphs[1], result, depth))
    raise Done(1 if exit_code and result.changed else 0)


def _load(path: str, input_shape: tuple[int, ...] | None) -> Graph:
    """A file, standard input, or `REV:PATH` from git when no such file exists."""
    if path == "-" or os.path.exists(path) or ":" not in path:
        return load_graph_or_raise(path, input_shape)

    return graph_from_text(decode(_git_show(path), path), path, input_shape)


def _git_show(path: str) -> bytes:
    """The blob `git show REV:PATH` prints. The argument can never be read as an option: it
    may not start with '-', and --end-of-options tells git so as well."""
    if path.startswith("-"):
        raise file_error(path, "no such file, and REV:PATH cannot start with '-'")
    try:
        shown = subprocess.run(["git", "show", "--end-of-options", path], capture_output=True,
                               check=False, stdin=subprocess.DEVNULL)
    except OSError:
        raise file_error(path, "no such file (and git is not available to read it as "
                         "REV:PATH)") from None
    if shown.returncode != 0:
        reason = shown.stderr.decode("utf-8", "replace").strip() or "unknown error"
        raise file_error(path, f"no such file, and `git show {path}` failed: {reason}")
    return shown.stdout


def _render(out: Output, result: GraphDiff, show_all: bool, depth: int | None) -> None:
    out.line(f"{result.old_file} -> {result.new_file}")
    totals = Table([("", "left", "figure"), ("old", "right"), ("new", "right"), ("change", "right")])
    for total in result.totals:
        totals.add([total.label, _value(total.key, total.old), _value(total.key, total.new),
                    _change(total)], style="bold" if total.changed else "dim")
    out.table(totals)
    counts = result.counts()
    noun = "layers" if depth is None else f"rows at depth {depth}"
    out.line(f"{noun}: " + ", ".join(f"{n} {status}" for status, n in counts.items()))
    shown = [row for row in result.rows if show_all or row.status != "unchanged"]
    if not shown:
        return
    if out.format == "csv":
        out.table(_csv_rows(shown))
        return
    table = Table([("", "left", "status"), ("layer", "left"), ("op", "left"), ("shape", "right"),
                   ("params", "right"), ("MACs", "right"), ("RF", "right")])
    styles = {"added": "green", "removed": "red", "changed": "yellow", "unchanged": "dim"}

    for row in shown:
        table.add([Cell(MARKS[row.status], row.status), row.name, *_cells(row)],
                  style=styles[row.status])
    out.table(table)


def _csv_rows(shown: list[RowDiff]) -> Table:
    """For a spreadsheet: each figure before and after in its own column, exact."""
    fields = {"name": "layer", "kind": "op", "shape": "shape", "params": "params",
              "macs": "MACs", "rf": "RF"}
    table = Table([("status", "left")] + [(f"{side} {label}", "left")
                                          for label in fields.values() for side in ("old", "new")])
    for row in shown:
        cells: list[Any] = [row.status]
        for field in fields:
            for side in (row.old, row.new):
                value: Any = "" if side is None else getattr(side, field)
                cells.append(text.shape(value) if field == "shape" and side is not None
                             else value)
        table.add(cells)
    return table


def _cells(row: RowDiff) -> list[str]:
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


def _value(key: str, value: Any) -> Any:
    if key in MEMORY_KEYS:
        return bytes_cell(value)
    if key == "input":
        return text.shape(value)
    if key == "outputs":
        return ", ".join(f"{name} {text.shape(shape)}" for name, shape in value.items())
    if isinstance(value, int):
        return count_cell(value)
    return Cell(str(value), str(value))


def _change(total: Total) -> Any:
    """'-507,870 (-4.3%)', '-15.01 MiB (-29.3%)', '+1', 'changed' or '='."""
    if not total.changed:
        return Cell("=", 0) if total.numeric else "="
    if not total.numeric:
        return "changed"
    delta = total.new - total.old
    if total.key in MEMORY_KEYS:
        shown = ("+" if delta >= 0 else "-") + text.binary_bytes(abs(delta))
    else:
        shown = f"{delta:+,}"
    if total.key == "layers" or not total.old:
        return Cell(shown, delta)
    return Cell(f"{shown} ({100 * delta / total.old:+.1f}%)", delta)
