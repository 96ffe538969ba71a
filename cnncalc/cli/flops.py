"""`cnncalc flops FILE`: MACs and FLOPs per layer with their share, the heaviest layers, totals.

`--convention torchinfo|fvcore` shows a peer tool's figure next to cnncalc's MACs, layer by
layer, with the reason for every difference.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

import click

from cnncalc.analysis.backcost import analyze_training_cost
from cnncalc.analysis.conventions import explain_convention, peer_count
from cnncalc.analysis.cost import analyze_cost
from cnncalc.analysis.memory import analyze_memory
from cnncalc.cli.common import (
    batch_option,
    depth_option,
    input_option,
    load_or_exit,
    output_options,
    spec_argument,
    top_option,
)
from cnncalc.cli.device import device_option, resolve_device, roofline_or_exit
from cnncalc.report import text
from cnncalc.report.costmem import add_cost_memory, how_counted
from cnncalc.report.jsondoc import graph_json
from cnncalc.report.output import Output
from cnncalc.report.roofline import add_roofline, roofline_table
from cnncalc.report.rows import rows
from cnncalc.report.table import Cell, Table, count_cell
from cnncalc.report.traincost import add_training_json, training_table

if TYPE_CHECKING:
    from cnncalc.analysis.backcost import TrainingCost
    from cnncalc.analysis.conventions import PeerCount
    from cnncalc.analysis.cost import CostResult
    from cnncalc.graph import Graph

BAR_WIDTH = 20


@click.command()
@spec_argument
@input_option
@batch_option
@top_option
@depth_option
@click.option("--convention", type=click.Choice(["cnncalc", "torchinfo", "fvcore"]),
              default="cnncalc", show_default=True,
              help="Show a peer tool's count next to cnncalc's MACs, with why they differ.")
@click.option("--training", is_flag=True,
              help="A training step: forward + backward (grad input, grad weights) per layer. "
                   "With --convention fvcore: the model in training mode (batch norm 5/value).")
@click.option("--input-grad", is_flag=True,
              help="With --training: also compute the network input's gradient (saliency, "
                   "ERF); by default, as PyTorch, the input needs none.")
@device_option
@output_options()
def flops(file: str, input_shape: tuple[int, ...] | None, batch: int, top: int, depth: int | None,
          convention: str, training: bool, input_grad: bool, device: str | None,
          out: Output) -> None:
    """MACs and FLOPs per layer (FLOPs = 2 x MACs + element-wise work), heaviest layers, totals.
    With --training, the backward pass too."""
    if training and convention == "torchinfo":
        raise click.UsageError("--training does not apply to --convention torchinfo (it has "
                               "no training mode)")
    if input_grad and (not training or convention != "cnncalc"):
        raise click.UsageError("--input-grad needs --training (and cnncalc's own convention)")
    if training and convention == "cnncalc" and device is not None:
        raise click.UsageError("--device bounds the forward pass; leave out --training")
    target = resolve_device(device)
    graph = load_or_exit(file, input_shape)
    if training and convention == "cnncalc":
        _training(out, graph, analyze_training_cost(graph, batch, input_grad), top, depth)
        return
    cost = analyze_cost(graph, batch)
    roof = roofline_or_exit(graph, target, batch, cost) if target is not None else None
    peer = None
    if convention != "cnncalc":
        peer = peer_count(graph, convention, batch, training)
    if out.json_wanted:
        document = graph_json(graph)
        add_cost_memory(document, cost, analyze_memory(graph, batch))
        for entry, layer in zip(document["layers"], cost.layers):
            entry["macs_formula"] = layer.macs_formula
            entry["flops_how"] = layer.how
        document["by_op"] = {op: {"macs": m, "flops": f} for op, (m, f) in cost.by_op().items()}
        if peer is not None:
            document["convention"] = {
                "name": peer.convention, "label": peer.label, "total": peer.total_theirs,
                "layers": [{"name": p.name, "value": p.theirs, "note": p.note} for p in peer.layers]}
        if roof is not None:
            add_roofline(document, roof)
        out.json(document)
        return
    if peer is not None:
        _peer_table(out, graph, peer)
        return
    _cost_table(out, graph, cost, top, depth)
    if roof is not None:
        out.line()
        out.line(f"{graph.name}: latency lower bounds on {roof.device.name} ({roof.device.source})")
        roofline_table(out, roof)


def _training(out: Output, graph: Graph, cost: TrainingCost, top: int, depth: int | None) -> None:
    if out.json_wanted:
        document = graph_json(graph)
        add_cost_memory(document, cost.forward, analyze_memory(graph, cost.batch))
        add_training_json(document, cost)
        out.json(document)
        return
    training_table(out, graph, cost, top, depth)


def _cost_table(out: Output, graph: Graph, cost: CostResult, top: int, depth: int | None) -> None:
    out.line(f"{graph.name}: compute, batch {cost.batch}")
    table = Table([("#", "right", "rank"), ("layer", "left"), ("op", "left"), ("MACs", "right"),
                   ("FLOPs", "right"), ("share", "right"), ("", "left"), ("how", "left")])
    lines = rows(graph, depth)
    totals = [(row.flops(cost), row.macs(cost)) for row in lines]
    ranked = sorted(range(len(lines)), key=lambda i: -totals[i][0])
    rank = {i: n for n, i in enumerate(ranked[:top], start=1) if totals[i][0] > 0}
    total = cost.total_flops
    for i, row in enumerate(lines):
        flops_, macs = totals[i]
        how = "" if row.collapsed else how_counted(cost.layers[row.last.index])
        table.add([str(rank[i]) if i in rank else "", row.label_cell, row.kind,
                   count_cell(macs, "-"), count_cell(flops_, "-"),
                   Cell(text.percent(flops_, total), flops_ / total if total else 0.0),
                   "#" * round(BAR_WIDTH * flops_ / total) if total else "", how],
                  style="bold" if i in rank else None)
    out.table(table)
    out.line(f"total MACs:  {text.count(cost.total_macs)} ({text.short(cost.total_macs)})"
             "   conv, deconv and dense multiply-accumulates, bias excluded")
    out.line(f"total FLOPs: {text.count(total)} ({text.short(total)})"
             "   2 x MACs + element-wise work (bias, norm, activations, pooling, merges)")
    by_op = ", ".join(f"{op} {text.percent(f, total)}" for op, (_, f) in cost.by_op().items() if f)
    out.line(f"FLOPs by op: {by_op}")
    if cost.batch > 1:
        per = cost.total_macs // cost.batch
        out.line(f"per sample: {text.count(per)} MACs, {text.count(total // cost.batch)} FLOPs")


def _peer_table(out: Output, graph: Graph, peer: PeerCount) -> None:
    out.line(f"{graph.name}: cnncalc MACs vs {peer.convention} {peer.label}, batch {peer.batch}")
    table = Table([("layer", "left"), ("op", "left"), ("cnncalc MACs", "right"),
                   (f"{peer.convention}", "right"), ("difference", "right"), ("why", "left")])
    for layer in peer.layers:
        if not (layer.ours or layer.theirs):
            continue
        diff = layer.theirs - layer.ours
        table.add([layer.name, layer.op_name, count_cell(layer.ours), count_cell(layer.theirs),
                   Cell(f"{diff:+,}" if diff else "=", diff), layer.note if diff else ""],
                  style="bold" if diff else None)
    out.table(table)
    diff = peer.total_theirs - peer.total_ours
    out.line(f"cnncalc MACs: {text.count(peer.total_ours)} ({text.short(peer.total_ours)})")
    out.line(f"{peer.convention} {peer.label}: {text.count(peer.total_theirs)} "
             f"({text.short(peer.total_theirs)}), {diff:+,} "
             f"({text.percent(abs(diff), peer.total_ours)} {'more' if diff >= 0 else 'less'})")
    for line in explain_convention(peer.convention):
        out.line(line)
