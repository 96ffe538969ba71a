"""`cnncalc rf FILE`: receptive field size r, effective stride S and padding P of every layer.

The table goes to stdout, the warnings (misaligned merges, unproductive depth, units that see
mostly padding) to stderr as FILE:LINE:COL lines; warnings never change the exit code.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

import click

from cnncalc.analysis.rf import analyze_rf
from cnncalc.cli.common import (
    depth_option,
    fail,
    input_option,
    load_or_exit,
    output_options,
    report,
    spec_argument,
)
from cnncalc.report import rf as render
from cnncalc.report import text
from cnncalc.report.jsondoc import graph_json
from cnncalc.report.output import Output
from cnncalc.report.rf import add_rf, notes, table_cells, unit_json
from cnncalc.report.rows import rows
from cnncalc.report.table import Table
from cnncalc.text import per_axis

if TYPE_CHECKING:
    from cnncalc.analysis.rf import LayerRF, RFResult
    from cnncalc.graph import Graph


def _parse_unit(ctx: click.Context, param: click.Parameter, value: str | None) -> tuple[int, ...] | None:
    if value is None:
        return None
    try:
        unit = tuple(int(part) for part in value.replace("x", ",").split(",") if part.strip())
    except ValueError:
        raise click.BadParameter(f"expected indices like 3,4, got {value!r}") from None
    if not unit or min(unit) < 0:
        raise click.BadParameter(f"expected non-negative indices like 3,4, got {value!r}")
    return unit


@click.command()
@spec_argument
@click.option("--layer", "layer_name", metavar="NAME", default=None,
              help="Details of one layer (or block: its last layer).")
@click.option("--unit", metavar="I,J", callback=_parse_unit, default=None,
              help="The input region one output unit sees (of --layer, default the last "
                   "spatial layer) and the input positions it really depends on.")
@input_option
@depth_option
@output_options()
def rf(file: str, layer_name: str | None, unit: tuple[int, ...] | None,
       input_shape: tuple[int, ...] | None, depth: int | None, out: Output) -> None:
    """Receptive field per layer and axis: size r, effective stride S, effective padding P
    (unit i sees input [-P + i*S, -P + i*S + r - 1]), and the narrowest path's r."""
    graph = load_or_exit(file, input_shape)
    result = analyze_rf(graph)
    chosen = _chosen(file, graph, result, layer_name, unit is not None)
    if unit is not None and chosen is not None:
        _check_unit(file, chosen, unit)
    if out.json_wanted:
        _json(out, graph, result, chosen, unit)
        return

    if chosen is None:
        _table(graph, result, depth, out)
    else:
        for line in render.describe(graph, chosen):
            out.line(line)
        if unit is not None:
            for line in render.unit_lines(graph, chosen, unit):
                out.line(line)
    report(result.warnings)


def _chosen(file: str, graph: Graph, result: RFResult, name: str | None,
            want_unit: bool) -> LayerRF | None:
    if name is None:
        if not want_unit:
            return None
        last = result.last_local()
        if last is None:
            fail(file, "no layer has spatial axes with a local receptive field", "no-spatial-axes")
        return last
    try:
        return result[graph.layer(name).name]
    except KeyError as exc:
        fail(file, f"--layer: {exc.args[0]}", "unknown-layer")


def _check_unit(file: str, rf: LayerRF, unit: tuple[int, ...]) -> None:
    sizes = rf.shape[1:]
    if len(unit) != len(sizes):
        fail(file, f"--unit needs {len(sizes)} indices for {rf.name} "
             f"(spatial size {'x'.join(map(str, sizes)) or 'none'}), got {len(unit)}", "bad-unit")
    for axis, (i, n) in enumerate(zip(unit, sizes), start=1):
        if i >= n:
            fail(file, f"--unit index {i} is outside spatial axis {axis} of {rf.name} "
                 f"(size {n}, indices 0..{n - 1})", "bad-unit")


def _json(out: Output, graph: Graph, result: RFResult, chosen: LayerRF | None,
          unit: tuple[int, ...] | None) -> None:
    document: dict[str, Any] = graph_json(graph)
    add_rf(document, result)
    if chosen is not None:
        document["rf_layer"] = chosen.name
    if chosen is not None and unit is not None:
        document["rf_unit"] = unit_json(graph, chosen, unit)
    out.json(document)


def _table(graph: Graph, result: RFResult, depth: int | None, out: Output) -> None:
    layout = graph.spec.layout
    out.line(f"{graph.name}  input {text.shape(graph.input_shape, layout)}: receptive fields "
             "(r size, S stride, P padding: unit i sees [-P + i*S, -P + i*S + r - 1])")
    table = Table([("layer", "left"), ("op", "left"), ("output shape", "right"), ("r", "right"),
                   ("S", "right"), ("P", "right"), ("r min", "right"), ("", "left", "note")])
    for row in rows(graph, depth):
        rf = result[row.last.name]
        misaligned = any(result[layer.name].misaligned for layer in row.layers)
        note = notes(rf) or ("contains a misaligned merge" if misaligned else "")
        table.add([row.label_cell, row.kind, text.shape(row.last.out_shape, layout), *table_cells(rf), note],
                  style="yellow" if note else None)
    out.table(table)
    last = result.last_local()
    if last is not None and last.local:
        axes = last.local

        def show(key: str) -> str:
            return per_axis(tuple(getattr(a, key) for a in axes))

        gated = " (global through its gates; with the gates as constants)" if last.is_global else ""
        out.line(f"last spatial layer {last.name}{gated}: r = {show('size')}, S = {show('stride')}, "
                 f"P = {show('padding')}, narrowest path r = {show('size_min')}")
