"""`cnncalc memory FILE`: weights, per-layer activations, the inference peak and where it is,
and with --training one training step's breakdown. `--convention torchinfo|fvcore` shows a
peer tool's memory figures next to cnncalc's.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

import click

from cnncalc.analysis.conventions import explain_convention, peer_memory
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
from cnncalc.report import text
from cnncalc.report.costmem import add_cost_memory
from cnncalc.report.jsondoc import graph_json
from cnncalc.report.output import Output
from cnncalc.report.rows import rows
from cnncalc.report.table import Cell, Table, bytes_cell, count_cell
from cnncalc.spec.dtypes import DTYPE_BYTES, OPTIMIZER_STATES

if TYPE_CHECKING:
    from cnncalc.analysis.memory import MemoryResult
    from cnncalc.graph import Graph

B = text.binary_bytes


@click.command()
@spec_argument
@input_option
@batch_option
@click.option("--dtype", type=click.Choice(list(DTYPE_BYTES)), default=None,
              help="Element type of weights and activations (default: the spec's dtype).")
@click.option("--training", is_flag=True,
              help="Also size one training step: gradients, optimizer state, saved activations.")
@click.option("--optimizer", type=click.Choice(list(OPTIMIZER_STATES)), default="adam",
              show_default=True, help="Optimizer whose state --training counts.")
@click.option("--no-inplace", is_flag=True, help="Assume no op overwrites its input (ReLU, add).")
@top_option
@depth_option
@click.option("--convention", type=click.Choice(["cnncalc", "torchinfo", "fvcore"]),
              default="cnncalc", show_default=True,
              help="Show a peer tool's memory figures next to cnncalc's, with why they differ.")
@output_options()
def memory(file: str, input_shape: tuple[int, ...] | None, batch: int, dtype: str | None,
           training: bool, optimizer: str, no_inplace: bool, top: int, depth: int | None,
           convention: str, out: Output) -> None:
    """Parameters, activations, inference peak (with liveness) and training memory, in bytes."""
    graph = load_or_exit(file, input_shape)
    # JSON always carries the training figures; the table shows them with --training.
    mem = analyze_memory(graph, batch, dtype, training=training or out.json_wanted,
                         optimizer=optimizer, inplace=not no_inplace)
    if out.json_wanted:
        document = graph_json(graph)
        add_cost_memory(document, analyze_cost(graph, batch), mem)
        for entry, layer in zip(document["layers"], mem.layers):
            entry["activation_storage"] = layer.storage
            entry["live_bytes"] = layer.live_bytes
            entry["saved_bytes"] = layer.saved_bytes
            entry["saved"] = list(layer.saved)
        if convention != "cnncalc":
            peer = peer_memory(graph, convention, batch, mem.dtype, optimizer)
            document["convention"] = {"name": convention, "lines": [
                {"label": line.label, "value": line.theirs, "cnncalc": line.ours,
                 "cnncalc_label": line.ours_label, "note": line.note} for line in peer.lines]}
        out.json(document)
        return
    if convention != "cnncalc":
        _peer(out, graph, convention, mem, optimizer)
        return
    _layers(out, graph, mem, top, depth, training)
    _totals(out, mem)
    if training and mem.training is not None:
        _training(out, mem)


def _layers(out: Output, graph: Graph, mem: MemoryResult, top: int, depth: int | None,
            training: bool) -> None:
    out.line(f"{graph.name}: memory, batch {mem.batch}, {mem.dtype}")
    columns: list[tuple[str, ...]] = [
        ("#", "right", "rank"), ("layer", "left"), ("op", "left"), ("output", "right"),
               ("activation", "right"), ("share", "right"), ("storage", "left"),
               ("live (inference)", "right")]
    backward: dict[str, int] = {}
    if training and mem.training is not None:
        columns += [("saved for backward", "left"), ("live in backward", "right")]
        backward = {name: live for phase, name, live in mem.training.timeline if phase == "backward"}
    table = Table(columns)
    lines = rows(graph, depth)
    # A collapsed block shows its output, and the largest live set while any of its layers ran.
    sizes = [mem.layers[row.last.index].activation_bytes for row in lines]
    ranked = sorted(range(len(lines)), key=lambda i: -sizes[i])
    rank = {i: n for n, i in enumerate(ranked[:top], start=1)}
    total = mem.activations_sum_bytes
    for i, row in enumerate(lines):
        layers = [mem.layers[layer.index] for layer in row.layers]
        live = max(layer.live_bytes for layer in layers)
        peak = any(layer.name == mem.inference_peak_layer for layer in layers)
        cells: list[str | Cell] = [str(rank[i]) if i in rank else "", row.label_cell, row.kind,
                 text.shape(row.last.out_shape), bytes_cell(sizes[i]),
                 Cell(text.percent(sizes[i], total), sizes[i] / total if total else 0.0),
                 "" if row.collapsed else layers[-1].storage,
                 bytes_cell(live, " <- peak" if peak else "")]
        if backward:
            saved = sum(layer.saved_bytes for layer in layers)
            what = "" if row.collapsed else ", ".join(layers[-1].saved)
            cells.append(Cell(f"{B(saved)} ({what})" if saved and what else B(saved) if saved
                              else "-", saved))
            live_back = max(backward[layer.name] for layer in layers)
            at_peak = mem.training is not None and any(
                layer.name == mem.training.peak_layer for layer in layers)
            cells.append(bytes_cell(live_back, " <- peak" if at_peak else ""))
        table.add(cells, style="bold" if i in rank or peak else None)
    out.table(table)


def _totals(out: Output, mem: MemoryResult) -> None:
    width = mem.dtype_bytes
    out.line(f"parameters:        {B(mem.params_bytes):>12}  ({text.count(mem.params_bytes // width)}"
              f" x {width} bytes)")
    out.line(f"buffers:           {B(mem.buffers_bytes):>12}  (batch-norm running statistics)")
    out.line(f"input:             {B(mem.input_bytes):>12}")
    out.line(f"all outputs added: {B(mem.activations_sum_bytes):>12}  (what tools without liveness "
              "report)")
    live = ", ".join(mem.inference_live)
    out.line(f"inference peak:    {B(mem.inference_peak_bytes):>12}  at {mem.inference_peak_layer} "
              f"(live: {live})")
    out.line(f"inference total:   {B(mem.inference_total_bytes):>12}  (parameters + buffers + peak)")
    if mem.inplace:
        shown = ", ".join(mem.inplace[:8]) + (f", ... ({len(mem.inplace) - 8} more)"
                                               if len(mem.inplace) > 8 else "")
        out.line(f"computed in place: {len(mem.inplace)} layers: {shown}")
    else:
        out.line("computed in place: none")


def _training(out: Output, mem: MemoryResult) -> None:
    t = mem.training
    assert t is not None
    states = OPTIMIZER_STATES[t.optimizer]
    out.line(f"training step ({t.optimizer}):")
    table = Table([("", "left", "part"), ("bytes", "right"), ("exact", "right"), ("share", "right"),
                   ("what", "left")])
    rows = [("parameters", t.params_bytes, ""),
            ("gradients", t.gradients_bytes, "one per parameter"),
            ("optimizer state", t.optimizer_bytes, f"{states} x parameters"),
            ("buffers", t.buffers_bytes, "running statistics"),
            ("saved for backward", t.saved_bytes, "activations autograd keeps, each once"),
            ("peak transient", t.transient_bytes,
             f"on top, at the {t.peak_phase} of {t.peak_layer}")]
    for label, value, what in rows:
        table.add([label, bytes_cell(value), count_cell(value),
                   Cell(text.percent(value, t.total_bytes), value / t.total_bytes), what])
    table.add(["total", bytes_cell(t.total_bytes), count_cell(t.total_bytes), Cell("100.0%", 1.0),
               ""], style="bold")
    out.table(table)
    if t.inplace:
        out.line(f"in place while training: {len(t.inplace)} layers (not those whose overwritten "
                  "input some backward step needs)")


def _peer(out: Output, graph: Graph, convention: str, mem: MemoryResult, optimizer: str) -> None:
    peer = peer_memory(graph, convention, mem.batch, mem.dtype, optimizer)
    out.line(f"{graph.name}: {convention} memory vs cnncalc, batch {mem.batch}, {mem.dtype}")
    table = Table([(convention, "left"), ("value", "right", f"{convention} value"), ("cnncalc", "left"),
                   ("value", "right", "cnncalc value"),
                   ("what differs", "left")])
    for row in peer.lines:
        theirs = text.count(row.theirs) + " values" if convention == "fvcore" else (
            f"{row.theirs / 1e6:.2f} MB")
        table.add([row.label, Cell(theirs, row.theirs), row.ours_label, bytes_cell(row.ours),
                   row.note])
    out.table(table)
    if convention == "torchinfo":
        out.line("torchinfo's MB are 10^6 bytes; cnncalc uses binary units (1 MiB = 2^20 bytes).")
    for line in explain_convention(convention):
        out.line(line)
