"""`cnncalc summary FILE`: one row per layer (or block): output shape, parameters, MACs and the
size of its output (activation, batch 1, the spec's dtype)."""
from __future__ import annotations

import click

from cnncalc.analysis.backcost import analyze_training_cost
from cnncalc.analysis.cost import analyze_cost
from cnncalc.analysis.memory import analyze_memory
from cnncalc.analysis.rf import analyze_rf
from cnncalc.cli.common import depth_option, input_option, load_or_exit, output_options, spec_argument
from cnncalc.cli.device import device_option, resolve_device, roofline_or_exit
from cnncalc.report import text
from cnncalc.report.costmem import add_cost_memory
from cnncalc.report.jsondoc import graph_json
from cnncalc.report.output import Output
from cnncalc.report.rf import add_rf, size_cell
from cnncalc.report.roofline import add_roofline, totals_line
from cnncalc.report.rows import rows
from cnncalc.report.table import CellLike, Table, bytes_cell, count_cell
from cnncalc.report.traincost import add_training_json


@click.command()
@spec_argument
@input_option
@depth_option
@device_option
@click.option("--training", is_flag=True,
              help="Add each layer's backward MACs and the training step's totals "
                   "(as `flops --training`).")
@output_options()
def summary(file: str, input_shape: tuple[int, ...] | None, depth: int | None, device: str | None,
            training: bool, out: Output) -> None:
    """Per-layer output shapes, parameters, MACs, activation sizes and receptive fields (RF)."""
    target = resolve_device(device)
    graph = load_or_exit(file, input_shape)
    cost = analyze_cost(graph)
    step = analyze_training_cost(graph) if training else None
    roof = roofline_or_exit(graph, target, cost=cost) if target is not None else None
    mem = analyze_memory(graph, training=out.json_wanted)
    rf = analyze_rf(graph)
    if out.json_wanted:
        document = graph_json(graph)
        add_cost_memory(document, cost, mem)
        add_rf(document, rf)
        if step is not None:
            add_training_json(document, step)
        if roof is not None:
            add_roofline(document, roof)
        out.json(document)
        return
    layout = graph.spec.layout
    note = " (channels last)" if layout == "channels_last" else ""
    columns = [("layer", "left"), ("op", "left"), ("output shape", "right"), ("params", "right"),
               ("MACs", "right"), ("activation", "right"), ("RF", "right")]
    if step is not None:
        columns.insert(5, ("backward MACs", "right"))
    table = Table(columns)
    for row in rows(graph, depth):
        cells: list[CellLike] = [row.label_cell, row.kind, text.shape(row.last.out_shape, layout),
                 count_cell(row.params, "-"), count_cell(row.macs(cost), "-"),
                 bytes_cell(mem.layers[row.last.index].activation_bytes),
                 size_cell(rf[row.last.name])]
        if step is not None:
            back = sum(step.backward[layer.index].macs for layer in row.layers)
            cells.insert(5, count_cell(back, "-"))
        table.add(cells)
    out.line(f"{graph.name}  input {text.shape(graph.input_shape, layout)}{note}")
    out.table(table)
    out.line(f"total params: {text.count(graph.total_params)} ({text.short(graph.total_params)})"
             f"   trainable: {text.count(graph.total_params)}"
             f"   buffers: {text.count(graph.total_buffers)}")
    out.line(f"total MACs: {text.count(cost.total_macs)} ({text.short(cost.total_macs)})"
             f"   FLOPs: {text.short(cost.total_flops)}"
             f"   inference peak: {text.binary_bytes(mem.inference_peak_bytes)} at "
             f"{mem.inference_peak_layer} ({mem.dtype}, batch 1)")
    outputs = ", ".join(f"{name} {text.shape(shape, layout)}"
                        for name, shape in graph.output_shapes.items())
    out.line(f"output: {outputs}")
    if step is not None:
        out.line(f"training step: {text.count(step.total_macs)} MACs ({text.short(step.total_macs)})"
                 f" = forward {text.short(step.forward.total_macs)} + backward "
                 f"{text.short(step.backward_macs)}   FLOPs: {text.short(step.total_flops)}"
                 "   (flops --training for grad input / grad weights)")
    if roof is not None:
        out.line(totals_line(roof))
