"""`cnncalc report`: one self-contained HTML page about a network.

Totals, the graph (pan, zoom, click a node for its explanation), the per-layer table, charts
(params and MACs per layer, receptive field and effective stride against depth with the input
size drawn in, the memory timeline), the spec's checks and, with --verify, the NumPy forward
pass's results. Everything is inline (stylesheet, script, SVG, data) and a Content Security
Policy forbids any request, so the page works offline and cannot leak what it shows.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from cnncalc.analysis.memory import analyze_memory
from cnncalc.analysis.roofline import analyze_roofline
from cnncalc.checks.layout import layout_warnings
from cnncalc.checks.measure import Figures, run_checks
from cnncalc.checks.verification import verify_results
from cnncalc.report import text
from cnncalc.report.charts import COLORS, Series, bar_chart, log_points_chart
from cnncalc.report.erfsvg import erf_section
from cnncalc.report.explain import explanation
from cnncalc.report.graphmodel import build_model
from cnncalc.report.htmlassets import CSP, CSS, JS
from cnncalc.report.rf import size_cell
from cnncalc.report.roofline import seconds
from cnncalc.report.svg import esc, render_svg

if TYPE_CHECKING:
    from cnncalc.analysis.cost import CostResult
    from cnncalc.analysis.memory import MemoryResult
    from cnncalc.analysis.rf import RFResult
    from cnncalc.analysis.roofline import Roofline
    from cnncalc.backend.erf import ErfResult
    from cnncalc.checks.model import Result
    from cnncalc.devices import Device
    from cnncalc.graph import Graph
    from cnncalc.problems import Problem
    from cnncalc.report.graphmodel import GraphModel


@dataclass
class ReportData:
    """Everything the page shows, computed once by `collect`."""

    graph: Graph
    model: GraphModel
    cost: CostResult
    mem: MemoryResult  # with the training step
    rf: RFResult
    checks: list[Result]
    verify: list[Result] | None  # None: --verify not asked for
    warnings: list[Problem] = field(default_factory=list)
    training: bool = False  # draw the backward pass in the memory timeline
    roofline: Roofline | None = None  # latency bounds on a device (--device)
    erf: tuple[ErfResult, list[list[float]]] | None = None  # --erf: the result and its 2-D map


def collect(graph: Graph, depth: int | None = None, top: int = 5, verify: bool = False,
            training: bool = False, device: Device | None = None) -> ReportData:
    """Every figure the page shows; `device` adds roofline latency bounds (NoPeak when the
    device has no peak for the graph's dtype)."""

    figures = Figures(graph)
    cost, rf = figures.cost, figures.rf
    results = run_checks(graph, list(graph.spec.parsed_checks), figures)
    verified = None
    if verify:
        verified = verify_results(graph)
    return ReportData(graph, build_model(graph, depth, top, cost, rf), cost,
                      analyze_memory(graph, training=True), rf, results, verified,
                      layout_warnings(graph) + rf.warnings, training,
                      analyze_roofline(graph, device, cost=cost) if device is not None else None)


def render_html(data: ReportData) -> str:
    graph = data.graph
    parts = [f'<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
             f'<meta http-equiv="Content-Security-Policy" content="{CSP}">'
             '<meta name="viewport" content="width=device-width, initial-scale=1">'
             '<link rel="icon" href="data:,">'
             f"<title>{esc(graph.name)} · cnncalc report</title><style>{CSS}</style></head><body>",
             _header(data), "<main>",
             '<section id="graph"><h2>Graph</h2><div id="graph-wrap"><div id="graph-box">',
             render_svg(data.model, standalone=False),
             '<div id="zoom"><button id="zoom-in" title="zoom in">+</button>'
             '<button id="zoom-out" title="zoom out">−</button>'
             '<button id="zoom-fit" title="whole network">fit</button></div></div>'
             '<div id="explain"><p class="hint">Click a node (or a table row) to see how its '
             "numbers are computed. Drag to pan, wheel to zoom.</p></div></div>"
             '<p class="legend">'
             '<i style="background:#eef3fb;border-color:#5b7db1"></i>layer'
             '<i style="background:#f3ecfa;border-color:#8a5bb1;border-radius:7px"></i>merge'
             '<i style="background:#e8f4ec;border-color:#4f9a6a"></i>folded block ×N'
             '<i style="border-color:#c0392b"></i>heaviest by MACs (#rank)'
             '<i style="border-color:#e67e22;border-style:dashed"></i>⚠ misaligned receptive '
             "fields</p></section>",
             _table(data), _charts(data),
             erf_section(*data.erf) if data.erf is not None else "", _checks(data), "</main>",
             # "<" written as \u003c, so no text in the data can end the script early.
             '<script type="application/json" id="explain-data">',
             json.dumps(_explanations(data)).replace("<", "\\u003c"), "</script>",
             f"<script>{JS}</script></body></html>\n"]
    return "".join(parts)


def _header(data: ReportData) -> str:
    graph, mem, cost = data.graph, data.mem, data.cost
    last = data.rf.last_local()

    training = mem.training
    totals = [("params", text.short(graph.total_params), f"{text.count(graph.total_params)}"),
              ("MACs", text.short(cost.total_macs), f"FLOPs {text.short(cost.total_flops)}"),
              ("inference peak", text.binary_bytes(mem.inference_peak_bytes),
               f"at {mem.inference_peak_layer} ({mem.dtype}, batch 1)"),
              ("training step", text.binary_bytes(training.total_bytes) if training else "-",
               f"{training.optimizer}, peak in {training.peak_phase}" if training else ""),
              ("output RF", size_cell(last) if last else "-", f"at {last.name}" if last else "")]
    roof = data.roofline
    if roof is not None:
        totals.append(("latency bound", seconds(roof.latency_bound_s),
                       f"on {roof.device.name} ({roof.dtype}, batch {roof.batch}), layer by layer"))
    boxes = "".join(f'<div class="total"><span>{esc(k)}</span><b>{esc(v)}</b>'
                    f"<span>{esc(note)}</span></div>" for k, v, note in totals)
    shape = text.shape(graph.input_shape, graph.spec.layout)
    return (f"<header><h1>{esc(graph.name)} <small>input {esc(shape)} · "
            f"{len(graph.layers)} layers · {esc(graph.spec.file)}</small></h1>"
            f'<div class="totals">{boxes}</div></header>')


def _table(data: ReportData) -> str:
    graph, layout = data.graph, data.graph.spec.layout
    heads = [("layer", "l"), ("op", "l"), ("output shape", "l"), ("params", "n"), ("MACs", "n"),
             ("activation", "n"), ("RF", "n")]
    bounds = {b.name: b.bound_s for b in data.roofline.layers} if data.roofline else None
    if bounds is not None:
        heads.append(("time >=", "n"))
    out = ['<section id="layers"><h2>Layers</h2><div id="table-box"><table class="sortable"><thead><tr>']
    out += [f'<th class="{cls}">{esc(name)}</th>' for name, cls in heads]
    out.append("</tr></thead><tbody>")
    by_id = {node.id: node for node in data.model.layer_nodes}
    for node in by_id.values():
        lastl = graph.layer(node.layers[-1])
        rf = data.rf[lastl.name]
        activation = data.mem.layers[lastl.index].activation_bytes
        rf_value = max(rf.size) if rf.size else 10.0 ** 12
        cells = [(node.label, node.name, "l"), (node.kind, node.kind, "l"),
                 (text.shape(lastl.out_shape, layout), lastl.out_size, "l"),
                 (text.count(node.params), node.params, ""), (text.count(node.macs), node.macs, ""),
                 (text.binary_bytes(activation), activation, ""),
                 (size_cell(rf), float(rf_value), "")]
        if bounds is not None:
            bound = sum(bounds.get(name, 0.0) for name in node.layers)
            cells.append((seconds(bound), bound, ""))
        out.append(f'<tr data-node="{node.id}">' + "".join(
            f'<td class="{cls}" data-v="{esc(str(v))}">{esc(shown)}</td>' for shown, v, cls in cells)
            + "</tr>")
    out.append("</tbody></table></div></section>")
    return "".join(out)


def _charts(data: ReportData) -> str:
    graph, mem = data.graph, data.mem
    names = [layer.name for layer in graph.layers]
    params = Series("params", "params", names, [float(layer.params) for layer in graph.layers])
    macs = Series("macs", "MACs", names, [float(c.macs) for c in data.cost.layers], COLORS[1])
    sizes, strides = [], []
    for layer in graph.layers:
        rf = data.rf[layer.name]
        sizes.append(float(max(rf.size)) if rf.size else None)
        strides.append(float(max(rf.stride)) if rf.stride else None)
    spatial = graph.input_shape[1:]
    line = (float(max(spatial)), f"input size {max(spatial)}") if spatial else None
    live = [float(m.live_bytes) for m in mem.layers]
    peak = max(range(len(live)), key=live.__getitem__) if live else None
    parts = ['<section id="charts"><h2>Charts</h2>',
             bar_chart("params", "Parameters per layer", params, text.short),
             bar_chart("macs", "MACs per layer", macs, text.short),
             log_points_chart("rf", "Receptive field size and effective stride against depth "
                              "(input pixels, log scale; hollow: global)",
                              [Series("rf-size", "RF size", names, sizes, COLORS[0]),
                               Series("rf-stride", "effective stride", names, strides, COLORS[2])],
                              line),
             bar_chart("memory", f"Inference memory over execution order (live activation bytes, "
                       f"{mem.dtype}, batch 1)",
                       Series("memory", "live bytes", names, live, COLORS[3]),
                       lambda v: text.binary_bytes(int(v)), "step", peak, _byte_unit(live))]
    if data.training and mem.training is not None:
        steps = mem.training.timeline
        values = [float(b) for _, _, b in steps]
        tpeak = max(range(len(values)), key=values.__getitem__) if values else None
        parts.append(bar_chart("training", f"Training step memory: forward then backward "
                               f"(live activation bytes, {mem.training.optimizer})",
                               Series("training", "live bytes", [f"{p} {n}" for p, n, _ in steps],
                                      values, COLORS[3]),
                               lambda v: text.binary_bytes(int(v)), "step", tpeak,
                               _byte_unit(values), (len(graph.layers), "forward", "backward")))
    parts.append("</section>")
    return "".join(parts)


def _byte_unit(values: list[float]) -> tuple[float, str]:
    """The binary unit the largest value reads best in, for a chart's axis."""
    top = max(values, default=0.0)
    return next(((2.0 ** e, name) for e, name in ((30, "GiB"), (20, "MiB"), (10, "KiB"))
                 if top >= 2 ** e), (1.0, "B"))


def _checks(data: ReportData) -> str:
    out = ['<section id="checks"><h2>Checks</h2>']
    out.append(_results(data.checks, "The spec has no <code>checks:</code>."))
    if data.verify is not None:
        out.append('<h2 id="verify">Verify (NumPy forward pass)</h2>')
        out.append(_results(data.verify, "Nothing to verify."))
    if data.warnings:
        out.append('<h2>Warnings</h2><ul class="warnings">')
        out += [f"<li>{esc(p.loc.file)}:{p.loc.line}:{p.loc.col}: {esc(p.message)} "
                f'<span class="muted">[{esc(p.code)}]</span></li>' for p in data.warnings]
        out.append("</ul>")
    out.append("</section>")
    return "".join(out)


def _results(results: list[Result], empty: str) -> str:
    if not results:
        return f'<p class="muted">{empty}</p>'
    rows = "".join(f'<tr><td class="l {"pass" if r.passed else "fail"}">'
                   f'{"pass" if r.passed else "FAIL"}</td><td class="l">{esc(r.check.id)}</td>'
                   f'<td class="l">{esc(r.message)}</td><td class="l muted">line {r.loc.line}</td></tr>'
                   for r in results)
    return f'<table class="results"><tbody>{rows}</tbody></table>'


def _explanations(data: ReportData) -> dict[str, str]:
    graph, mem = data.graph, data.mem
    out = {"input": f"input: {text.shape(graph.input_shape, graph.spec.layout)}"}
    for node in data.model.layer_nodes:
        texts = ["\n".join(explanation(graph, name, data.cost, mem, data.rf))
                 for name in node.layers]
        if node.folded:
            head = (f"{node.label}: {node.kind}, {len(node.layers)} layers\n"
                    f"  params {text.count(node.params)}, MACs {text.count(node.macs)}\n")
            texts.insert(0, head)
        out[node.id] = "\n\n".join(texts)
    return out
