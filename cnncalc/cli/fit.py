"""`cnncalc fit FILE --memory 16GiB`: the largest batch (or, with --resolution, the largest
square input) whose modelled memory fits, with the memory breakdown there."""
from __future__ import annotations

from typing import Any

import click

from cnncalc.analysis.fit import NotMonotone, fit_batch, fit_resolution
from cnncalc.cli.common import Done, byte_size, input_option, load_or_exit, output_options, spec_argument
from cnncalc.report import text
from cnncalc.report.costmem import memory_json
from cnncalc.report.output import Output
from cnncalc.report.table import Cell, Table
from cnncalc.spec.dtypes import DTYPE_BYTES, OPTIMIZER_STATES


def _budget(ctx: click.Context, param: click.Parameter, value: str) -> int:
    limit = byte_size(ctx, param, value)
    if not limit or limit <= 0:
        raise click.BadParameter(f"expected a positive size, got {value!r}")
    return limit


@click.command()
@spec_argument
@input_option
@click.option("--memory", "limit", required=True, metavar="SIZE", callback=_budget,
              help="The budget: 16GiB, 512MB or a number of bytes.")
@click.option("--training", is_flag=True, help="Fit one training step (gradients, optimizer "
              "state, saved activations), not inference.")
@click.option("--optimizer", type=click.Choice(list(OPTIMIZER_STATES)), default="adam",
              show_default=True, help="Optimizer whose state --training counts.")
@click.option("--dtype", type=click.Choice(list(DTYPE_BYTES)), default=None,
              help="Element type (default: the spec's dtype).")
@click.option("--resolution", is_flag=True, help="Find the largest square input side (every "
              "spatial axis) at --batch instead of the largest batch.")
@click.option("--batch", type=click.IntRange(min=1), default=1, show_default=True,
              help="With --resolution: the batch size.")
@output_options()
def fit(file: str, input_shape: tuple[int, ...] | None, limit: int, training: bool,
        optimizer: str, dtype: str | None, resolution: bool, batch: int, out: Output) -> None:
    """Largest batch (or input resolution) whose modelled memory fits in --memory."""

    graph = load_or_exit(file, input_shape)
    opts: dict[str, Any] = {"dtype": dtype, "training": training, "optimizer": optimizer}
    try:
        result = fit_resolution(graph, limit, batch, **opts) if resolution \
            else fit_batch(graph, limit, **opts)
    except (NotMonotone, ValueError) as exc:
        raise click.UsageError(str(exc)) from None
    _render(out, graph.name, result, resolution, batch, training)
    if result.value == 0:
        raise Done(1)


def _render(out: Output, name: str, result: Any, resolution: bool, batch: int, training: bool) -> None:
    what = "resolution" if resolution else "batch"
    if out.json_wanted:
        document: dict[str, Any] = {
            "name": name, what: result.value, "memory_limit_bytes": result.limit_bytes,
            "needed_bytes": result.needed_bytes, "mode": "training" if training else "inference",
            f"next_{what}": result.next_value, "next_needed_bytes": result.next_bytes,
            "input": list(result.input_shape)}
        if resolution:
            document["batch"] = batch
        if result.memory is not None:
            document["memory"] = memory_json(result.memory)
        out.json(document)
        return
    B = text.binary_bytes
    mode = "a training step" if training else "inference"
    if result.value == 0:
        first = f" ({B(result.next_bytes)} at the smallest)" if result.next_bytes else ""
        out.line(f"{name}: nothing fits in {B(result.limit_bytes)} for {mode}{first}")
        return
    label = f"input side {result.value} (input {list(result.input_shape)}, batch {batch})" \
        if resolution else f"batch {result.value}"
    out.line(f"{name}: largest {what} for {mode} in {B(result.limit_bytes)}: {label}")
    out.line(f"memory there: {B(result.needed_bytes)} "
             f"({text.percent(result.needed_bytes, result.limit_bytes)} of the budget)")
    if result.next_value is not None and result.next_bytes is not None:
        out.line(f"{what} {result.next_value} would need {B(result.next_bytes)}")
    mem = result.memory
    t = mem.training
    parts = ([("parameters", t.params_bytes), ("gradients", t.gradients_bytes),
              (f"optimizer state ({t.optimizer})", t.optimizer_bytes), ("buffers", t.buffers_bytes),
              ("saved activations", t.saved_bytes), ("transient activations", t.transient_bytes)]
             if t is not None else
             [("parameters", mem.params_bytes), ("buffers", mem.buffers_bytes),
              (f"activation peak (at {mem.inference_peak_layer})", mem.inference_peak_bytes)])

    table = Table([("term", "left"), ("bytes", "right"), ("share", "right")])
    for term, value in parts:
        table.add([term, Cell(B(value), value), text.percent(value, result.needed_bytes)])
    out.table(table)
