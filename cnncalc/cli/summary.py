"""`cnncalc summary FILE`: one row per layer (or block): output shape, parameters, MACs and the
size of its output (activation, batch 1, the spec's dtype)."""
from __future__ import annotations

import click

from cnncalc.cli.common import (
    console,
    emit_json,
    input_option,
    load_or_exit,
    output_options,
    spec_argument,
    use_color,
)
from cnncalc.report import text
from cnncalc.report.jsondoc import graph_json
from cnncalc.report.rows import rows
from cnncalc.report.table import Table


@click.command()
@spec_argument
@input_option
@click.option("--depth", type=click.IntRange(min=1), default=None,
              help="Show N levels of block nesting (1: top-level items only); default all.")
@output_options
def summary(file: str, input_shape: tuple[int, ...] | None, depth: int | None, as_json: bool,
            no_color: bool) -> None:
    """Per-layer output shapes, parameters, MACs, activation sizes and receptive fields (RF)."""
    from cnncalc.analysis.cost import analyze_cost
    from cnncalc.analysis.memory import analyze_memory
    from cnncalc.analysis.rf import analyze_rf
    from cnncalc.report.rf import size_cell

    graph = load_or_exit(file, input_shape)
    cost = analyze_cost(graph)
    mem = analyze_memory(graph, training=as_json)
    rf = analyze_rf(graph)
    if as_json:
        from cnncalc.report.costmem import add_cost_memory
        from cnncalc.report.rf import add_rf

        document = graph_json(graph)
        add_cost_memory(document, cost, mem)
        add_rf(document, rf)
        emit_json(document)
        return
    layout = graph.spec.layout
    note = " (channels last)" if layout == "channels_last" else ""
    table = Table([("layer", "left"), ("op", "left"), ("output shape", "right"), ("params", "right"),
                   ("MACs", "right"), ("activation", "right"), ("RF", "right")])
    for row in rows(graph, depth):
        indent = "  " * row.level
        name = f"{indent}{row.name}" + (f" (x{len(row.layers)} layers)" if row.collapsed else "")
        macs = sum(cost.layers[layer.index].macs for layer in row.layers)
        table.add([name, row.kind, text.shape(row.last.out_shape, layout),
                   text.count(row.params) if row.params else "-",
                   text.count(macs) if macs else "-",
                   text.binary_bytes(mem.layers[row.last.index].activation_bytes),
                   size_cell(rf[row.last.name])])
    out = console(no_color)
    out.print(f"{graph.name}  input {text.shape(graph.input_shape, layout)}{note}", markup=False)
    table.render(out, use_color(no_color))
    out.print(f"total params: {text.count(graph.total_params)} ({text.short(graph.total_params)})"
              f"   trainable: {text.count(graph.total_params)}"
              f"   buffers: {text.count(graph.total_buffers)}")
    out.print(f"total MACs: {text.count(cost.total_macs)} ({text.short(cost.total_macs)})"
              f"   FLOPs: {text.short(cost.total_flops)}"
              f"   inference peak: {text.binary_bytes(mem.inference_peak_bytes)} at "
              f"{mem.inference_peak_layer} ({mem.dtype}, batch 1)", markup=False)
    outputs = ", ".join(f"{name} {text.shape(shape, layout)}"
                        for name, shape in graph.output_shapes.items())
    out.print(f"output: {outputs}", markup=False)
