"""Measure receptive fields by running the network on dependency masks (no formulas).

Each op's `reach` rule pushes 0/1 masks through the layer's real geometry (the NumPy kernels'
windows, paddings, strides, crops and interpolation), with channels collapsed: a mask value
is positive where the tensor depends on a marked input position. The masks are re-binarised
after every layer, so values never overflow or underflow however deep the network is.

To find the input interval a unit sees along one axis, mark a prefix of the input along that
axis (every position with coordinate <= t): the unit lights up exactly when the lowest
position it depends on is <= t. That is monotone in t, so a binary search finds the low end
exactly; suffixes find the high end. All searches run together, one batch of masks per
round (ceil(log2 n) + 1 rounds), and only the layers the probed layers depend on are run.

This is independent of analysis/rf.py, which composes per-op index maps: it exercises the
kernels' own windowing, so the two agree only if both are right.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from math import prod
from typing import TYPE_CHECKING

import numpy as np

from cnncalc.spec.refs import INPUT

if TYPE_CHECKING:
    from cnncalc.graph import Graph

Interval = tuple[int, int] | None


@dataclass(frozen=True)
class Query:
    """Which input interval does `unit` of `layer` see along input spatial axis `axis` (0-based)?"""

    layer: str
    unit: tuple[int, ...]  # spatial coordinates of the unit (empty for a flat layer)
    axis: int


def ancestors(graph: Graph, names: set[str]) -> list[str]:
    """The layers the named ones depend on (themselves included), in graph order."""
    needed = set(names)
    for layer in reversed(graph.layers):
        if layer.name in needed:
            needed.update(source for source in layer.inputs if source != INPUT)
    return [layer.name for layer in graph.layers if layer.name in needed]


def probe_bytes(graph: Graph, names: set[str], samples: int) -> int:
    """An upper bound on the memory of one probe round: the masks live at the worst step, plus
    a padded copy of the largest (float32, channels collapsed)."""
    order = ancestors(graph, names)
    steps = len(order)
    sizes = [prod(graph.input_shape[1:])] + [prod(graph.by_name[n].out_shape[1:]) for n in order]
    index = {INPUT: 0, **{name: i + 1 for i, name in enumerate(order)}}
    end = list(range(steps + 1))  # tensor k is live from step k to its last reader
    for i, name in enumerate(order, start=1):
        for source in graph.by_name[name].inputs:
            end[index[source]] = max(end[index[source]], i)
    for name in names:
        end[index[name]] = steps  # the probed layers' masks are kept to the end
    delta = [0] * (steps + 2)
    for k, size in enumerate(sizes):
        delta[k] += size
        delta[end[k] + 1] -= size
    peak = total = 0
    for step in range(steps + 1):
        total += delta[step]
        peak = max(peak, total)
    return 4 * samples * (peak + 3 * max(sizes))


def _masks(shape: tuple[int, ...], samples: list[tuple[int, str, int]]) -> np.ndarray:
    """A batch of prefix ("lo": coordinate <= t) / suffix ("hi": >= t) masks of the input
    ("all": every position)."""
    batch = np.zeros((len(samples), 1, *shape), dtype=np.float32)
    for i, (axis, kind, t) in enumerate(samples):
        index = [slice(None)] * len(shape)
        if kind != "all":  # "all": every position marked
            index[axis] = slice(0, t + 1) if kind == "lo" else slice(t, None)
        batch[(i, 0) + tuple(index)] = 1.0
    return batch


def run_masks(graph: Graph, batch: np.ndarray, names: set[str]) -> dict[str, np.ndarray]:
    """Push a batch of input masks through the layers the named ones need; their masks."""
    order = ancestors(graph, names)
    readers: dict[str, int] = {INPUT: 0}
    for name in order:
        for source in dict.fromkeys(graph.by_name[name].inputs):
            readers[source] = readers.get(source, 0) + 1
    live: dict[str, np.ndarray] = {INPUT: batch}
    found: dict[str, np.ndarray] = {}
    for name in order:
        layer = graph.by_name[name]
        y = layer.op.reach(layer, [live[source] for source in layer.inputs])
        expected = (batch.shape[0], 1, *layer.out_shape[1:])
        if y.shape != expected:
            raise AssertionError(f"{layer.op_name} '{name}': reach gave {y.shape}, expected {expected}")
        # Re-binarise (bounded at any depth), straight into float32: one pass, one array.
        live[name] = np.greater(y, 0, out=np.empty(y.shape, np.float32), casting="unsafe")
        if name in names:
            found[name] = live[name]
        for source in dict.fromkeys(layer.inputs):
            readers[source] -= 1
            if readers[source] == 0:
                del live[source]
    return found


def measure(graph: Graph, queries: list[Query],
            guesses: Mapping[Query, Interval] | None = None) -> dict[Query, Interval]:
    """The exact input interval (inclusive) each query's unit sees along its axis; None when
    it depends on no input position along that axis.

    `guesses` (e.g. the analysis' prediction) only choose where the first round probes: a
    guessed end `e` is tested at `e` and next to it, and when the masks light up on one
    side and not the other the end is proven (the lit / unlit answer is monotone), in one
    round instead of ~log2(n). A wrong guess costs one round; the answer is always what the
    masks say, never the guess."""
    spatial = graph.input_shape[1:]
    names = {q.layer for q in queries}
    # Per (query, end): the search range [low, high] still holding the answer.
    ranges = {(q, end): [0, spatial[q.axis] - 1] for q in queries for end in ("lo", "hi")}
    first: dict[tuple[Query, str], list[int]] = {}
    asked = set(queries)
    for q, guess in (guesses or {}).items():
        if q in asked and guess is not None:
            n = spatial[q.axis]
            lo, hi = min(max(guess[0], 0), n - 1), min(max(guess[1], 0), n - 1)
            first[(q, "lo")] = [t for t in (lo - 1, lo) if 0 <= t < n]
            first[(q, "hi")] = [t for t in (hi, hi + 1) if 0 <= t < n]
    # Round 0 (everything marked: which units depend on the input at all) runs together with
    # the guessed ends; the guesses of units that turn out to see nothing are ignored.
    everything = (len(spatial), "all", 0)
    alive: set[Query] | None = None
    while True:
        pending = {key: r for key, r in ranges.items()
                   if (alive is None or key[0] in alive) and r[0] < r[1]}
        wanted: dict[tuple[int, str, int], int] = {}
        if alive is None:
            wanted[everything] = 0
        probes: dict[tuple[Query, str], list[tuple[int, int]]] = {}
        for key, (low, high) in pending.items():
            q, end = key
            if alive is None:
                points = [t for t in first.get(key, []) if low <= t <= high]
            else:
                points = [(low + high) // 2 if end == "lo" else (low + high + 1) // 2]
            probes[key] = [(t, wanted.setdefault((q.axis, end, t), len(wanted))) for t in points]
        if not wanted:
            break
        masks = run_masks(graph, _masks(spatial, list(wanted)), names)
        if alive is None:
            alive = {q for q in queries if masks[q.layer][(0, 0) + q.unit] > 0}
        for (q, end), tried in probes.items():
            for t, index in tried:
                lit = masks[q.layer][(index, 0) + q.unit] > 0
                r = ranges[(q, end)]
                if end == "lo":  # lit: the lowest dependency is <= t
                    r[:] = [r[0], min(r[1], t)] if lit else [max(r[0], t + 1), r[1]]
                else:  # lit: the highest dependency is >= t
                    r[:] = [max(r[0], t), r[1]] if lit else [r[0], min(r[1], t - 1)]
    return {q: (ranges[(q, "lo")][0], ranges[(q, "hi")][0]) if alive and q in alive else None
            for q in queries}
