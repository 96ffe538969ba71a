"""`cnncalc sweep FILE --set width=0.5,0.75,1 --set res=160,224`: every variant of a design
grid with its figures, as a table, CSV or JSON, optionally with the Pareto front."""
from __future__ import annotations

from typing import Any

import click

from cnncalc.cli.common import (
    Done,
    output_options,
    parse_assignments,
    parse_shape,
    report,
    spec_argument,
)
from cnncalc.cli.device import device_option, resolve_device
from cnncalc.problems import SpecError
from cnncalc.report import text
from cnncalc.report.output import Output
from cnncalc.report.roofline import seconds
from cnncalc.report.table import Cell, Table, count_cell
from cnncalc.spec.document import load_spec
from cnncalc.spec.dtypes import OPTIMIZER_STATES
from cnncalc.spec.source import read_spec
from cnncalc.sweep import Job, grid, mark_pareto, parse_objectives, run_dask, run_local


def _axes(values: tuple[str, ...]) -> list[tuple[str, list[int | float]]]:
    axes: list[tuple[str, list[int | float]]] = []
    for item in values:
        name, sep, listed = item.partition("=")
        parts = [p for p in listed.split(",")] if sep else []
        if not parts or any(not p.strip() for p in parts):
            raise click.BadParameter(f"expected NAME=V1,V2,... (e.g. width=0.5,0.75,1), got {item!r}",
                                     param_hint="'--set'")
        parsed = [parse_assignments([f"{name}={p}"])[name.strip()] for p in parts]
        if any(n == name.strip() for n, _ in axes):
            raise click.BadParameter(f"{name.strip()} is given twice", param_hint="'--set'")
        axes.append((name.strip(), parsed))
    return axes


@click.command()
@spec_argument
@click.option("--input", "input_shape", metavar="SHAPE", callback=lambda c, p, v: parse_shape(v),
              help="Override the spec's input shape for every variant, without batch, in the "
                   "spec's layout: C,H,W (e.g. 3,224,224), or H,W,C for a `layout: channels_last` "
                   "spec.")
@click.option("--set", "assignments", metavar="NAME=V1,V2,...", multiple=True,
              help="Values of one of the spec's vars: (repeatable; the grid is their product).")
@click.option("--zip", "zipped", is_flag=True, help="Pair the i-th values of every --set "
              "instead of taking the product.")
@click.option("--jobs", type=click.IntRange(min=1), default=1, show_default=True,
              help="Worker processes.")
@click.option("--executor", type=click.Choice(["local", "dask"]), default="local", show_default=True,
              help="dask: run the variants on a dask.distributed cluster (--scheduler).")
@click.option("--scheduler", metavar="ADDRESS", default=None,
              help="With --executor dask: the scheduler's address (tcp://host:8786).")
@click.option("--pareto", metavar="KEY,KEY", default=None,
              help="Mark the Pareto front over these keys (minimised; max:KEY maximises), "
                   "e.g. total_macs,max:rf.")
@click.option("--optimizer", type=click.Choice(list(OPTIMIZER_STATES)), default="adam",
              show_default=True, help="Optimizer whose state training_bytes counts.")
@device_option
@output_options()
def sweep(file: str, input_shape: tuple[int, ...] | None, assignments: tuple[str, ...], zipped: bool,
          jobs: int, executor: str,
          scheduler: str | None, pareto: str | None, optimizer: str, device: str | None,
          out: Output) -> None:
    """Every variant of a grid of vars: values: params, MACs, RF, memory, latency bound, checks."""

    if executor == "dask" and not scheduler:
        raise click.UsageError("--executor dask needs --scheduler ADDRESS")
    if scheduler and executor != "dask":
        raise click.UsageError("--scheduler only applies to --executor dask")
    axes = _axes(assignments)
    try:
        variants = grid(axes, zipped) if axes else [{}]
        objectives = parse_objectives(pareto, [n for n, _ in axes]) if pareto else None
    except ValueError as exc:
        raise click.UsageError(str(exc)) from None
    target = resolve_device(device)
    try:
        text, name = read_spec(file)
    except SpecError as exc:
        report(exc.problems)
        raise Done(2) from None
    _check_names(text, name, variants[0])
    work = [Job(text, name, values, target, optimizer, input_shape) for values in variants]
    if executor == "dask":
        try:
            rows = list(run_dask(work, scheduler))
        except ImportError:
            raise click.UsageError("--executor dask needs dask.distributed: pip install "
                                   "'cnncalc[dask]'") from None
    else:
        rows = list(run_local(work, jobs))
    if objectives:
        mark_pareto(rows, objectives)
    _render(out, name, [n for n, _ in axes], rows, target is not None, objectives is not None)


def _check_names(text: str, name: str, values: dict[str, Any]) -> None:
    """A --set the spec does not declare is a usage problem, not a failed variant."""

    try:
        problems = load_spec(text, name, variables=values).problems
    except SpecError as exc:
        problems = exc.problems
    unknown = [p for p in problems if p.code == "unknown-var"]
    if unknown:
        report(unknown)
        raise Done(2)


def _render(out: Output, name: str, names: list[str], rows: list[dict[str, Any]],
            bound: bool, pareto: bool) -> None:

    if out.json_wanted:
        out.json({"name": name, "variables": names, "variants": rows})
        return
    columns = [(n, "right") for n in names] + [
        ("params", "right"), ("MACs", "right"), ("RF", "right"), ("inference peak", "right"),
        ("training", "right")]
    columns += [("latency >=", "right")] if bound else []
    columns += [("checks", "left")] + ([("pareto", "left")] if pareto else [])
    table = Table(columns)

    def size(value: int | None) -> Cell | str:
        return Cell(text.binary_bytes(value), value) if value is not None else "-"

    for row in rows:
        cells: list[Any] = [Cell(f"{row['values'][n]:g}", row["values"][n]) for n in names]
        if row["error"]:
            cells += ["-"] * (len(columns) - len(names) - 1 - pareto) + [f"error: {row['error']}"]
        else:
            cells += [count_cell(row["total_params"]), count_cell(row["total_macs"]),
                      str(row["rf"]) if row["rf"] is not None else "global",
                      size(row["inference_peak_bytes"]), size(row["training_bytes"])]
            if bound:
                cells.append(Cell(seconds(row["latency_bound_s"]), row["latency_bound_s"]))
            cells.append(row["checks"])
        if pareto:
            cells.append("*" if row.get("pareto") else "")
        table.add(cells, style="bold" if row.get("pareto") else None)
    out.line(f"{name}: {len(rows)} variant{'s' if len(rows) != 1 else ''}")
    out.table(table)
    failed = sum(1 for row in rows if row["checks"] == "fail")
    errors = sum(1 for row in rows if row["error"])
    if failed or errors:
        out.line(f"{failed} failed their checks, {errors} did not build")
