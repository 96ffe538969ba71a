"""A training step's compute (`cnncalc flops --training`): the table and the JSON keys.

Per layer: forward FLOPs, the backward's grad input and grad weights FLOPs, their sum and the
layer's share of the step; totals in FLOPs and MACs. JSON adds a "backward" object per layer
and a top-level "training" object (see docs/counting.md).
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

from cnncalc.report import text
from cnncalc.report.rows import rows
from cnncalc.report.table import Cell, Table, count_cell

if TYPE_CHECKING:
    from cnncalc.analysis.backcost import TrainingCost
    from cnncalc.graph import Graph
    from cnncalc.report.output import Output


def add_training_json(document: dict[str, Any], cost: TrainingCost) -> None:
    """Add a "backward" object to every layer of a `graph_json` document (same order) and the
    step's totals as "training"."""
    for entry, layer in zip(document["layers"], cost.backward):
        entry["backward"] = {
            "grad_input_macs": layer.grad_input_macs, "grad_weight_macs": layer.grad_weight_macs,
            "grad_input_flops": layer.grad_input_flops,
            "grad_weight_flops": layer.grad_weight_flops,
            "macs": layer.macs, "flops": layer.flops, "how": layer.how}
    document["training"] = {
        "input_grad": cost.input_grad,
        "forward_macs": cost.forward.total_macs, "forward_flops": cost.forward.total_flops,
        "backward_macs": cost.backward_macs, "backward_flops": cost.backward_flops,
        "grad_input_flops": cost.grad_input_flops, "grad_weight_flops": cost.grad_weight_flops,
        "total_macs": cost.total_macs, "total_flops": cost.total_flops}


def training_table(out: Output, graph: Graph, cost: TrainingCost, top: int,
                   depth: int | None) -> None:
    """Forward, grad input, grad weights, backward and total FLOPs per row, then the totals."""
    what = "input gradient included" if cost.input_grad else "no gradient for the input"
    out.line(f"{graph.name}: training step compute, batch {cost.batch} ({what})")
    table = Table([("#", "right", "rank"), ("layer", "left"), ("op", "left"),
                   ("forward", "right", "forward FLOPs"), ("grad input", "right", "grad input FLOPs"),
                   ("grad weights", "right", "grad weights FLOPs"),
                   ("backward", "right", "backward FLOPs"), ("total", "right", "total FLOPs"),
                   ("share", "right"), ("backward: how", "left")])
    lines = rows(graph, depth)
    sums = []
    for row in lines:
        back = [cost.backward[layer.index] for layer in row.layers]
        forward = row.flops(cost.forward)
        g_in = sum(b.grad_input_flops for b in back)
        g_w = sum(b.grad_weight_flops for b in back)
        sums.append((forward, g_in, g_w))
    totals = [f + i + w for f, i, w in sums]
    ranked = sorted(range(len(lines)), key=lambda i: -totals[i])
    rank = {i: n for n, i in enumerate(ranked[:top], start=1) if totals[i] > 0}
    step = cost.total_flops
    for i, row in enumerate(lines):
        forward, g_in, g_w = sums[i]
        how = "" if row.collapsed else cost.backward[row.last.index].how
        table.add([str(rank[i]) if i in rank else "", row.label_cell, row.kind,
                   count_cell(forward, "-"), count_cell(g_in, "-"), count_cell(g_w, "-"),
                   count_cell(g_in + g_w, "-"), count_cell(totals[i], "-"),
                   Cell(text.percent(totals[i], step), totals[i] / step if step else 0.0), how],
                  style="bold" if i in rank else None)
    out.table(table)
    fwd = cost.forward
    out.line(f"forward:  {text.count(fwd.total_flops)} FLOPs ({text.short(fwd.total_flops)}), "
             f"{text.count(fwd.total_macs)} MACs")
    out.line(f"backward: {text.count(cost.backward_flops)} FLOPs ({text.short(cost.backward_flops)})"
             f" = grad input {text.count(cost.grad_input_flops)} + grad weights "
             f"{text.count(cost.grad_weight_flops)}; {text.count(cost.backward_macs)} MACs")
    ratio = f"{cost.backward_flops / fwd.total_flops:.2f}" if fwd.total_flops else "-"
    out.line(f"total:    {text.count(step)} FLOPs ({text.short(step)}), "
             f"{text.count(cost.total_macs)} MACs; backward = {ratio} x forward")
    if cost.batch > 1:
        out.line(f"per sample: {text.count(cost.total_macs // cost.batch)} MACs, "
                 f"{text.count(step // cost.batch)} FLOPs")
