"""The receptive-field warnings a designer needs, each at the layer that causes it.

- `rf-misaligned`: a merge whose inputs see regions centred differently (or stepping with
  different strides): its units mix features of different places.
- `rf-unproductive`: the first layer whose narrowest path already sees more than the whole
  input along every axis; the layers after it add depth but no spatial context. Reported once
  (with the number of such layers): a residual shortcut can bring the narrowest path back
  under the input size for a while, which would otherwise repeat it in every block.
- `rf-padding`: the first layer where some units see mostly padding (more than half of
  their region along an axis lies outside the input although the region would fit).
- `rf-gaps`: the last feature map still ignores positions inside its receptive field
  (dilated convolutions whose gaps no earlier layer fills: the "gridding" artefact).
- `rf-unread`: input positions that no unit of the last feature map depends on (strided
  layers silently drop a tail shorter than their stride), found with the exact dependency
  walk of all its units.
Warnings are reported where the cause is, not again at every later layer that inherits it.
"""
from __future__ import annotations

from collections.abc import Sequence
from fractions import Fraction
from math import floor
from typing import TYPE_CHECKING

from cnncalc.analysis.rfgeom import unit_region
from cnncalc.analysis.rfunit import TooManyGaps, count, support
from cnncalc.gcpause import gc_paused
from cnncalc.problems import Problem
from cnncalc.text import number

if TYPE_CHECKING:
    from cnncalc.analysis.rf import LayerRF, Misalignment, RFResult
    from cnncalc.analysis.rfgeom import Num, Region, Term
    from cnncalc.graph import Graph, Layer


@gc_paused()
def find_warnings(graph: Graph, result: RFResult) -> list[Problem]:
    spatial = graph.input_shape[1:]
    unproductive: list[Layer] = []
    padded: set[str] = set()
    found: list[tuple[int, Problem]] = []
    for layer in graph.layers:
        rf = result[layer.name]
        if rf.misaligned:
            found.append((layer.index, Problem(layer.loc, "warning", "rf-misaligned",
                                               _misaligned(layer, rf.misaligned))))
        if rf.local is None or not spatial:
            continue
        if all(axis.size_min > n for axis, n in zip(rf.local, spatial)):
            unproductive.append(layer)
        bad = _padding_units(rf, spatial)
        if bad:
            padded.add(layer.name)
            if not any(src in padded for src in layer.inputs):
                found.append((layer.index, Problem(layer.loc, "warning", "rf-padding",
                                                   _padding(layer, bad))))
    last = result.last_local()
    if last is not None and last.local and any(axis.gaps for axis in last.local):
        layer = graph.layer(last.name)
        found.append((layer.index, Problem(layer.loc, "warning", "rf-gaps", _gaps(layer, last))))
    if last is not None and last.local:
        layer = graph.layer(last.name)
        unread = _unread(graph, layer, spatial)
        if unread:
            found.append((layer.index, Problem(layer.loc, "warning", "rf-unread", unread)))
    if unproductive:
        first = unproductive[0]
        found.append((first.index, Problem(first.loc, "warning", "rf-unproductive",
                                           _unproductive(graph, first, result[first.name],
                                                         len(unproductive)))))
    return [problem for _, problem in sorted(found, key=lambda item: item[0])]


def _unread(graph: Graph, layer: Layer, spatial: tuple[int, ...]) -> str:
    """Which input positions no unit of `layer` reads, per axis ('' if none)."""
    units = layer.out_shape[1:]
    if len(units) != len(spatial):
        return ""
    try:
        read = support(graph, layer.name, [[(0, n - 1)] for n in units])
    except TooManyGaps as exc:
        return (f"{_what(layer)}: not checked for unread input positions: a strided layer whose "
                f"window is smaller than its stride reads a pattern with {exc} along an axis")
    if read is None:
        return ""
    parts = []
    for axis, (spans, n) in enumerate(zip(read, spatial), start=1):
        missing = _complement(spans, n)
        if missing:
            shown = [f"[{lo}, {hi}]" for lo, hi in missing[:4]] + (["..."] if len(missing) > 4 else [])
            parts.append(f"{', '.join(shown)} along spatial axis {axis} ({count(missing)} of {n})")
    if not parts:
        return ""
    return (f"{_what(layer)}: no unit reads input positions {'; '.join(parts)}: strided layers "
            "skip them (a tail shorter than the stride, or a stride larger than the window); "
            "resize or pad the input, or widen the window, to use them")


def _complement(spans: list[tuple[int, int]], n: int) -> list[tuple[int, int]]:
    """The spans of [0, n) outside `spans` (sorted and disjoint)."""
    out, start = [], 0
    for lo, hi in spans:
        if lo > start:
            out.append((start, lo - 1))
        start = max(start, hi + 1)
    if start < n:
        out.append((start, n - 1))
    return out


def _what(layer: Layer) -> str:
    return f"{layer.op_name} '{layer.name}'"


def _misaligned(layer: Layer, found: Sequence[Misalignment]) -> str:
    groups: dict[str, list[int]] = {}
    for m in found:
        parts = ", ".join(f"'{name}' stride {number(stride)}, unit 0 centred at {number(centre)}"
                          for name, stride, centre in m.inputs)
        why = "different strides" if len({s for _, s, _ in m.inputs}) > 1 else "different centres"
        key = f"{why}: {parts}); their centres differ by up to {number(m.offset)} input positions"
        groups.setdefault(key, []).append(m.axis)
    text = "; ".join(f"along spatial axis {' and '.join(map(str, axes))} ({key}"
                     for key, axes in groups.items())
    return (f"{_what(layer)} merges inputs whose receptive fields are misaligned {text}, so one "
            "unit combines features of different places")


def _gaps(layer: Layer, rf: LayerRF) -> str:
    assert rf.local is not None
    axes = " and ".join(f"{number(a.size - a.gaps)} of the {number(a.size)} positions along "
                        f"spatial axis {i}" for i, a in enumerate(rf.local, start=1) if a.gaps)
    return (f"{_what(layer)}, the last feature map, depends on only {axes} of its receptive "
            "field: dilation leaves gaps that no earlier layer fills (gridding)")


def _unproductive(graph: Graph, layer: Layer, rf: LayerRF, count: int) -> str:
    assert rf.local is not None
    sizes = "x".join(number(a.size_min) for a in rf.local)
    inputs = "x".join(str(n) for n in graph.input_shape[1:])
    others = f"; {count - 1} later layer{'s are' if count != 2 else ' is'} the same" if count > 1 else ""
    return (f"{_what(layer)}: even its narrowest path sees {sizes} input positions, more than the "
            f"whole {inputs} input: deeper layers add depth but no spatial context{others}")


def _padding_units(rf: LayerRF, spatial: tuple[int, ...]) -> list[tuple[int, int, int]]:
    """(axis, bad units, units) for each axis where some unit sees more than half padding and
    the layer's region would fit inside the input (else no placement avoids padding)."""
    assert rf.local is not None and rf.state.axes is not None
    out = []
    for a, (state, axis, big, n) in enumerate(zip(rf.state.axes, rf.local, spatial,
                                                  rf.shape[1:]), start=1):
        if axis.size > big:
            continue
        if len(state) == 1:
            bad_units = _bad_units(state[0], n, big)
            if bad_units:
                out.append((a, bad_units, n))
            continue
        period = max(term.period for term in state)
        bad: set[int] = set()
        for order in (range(n), range(n - 1, -1, -1)):
            good_run = 0
            for j in order:  # bad units sit at the ends: scan inwards until a period is clean
                region = unit_region(state, j)
                if region is not None and _mostly_outside(region, big):
                    bad.add(j)
                    good_run = 0
                else:
                    good_run += 1
                    if good_run >= period:
                        break
        if bad:
            out.append((a, len(bad), n))
    return out


def _bad_units(term: Term, n: int, big: int) -> int:
    """How many of n units see more than half padding, counted per phase r in closed form:
    unit j = r + k*m sees [lo + j*S, hi + j*S] of an input of `big` positions; a region no
    larger than the input overhangs one side only, the left while lo + j*S < -size/2, the
    right once hi + j*S > big - 1 + size/2."""
    m, stride = term.period, term.stride
    bad = 0
    for r, iv in enumerate(term.hull):
        if iv is None or r >= n:
            continue
        lo, hi = iv[0] + r * stride, iv[1] + r * stride  # unit r; each k adds m*S
        step = m * stride
        size = iv[1] - iv[0] + 1
        last = (n - 1 - r) // m  # k in [0, last]
        if step == 0:  # every unit reads the same region (softmax over the axis)
            bad += last + 1 if 2 * lo < -size or 2 * hi > 2 * (big - 1) + size else 0
            continue
        left = _ceil(-size - 2 * lo, 2 * step) - 1  # k with lo + k*step < -size/2
        right = _floor(2 * (big - 1) + size - 2 * hi, 2 * step) + 1  # k beyond this are bad
        bad += max(0, min(left, last) + 1) + max(0, last - max(right, 0) + 1)
    return bad


def _floor(x: Num, step: Num) -> int:
    if isinstance(x, int) and isinstance(step, int):
        return x // step
    return floor(Fraction(x) / Fraction(step))


def _ceil(x: Num, step: Num) -> int:
    return -_floor(-x, step)


def _mostly_outside(region: Region, size: int) -> bool:
    assert region is not None
    lo, hi = region
    outside = max(0, -lo) + max(0, hi - (size - 1))
    return 2 * outside > hi - lo + 1


def _padding(layer: Layer, bad: list[tuple[int, int, int]]) -> str:
    axes = ", ".join(f"{count} of {n} units along spatial axis {a}" for a, count, n in bad)
    return (f"{_what(layer)}: {axes} see mostly padding (more than half of their receptive field "
            "lies outside the input); later layers inherit these units")
