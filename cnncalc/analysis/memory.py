"""Memory: weights, per-layer activations, the inference peak and a training step's total.

Inference peak: layers run one after another in topological order; each output is allocated
when its layer runs and freed after its last reader, views (flatten, slice) cost nothing, and
ops marked in place (ReLU after a conv, `out += identity`) overwrite an input they are the last
reader of. The network input and outputs are held by the caller for the whole run. The peak is
the largest sum of live activations, and where it occurs.

Training (one step, PyTorch eager autograd): parameters + gradients (one per parameter) +
optimizer state + buffers + the activation peak of forward and backward together, split into
the activations saved for backward (each tensor once, whatever saves it; what each op saves is
declared in its module) and the transient on top of them (forward temporaries, gradients of
activations during backward, the caller's input and outputs when not saved).

Not modelled: kernel workspaces (im2col, cuDNN/oneDNN scratch), the allocator's rounding and
caching, the loss function's own tensors, framework bookkeeping (a few bytes per op).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from math import prod
from typing import TYPE_CHECKING

from cnncalc.analysis.liveness import add_backward, last_readers, place
from cnncalc.gcpause import gc_paused
from cnncalc.ops.base import SavedKind
from cnncalc.spec.dtypes import DTYPE_BYTES, OPTIMIZER_STATES
from cnncalc.spec.refs import INPUT

if TYPE_CHECKING:
    from cnncalc.graph import Graph
    from cnncalc.ops.base import Saved

_OTHER_BYTES = {"int64": 8, "int32": 4, "bool": 1}  # dtypes of saved extras (indices, masks)


@dataclass(frozen=True)
class LayerMemory:
    """One layer at the analysed batch and dtype."""

    name: str
    op_name: str  # the op's name (Layer.op is the Op object)
    activation_bytes: int  # size of the output tensor
    storage: str  # at inference: "new", "view of X" or "in place on X"
    live_bytes: int  # activations live while the layer runs at inference (its inputs and output)
    saved_bytes: int  # what the layer keeps for backward (tensors shared with others counted here too)
    saved: tuple[str, ...]  # what it keeps: "input", "output", "indices", ...


@dataclass(frozen=True)
class TrainingMemory:
    """One training step: every term in bytes; `total_bytes` is their sum."""

    optimizer: str
    params_bytes: int
    gradients_bytes: int
    optimizer_bytes: int
    buffers_bytes: int
    saved_bytes: int  # activations kept for backward, each tensor once
    transient_bytes: int  # activation peak minus saved_bytes
    peak_phase: str  # "forward" or "backward"
    peak_layer: str
    inplace: tuple[str, ...]  # layers computed in place in training
    # Live activation bytes (saved, temporaries, gradients) at every step: each layer's
    # forward in order, then each layer's backward in reverse order.
    timeline: tuple[tuple[str, str, int], ...] = field(repr=False)  # (phase, layer, bytes)

    @property
    def activation_peak_bytes(self) -> int:
        return self.saved_bytes + self.transient_bytes

    @property
    def total_bytes(self) -> int:
        return (self.params_bytes + self.gradients_bytes + self.optimizer_bytes + self.buffers_bytes
                + self.saved_bytes + self.transient_bytes)


@dataclass(frozen=True)
class MemoryResult:
    """Memory of a graph at `batch` samples of `dtype`; all figures in bytes."""

    batch: int
    dtype: str
    dtype_bytes: int
    params_bytes: int
    buffers_bytes: int
    input_bytes: int
    layers: list[LayerMemory]
    inference_peak_bytes: int
    inference_peak_layer: str
    inference_live: tuple[str, ...]  # tensors that exist at the peak, see live_tensors()
    inplace: tuple[str, ...]  # layers computed in place at inference
    training: TrainingMemory | None

    @property
    def activations_sum_bytes(self) -> int:
        """Every layer's output added up: what tools without liveness report."""
        return sum(layer.activation_bytes for layer in self.layers)

    @property
    def inference_total_bytes(self) -> int:
        return self.params_bytes + self.buffers_bytes + self.inference_peak_bytes

    def layer(self, name: str) -> LayerMemory:
        return next(layer for layer in self.layers if layer.name == name)


def saved_bytes(saved: Saved, batch: int, dtype_bytes: int) -> int:
    width = dtype_bytes if saved.dtype is None else DTYPE_BYTES.get(saved.dtype) or _OTHER_BYTES[saved.dtype]
    return saved.elements * (batch if saved.per_sample else 1) * width


@gc_paused()
def analyze_memory(graph: Graph, batch: int = 1, dtype: str | None = None, training: bool = False,
                   optimizer: str = "adam", inplace: bool = True) -> MemoryResult:
    """Memory figures of `graph`; `dtype` overrides the spec's, `inplace=False` never reuses."""
    dtype = dtype or graph.spec.dtype
    if dtype not in DTYPE_BYTES:
        raise ValueError(f"unknown dtype {dtype!r} (one of {', '.join(DTYPE_BYTES)})")
    if optimizer not in OPTIMIZER_STATES:
        raise ValueError(f"unknown optimizer {optimizer!r} (one of {', '.join(OPTIMIZER_STATES)})")
    if batch < 1:
        raise ValueError(f"batch must be >= 1, got {batch}")
    width = dtype_bytes = DTYPE_BYTES[dtype]
    nbytes = {INPUT: prod(graph.input_shape) * batch * width}
    nbytes.update({layer.name: layer.out_size * batch * width for layer in graph.layers})
    keeps = recorded(graph)

    plan = place(graph, nbytes, False, inplace, {}, len(graph.layers) - 1, batch)
    profile = plan.profile()
    peak_step = max(range(len(profile)), key=lambda step: (profile[step], -step)) if profile else 0
    live = live_tensors(graph, peak_step)

    layers = [LayerMemory(layer.name, layer.op_name, nbytes[layer.name], plan.placed[layer.name],
                          profile[layer.index],
                          sum(saved_bytes(s, batch, width) for s in keeps.get(layer.name, [])),
                          tuple(s.what for s in keeps.get(layer.name, [])))
              for layer in graph.layers]
    params, buffers = graph.total_params * width, graph.total_buffers * width
    return MemoryResult(
        batch, dtype, dtype_bytes, params, buffers, nbytes[INPUT], layers,
        profile[peak_step] if profile else nbytes[INPUT],
        graph.layers[peak_step].name if graph.layers else INPUT, live,
        tuple(name for name, how in plan.placed.items() if how.startswith("in place")),
        _training(graph, nbytes, keeps, batch, width, optimizer, inplace) if training else None)


def live_tensors(graph: Graph, step: int) -> tuple[str, ...]:
    """The tensors that exist while layer `step` runs at inference, in the order they were
    computed: its inputs and output, every tensor a later layer still reads, and the input and
    outputs the caller holds. A tensor overwritten in place (conv1 under an in-place relu1)
    no longer exists: its storage is listed under the tensor that now holds it, so the
    storages of the listed tensors add up to the live bytes."""
    readers = last_readers(graph)
    pinned = {INPUT, *graph.outputs}
    found = [INPUT]  # the caller holds it
    for layer in graph.layers[: step + 1]:
        if layer.name in pinned or step <= max(layer.index, readers[layer.name]):
            found.append(layer.name)
    return tuple(found)


def recorded(graph: Graph) -> dict[str, list[Saved]]:
    """What each layer keeps for backward, for the layers autograd records: those whose output
    depends on a parameter (a ReLU on the network input, before any weight, records nothing)."""
    needs = requires_grad(graph)
    return {layer.name: layer.op.saved_for_backward(layer) for layer in graph.layers
            if needs[layer.name]}


def requires_grad(graph: Graph) -> dict[str, bool]:
    needs = {INPUT: False}
    for layer in graph.layers:
        needs[layer.name] = layer.params > 0 or any(needs[src] for src in layer.inputs)
    return needs


def _training(graph: Graph, nbytes: dict[str, int], keeps: dict[str, list[Saved]], batch: int,
              width: int, optimizer: str, inplace: bool) -> TrainingMemory:
    n = len(graph.layers)
    plan = place(graph, nbytes, True, inplace, keeps, 2 * n - 1, batch)
    extras = {name: [saved_bytes(s, batch, width) for s in saved if s.kind is SavedKind.EXTRA]
              for name, saved in keeps.items()}
    add_backward(graph, plan, nbytes, extras, keeps, requires_grad(graph))
    profile = plan.profile()
    peak_step = max(range(len(profile)), key=lambda step: (profile[step], -step))
    kept = sum(s.size for s in plan.storages if s.saved)
    steps = [("forward", layer.name) for layer in graph.layers]
    steps += [("backward", layer.name) for layer in reversed(graph.layers)]
    params = graph.total_params * width
    return TrainingMemory(
        optimizer, params, params, OPTIMIZER_STATES[optimizer] * params,
        graph.total_buffers * width, kept, profile[peak_step] - kept, *steps[peak_step],
        tuple(name for name, how in plan.placed.items() if how.startswith("in place")),
        tuple((phase, name, live) for (phase, name), live in zip(steps, profile)))
