"""Run a graph forward in NumPy, layer by layer in topological order.

Every layer's `Op.forward` computes its output from its inputs and its own weights. The run
holds each activation only until its last reader has run, and lets an op marked "inplace"
overwrite an input that nobody needs afterwards -- the execution model the memory analysis
predicts (PyTorch eager inference), so measuring this run checks that prediction. Whether
an input may be overwritten is decided from the arrays themselves (which buffer each one
lives in), not from the analysis' bookkeeping.

Optionally the run counts the MACs its matrix products perform (kernels.count_macs), measures
memory (the bytes of the distinct buffers the live arrays hold after each layer, and with
tracemalloc the peak while each layer ran) and records which weight arrays each layer read.
"""
from __future__ import annotations

import time
import tracemalloc
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import nullcontext
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from cnncalc.backend import kernels
from cnncalc.ops.base import OutputStorage
from cnncalc.spec.refs import INPUT

if TYPE_CHECKING:
    from cnncalc.graph import Graph, Layer

Observer = Callable[["Layer", np.ndarray], None]


@dataclass
class LayerTrace:
    """What happened at one layer."""

    name: str
    shape: tuple[int, ...]  # the output array's shape, batch included
    placed: str  # "new", "in place on X" or "view of X" (shares X's buffer)
    seconds: float
    live_bytes: int | None = None  # bytes of the buffers held right after the layer (before freeing)
    peak_bytes: int | None = None  # all memory traced at the peak while the layer ran
    base_bytes: int | None = None  # all memory traced when the layer started
    after_bytes: int | None = None  # all memory traced when it returned

    @property
    def workspace_bytes(self) -> int | None:
        """Memory the layer allocated and freed again while it ran (im2col, temporaries)."""
        if self.peak_bytes is None or self.base_bytes is None or self.after_bytes is None:
            return None
        return max(self.peak_bytes - max(self.base_bytes, self.after_bytes), 0)


@dataclass
class RunResult:
    outputs: dict[str, np.ndarray]
    kept: dict[str, np.ndarray]
    layers: list[LayerTrace]
    macs: dict[str, int] = field(default_factory=dict)  # layer -> MACs its GEMMs performed
    used: dict[str, dict[str, int]] = field(default_factory=dict)  # layer -> tensor -> size read
    seconds: float = 0.0


class LayerError(Exception):
    """A layer's forward failed (an op or kernel bug, or weights it cannot use)."""

    def __init__(self, layer: Layer, error: Exception):
        super().__init__(f"{layer.op_name} '{layer.name}': {type(error).__name__}: {error}")
        self.layer = layer.name
        self.error = error


class _Reads(Mapping[str, np.ndarray]):
    """One layer's weights; remembers which tensors the op actually read (and their sizes)."""

    def __init__(self, arrays: dict[str, np.ndarray]):
        self.arrays = arrays
        self.read: dict[str, int] = {}

    def __getitem__(self, key: str) -> np.ndarray:
        value = self.arrays[key]
        self.read[key] = int(value.size)
        return value

    def __iter__(self) -> Iterator[str]:
        return iter(self.arrays)

    def __len__(self) -> int:
        return len(self.arrays)


def split_weights(weights: Mapping[str, np.ndarray]) -> dict[str, dict[str, np.ndarray]]:
    """`{"layer1.conv.weight": w}` -> `{"layer1.conv": {"weight": w}}` (tensor names have no dot)."""
    out: dict[str, dict[str, np.ndarray]] = {}
    for key, value in weights.items():
        layer, _, tensor = key.rpartition(".")
        out.setdefault(layer, {})[tensor] = value
    return out


def _root(a: np.ndarray) -> int:
    """Identity of the buffer an array lives in (views share their base's)."""
    while isinstance(a.base, np.ndarray):
        a = a.base
    return id(a if a.base is None else a.base)


def _root_array(a: np.ndarray) -> np.ndarray:
    """The array owning the buffer `a` lives in (a view's base, followed to the end)."""
    while isinstance(a.base, np.ndarray):
        a = a.base
    return a


def live_bytes(arrays: Iterable[np.ndarray]) -> int:
    """Bytes of the distinct buffers `arrays` hold: views and in-place results share their
    base's buffer, which counts once, whole (a view of a bigger temporary keeps all of it).
    Counted from the arrays themselves, not from any prediction. (Tracing NumPy's allocations
    with tracemalloc measured the same on every zoo network but made verify's forward 2-4x
    slower: reading the traces costs a pass over every traced allocation per layer.)"""
    roots = {}
    for a in arrays:
        root = _root_array(a)
        roots[id(root)] = root.nbytes
    return sum(roots.values())


def forward(graph: Graph, x: np.ndarray, weights: Mapping[str, np.ndarray], *,
            keep: tuple[str, ...] = (), count_macs: bool = False, trace_memory: bool = False,
            observe: Observer | None = None, calibrate: bool = False) -> RunResult:
    """Run `graph` on the batch `x` (N, *input shape) with `weights` keyed "{layer}.{tensor}".

    `keep` names layers whose outputs are returned besides the graph outputs (they are then
    held to the end, like outputs). `observe(layer, output)` is called after every layer.
    `calibrate` lets each op adjust its random weights once from what it sees
    (Op.calibrate), updating `weights` in place; the layer is then run again.
    With `trace_memory` the caller must have started tracemalloc (for the peak while a layer
    runs; the bytes live after it are counted from the arrays).
    """
    per_layer = split_weights(weights)
    pinned = {INPUT, *graph.outputs, *keep}
    readers = {name: len(users) for name, users in graph.consumers.items()}
    live: dict[str, np.ndarray] = {INPUT: x}
    result = RunResult({}, {}, [])
    counter = kernels.count_macs() if count_macs else None
    start = time.perf_counter()
    with counter if counter is not None else nullcontext():
        for layer in graph.layers:
            inputs = [live[name] for name in layer.inputs]
            target = None if calibrate else _overwritable(layer, inputs, live, readers, pinned)
            reads = _Reads(per_layer.get(layer.name, {}))
            if trace_memory:
                base = tracemalloc.get_traced_memory()[0]
                tracemalloc.reset_peak()
            began = time.perf_counter()
            try:
                y = layer.op.forward(layer, inputs, reads, target)
                if calibrate:
                    y = _calibrated(layer, inputs, y, reads, weights)
            except MemoryError:
                raise
            except Exception as exc:  # a kernel refusing its arguments: say which layer
                raise LayerError(layer, exc) from exc
            trace = LayerTrace(layer.name, y.shape, _placement(layer, inputs, y),
                               time.perf_counter() - began)
            live[layer.name] = y
            if trace_memory:
                trace.after_bytes, trace.peak_bytes = tracemalloc.get_traced_memory()
                trace.base_bytes = base
                trace.live_bytes = live_bytes(live.values())
            result.layers.append(trace)
            result.used[layer.name] = reads.read
            if observe is not None:
                observe(layer, y)
            del inputs, y
            # Free what no later layer reads (the caller's input, outputs and kept stay).
            for name in dict.fromkeys(layer.inputs):
                readers[name] -= 1
                if readers[name] == 0 and name not in pinned:
                    del live[name]
            if readers[layer.name] == 0 and layer.name not in pinned:
                del live[layer.name]
    result.seconds = time.perf_counter() - start
    result.outputs = {name: live[name] for name in graph.outputs}
    result.kept = {name: live[name] for name in keep}
    if counter is not None:
        result.macs = {str(label): macs for label, macs in counter.by_label().items()}
    return result


def _overwritable(layer: Layer, inputs: list[np.ndarray], live: dict[str, np.ndarray],
                  readers: dict[str, int], pinned: set[str]) -> int | None:
    """The input an in-place op may write into: the first one of the output's shape whose
    buffer no live tensor needs after this layer (and that is not the caller's input, an
    output or kept)."""
    if layer.op.output_storage(layer, False) is not OutputStorage.INPLACE:
        return None
    for index, (source, array) in enumerate(zip(layer.inputs, inputs)):
        if array.shape[1:] != layer.out_shape or not array.flags.writeable:
            continue
        root = _root(array)
        # Every tensor in this buffer must be dead after this layer: the source itself read
        # by no later layer, no other live tensor (a view) sharing it, no other input of ours
        # (`add: {in: [a, a]}` reads `a` twice: writing into it would change the second read).
        sharing = [name for name, other in live.items() if _root(other) == root]
        if (sharing == [source] and source not in pinned and readers[source] == 1
                and all(_root(a) != root for i, a in enumerate(inputs) if i != index)):
            return index
    return None


def _placement(layer: Layer, inputs: list[np.ndarray], y: np.ndarray) -> str:
    root = _root(y)
    for source, array in zip(layer.inputs, inputs):
        if _root(array) == root:
            return f"in place on {source}" if y.shape == array.shape and y is array else f"view of {source}"
    return "new"


def _calibrated(layer: Layer, inputs: list[np.ndarray], y: np.ndarray, reads: _Reads,
                weights: Mapping[str, np.ndarray]) -> np.ndarray:
    new = layer.op.calibrate(layer, inputs, y, reads)
    if not new:
        return y
    for tensor, value in new.items():
        reads.arrays[tensor] = value
        weights[f"{layer.name}.{tensor}"] = value  # type: ignore[index]
    output = getattr(new, "output", None)  # kernels.init.Calibrated: the op recomputed it already
    return output if output is not None else layer.op.forward(layer, inputs, reads, None)
