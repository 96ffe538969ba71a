"""The largest batch (or input resolution) whose modelled memory fits a budget.

Memory is the model of `analysis.memory`: inference (weights + buffers + the activation peak
with liveness) or, with `training`, one training step (weights, gradients, optimizer state,
buffers, saved and transient activations).

Batch: every term is a nondecreasing function of the batch, so an exponential search for a
batch that does not fit followed by a binary search finds the largest that does.

Resolution: every spatial size an op computes (floor((n + 2p - k) / s) + 1, ceil(n / s),
n * s, ...) is nondecreasing in its input size, and so are sums and maxima of them, so memory
is nondecreasing over the sizes the spec accepts. But not every size is accepted (a U-Net's
skip connections need multiples of 16), so the search skips sizes that do not build, and the
answer is then checked by building the next `VERIFY_WINDOW` sizes above it: none that builds
may fit (a spec whose memory is not monotone would be caught here, not answered wrongly).
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from cnncalc.analysis.memory import MemoryResult, analyze_memory
from cnncalc.graph import build_graph
from cnncalc.problems import SpecError

if TYPE_CHECKING:
    from cnncalc.graph import Graph

MAX_BATCH = 2**40
MAX_SIDE = 2**16
VERIFY_WINDOW = 64


@dataclass(frozen=True)
class Fit:
    """The answer: `value` (batch or side; 0 when nothing fits), the memory there and at the
    next candidate (None when there is none below the search limit)."""

    value: int
    limit_bytes: int
    memory: MemoryResult | None  # at `value`
    needed_bytes: int  # at `value` (0 when nothing fits)
    next_value: int | None  # the next candidate (value + 1, or the next size that builds)
    next_bytes: int | None
    input_shape: tuple[int, ...]


class NotMonotone(ValueError):
    """A larger size than the answer fits: the search's premise does not hold for this spec."""


def needed(mem: MemoryResult) -> int:
    return mem.training.total_bytes if mem.training is not None else mem.inference_total_bytes


def fit_batch(graph: Graph, limit: int, dtype: str | None = None, training: bool = False,
              optimizer: str = "adam") -> Fit:
    """The largest batch whose memory is at most `limit` bytes."""
    def measure(batch: int) -> MemoryResult:
        return analyze_memory(graph, batch, dtype, training=training, optimizer=optimizer)

    def fits(batch: int) -> bool:
        return needed(measure(batch)) <= limit

    if not fits(1):
        first = measure(1)
        return Fit(0, limit, None, 0, 1, needed(first), graph.input_shape)
    low, high = 1, 2  # fits(low); find a high that does not fit
    while high <= MAX_BATCH and fits(high):
        low, high = high, high * 2
    if high > MAX_BATCH:
        high = MAX_BATCH + 1
    while high - low > 1:
        mid = (low + high) // 2
        low, high = (mid, high) if fits(mid) else (low, mid)
    at = measure(low)
    after = needed(measure(high)) if high <= MAX_BATCH else None
    return Fit(low, limit, at, needed(at), high if after is not None else None, after,
               graph.input_shape)


def fit_resolution(graph: Graph, limit: int, batch: int = 1, dtype: str | None = None,
                   training: bool = False, optimizer: str = "adam",
                   build: Callable[[tuple[int, ...]], Graph] | None = None) -> Fit:
    """The largest side `s` (every spatial axis of the input set to `s`) whose memory at
    `batch` is at most `limit`; sizes the spec cannot be built at are skipped."""
    channels = graph.input_shape[0]
    rank = len(graph.input_shape) - 1
    if rank < 1:
        raise ValueError("--resolution needs an input with spatial axes (C,H,W or C,L)")
    make = build or (lambda shape: build_graph(graph.spec, shape))
    cache: dict[int, MemoryResult | None] = {}

    def shape(side: int) -> tuple[int, ...]:
        return (channels, *([side] * rank))

    def measure(side: int) -> MemoryResult | None:
        if side not in cache:
            try:
                g = make(shape(side))
            except SpecError:
                cache[side] = None
            else:
                cache[side] = analyze_memory(g, batch, dtype, training=training, optimizer=optimizer)
        return cache[side]

    def fits(side: int) -> bool | None:  # None: the spec does not build at this size
        mem = measure(side)
        return None if mem is None else needed(mem) <= limit

    def valid_near(side: int, lo: int, hi: int) -> int | None:
        """The nearest size in (lo, hi) to `side` that builds, preferring smaller ones."""
        for step in range(VERIFY_WINDOW):
            for candidate in (side - step, side + step):
                if lo < candidate < hi and measure(candidate) is not None:
                    return candidate
        return None

    first = next((s for s in range(1, VERIFY_WINDOW + 1) if measure(s) is not None), None)
    if first is None or not fits(first):
        mem = measure(first) if first is not None else None
        return Fit(0, limit, None, 0, first, needed(mem) if mem else None, graph.input_shape)
    low, high = first, first * 2  # fits(low); `high` does not fit or does not build
    while high <= MAX_SIDE:
        probe = valid_near(high, low, MAX_SIDE + 1)
        if probe is None or not fits(probe):
            high = probe if probe is not None else high
            break
        low, high = probe, probe * 2
    high = min(high, MAX_SIDE + 1)
    while high - low > 1:
        probe = valid_near((low + high) // 2, low, high)
        if probe is None:
            break  # no size between them builds: low is the largest that fits
        low, high = (probe, high) if fits(probe) else (low, probe)
    nxt = next((s for s in range(low + 1, low + 1 + VERIFY_WINDOW) if measure(s) is not None), None)
    for side in range(low + 1, low + 1 + VERIFY_WINDOW):
        if fits(side):
            raise NotMonotone(f"side {side} fits but the search stopped at {low}")
    at = measure(low)
    assert at is not None
    nxt_mem = measure(nxt) if nxt is not None else None
    return Fit(low, limit, at, needed(at), nxt, needed(nxt_mem) if nxt_mem else None, shape(low))
