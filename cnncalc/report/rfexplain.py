"""The receptive-field recurrence of one layer with its numbers plugged in (`cnncalc explain`).

For a window (conv, pooling, pad, crop): r = r_in + (k_eff - 1) * S_in, S = S_in * stride,
P = P_in + pad * S_in, where k_eff = dilation*(kernel-1)+1 is the span of the taps and pad
the taps before the unit's own position. Upsampling and transposed convs divide the stride;
merges take the union of their inputs; a global read makes the layer global.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

from cnncalc.ops.rfmap import IDENTITY, AxisMap
from cnncalc.text import number

if TYPE_CHECKING:
    from cnncalc.analysis.rf import AxisRF, RFResult
    from cnncalc.graph import Graph, Layer


def rf_lines(graph: Graph, result: RFResult, layer: Layer) -> list[str]:
    rf = result[layer.name]
    lines = ["  receptive field (r size, S stride, P padding: unit i sees [-P + i*S, -P + i*S + r - 1]):"]
    if rf.not_computed:
        return lines + [f"    not computed: {rf.not_computed}"]
    reads = layer.op.rf(layer)
    local: list[tuple[int, tuple[AxisMap, ...]]] = []
    for i, maps in reads:
        if not isinstance(maps, str):
            local.append((i, maps))
    for i, maps in reads:
        source = layer.inputs[i]
        if isinstance(maps, str):
            lines.append(f"    global: every unit reads every position of '{source}'"
                         + (" (statistics)" if len(reads) > len(local) and local else ""))
        elif result.layers.get(source) is not None and result[source].is_global:
            lines.append(f"    global: input '{source}' already depends on the whole input")
    if rf.is_global and rf.local:
        lines.append("    with global inputs taken as constants (gates):")
    if rf.state.axes is None:
        return lines if rf.is_global else lines + ["    no input position reaches this layer"]
    if not rf.state.axes:
        return lines + ["    no spatial axes"]

    per_axis: list[list[str]] = []
    for a in range(1, len(layer.out_shape)):
        out = rf.local[a - 1] if rf.local else None
        if out is None:
            continue
        body: list[str] = []
        contributions = [(layer.inputs[i], maps[a - 1]) for i, maps in local]
        contributions = [(src, m) for src, m in contributions
                         if src == "input" or result[src].state.axes is not None]
        for source, amap in contributions:
            before = result.axis(source, a)
            if before is not None:
                body += _one_read(source, amap, before, len(contributions) > 1)
        if len(contributions) > 1:
            body.append(f"union of the {len(contributions)} inputs: r = {number(out.size)}, "
                        f"S = {number(out.stride)}, P = {number(out.padding)}"
                        + ("" if out.aligned else " (misaligned: r is the extent of the union)"))
        if not out.uniform:
            body.append(f"units differ by phase: r = {number(out.size)} is the largest")
        per_axis.append(body)
    if per_axis and all(body == per_axis[0] for body in per_axis):
        lines.append("    every spatial axis:" if len(per_axis) > 1 else "    spatial axis 1:")
        lines += [f"      {line}" for line in per_axis[0]]
    else:
        for a, body in enumerate(per_axis, start=1):
            lines.append(f"    spatial axis {a}:")
            lines += [f"      {line}" for line in body]
    return lines


def _one_read(source: str, amap: AxisMap, before: AxisRF, several: bool) -> list[str]:
    r, s, p = before.size, before.stride, before.padding
    prefix = f"from '{source}': " if several else ""
    if amap is IDENTITY:
        return [f"{prefix}element-wise: r = {number(r)}, S = {number(s)}, P = {number(p)}"
                + ("" if several else f" (as '{source}')")]
    if amap.period_in == 0:
        return [f"{prefix}every unit reads the same positions of '{source}' (broadcast or whole "
                "axis): S = 0"]
    if amap.period_out == 1 and before.uniform and amap.phases[0]:
        taps = amap.phases[0]
        k_eff, pad, stride = taps[-1] - taps[0] + 1, -taps[0], amap.period_in
        return [f"{prefix}r = r_in + (k_eff - 1) * S_in = {number(r)} + ({k_eff} - 1) * {number(s)}"
                f" = {number(r + (k_eff - 1) * s)}",
                f"{' ' * len(prefix)}S = S_in * stride = {number(s)} * {stride} = {number(s * stride)}",
                f"{' ' * len(prefix)}P = P_in + pad * S_in = {number(p)} + {pad} * {number(s)} = "
                f"{number(p + pad * s)}"]
    phases = ", ".join("(" + ", ".join(map(str, t)) + ")" for t in amap.phases)
    return [f"{prefix}output units in a period of {amap.period_out} read input units {phases} "
            f"(shifted by {amap.period_in} per period)",
            f"{' ' * len(prefix)}S = S_in * {amap.period_in}/{amap.period_out} = {number(s)} * "
            f"{amap.period_in}/{amap.period_out} = {number(s * amap.stride)}"]
