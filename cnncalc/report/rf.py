"""Receptive fields rendered: the JSON keys, the table rows, one layer's details, one unit's region.

JSON (added to each layer of `graph_json`, never renamed): "rf": {"size", "stride",
"padding", "start", "size_min", "gaps" (one value per spatial axis, or null when the layer
is global; a gap count is null where unknown), "aligned", "global", "uniform"}; a global
layer with a local part adds the same keys with "_local" ("size_local"...: the gates taken
as constants); a misaligned merge adds "misaligned". Numbers are exact: an int, a
float when that is exact (15.5), else a string "p/q".
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

from cnncalc.analysis.rfunit import unit_spans, unit_support
from cnncalc.problems import problem_json
from cnncalc.text import fmt_shape, json_number, number, per_axis

if TYPE_CHECKING:
    from cnncalc.analysis.rf import AxisRF, LayerRF, RFResult
    from cnncalc.graph import Graph

KEYS = ("size", "stride", "padding", "start", "size_min", "gaps")


def _values(axes: tuple[AxisRF, ...] | None, key: str) -> list[Any] | None:
    return None if axes is None else [json_number(getattr(a, key)) for a in axes]


def layer_json(rf: LayerRF) -> dict[str, Any]:
    out: dict[str, Any] = {key: _values(None if rf.is_global else rf.local, key) for key in KEYS}
    out.update({"aligned": rf.aligned, "global": rf.is_global, "uniform": rf.uniform})
    if rf.is_global and rf.local is not None:
        out.update({f"{key}_local": _values(rf.local, key) for key in KEYS})
    if rf.not_computed:
        out["not_computed"] = rf.not_computed
    if rf.misaligned:
        out["misaligned"] = [{"axis": m.axis, "offset": json_number(m.offset),
                              "inputs": [{"name": name, "stride": json_number(stride),
                                          "centre": json_number(centre)}
                                         for name, stride, centre in m.inputs]}
                             for m in rf.misaligned]
    return out


def add_rf(document: dict[str, Any], result: RFResult) -> None:
    """Add "rf" to every layer of a `graph_json` document and the top-level "rf_warnings"."""
    for entry in document["layers"]:
        entry["rf"] = layer_json(result[entry["name"]])
    document["rf_warnings"] = [problem_json(p) for p in result.warnings]


def unit_json(graph: Graph, rf: LayerRF, unit: tuple[int, ...]) -> dict[str, Any]:
    """One unit's input region (unclipped) and the input positions it depends on."""
    region = rf.region(unit)
    support = unit_support(graph, rf.name, unit)
    return {"layer": rf.name, "unit": list(unit), "global": rf.is_global,
            "region": None if region is None else
            [None if iv is None else [json_number(iv[0]), json_number(iv[1])] for iv in region],
            "depends_on": None if support is None else
            [{"first": s[0], "last": s[-1], "positions": len(s)} for s in support]}


def size_cell(rf: LayerRF) -> str:
    """The r column: '212', '7x5', 'global', 'global (local 851)', 'not computed'."""
    if rf.not_computed:
        return "not computed"
    if not rf.is_global:
        return per_axis(rf.size)
    if rf.local is None or not rf.local:
        return "global"
    return f"global (local {per_axis(tuple(a.size for a in rf.local))})"


def notes(rf: LayerRF) -> str:
    out = []
    if rf.not_computed:
        out.append("too many phases to follow (rf --layer says why)")
    if rf.misaligned:
        out.append("misaligned merge")
    elif not rf.aligned:
        out.append("misaligned paths")
    if not rf.uniform:
        out.append("non-uniform (units differ by phase)")
    if rf.local and any(axis.gaps for axis in rf.local):
        out.append("gaps (dilation)")
    return ", ".join(out)


def table_cells(rf: LayerRF) -> list[str]:
    """r, S, P, r min (per axis when the axes differ); a global layer shows its local part."""
    axes = rf.local
    if axes is None or not axes:
        return [size_cell(rf), "-", "-", "-"]
    return [size_cell(rf)] + [per_axis(tuple(getattr(a, key) for a in axes))
                              for key in ("stride", "padding", "size_min")]


def describe(graph: Graph, rf: LayerRF) -> list[str]:
    """One layer in words: per axis r, S, P, centre, narrowest path, and what a unit sees."""
    lines = [f"{rf.name}: {rf.op_name}, output {fmt_shape(rf.shape)}"]
    if rf.not_computed:
        return lines + [f"  receptive field not computed: {rf.not_computed}"]
    if rf.is_global:
        lines.append("  global: every unit depends on the whole input (global pooling, flatten or "
                     "a gate computed from the whole input)")
        if rf.local is None or not rf.local:
            return lines
        lines.append("  with global inputs taken as constants (gates), the spatial receptive field:")
    if rf.local is None:
        return lines
    if not rf.local:
        lines.append("  no spatial axes")
        return lines
    for a, axis in enumerate(rf.local, start=1):
        gaps = f", {axis.gaps} positions inside r not read (gaps)" if axis.gaps else ""
        lines.append(f"  spatial axis {a}: r = {number(axis.size)}, S = {number(axis.stride)}, "
                     f"P = {number(axis.padding)}, unit 0 centred at {number(axis.start)}, "
                     f"narrowest path r = {number(axis.size_min)}{gaps}")
    if rf.uniform:
        lines.append("  unit i sees input [-P + i*S, -P + i*S + r - 1] along each axis")
    else:
        lines.append("  units differ by phase (upsampling / transposed conv): r is the largest; "
                     "use --unit to see one unit's region")
    if not rf.aligned:
        lines.append("  paths reach this layer with different centres or strides: r is the extent "
                     "of their union")
    for m in rf.misaligned:
        parts = ", ".join(f"{name} (stride {number(s)}, unit 0 centred at {number(c)})"
                          for name, s, c in m.inputs)
        lines.append(f"  misaligned along axis {m.axis} by up to {number(m.offset)}: {parts}")
    return lines


def unit_lines(graph: Graph, rf: LayerRF, unit: tuple[int, ...]) -> list[str]:
    """The input region one output unit sees (unclipped, on the infinite grid) and the input
    positions it really depends on (boundaries and gaps included)."""
    where = ", ".join(map(str, unit))
    lines = [f"unit ({where}) of {rf.name} {fmt_shape(rf.shape)}:"]
    if rf.is_global:
        lines.append("  depends on the whole input (global); with global inputs as constants:")
    region = rf.region(unit)
    if region is None:
        return lines
    support = unit_spans(graph, rf.name, unit)
    for a, (iv, n) in enumerate(zip(region, graph.input_shape[1:]), start=1):
        if iv is None:
            lines.append(f"  spatial axis {a}: reads no input position")
            continue
        lo, hi = iv
        pad = max(0, -lo) + max(0, hi - (n - 1))
        text = (f"  spatial axis {a}: receptive field [{number(lo)}, {number(hi)}] "
                f"({number(hi - lo + 1)} positions, {number(pad)} in the padding)")
        lines.append(text + "; " + support_text(None if support is None else support[a - 1]))
    return lines


def support_text(spans: list[tuple[int, int]] | None) -> str:
    """'depends on input [0, 217] (218 positions)', noting gaps (dilation) and crops."""
    if not spans:
        return "depends on no input position (it reads only padding)"
    first, last = spans[0][0], spans[-1][1]
    span = last - first + 1
    count = sum(hi - lo + 1 for lo, hi in spans)
    gaps = "" if count == span else f"; {span - count} skipped in between"
    return f"depends on input [{first}, {last}] ({count} positions{gaps})"
