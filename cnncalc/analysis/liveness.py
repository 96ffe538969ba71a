"""Buffers and lifetimes: which tensors share storage, and when each storage is alive.

The model is PyTorch eager execution, layer by layer in topological order:

* every tensor lives in a storage; a "view" op (flatten, slice) adds a tensor to its input's
  storage, an "inplace" op (ReLU, add) may too, when it is the last reader of that storage,
  nothing else needs the old values (in training: no layer saves them for backward, and the
  op itself keeps only its output) and the storage holds neither the network input nor an
  output (the caller holds those for the whole step);
* a storage is allocated when its first tensor is computed and freed after the last reader
  of any of its tensors has run — or, in training, after the backward step of the earliest
  layer that saved one of its tensors.

Steps: forward of layer i is step i; in training, backward of layer i is step 2n-1-i. A
storage is live on every step from `start` to `end` inclusive, so while a layer runs its
inputs and its output are both counted.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from cnncalc.ops.base import OutputStorage, SavedKind
from cnncalc.spec.refs import INPUT

if TYPE_CHECKING:
    from cnncalc.graph import Graph, Layer
    from cnncalc.ops.base import Saved


@dataclass
class Storage:
    """One buffer: its size, the tensors in it, and the steps it is live on."""

    size: int
    tensors: list[str]
    start: int
    end: int
    kind: str = "activation"  # "activation", "extra" (saved by an op) or "gradient"
    saved: bool = False  # holds a tensor some layer saves for backward
    last_read: int = -1  # the last layer reading any of its tensors (kept as tensors are added)
    pinned: bool = False  # holds the network input or an output


@dataclass
class Plan:
    """Where every tensor is stored, and how each layer's output was placed."""

    steps: int
    storages: list[Storage] = field(default_factory=list)
    home: dict[str, int] = field(default_factory=dict)  # tensor -> storage index
    placed: dict[str, str] = field(default_factory=dict)  # layer -> "new" / "view of x" / "in place on x"

    def profile(self) -> list[int]:
        """Live bytes at every step (an event sweep: + at start, - after end)."""
        delta = [0] * (self.steps + 1)
        for s in self.storages:
            delta[s.start] += s.size
            delta[s.end + 1] -= s.size
        out, total = [], 0
        for step in range(self.steps):
            total += delta[step]
            out.append(total)
        return out


def last_readers(graph: Graph) -> dict[str, int]:
    """Tensor -> index of the last layer reading it (-1 if none)."""
    last = {INPUT: -1}
    for layer in graph.layers:
        last.setdefault(layer.name, -1)
        for source in layer.inputs:
            last[source] = layer.index
    return last


def place(graph: Graph, nbytes: dict[str, int], training: bool, inplace: bool,
          saved: dict[str, list[Saved]], keep_until: int, batch: int = 1) -> Plan:
    """Decide every tensor's storage and the forward part of each storage's lifetime.

    `saved` maps each layer recorded for backward to what it keeps (empty at inference);
    pinned storages (input, outputs) live until `keep_until`.
    """
    n = len(graph.layers)
    plan = Plan(2 * n if training else n)
    readers = last_readers(graph)
    pinned = {INPUT, *graph.outputs}
    kept = {_saved_tensor(layer, s) for layer in graph.layers for s in saved.get(layer.name, [])
            if s.kind is not SavedKind.EXTRA}

    def add(tensor: str, index: int) -> None:
        plan.home[tensor] = index
        storage = plan.storages[index]
        storage.tensors.append(tensor)
        storage.last_read = max(storage.last_read, readers[tensor])
        storage.pinned = storage.pinned or tensor in pinned
        storage.saved = storage.saved or tensor in kept

    plan.storages.append(Storage(nbytes[INPUT], [], 0, 0))
    add(INPUT, 0)
    contiguous = {INPUT: True}  # a strided view cannot be reshaped without a copy
    for layer in graph.layers:
        mode = layer.op.output_storage(layer, training)
        target = None
        source_contiguous = contiguous[layer.inputs[0]]
        if mode is OutputStorage.VIEW and (source_contiguous or not layer.op.view_needs_contiguous):
            target = plan.home[layer.inputs[0]]
            plan.placed[layer.name] = f"view of {layer.inputs[0]}"
            contiguous[layer.name] = source_contiguous and layer.op.view_is_contiguous(layer, batch)
        elif mode is OutputStorage.INPLACE and inplace:
            keeps_input = any(s.kind is SavedKind.INPUT for s in saved.get(layer.name, []))
            for i, (source, shape) in enumerate(zip(layer.inputs, layer.in_shapes)):
                home = plan.home[source]
                storage = plan.storages[home]
                # Not over a buffer another input of ours reads too (`add: {in: [a, a]}`).
                shared = any(plan.home[other] == home for j, other in enumerate(layer.inputs) if j != i)
                if (shape == layer.out_shape and not keeps_input and storage.last_read == layer.index
                        and not storage.pinned and not storage.saved and not shared):
                    target = home
                    plan.placed[layer.name] = f"in place on {source}"
                    contiguous[layer.name] = contiguous[source]
                    break
        if target is None:
            plan.storages.append(Storage(nbytes[layer.name], [], layer.index, layer.index))
            target = len(plan.storages) - 1
            plan.placed[layer.name] = "new"
            contiguous[layer.name] = True
        add(layer.name, target)
    for storage in plan.storages:
        storage.end = keep_until if storage.pinned else max(storage.start, storage.last_read)
    return plan


def _saved_tensor(layer: Layer, saved: Saved) -> str:
    return layer.inputs[saved.index] if saved.kind is SavedKind.INPUT else layer.name


def add_backward(graph: Graph, plan: Plan, nbytes: dict[str, int], extra_bytes: dict[str, list[int]],
                 saved: dict[str, list[Saved]], requires_grad: dict[str, bool]) -> None:
    """Extend `plan` with the backward pass: saved tensors live until their saver's backward
    step, extras likewise, and each gradient lives from its first contribution to the backward
    step of the layer that produced its tensor."""
    n = len(graph.layers)

    def back(layer: Layer) -> int:
        return 2 * n - 1 - layer.index

    for layer in graph.layers:
        for s in saved.get(layer.name, []):
            if s.kind is not SavedKind.EXTRA:
                storage = plan.storages[plan.home[_saved_tensor(layer, s)]]
                storage.end = max(storage.end, back(layer))
        for size in extra_bytes.get(layer.name, []):
            plan.storages.append(Storage(size, [layer.name], layer.index, back(layer), "extra", True))
    # Gradients, walking backward. A gradient is allocated when its first contribution arrives
    # (the loss' gradient of an output arrives at step n, before any layer's backward) and is
    # consumed by the backward step of the layer that produced its tensor. An input that the op
    # hands its gradient on to without a copy (Op.gradient_views: add, concat, flatten) shares
    # the buffer when it has no other reader (otherwise contributions are summed in a buffer).
    # With several readers, autograd keeps the first contribution as it comes (a view of the
    # reader's gradient when the reader hands it on) and sums into a new buffer only when the
    # second one arrives: the view's buffer lives until then, the sum's from then on.
    grad_of: dict[str, Storage] = {}
    first_view: dict[str, Storage] = {}
    readers = last_readers(graph)
    for layer in reversed(graph.layers):
        if not requires_grad[layer.name]:
            continue
        starts = [n] if layer.name in graph.outputs else []
        if readers[layer.name] >= 0:
            starts.append(back(graph.layers[readers[layer.name]]))
        if not starts:
            continue  # a dead end: no gradient flows back into it
        grad = grad_of.get(layer.name)
        if grad is None:
            start = min(starts)
            view = first_view.get(layer.name)
            if view is not None:
                start = min(back(reader) for reader in graph.consumers[layer.name]
                            if reader.index != readers[layer.name])
                view.end = max(view.end, start)
            grad = Storage(nbytes[layer.name], [layer.name], start, back(layer), "gradient")
            plan.storages.append(grad)
            # Each later contribution a reader computes into a new tensor (not a view of its
            # own gradient) exists beside the running sum until the step ends.
            for reader in graph.consumers[layer.name]:
                if back(reader) > start and not _hands_on(reader, layer.name):
                    plan.storages.append(Storage(nbytes[layer.name], [layer.name], back(reader),
                                                 back(reader), "gradient"))
        grad.end = max(grad.end, back(layer))
        for index in layer.op.gradient_views(layer):
            source = layer.inputs[index]
            if (requires_grad[source] and len(graph.consumers[source]) == 1
                    and source not in graph.outputs and source not in grad_of):
                grad.tensors.append(source)
                grad_of[source] = grad
            elif (requires_grad[source] and readers[source] == layer.index
                  and source not in graph.outputs and layer.inputs.count(source) == 1):
                first_view[source] = grad


def _hands_on(reader: Layer, source: str) -> bool:
    """Whether `reader`'s backward hands `source` its own output gradient (or a view of it)."""
    return any(reader.inputs[i] == source for i in reader.op.gradient_views(reader))
