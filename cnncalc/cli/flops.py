"""`cnncalc flops FILE`: MACs and FLOPs per layer with their share, the heaviest layers, totals.

`--convention torchinfo|fvcore` shows a peer tool's figure next to cnncalc's MACs, layer by
layer, with the reason for every difference.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

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
from cnncalc.report.table import Table

if TYPE_CHECKING:
    from rich.console import Console

    from cnncalc.analysis.conventions import PeerCount
    from cnncalc.analysis.cost import CostResult
    from cnncalc.graph import Graph

BAR_WIDTH = 20


def batch_option(f):  # type: ignore[no-untyped-def]
    return click.option("--batch", type=click.IntRange(min=1), default=1, show_default=True,
                        help="Samples per batch: scales activations and compute, not weights.")(f)


def top_option(f):  # type: ignore[no-untyped-def]
    return click.option("--top", type=click.IntRange(min=0), default=5, show_default=True,
                        help="Highlight the N heaviest rows (0: none).")(f)


def depth_option(f):  # type: ignore[no-untyped-def]
    return click.option("--depth", type=click.IntRange(min=1), default=None,
                        help="Collapse blocks nested deeper than N levels into one row.")(f)


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
              help="With --convention fvcore: the model in training mode (batch norm counts 5/value).")
@output_options
def flops(file: str, input_shape: tuple[int, ...] | None, batch: int, top: int, depth: int | None,
          convention: str, training: bool, as_json: bool, no_color: bool) -> None:
    """MACs and FLOPs per layer (FLOPs = 2 x MACs + element-wise work), heaviest layers, totals."""
    from cnncalc.analysis.cost import analyze_cost
    from cnncalc.analysis.memory import analyze_memory
    from cnncalc.report.costmem import add_cost_memory
    from cnncalc.report.jsondoc import graph_json

    if training and convention != "fvcore":
        raise click.UsageError("--training only applies to --convention fvcore (its batch norm "
                               "counts differ by mode); cnncalc counts one inference pass")
    graph = load_or_exit(file, input_shape)
    cost = analyze_cost(graph, batch)
    peer = None
    if convention != "cnncalc":
        from cnncalc.analysis.conventions import peer_count

        peer = peer_count(graph, convention, batch, training)
    if as_json:
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
        emit_json(document)
        return
    out = console(no_color)
    if peer is not None:
        _peer_table(out, graph, peer, use_color(no_color))
        return
    _cost_table(out, graph, cost, top, depth, use_color(no_color))


def _cost_table(out: Console, graph: Graph, cost: CostResult, top: int, depth: int | None,
                color: bool) -> None:
    from cnncalc.report.rows import rows

    out.print(f"{graph.name}: compute, batch {cost.batch}", markup=False)
    table = Table([("#", "right"), ("layer", "left"), ("op", "left"), ("MACs", "right"),
                   ("FLOPs", "right"), ("share", "right"), ("", "left"), ("how", "left")])
    lines = rows(graph, depth)
    totals = [(sum(cost.layers[layer.index].flops for layer in row.layers),
               sum(cost.layers[layer.index].macs for layer in row.layers)) for row in lines]
    ranked = sorted(range(len(lines)), key=lambda i: -totals[i][0])
    rank = {i: n for n, i in enumerate(ranked[:top], start=1) if totals[i][0] > 0}
    total = cost.total_flops
    for i, row in enumerate(lines):
        flops_, macs = totals[i]
        how = "" if row.collapsed else _how(cost, row.last.index)
        name = "  " * row.level + row.name + (f" (x{len(row.layers)} layers)" if row.collapsed else "")
        table.add([str(rank[i]) if i in rank else "", name, row.kind,
                   text.count(macs) if macs else "-", text.count(flops_) if flops_ else "-",
                   text.percent(flops_, total), "#" * round(BAR_WIDTH * flops_ / total) if total else "",
                   how], style="bold" if i in rank else None)
    table.render(out, color)
    out.print(f"total MACs:  {text.count(cost.total_macs)} ({text.short(cost.total_macs)})"
              "   conv, deconv and dense multiply-accumulates, bias excluded")
    out.print(f"total FLOPs: {text.count(total)} ({text.short(total)})"
              "   2 x MACs + element-wise work (bias, norm, activations, pooling, merges)")
    by_op = ", ".join(f"{op} {text.percent(f, total)}" for op, (_, f) in cost.by_op().items() if f)
    out.print(f"FLOPs by op: {by_op}", markup=False, soft_wrap=True)
    if cost.batch > 1:
        per = cost.total_macs // cost.batch
        out.print(f"per sample: {text.count(per)} MACs, {text.count(total // cost.batch)} FLOPs")


def _how(cost: CostResult, index: int) -> str:
    layer = cost.layers[index]
    parts = [f"2 x MACs ({layer.macs_formula})"] if layer.macs else []
    if layer.other_flops or not parts:
        parts.append(layer.how)
    return " + ".join(parts)


def _peer_table(out: Console, graph: Graph, peer: PeerCount, color: bool) -> None:
    out.print(f"{graph.name}: cnncalc MACs vs {peer.convention} {peer.label}, batch {peer.batch}",
              markup=False)
    table = Table([("layer", "left"), ("op", "left"), ("cnncalc MACs", "right"),
                   (f"{peer.convention}", "right"), ("difference", "right"), ("why", "left")])
    for layer in peer.layers:
        if not (layer.ours or layer.theirs):
            continue
        diff = layer.theirs - layer.ours
        table.add([layer.name, layer.op, text.count(layer.ours), text.count(layer.theirs),
                   f"{diff:+,}" if diff else "=", layer.note if diff else ""],
                  style="bold" if diff else None)
    table.render(out, color)
    diff = peer.total_theirs - peer.total_ours
    out.print(f"cnncalc MACs: {text.count(peer.total_ours)} ({text.short(peer.total_ours)})")
    out.print(f"{peer.convention} {peer.label}: {text.count(peer.total_theirs)} "
              f"({text.short(peer.total_theirs)}), {diff:+,} "
              f"({text.percent(abs(diff), peer.total_ours)} {'more' if diff >= 0 else 'less'})")
    from cnncalc.analysis.conventions import explain_convention

    for line in explain_convention(peer.convention):
        out.print(line, markup=False)
