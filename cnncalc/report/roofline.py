"""Rendering latency bounds: JSON keys, a per-layer table and the totals line."""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

from cnncalc.report import text
from cnncalc.report.table import Cell, Table, count_cell

if TYPE_CHECKING:
    from cnncalc.analysis.roofline import Roofline
    from cnncalc.report.output import Output


def device_json(roof: Roofline) -> dict[str, Any]:
    d = roof.device
    return {"name": d.name, "dtype": roof.dtype, "peak_flops": roof.peak,
            "bandwidth": d.bandwidth, "ridge_flops_per_byte": roof.ridge, "source": d.source}


def add_roofline(document: dict[str, Any], roof: Roofline) -> None:
    """Each layer's bound next to its other figures (layers in graph order), and the totals."""
    for entry, layer in zip(document["layers"], roof.layers):
        entry["bytes_moved"] = layer.bytes_moved
        entry["arithmetic_intensity"] = layer.intensity
        entry["bound"] = layer.limit
        entry["latency_bound_s"] = layer.bound_s
    document["device"] = device_json(roof)
    document["latency_bound_s"] = roof.latency_bound_s
    document["compulsory_bound_s"] = roof.compulsory_bound_s


def seconds(value: float) -> str:
    for unit, scale in (("s", 1.0), ("ms", 1e-3), ("us", 1e-6)):
        if value >= scale:
            return f"{value / scale:.3g} {unit}"
    return f"{value / 1e-9:.3g} ns"


def totals_line(roof: Roofline) -> str:
    memory = sum(1 for layer in roof.layers if layer.limit == "memory" and layer.bound_s)
    return (f"latency bound on {roof.device.name} ({roof.dtype}, batch {roof.batch}): "
            f"{seconds(roof.latency_bound_s)} layer by layer ({memory} of "
            f"{len(roof.layers)} layers memory-bound; ridge {roof.ridge:.1f} FLOPs/byte), "
            f"{seconds(roof.compulsory_bound_s)} with perfect fusion")


def roofline_table(out: Output, roof: Roofline, top: int = 0) -> None:
    table = Table([("layer", "left"), ("op", "left"), ("FLOPs", "right"), ("bytes", "right"),
                   ("FLOPs/byte", "right"), ("bound by", "left"), ("time >=", "right"),
                   ("share", "right")])
    total = roof.latency_bound_s
    layers = roof.layers
    if top:
        keep = {id(x) for x in sorted(layers, key=lambda x: -x.bound_s)[:top]}
        layers = [x for x in layers if id(x) in keep]
    for layer in layers:
        table.add([layer.name, layer.op_name, count_cell(layer.flops, "-"),
                   text.short_bytes(layer.bytes_moved), f"{layer.intensity:.2f}", layer.limit,
                   Cell(seconds(layer.bound_s), layer.bound_s),
                   Cell(f"{100 * layer.bound_s / total:.1f}%" if total else "-",
                        layer.bound_s / total if total else 0.0)])
    out.table(table)
    out.line(totals_line(roof))
