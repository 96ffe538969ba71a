"""Receptive fields of every layer, exact for any layer graph: `analyze_rf(graph) -> RFResult`.

Per layer and per spatial axis (independently, so non-square kernels, strides and paddings
are exact) `AxisRF` gives:
- `size` r: how many input positions one output unit depends on (the extent of the union of
  all paths' regions; equal to the largest path's r when the paths are aligned);
- `stride` S: input positions between neighbouring units (a Fraction after upsampling);
- `padding` P: unit i sees input `[-P + i*S, -P + i*S + r - 1]` (negative positions and
  positions >= the input size are padding);
- `start`: the input coordinate of the centre of unit 0 (= -P + (r-1)/2 when uniform);
- `size_min`: the smallest r over the paths from the input (the identity shortcuts of a
  ResNet give small ones);
- `uniform`: False when units differ by phase (after upsampling or a transposed conv):
  r is then the largest over the phases and P, start are those of unit 0;
- `aligned`: False when paths reach the layer with different strides or centres;
- `gaps`: positions inside r that a unit does not depend on (dilation larger than what the
  earlier layers cover: "gridding"); None where units differ by phase or paths by stride.
Numbers are ints, or Fractions where a stride is fractional.

`LayerRF.is_global` is True when a unit depends on every input position: global pooling,
flatten, statistics over the whole tensor, or any layer after one of those, including a layer
gated by a global branch (squeeze-excite). Its `size`, `stride`... are then None, and
`local` still holds the per-axis numbers with the global inputs taken as constants (None
when nothing local is left, as after gap -> dense). `LayerRF.region(unit)` is the input
interval per axis seen by one unit. `RFResult.warnings` are Problems (level "warning") at the
layer's location: misaligned merges (`rf-misaligned`, details in `LayerRF.misaligned`),
layers whose narrowest path already exceeds the input (`rf-unproductive`), layers whose
units see mostly padding (`rf-padding`) and a last feature map whose receptive field still has
gaps (`rf-gaps`).

The work does not grow with the numbers in the spec except through the period with which
units repeat along an axis (upsampling by p/q, a transposed conv's stride, adaptive bins, a
concat along a spatial axis): past `rfgeom.MAX_PHASES` a layer, and every layer reading it
locally, gets no numbers and `LayerRF.not_computed` says why (never an approximation).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from itertools import combinations
from math import lcm
from typing import TYPE_CHECKING

from cnncalc.analysis.rfgeom import (
    AxisState,
    Num,
    Region,
    TooManyPhases,
    apply_state,
    bounded,
    conflict,
    exact,
    extent,
    half,
    merge,
    start_state,
    unit_region,
)
from cnncalc.analysis.rfwarn import find_warnings
from cnncalc.gcpause import gc_paused
from cnncalc.ops.rfmap import IDENTITY
from cnncalc.problems import Problem

if TYPE_CHECKING:
    from cnncalc.graph import Graph, Layer
    from cnncalc.ops.base import Shape

@dataclass(frozen=True)
class AxisRF:
    size: Num
    stride: Num
    padding: Num
    start: Num
    size_min: Num
    uniform: bool = True
    aligned: bool = True
    gaps: int | None = 0  # positions inside r a unit does not depend on (dilation); None: unknown


@dataclass(frozen=True)
class Misalignment:
    """Inputs of a merge whose units are not centred alike along one axis."""

    axis: int  # spatial axis, from 1
    inputs: tuple[tuple[str, Num, Num | None], ...]  # (input, stride, centre of unit 0)
    offset: Num  # the largest distance between the inputs' centres over the layer's units


@dataclass(frozen=True)
class TensorRF:
    axes: tuple[AxisState, ...] | None  # the local part; None when every path is global
    is_global: bool


@dataclass
class LayerRF:
    name: str
    op_name: str  # the op's name (Layer.op is the Op object)
    shape: Shape
    is_global: bool
    local: tuple[AxisRF, ...] | None
    state: TensorRF = field(repr=False)
    misaligned: tuple[Misalignment, ...] = ()
    not_computed: str = ""  # why the local numbers are unknown (then `local` is None)

    def _pick(self, key: str) -> tuple[Num, ...] | None:
        if self.is_global or self.local is None:
            return None
        return tuple(getattr(axis, key) for axis in self.local)

    @property
    def size(self) -> tuple[Num, ...] | None:
        """r per axis; None when the layer is global (its `local` may still say more)."""
        return self._pick("size")

    @property
    def stride(self) -> tuple[Num, ...] | None:
        return self._pick("stride")

    @property
    def padding(self) -> tuple[Num, ...] | None:
        return self._pick("padding")

    @property
    def start(self) -> tuple[Num, ...] | None:
        return self._pick("start")

    @property
    def size_min(self) -> tuple[Num, ...] | None:
        return self._pick("size_min")

    @property
    def aligned(self) -> bool:
        return self.local is None or all(axis.aligned for axis in self.local)

    @property
    def uniform(self) -> bool:
        return self.local is None or all(axis.uniform for axis in self.local)

    def region(self, unit: tuple[int, ...]) -> tuple[Region, ...] | None:
        """The input interval (inclusive, unclipped) each axis of output `unit` sees through
        its local paths; None when nothing local is left."""
        if self.state.axes is None:
            return None
        return tuple(unit_region(state, j) for state, j in zip(self.state.axes, unit))


@dataclass
class RFResult:
    input_shape: Shape
    layers: dict[str, LayerRF]
    graph: Graph = field(repr=False)

    @cached_property
    def warnings(self) -> list[Problem]:
        """The receptive-field warnings (analysis/rfwarn.py), computed on first use: a table
        of sizes does not need them."""
        return find_warnings(self.graph, self)

    def __getitem__(self, name: str) -> LayerRF:
        return self.layers[name]

    def axis(self, name: str, axis: int) -> AxisRF | None:
        """Tensor `name`'s numbers along spatial axis `axis` (1-based, its place in the shape),
        the network input ("input": each unit sees itself) included; None when not local."""
        if name == "input":
            return summarize(start_state(), self.input_shape[axis])
        seen = self[name]
        return None if seen.local is None else seen.local[axis - 1]

    def last_local(self) -> LayerRF | None:
        """The last layer (in graph order) with spatial numbers: the feature map a designer sizes
        the receptive field of. Usually not global (ResNet's layer4 before gap); in a gated
        network (EfficientNet) it is global through its gates and `local` holds the numbers.
        A layer whose numbers are not computed counts too (its `not_computed` says why)."""
        return next((rf for rf in reversed(list(self.layers.values()))
                     if rf.local or rf.not_computed), None)


@gc_paused()
def analyze_rf(graph: Graph) -> RFResult:
    """Receptive fields of every layer; `.warnings` are computed when first read."""
    spatial = graph.input_shape[1:]
    states: dict[str, TensorRF] = {"input": TensorRF(tuple(start_state() for _ in spatial), False)}
    layers: dict[str, LayerRF] = {}
    summaries: dict[tuple[int, int], AxisRF] = {}  # element-wise layers pass a state on as is
    unknown: dict[str, str] = {}  # layers whose receptive field is not computed, and why
    for layer in graph.layers:
        why = next((unknown[source] for index, maps in layer.op.rf(layer)
                    if not isinstance(maps, str) and (source := layer.inputs[index]) in unknown), "")
        try:
            if why:
                raise _Unknown(why)
            state, parts = _propagate(layer, states)
            misaligned = _misalignments(layer, parts) if len(parts) > 1 else ()
            local = None
            if state.axes is not None:
                local = tuple(_summary(summaries, axis, n)
                              for axis, n in zip(state.axes, layer.out_shape[1:]))
        except (TooManyPhases, _Unknown) as exc:
            why = unknown[layer.name] = str(exc) if why else f"at {layer.op_name} '{layer.name}': {exc}"
            state, misaligned, local = TensorRF(None, False), (), None
        states[layer.name] = state
        layers[layer.name] = LayerRF(layer.name, layer.op_name, layer.out_shape, state.is_global,
                                     local, state, misaligned, why)
    return RFResult(graph.input_shape, layers, graph)


class _Unknown(Exception):
    """A layer reads an input whose receptive field is not computed."""


def rf_warnings(graph: Graph) -> list[Problem]:
    """The receptive-field warnings of `graph` (what `cnncalc rf` prints after its table), as
    Problems of level "warning" located at the layer that causes each."""
    return analyze_rf(graph).warnings


def _propagate(layer: Layer, states: dict[str, TensorRF]
               ) -> tuple[TensorRF, list[tuple[str, tuple[AxisState, ...]]]]:
    """The layer's state and the local part each read contributes (for the alignment check)."""
    is_global = False
    parts: list[tuple[str, tuple[AxisState, ...]]] = []
    for index, maps in layer.op.rf(layer):
        source = layer.inputs[index]
        seen = states[source]
        is_global = is_global or seen.is_global or isinstance(maps, str)
        if isinstance(maps, str) or seen.axes is None:
            continue  # a global input is a constant for the local part (a gate)
        axes = tuple(axis if m is IDENTITY else apply_state(axis, m)
                     for axis, m in zip(seen.axes, maps))
        parts.append((source, axes))
    if not parts:
        return TensorRF(None, is_global), parts
    if len(parts) == 1:
        return TensorRF(parts[0][1], is_global), parts
    rank = len(parts[0][1])
    merged = tuple(merge(term for _, axes in parts for term in axes[a]) for a in range(rank))
    return TensorRF(merged, is_global), parts


def _summary(cache: dict[tuple[int, int], AxisRF], state: AxisState, n: int) -> AxisRF:
    key = (id(state), n)  # the states stay alive in analyze_rf, so ids are not reused
    found = cache.get(key)
    if found is None:
        found = cache[key] = summarize(state, n)
    return found


def probe_units(state: AxisState, n: int) -> list[int]:
    """Units where the region's size can peak: within each residue class modulo the common
    period the size is convex in j (max of lines minus min of lines), so its ends suffice."""
    period = 1
    for term in state:
        period = bounded(lcm(period, term.period))
    if len(state) == 1:
        return list(range(min(period, n)))
    return sorted(set(range(min(period, n))) | set(range(max(n - period, 0), n)))


def summarize(state: AxisState, n: int) -> AxisRF:
    """The reported numbers of one axis with n units."""
    if len(state) == 1 and state[0].period == 1 and state[0].hull[0] is not None:
        term = state[0]  # the common case, uniform: unit j sees [lo + j*S, hi + j*S]
        lo, hi = term.hull[0]  # type: ignore[misc]  # (checked not None above)
        size_min = min(extent(p) for p in term.paths)
        return AxisRF(exact(hi - lo + 1), term.stride, exact(-lo), half(lo + hi),
                      exact(size_min), True, term.aligned, term.gaps)
    sizes = [(j, r) for j in probe_units(state, n) if (r := unit_region(state, j)) is not None]
    main = max(state, key=lambda t: extent(t.hull))
    if not sizes:
        return AxisRF(0, main.stride, 0, 0, 0, False, False, None)
    size = max(r[1] - r[0] + 1 for _, r in sizes)
    j, (lo, hi) = sizes[0]
    shift = j * main.stride  # unit 0 may read nothing: extrapolate from the first that does
    size_min = min(extent(p) for term in state for p in term.paths)
    uniform = len(state) == 1 and main.period == 1
    aligned = all(t.aligned for t in state) and not any(
        conflict(x, y) for x, y in combinations(state, 2))
    return AxisRF(size, main.stride, exact(shift - lo), exact(half(lo + hi) - shift),
                  size_min, uniform, aligned, None)


def _misalignments(layer: Layer, parts: list[tuple[str, tuple[AxisState, ...]]]
                   ) -> tuple[Misalignment, ...]:
    """Axes along which the merged inputs disagree in stride or centre. An input that is
    misaligned already was reported where that happened; only new disagreement counts."""
    found = []
    for a, n in enumerate(layer.out_shape[1:]):
        states = [axes[a] for _, axes in parts]
        if not _disagree(states):
            continue
        probe = sorted({j for state in states for j in probe_units(state, n)})
        offset: Num = 0
        for j in probe:
            centres = [_centre(unit_region(state, j)) for state in states]
            known = [c for c in centres if c is not None]
            if known:
                offset = max(offset, max(known) - min(known))
        inputs = tuple((name, max(state, key=lambda t: extent(t.hull)).stride,
                        _centre(unit_region(state, 0))) for (name, _), state in zip(parts, states))
        found.append(Misalignment(a + 1, inputs, exact(offset)))
    return tuple(found)


def _centre(region: Region) -> Num | None:
    return None if region is None else half(region[0] + region[1])


def _disagree(states: list[AxisState]) -> bool:
    """Whether some unit reads terms of two different states with different strides or
    centres (`conflict` for every pair, in one pass over the terms per phase: a merge of
    thousands of inputs stays linear)."""
    period = 1
    for state in states:
        for term in state:
            period = bounded(lcm(period, term.period))
    for j in range(period):
        keys: set[tuple[Num, Num]] = set()
        readers = 0
        for state in states:
            reads = False
            for term in state:
                iv = term.hull[j % term.period]
                if iv is not None:
                    keys.add((term.stride, iv[0] + iv[1]))
                    reads = True
            readers += reads
        if readers > 1 and len(keys) > 1:
            return True
    return False
