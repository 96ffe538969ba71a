"""Compute cost of a training step: the forward pass, and the backward pass split into the
input gradients (grad input) and the weight gradients (grad weights), from each op's rules.

A backward step makes what autograd needs, no more (PyTorch's convention, which its own FLOP
counter, `torch.utils.flop_counter`, follows): a tensor needs a gradient when it depends on a
trainable weight, so the network input needs none, a conv reading it computes only its weight
gradient, and the layers before the first weight have no backward at all. `input_grad=True`
asks for the network input's gradient too (saliency maps, the effective receptive field,
adversarial examples): then every layer computes its grad input. Where a tensor is read by k
layers, autograd sums k gradients: k - 1 adds per value, counted in the grad-input FLOPs of
the readers after the first.
"""
from __future__ import annotations

from dataclasses import dataclass
from math import prod
from typing import TYPE_CHECKING

from cnncalc.analysis.cost import CostResult, analyze_cost
from cnncalc.gcpause import gc_paused
from cnncalc.spec.refs import INPUT
from cnncalc.text import fmt_int

if TYPE_CHECKING:
    from cnncalc.graph import Graph, Layer


@dataclass(frozen=True)
class LayerBackward:
    """One layer's backward cost at the analysed batch size (FLOPs include 2 x the MACs)."""

    name: str
    op_name: str
    grad_input_macs: int
    grad_weight_macs: int
    grad_input_flops: int
    grad_weight_flops: int
    how: str  # how the backward was counted for one sample ('' when it has no backward)

    @property
    def macs(self) -> int:
        return self.grad_input_macs + self.grad_weight_macs

    @property
    def flops(self) -> int:
        return self.grad_input_flops + self.grad_weight_flops


@dataclass(frozen=True)
class TrainingCost:
    """Forward and backward cost of every layer (topological order) of one training step."""

    forward: CostResult
    backward: list[LayerBackward]
    input_grad: bool  # whether the network input's gradient is computed

    @property
    def batch(self) -> int:
        return self.forward.batch

    @property
    def backward_macs(self) -> int:
        return sum(layer.macs for layer in self.backward)

    @property
    def backward_flops(self) -> int:
        return sum(layer.flops for layer in self.backward)

    @property
    def grad_input_flops(self) -> int:
        return sum(layer.grad_input_flops for layer in self.backward)

    @property
    def grad_weight_flops(self) -> int:
        return sum(layer.grad_weight_flops for layer in self.backward)

    @property
    def total_macs(self) -> int:
        return self.forward.total_macs + self.backward_macs

    @property
    def total_flops(self) -> int:
        return self.forward.total_flops + self.backward_flops

    def layer(self, name: str) -> LayerBackward:
        return next(layer for layer in self.backward if layer.name == name)


def needs_grad(graph: Graph, input_grad: bool = False) -> dict[str, bool]:
    """Per tensor (INPUT and every layer): whether backward computes its gradient, i.e. it
    depends on a trainable weight (or on the input, with `input_grad`)."""
    needs = {INPUT: input_grad}
    for layer in graph.layers:
        needs[layer.name] = layer.params > 0 or any(needs[src] for src in layer.inputs)
    return needs


@gc_paused()
def analyze_training_cost(graph: Graph, batch: int = 1, input_grad: bool = False) -> TrainingCost:
    """Forward and backward MACs/FLOPs of every layer for a batch of `batch` samples."""
    forward = analyze_cost(graph, batch)
    needs = needs_grad(graph, input_grad)
    readers: dict[str, int] = {}  # how many layers have handed a gradient to each tensor so far
    layers = []
    for layer in graph.layers:
        wants_input = any(needs[src] for src in layer.inputs)
        sums, sum_how = 0, []
        if wants_input:
            for src in dict.fromkeys(layer.inputs):
                if needs[src] and readers.get(src, 0):
                    size = prod(graph.shape_of(src))
                    sums += size
                    sum_how.append(f"{fmt_int(size)} adds summing the gradient of '{src}'")
                readers[src] = readers.get(src, 0) + needs[src]
        layers.append(_layer_backward(layer, batch, wants_input, sums, sum_how))
    return TrainingCost(forward, layers, input_grad)


def _layer_backward(layer: Layer, batch: int, wants_input: bool, sums: int,
                    sum_how: list[str]) -> LayerBackward:
    op = layer.op
    if not wants_input and layer.params == 0:
        return LayerBackward(layer.name, layer.op_name, 0, 0, 0, 0, "")
    w_macs, w_flops = op.weight_grad_macs(layer), op.weight_grad_flops(layer)
    all_flops, flops_how = op.backward_flops(layer)
    i_macs = op.backward_macs(layer) - w_macs if wants_input else 0
    i_flops = (all_flops - w_flops + sums) if wants_input else 0
    if not wants_input:  # a weighted layer reading only tensors that need no gradient
        parts = [f"2 x MACs ({fmt_int(w_macs)})"] if w_macs else []
        parts += [f"{fmt_int(w_flops)} other grad-weight FLOPs"] if w_flops else []
        how = "grad weights only (no input needs a gradient): " + (" + ".join(parts) or "0")
    else:
        parts = [f"2 x MACs ({op.backward_macs_formula(layer)})"] if op.backward_macs(layer) else []
        parts += [flops_how] if all_flops or not (parts or sum_how) else []
        how = " + ".join(parts + sum_how)
    return LayerBackward(layer.name, layer.op_name, batch * i_macs, batch * w_macs,
                         batch * (2 * i_macs + i_flops), batch * (2 * w_macs + w_flops),
                         how)
