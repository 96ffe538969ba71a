"""`cnncalc report FILE -o report.html`: one self-contained HTML page about the network."""
from __future__ import annotations

from typing import TYPE_CHECKING

import click

from cnncalc.analysis.roofline import NoPeak
from cnncalc.cli.common import (
    Done,
    depth_option,
    fail,
    input_option,
    load_or_exit,
    spec_argument,
    top_option,
)
from cnncalc.cli.device import device_option, resolve_device
from cnncalc.cli.writeout import write_document
from cnncalc.report.html import collect, render_html

if TYPE_CHECKING:
    from cnncalc.backend.erf import ErfResult
    from cnncalc.graph import Graph


@click.command()
@spec_argument
@input_option
@depth_option
@top_option
@click.option("-o", "--output", "output", metavar="OUT", required=True,
              help="The HTML file to write ('-': standard output).")
@click.option("--verify", is_flag=True, help="Run the NumPy forward pass and show its results.")
@click.option("--training", is_flag=True,
              help="Also draw the training step's memory timeline (forward and backward).")
@click.option("--erf", is_flag=True,
              help="Add the effective receptive field's map (as `cnncalc erf`, random weights).")
@click.option("--erf-layer", metavar="NAME", default=None,
              help="With --erf: the layer whose centre unit is measured (default the last "
                   "spatial layer).")
@click.option("--erf-samples", type=click.IntRange(min=1), default=4, show_default=True,
              help="With --erf: random inputs and weight draws averaged.")
@device_option
def report(file: str, input_shape: tuple[int, ...] | None, depth: int | None, top: int,
           output: str, verify: bool, training: bool, erf: bool, erf_layer: str | None,
           erf_samples: int, device: str | None) -> None:
    """Write one offline HTML page: totals, the graph (pan, zoom, click a node for its
    explanation), a sortable table, charts (params and MACs per layer, receptive field and
    stride against depth, memory over execution order), the spec's checks and, with
    --verify, the forward pass's results. Exit 1 when a check or verify fails.

    \b
    Examples:
      cnncalc report resnet18.yaml -o resnet18.html
      cnncalc report net.yaml -o net.html --verify --training
      cnncalc report resnet50.yaml -o r50.html --device a100-sxm4-40gb
      cnncalc report resnet18.yaml -o r18.html --erf --input 3,64,64
    """
    if erf_layer is not None and not erf:
        raise click.UsageError("--erf-layer needs --erf")

    target = resolve_device(device)
    graph = load_or_exit(file, input_shape)
    try:
        data = collect(graph, depth, top, verify, training, target)
    except NoPeak as exc:
        raise click.UsageError(str(exc)) from None
    if erf:
        data.erf = _erf(file, graph, erf_layer, erf_samples)
    write_document(render_html(data), output)
    if any(not r.passed for r in data.checks + (data.verify or [])):
        raise Done(1)


def _erf(file: str, graph: Graph, layer: str | None, samples: int
         ) -> tuple[ErfResult, list[list[float]]]:
    from cnncalc.backend import erf as E  # lazy: NumPy only for --erf

    if layer is not None:
        try:
            graph.layer(layer)
        except KeyError as exc:
            fail(file, f"--erf-layer: {exc.args[0]}", "unknown-layer")
    try:
        result = E.compute_erf(graph, layer, samples=samples)
    except E.ErfError as exc:
        fail(file, str(exc), "erf")
    return result, E.plane(result)
