"""Plan the receptive-field measurements (rf_probe.py) that are compared with analysis/rf.py.

For each probed layer and each spatial axis a handful of units is measured: both ends of the
axis and a full period of units at the centre (the units differ by phase after upsampling or
a transposed conv). A unit's analytic region can be checked exactly where it lies inside the
input; an end in the padding only bounds what is measured (rfcompare.py).

A region larger than the input is clipped for every unit, which would leave r unchecked. The
probe then runs on a larger input of the same geometry (each axis grown by a multiple of the
effective strides, so TF 'same' paddings stay the same), provided the analysis gives the same
r, S and P there, and compares whole regions of the centre units.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from fractions import Fraction
from math import ceil, gcd
from typing import TYPE_CHECKING

from cnncalc.analysis.rf import analyze_rf
from cnncalc.backend.results import CheckResult
from cnncalc.backend.rf_probe import Interval, Query, ancestors, measure, probe_bytes
from cnncalc.backend.rfcompare import compare, period_of, predicted
from cnncalc.graph import build_graph
from cnncalc.problems import SpecError

if TYPE_CHECKING:
    from cnncalc.analysis.rf import LayerRF, RFResult
    from cnncalc.graph import Graph

MAX_PERIOD = 8  # centre units probed per axis at most (a full period when it is shorter)
MAX_GROWTH = 16  # an enlarged probe input has at most this many times the input's positions
# (or 256x256's)


@dataclass
class Plan:
    """How one layer's receptive field is measured."""

    layer: str
    graph: Graph  # the graph probed (the spec's, or one with a larger input)
    rf: LayerRF  # the analysis on that graph
    original: LayerRF  # the analysis at the spec's input
    units: list[list[tuple[int, ...]]] = field(default_factory=list)  # per input axis
    note: str = ""
    slack: int = 1  # the largest effective stride on the way (see _mismatch)

    @property
    def queries(self) -> list[Query]:
        return [Query(self.layer, unit, axis) for axis, units in enumerate(self.units) for unit in units]


def targets(graph: Graph, analysis: RFResult, requested: list[str]) -> list[tuple[str, bool]]:
    """(layer, chosen automatically): the outputs, for a global output the last local layer
    before it, and the `requested` layers."""
    found: dict[str, bool] = {}
    for name in graph.outputs:
        found.setdefault(name, True)
        if analysis[name].is_global:
            local = _last_local(graph, analysis, name)
            if local:
                found.setdefault(local, True)
    for name in requested:
        found[graph.layer(name).name] = False
    return list(found.items())


def _last_local(graph: Graph, analysis: RFResult, name: str) -> str | None:
    local = [n for n in ancestors(graph, {name}) if not analysis[n].is_global and analysis[n].local]
    return local[-1] if local else None


def plan(graph: Graph, analysis: RFResult, names: list[tuple[str, bool]], budget: int) -> list[Plan]:
    """How to probe each layer. An automatically chosen layer whose region only fits a larger
    input of another geometry (adaptive pooling sized by the input) is probed as it is, and
    the nearest layer before it that can be enlarged is probed in full as well."""
    plans = []
    for name, auto in names:
        rf = analysis[name]
        if rf.not_computed:  # nothing to compare with (the report says why)
            continue
        here = Plan(name, graph, rf, rf, slack=_slack(graph, analysis, name))
        here.units = _units(graph, rf)
        plans.append(here)
        if rf.is_global or not rf.local or _fits(graph, rf):
            continue
        bigger = _enlarged(graph, analysis, rf, budget)
        if bigger is not None:
            plans[-1] = bigger
            continue
        here.note = ("too few units see regions inside the input to measure r, S and P, and a "
                     "larger input changes this layer's geometry: what lies inside was compared")
        source = graph.by_name[name].inputs[0] if auto else None
        for _ in range(8):  # walk back a few layers at most
            if source is None or source not in graph.by_name or analysis[source].local is None:
                break
            earlier = _enlarged(graph, analysis, analysis[source], budget)
            if earlier is not None:
                earlier.note += f" (the nearest layer before {name} whose geometry allows it)"
                plans.append(earlier)
                break
            source = graph.by_name[source].inputs[0]
    return plans


def _slack(graph: Graph, analysis: RFResult, name: str) -> int:
    strides = [ceil(a.stride) for n in ancestors(graph, {name}) if (local := analysis[n].local)
               for a in local]
    return max([1, *strides])  # at least 1: a stride-0 map (softmax along an axis) reaches every unit


def _centre_run(rf: LayerRF, axis: int) -> range:
    """A full period of units (at least two) from the centre, starting at phase 0 (where P is
    defined): enough to measure r, S and P."""
    n = rf.shape[1 + axis]
    period = min(period_of(rf, axis), MAX_PERIOD)
    start = n // 2 - (n // 2) % period
    return range(start, min(start + max(period, 2), n))


def _units(graph: Graph, rf: LayerRF) -> list[list[tuple[int, ...]]]:
    out = rf.shape[1:]
    if not out:  # a flat layer: its one "unit" along every input axis
        return [[()] for _ in graph.input_shape[1:]]
    centre = [n // 2 for n in out]
    units = []
    for axis, n in enumerate(out):
        along = {0, n - 1, *_centre_run(rf, axis)}
        units.append([tuple(j if a == axis else centre[a] for a in range(len(out)))
                      for j in sorted(along)])
    return units


def _fits(graph: Graph, rf: LayerRF) -> bool:
    """Whether the centre run of units sees regions inside the input along every axis, so
    that r, S and P can all be measured (a unit that reads nothing fits anywhere)."""
    spatial = graph.input_shape[1:]
    centre = [n // 2 for n in rf.shape[1:]]
    for axis in range(len(spatial)):
        for j in _centre_run(rf, axis):
            region = rf.region(tuple(j if a == axis else c for a, c in enumerate(centre)))
            seen = None if region is None else region[axis]
            if seen is not None and (seen[0] < 0 or seen[1] > spatial[axis] - 1):
                return False
    return True


def _enlarged(graph: Graph, analysis: RFResult, rf: LayerRF, budget: int) -> Plan | None:
    """A plan on a larger input where the centre units' regions fit, or None."""
    spatial = graph.input_shape[1:]
    step = []
    for axis in range(len(spatial)):  # every stride on the way must divide the growth
        lcm = 1
        for name in ancestors(graph, {rf.name}):
            local = analysis[name].local
            if local is not None:
                s = Fraction(local[axis].stride).numerator
                if s:  # a stride-0 map (broadcast, align_corners to one unit) sets no step
                    lcm = lcm * s // gcd(lcm, s)
        step.append(lcm)
    assert rf.local is not None
    # Room for the region plus a period of neighbouring units (and one unit either side).
    grow = [max(1, ceil((ceil(a.size) + (min(period_of(rf, axis), MAX_PERIOD) + 3) * ceil(a.stride)
                         - n) / s))
            for axis, (a, n, s) in enumerate(zip(rf.local, spatial, step))]
    for extra in range(3):
        shape = (graph.input_shape[0], *(n + (k + extra) * s for n, k, s in zip(spatial, grow, step)))
        if _volume(shape) > MAX_GROWTH * max(_volume(graph.input_shape), 256**2):
            return None
        try:
            big = build_graph(graph.spec, shape)
        except SpecError:
            return None
        if rf.name not in big.by_name:
            return None
        there = analyze_rf(big)[rf.name]
        same = (there.is_global == rf.is_global and there.size == rf.size
                and there.stride == rf.stride and there.padding == rf.padding)
        if not same:
            return None
        if _fits(big, there):
            found = Plan(rf.name, big, there, rf, note="probed at input " + "x".join(map(str, shape[1:])),
                         slack=_slack(graph, analysis, rf.name))
            found.units = _units(big, there)
            if probe_bytes(big, {rf.name}, 2 * len(found.queries)) > budget:
                return None
            return found
    return None


def _volume(shape: tuple[int, ...]) -> int:
    out = 1
    for n in shape[1:]:
        out *= n
    return out


def run(plans: list[Plan]) -> list[CheckResult]:
    """Measure every plan (one probe per probed graph) and compare."""
    measured: dict[tuple[int, Query], Interval] = {}
    by_graph: dict[int, list[Plan]] = {}
    for p in plans:
        by_graph.setdefault(id(p.graph), []).append(p)
    for key, group in by_graph.items():
        # The analysis' intervals only say where the probe looks first (see measure).
        found = measure(group[0].graph, [q for p in group for q in p.queries],
                        {q: predicted(p, q.unit, q.axis) for p in group for q in p.queries})
        measured.update({(key, q): interval for q, interval in found.items()})
    results = []
    for p in plans:
        for axis, units in enumerate(p.units):
            seen = {unit: measured[(id(p.graph), Query(p.layer, unit, axis))] for unit in units}
            results.append(compare(p, axis, seen))
    return results
