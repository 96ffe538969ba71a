"""What one output unit really depends on, boundaries included: `unit_support(graph, layer, unit)`.

The receptive-field numbers (analysis/rf.py) describe the infinite grid: a unit next to a
border "sees" padding positions, and after a crop or explicit padding the positions beyond
a tensor's edge are extrapolated. This walks back from one unit through the real, finite
tensors (reading only the units each op reads, dropping taps that fall in padding) and
returns, per spatial axis, the input positions the unit depends on through its local reads
(global inputs such as squeeze-excite gates are constants). Ops are separable per axis, so a
path's dependency is a product of per-axis sets; a union of paths projects to the union of
their per-axis sets, which is what is returned. Gaps (dilation) are kept.

Sets are sorted lists of disjoint inclusive intervals (`Spans`), so the work depends on how
many gaps there are, not on the sizes: the units of a 10^9-wide axis are one span. A map
applied to a span is periodic; where its copies cover every residue of the map's step, the
middle of the image is one span and only its ends are enumerated. A read whose image still
has gaps (a 1x1 stride-2 shortcut) is applied last, and skipped when the other reads of the
same tensor already cover its extent (the main path of a residual block does).
"""
from __future__ import annotations

from bisect import bisect_right
from typing import TYPE_CHECKING

from cnncalc.ops.rfmap import IDENTITY, whole_axis
from cnncalc.spec.refs import INPUT

if TYPE_CHECKING:
    from cnncalc.graph import Graph
    from cnncalc.ops.rfmap import AxisMap, Taps

Spans = list[tuple[int, int]]  # sorted, disjoint, non-adjacent, inclusive
MAX_SPANS = 1 << 16  # separate gaps listed per read; more only on huge axes with sparse reads


class TooManyGaps(Exception):
    """A read leaves more than MAX_SPANS separate gaps (a window smaller than its stride on a
    huge axis): listing them would take time proportional to the axis size."""


Group = tuple[int, int, int, int]  # taps [u, v] of one phase, read for k in [k0, k1]


def unit_support(graph: Graph, name: str, unit: tuple[int, ...]) -> tuple[list[int], ...] | None:
    """Sorted input positions per spatial axis that `unit` of layer `name` depends on; None
    when it depends on no input position through local reads. (A list as long as the
    receptive field: `unit_spans` says the same in spans.)"""
    spans = unit_spans(graph, name, unit)
    return None if spans is None else tuple(positions(s) for s in spans)


def unit_spans(graph: Graph, name: str, unit: tuple[int, ...]) -> tuple[Spans, ...] | None:
    """`unit_support` as spans per axis: first and last position of each run it depends on."""
    return support(graph, name, [[(u, u)] for u in unit])


def support(graph: Graph, name: str, units: list[Spans],
            with_global: bool = False) -> tuple[Spans, ...] | None:
    """Like `unit_support`, as spans, for every combination of the given units per axis (the
    dependencies are separable per axis): e.g. `[[(0, n - 1)], ...]` for all units at once.
    `with_global`: a global read (a gate, flatten) depends on every unit of its input instead
    of being a constant. Raises TooManyGaps when a read would have to list more than MAX_SPANS
    gaps."""
    target = graph.layer(name)
    pending: dict[str, list[tuple[tuple[AxisMap, ...], list[Spans]]]] = {}
    needed: list[Spans] | None = [normalize(s) for s in units]
    for layer in reversed(graph.layers[: target.index + 1]):
        if layer is not target:
            needed = _collect(pending.pop(layer.name, []), graph.shape_of(layer.name)[1:])
        if needed is None:
            continue
        for index, maps in layer.op.rf(layer):
            source = layer.inputs[index]
            if not isinstance(maps, str):
                pending.setdefault(source, []).append((maps, needed))
            elif with_global:  # every unit of the source (else a constant for the local part)
                sizes = graph.shape_of(source)[1:]
                pending.setdefault(source, []).append(
                    (tuple(whole_axis(n) for n in sizes), [[(0, 0)] for _ in sizes]))
    reads = pending.pop(INPUT, [])
    return None if not reads else _as_tuple(_collect(reads, graph.input_shape[1:]))


def _as_tuple(found: list[Spans] | None) -> tuple[Spans, ...] | None:
    return None if found is None else tuple(found)


def positions(spans: Spans) -> list[int]:
    return [i for lo, hi in spans for i in range(lo, hi + 1)]


def count(spans: Spans) -> int:
    return sum(hi - lo + 1 for lo, hi in spans)


def normalize(spans: Spans) -> Spans:
    """Sorted, with overlapping or touching spans joined."""
    out: Spans = []
    for lo, hi in sorted(spans):
        if out and lo <= out[-1][1] + 1:
            if hi > out[-1][1]:
                out[-1] = (out[-1][0], hi)
        else:
            out.append((lo, hi))
    return out


def _covers(spans: Spans, lo: int, hi: int) -> bool:
    i = bisect_right(spans, (lo, float("inf"))) - 1
    return i >= 0 and spans[i][0] <= lo and hi <= spans[i][1]


def _collect(reads: list[tuple[tuple[AxisMap, ...], list[Spans]]], sizes: tuple[int, ...]
             ) -> list[Spans] | None:
    """The union over the reads of a tensor of what each reads of it, per axis; None if no
    read touches anything but padding."""
    if not reads:
        return None
    if all(m is IDENTITY for maps, _ in reads for m in maps):  # element-wise readers
        if len(reads) == 1:
            return reads[0][1]
        return [normalize([s for _, wanted in reads for s in wanted[a]]) for a in range(len(sizes))]
    plans = []
    for maps, wanted in reads:
        groups = [_groups(m, w) for m, w in zip(maps, wanted)]
        if all(_clipped_hull(_flat(gs), m.period_in, n) for gs, m, n in zip(groups, maps, sizes)):
            plans.append((maps, groups))  # else along some axis it reads only padding
    if not plans:
        return None
    found: list[Spans] = [[] for _ in sizes]
    # Reads whose images are dense first: a sparse read is then often inside them already.
    plans.sort(key=lambda plan: any(_sparse(_flat(gs), m.period_in) for m, gs in zip(*plan)))
    for maps, groups in plans:
        for a, (m, per_span, n) in enumerate(zip(maps, groups, sizes)):
            hull = _clipped_hull(_flat(per_span), m.period_in, n)
            if hull is not None and not _covers(found[a], *hull):
                images = [piece for gs in per_span for piece in _image(gs, m.period_in, n)]
                found[a] = normalize(found[a] + images)
    return found


def _groups(m: AxisMap, wanted: Spans) -> list[list[Group]]:
    """Per wanted span, the (taps block, k range) pairs its output units read: phase r's block
    [u, v] is read at u + k*period_in .. v + k*period_in by output unit k*period_out + r."""
    p = m.period_out
    out = []
    for a, b in wanted:
        groups: list[Group] = []
        phases = range(p) if b - a + 1 >= p else sorted({o % p for o in range(a, b + 1)})
        for r in phases:
            k0, k1 = -((r - a) // p), (b - r) // p
            if k0 <= k1:
                groups.extend((u, v, k0, k1) for u, v in _blocks(m.phases[r]))
        out.append(groups)
    return out


def _flat(per_span: list[list[Group]]) -> list[Group]:
    return [g for groups in per_span for g in groups]


def _blocks(taps: Taps) -> Spans:
    if isinstance(taps, range) and taps.step == 1:
        return [(taps.start, taps.stop - 1)] if taps else []
    return normalize([(t, t) for t in taps])


def _sparse(groups: list[Group], q: int) -> bool:
    return any(q > v - u + 1 and k1 > k0 for u, v, k0, k1 in groups)


def _clipped_hull(groups: list[Group], q: int, n: int) -> tuple[int, int] | None:
    """The smallest span holding the image inside [0, n), or None if nothing of it is: the
    first and last k whose copy of each block overlaps the tensor."""
    lo_all: int | None = None
    hi_all: int | None = None
    for u, v, k0, k1 in groups:
        if q == 0:
            first, last = (u, v) if k0 <= k1 else (1, 0)
        else:
            ka = max(k0, _ceil_div(-v, q))  # u + k*q .. v + k*q reaches 0
            kb = min(k1, (n - 1 - u) // q)  # and starts before n
            if ka > kb:
                continue
            first, last = u + ka * q, v + kb * q
        first, last = max(first, 0), min(last, n - 1)
        if first > last:
            continue
        lo_all = first if lo_all is None else min(lo_all, first)
        hi_all = last if hi_all is None else max(hi_all, last)
    return None if lo_all is None or hi_all is None else (lo_all, hi_all)


def _ceil_div(a: int, b: int) -> int:
    return -((-a) // b)


def _image(groups: list[Group], q: int, n: int) -> Spans:
    """Every position [0, n) the groups read, as spans."""
    if q == 0:
        return _clip([(u, v) for u, v, k0, k1 in groups if k0 <= k1], n)
    pieces: Spans = []
    middle = _middle(groups, q)
    lo, hi = middle if middle is not None else (1, 0)
    if middle is not None:
        pieces.append(middle)
    for u, v, k0, k1 in groups:
        ka, kb = max(k0, _ceil_div(-v, q)), min(k1, (n - 1 - u) // q)  # copies inside [0, n)
        if ka > kb:
            continue
        if q <= v - u + 1:  # consecutive copies touch: one span
            pieces.append((u + ka * q, v + kb * q))
            continue
        ks: list[range] = [range(ka, kb + 1)]
        if middle is not None:  # only the copies reaching outside the dense middle
            left = _ceil_div(lo - u, q) - 1  # copies starting before lo
            right = (hi - v) // q + 1  # copies ending after hi
            if left + 1 < right:
                ks = [range(ka, min(left, kb) + 1), range(max(right, ka), kb + 1)]
        if sum(len(r) for r in ks) > MAX_SPANS:
            raise TooManyGaps(f"more than {MAX_SPANS:,} separate gaps")
        pieces.extend((u + k * q, v + k * q) for r in ks for k in r)
    return _clip(pieces, n)


def _middle(groups: list[Group], q: int) -> tuple[int, int] | None:
    """A span every position of which some group reads, when the blocks cover every residue
    modulo q: from where all groups' copies have started to where the first one stops."""
    if len(groups) < 1:
        return None
    ka = max(k0 for _, _, k0, _ in groups)
    kb = min(k1 for _, _, _, k1 in groups)
    if ka > kb or not _all_residues([(u, v) for u, v, _, _ in groups], q):
        return None
    lo = q * ka + max(v for _, v, _, _ in groups)
    hi = q * kb + min(u for u, _, _, _ in groups)
    return (lo, hi) if lo <= hi else None


def _all_residues(blocks: Spans, q: int) -> bool:
    """Whether the blocks, taken modulo q, cover every residue 0 .. q-1."""
    arcs: Spans = []
    for u, v in blocks:
        if v - u + 1 >= q:
            return True
        a, b = u % q, v % q
        arcs.extend([(a, b)] if a <= b else [(a, q - 1), (0, b)])
    joined = normalize(arcs)
    return joined == [(0, q - 1)]


def _clip(spans: Spans, n: int) -> Spans:
    return normalize([(max(lo, 0), min(hi, n - 1)) for lo, hi in spans
                      if hi >= 0 and lo <= n - 1])
