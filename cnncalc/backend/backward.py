"""Run a graph backward in NumPy: gradients of a loss w.r.t. the input and every weight.

`run_backward` runs the forward only as far as the seeded layers need (the layers they
depend on), keeping from each layer exactly the tensors its op declares in
`saved_for_backward` (an op's backward sees the others as None), then walks the layers in
reverse topological order calling `Op.backward`, summing the gradients of a tensor that
feeds several layers, and freeing each saved tensor and each gradient as soon as the step
that needs it has run -- the execution model of PyTorch eager autograd that
analysis/memory.py predicts, so `verify --training` can measure it.

The forward is the inference forward (batch norm with its running statistics, dropout off:
the identity, though into a new tensor as in training), differentiated exactly: what a
frozen-statistics fine-tuning step or an effective receptive field computes. `linear=True`
treats every nonlinear activation (`Op.activation`) as the identity, forward and backward:
the analytic ERF case.
"""
from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from contextlib import nullcontext
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from cnncalc.backend import kernels
from cnncalc.backend.run import LayerError, live_bytes, split_weights
from cnncalc.ops.base import OutputStorage, SavedKind
from cnncalc.spec.refs import INPUT

if TYPE_CHECKING:
    from cnncalc.graph import Graph, Layer


@dataclass(frozen=True)
class Step:
    """Live activation bytes right after one step (before its inputs are freed): the arrays
    the run holds, each buffer once -- activations, saved tensors, gradients."""

    phase: str  # "forward" or "backward"
    layer: str
    live_bytes: int


@dataclass
class BackwardResult:
    inputs: list[np.ndarray | None]  # dLoss/dInput per network input (None: not asked for)
    weights: dict[str, np.ndarray]  # "{layer}.{tensor}" -> dLoss/dWeight, trainable tensors only
    outputs: dict[str, np.ndarray]  # the forward outputs of the seeded layers
    steps: list[Step] = field(default_factory=list)  # with trace_memory
    macs: dict[str, int] = field(default_factory=dict)  # layer -> backward GEMM MACs (count_macs)
    seconds: dict[str, float] = field(default_factory=dict)  # "forward", "backward"


def run_backward(graph: Graph, weights: Mapping[str, np.ndarray],
                 x: np.ndarray | Sequence[np.ndarray], seeds: Mapping[str, np.ndarray], *,
                 linear: bool = False, dtype: str = "float64", input_grad: bool = True,
                 trace_memory: bool = False, count_macs: bool = False) -> BackwardResult:
    """Gradients of sum over seeded layers L of <seeds[L], output of L> w.r.t. the input `x`
    (N, *input shape) and every trainable weight ("{layer}.{tensor}" keys, as `weights`).

    `seeds` maps a layer name (or alias) to dLoss/dOutput of that layer, (N, *out shape).
    `input_grad=False` skips the input gradient (and the backward of layers that depend on no
    weight), as autograd does for an input that does not require grad. `trace_memory`
    records the live activation bytes after every step, `count_macs` the MACs each layer's
    backward GEMMs perform.
    """
    xs = [x] if isinstance(x, np.ndarray) else list(x)
    if len(xs) != 1:
        raise ValueError(f"the network has one input, got {len(xs)} arrays")
    dt = np.dtype(dtype)
    x0 = np.asarray(xs[0]).astype(dt, copy=False)
    if x0.shape[1:] != graph.input_shape:
        raise ValueError(f"input shape {x0.shape[1:]} is not the network's {graph.input_shape}")
    batch = x0.shape[0]
    targets = {graph.layer(name).name: np.asarray(g) for name, g in seeds.items()}
    if not targets:
        raise ValueError("no seed: name at least one layer whose output gradient is given")
    for name, g in targets.items():
        want = (batch, *graph.by_name[name].out_shape)
        if g.shape != want:
            raise ValueError(f"seed for '{name}' has shape {g.shape}, expected {want}")
    layers = _needed(graph, set(targets))
    per_layer = {name: {k: v.astype(dt, copy=False) for k, v in ws.items()}
                 for name, ws in split_weights(weights).items()}
    grad_of = _requires_grad(layers, input_grad)
    run = _Run(layers, per_layer, targets, grad_of, linear, trace_memory)
    result = BackwardResult([None], {}, {})
    counter = kernels.count_macs() if count_macs else None
    start = time.perf_counter()
    run.forward(x0)
    result.seconds["forward"] = time.perf_counter() - start
    start = time.perf_counter()
    with counter if counter is not None else nullcontext():
        run.backward({name: np.array(g, dtype=dt) for name, g in targets.items()})  # ours to sum into
    result.seconds["backward"] = time.perf_counter() - start
    result.inputs = [run.grads.get(INPUT) if input_grad else None]
    result.weights = run.weight_grads
    result.outputs = {name: run.live[name] for name in targets}
    result.steps = run.steps
    if counter is not None:
        result.macs = {str(label): macs for label, macs in counter.by_label().items()}
    return result


def _needed(graph: Graph, targets: set[str]) -> list[Layer]:
    """The seeded layers and every layer they depend on, in topological order."""
    want = set(targets)
    for layer in reversed(graph.layers):
        if layer.name in want:
            want.update(layer.inputs)
    return [layer for layer in graph.layers if layer.name in want]


def _requires_grad(layers: list[Layer], input_grad: bool) -> dict[str, bool]:
    """Which tensors need a gradient: the input if asked, and every layer with weights or an
    input that needs one (a layer on the input before any weight records nothing otherwise)."""
    needs = {INPUT: input_grad}
    for layer in layers:
        needs[layer.name] = layer.params > 0 or any(needs[src] for src in layer.inputs)
    return needs


class _Run:
    """One forward + backward: the live activations, what is saved, the gradients."""

    def __init__(self, layers: list[Layer], weights: dict[str, dict[str, np.ndarray]],
                 targets: Mapping[str, np.ndarray], requires: dict[str, bool], linear: bool,
                 trace: bool):
        self.layers = layers
        self.weights = weights
        self.targets = targets
        self.requires = requires
        self.linear = linear
        self.trace = trace
        self.live: dict[str, np.ndarray] = {}
        self.saved: dict[str, tuple[list[np.ndarray | None], np.ndarray | None]] = {}
        self.grads: dict[str, np.ndarray] = {}
        self.weight_grads: dict[str, np.ndarray] = {}
        self.steps: list[Step] = []
        self.pinned = {INPUT, *targets}
        self.readers = {INPUT: 0, **{layer.name: 0 for layer in layers}}
        for layer in layers:
            for src in dict.fromkeys(layer.inputs):
                self.readers[src] += 1

    def identity(self, layer: Layer) -> bool:
        return self.linear and layer.op.activation

    def _measure(self, phase: str, layer: Layer, fresh: Sequence[np.ndarray | None] = ()) -> None:
        """`fresh`: the input gradients the step just returned (held until it ends, even
        when they were summed into an existing gradient)."""
        if self.trace:
            arrays = [*self.live.values(), *self.grads.values(), *(a for a in fresh if a is not None)]
            for inputs, output in self.saved.values():
                arrays.extend(a for a in (*inputs, output) if a is not None)
            self.steps.append(Step(phase, layer.name, live_bytes(arrays)))

    def forward(self, x: np.ndarray) -> None:
        self.live[INPUT] = x
        readers = dict(self.readers)
        for layer in self.layers:
            inputs = [self.live[name] for name in layer.inputs]
            try:
                if self.identity(layer):
                    y = inputs[0]
                else:
                    target = self._overwritable(layer, inputs, readers)
                    y = layer.op.forward(layer, inputs, self.weights.get(layer.name, {}), target)
            except MemoryError:
                raise
            except Exception as exc:
                raise LayerError(layer, exc) from exc
            if (not self.identity(layer) and layer.op.output_storage(layer, True) is OutputStorage.NEW
                    and any(np.may_share_memory(y, a) for a in inputs)):
                y = y.copy()  # a view at inference, a new tensor in training (dropout)
            self.live[layer.name] = y
            if self.requires[layer.name] and not self.identity(layer):
                self.saved[layer.name] = self._keep(layer, inputs, y)
            self._measure("forward", layer)
            del inputs, y
            for name in dict.fromkeys(layer.inputs):
                readers[name] -= 1
                if readers[name] == 0 and name not in self.pinned:
                    del self.live[name]

    def _keep(self, layer: Layer, inputs: list[np.ndarray],
              y: np.ndarray) -> tuple[list[np.ndarray | None], np.ndarray | None]:
        """The tensors the op declares it saves; the others are not held."""
        saved = layer.op.saved_for_backward(layer)
        wanted = {s.index for s in saved if s.kind is SavedKind.INPUT}
        kept = [a if i in wanted else None for i, a in enumerate(inputs)]
        return kept, y if any(s.kind is SavedKind.OUTPUT for s in saved) else None

    def _saved_roots(self) -> set[int]:
        roots: set[int] = set()
        for inputs, output in self.saved.values():
            roots.update(id(_root(a)) for a in (*inputs, output) if a is not None)
        return roots

    def _overwritable(self, layer: Layer, inputs: list[np.ndarray], readers: dict[str, int]) -> int | None:
        """An in-place op may write into an input of its shape whose buffer nothing needs
        afterwards: no later reader, no other live tensor in it, not the input or a seeded
        output, and nothing saved for backward in it (nor does the op keep that input)."""
        if layer.op.output_storage(layer, True) is not OutputStorage.INPLACE:
            return None
        if any(s.kind is SavedKind.INPUT for s in layer.op.saved_for_backward(layer)):
            return None
        saved = self._saved_roots()
        for index, (source, array) in enumerate(zip(layer.inputs, inputs)):
            if array.shape[1:] != layer.out_shape or not array.flags.writeable:
                continue
            root = id(_root(array))
            sharing = [name for name, other in self.live.items() if id(_root(other)) == root]
            if (sharing == [source] and source not in self.pinned and readers[source] == 1
                    and root not in saved
                    and all(id(_root(a)) != root for i, a in enumerate(inputs) if layer.inputs[i] != source)):
                return index
        return None

    def _stealable(self, a: np.ndarray, name: str) -> bool:
        """Whether `a` may be summed into: writeable, all of its buffer, which no other
        gradient, saved or live tensor holds (autograd's test before an in-place sum)."""
        root = _root(a)
        if not a.flags.writeable or root.nbytes != a.nbytes or _shared(a, self.grads, name):
            return False
        return id(root) not in self._saved_roots() and all(
            id(_root(v)) != id(root) for v in self.live.values())

    def _accumulate(self, name: str, g: np.ndarray) -> np.ndarray | None:
        """Add a contribution to `name`'s gradient; returns the array it replaced, if any (held
        until the step ends, as autograd frees it only then)."""
        have = self.grads.get(name)
        if have is None:
            self.grads[name] = g
        elif self._stealable(have, name):
            have += g
        elif self._stealable(g, name):
            g += have  # the sum in the new contribution's buffer, as autograd steals it
            self.grads[name] = g
        else:
            self.grads[name] = have + g  # both are views of other gradients: a new buffer
        return have if self.grads[name] is not have else None

    def backward(self, seeds: dict[str, np.ndarray]) -> None:
        for name, g in seeds.items():
            self.grads[name] = g
        for name in list(self.live):
            if name not in self.pinned:
                del self.live[name]
        for layer in reversed(self.layers):
            if layer.name not in self.grads or not self.requires[layer.name]:
                self.grads.pop(layer.name, None)
                continue
            g = self.grads[layer.name]
            need = [self.requires[src] for src in layer.inputs]
            if self.identity(layer):
                grads: list[np.ndarray | None] = [g]
                wgrads: dict[str, np.ndarray] = {}
            else:
                inputs, output = self.saved.get(layer.name, ([None] * len(layer.inputs), None))
                try:
                    grads, wgrads = layer.op.backward(layer, inputs, output,
                                                      self.weights.get(layer.name, {}), g, need)
                except MemoryError:
                    raise
                except Exception as exc:
                    raise LayerError(layer, exc) from exc
            for tensor, value in wgrads.items():
                self.weight_grads[f"{layer.name}.{tensor}"] = value
            replaced = [self._accumulate(src, gi) for src, wanted, gi in zip(layer.inputs, need, grads)
                        if wanted and gi is not None]
            self._measure("backward", layer, [*grads, *replaced])
            del g, grads, wgrads, replaced
            self.saved.pop(layer.name, None)
            self.grads.pop(layer.name, None)


def _root(a: np.ndarray) -> Any:
    while isinstance(a.base, np.ndarray):
        a = a.base
    return a


def _shared(a: np.ndarray, grads: dict[str, np.ndarray], name: str) -> bool:
    root = id(_root(a))
    return any(id(_root(other)) == root for key, other in grads.items() if key != name)
