"""`cnncalc params FILE`: where the parameters are, with each layer's formula and share."""
from __future__ import annotations

import click

from cnncalc.cli.common import input_option, load_or_exit, output_options, spec_argument
from cnncalc.report import text
from cnncalc.report.jsondoc import graph_json
from cnncalc.report.output import Output
from cnncalc.report.table import Cell, Table, count_cell

BAR_WIDTH = 20


@click.command()
@spec_argument
@input_option
@click.option("--all", "show_all", is_flag=True, help="Also list layers without parameters.")
@output_options()
def params(file: str, input_shape: tuple[int, ...] | None, show_all: bool, out: Output) -> None:
    """Per-layer parameters with the formula, trainable vs buffers, and share of the total."""
    graph = load_or_exit(file, input_shape)
    total = graph.total_params
    if out.json_wanted:
        document = graph_json(graph)
        for entry, layer in zip(document["layers"], graph.layers):
            entry["param_formula"] = layer.op.param_formula(layer)
            entry["param_share"] = layer.params / total if total else 0.0
        out.json(document)
        return
    table = Table([("layer", "left"), ("op", "left"), ("formula", "left"), ("params", "right"),
                   ("buffers", "right"), ("share", "right"), ("", "left")])
    heaviest = max((layer.params for layer in graph.layers), default=0)
    for layer in graph.layers:
        if not (layer.params or layer.buffers or show_all):
            continue
        share = layer.params / total if total else 0.0
        style = "bold red" if layer.params == heaviest and share >= 0.25 else None
        table.add([layer.name, layer.op_name, layer.op.param_formula(layer), count_cell(layer.params),
                   count_cell(layer.buffers, "-"), Cell(text.percent(layer.params, total), share),
                   "#" * round(share * BAR_WIDTH)], style)
    out.line(f"{graph.name}: parameters")
    out.table(table)
    out.line(f"trainable params: {text.count(graph.total_params)} "
             f"({text.short(graph.total_params)})   buffers: {text.count(graph.total_buffers)}"
             f"   total stored: {text.count(graph.total_params + graph.total_buffers)}")
    if total:
        top = max(graph.layers, key=lambda layer: layer.params)
        out.line(f"largest: {top.name} ({top.op_name}) holds {text.percent(top.params, total)} "
                 "of the parameters")
