"""Compute cost: MACs and FLOPs per layer and in total, from each op's declared rules.

MACs are the multiply-accumulates of conv, deconv and dense (bias excluded): exactly what
torchvision publishes as a model's `_ops` (at batch 1). FLOPs are 2 x MACs (a multiply and an
add each) plus the element-wise work every op declares (`Op.flops`: bias, normalisation,
activations, pooling, merges), so the two never mix conventions. Figures are those of one
inference forward pass; `batch` multiplies every figure (weights are shared, work is not).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from cnncalc.gcpause import gc_paused

if TYPE_CHECKING:
    from cnncalc.graph import Graph


@dataclass(frozen=True)
class LayerCost:
    """One layer's cost at the analysed batch size."""

    name: str
    op_name: str  # the op's name (Layer.op is the Op object)
    macs: int  # multiply-accumulates (conv, deconv, dense; 0 elsewhere)
    flops: int  # 2 * macs + other_flops
    other_flops: int  # the op's declared FLOPs besides the MACs
    macs_formula: str  # the MAC count written out for one sample ('' if none)
    how: str  # how `other_flops` was counted for one sample


@dataclass(frozen=True)
class CostResult:
    """Per-layer and total MACs/FLOPs of a graph (layers in topological order)."""

    batch: int
    layers: list[LayerCost]

    @property
    def total_macs(self) -> int:
        return sum(layer.macs for layer in self.layers)

    @property
    def total_flops(self) -> int:
        return sum(layer.flops for layer in self.layers)

    def layer(self, name: str) -> LayerCost:
        return next(layer for layer in self.layers if layer.name == name)

    def top(self, n: int, key: str = "flops") -> list[LayerCost]:
        """The n heaviest layers by `key` ("flops" or "macs"), heaviest first; ties keep order."""
        ranked = sorted(self.layers, key=lambda layer: -getattr(layer, key))
        return [layer for layer in ranked[:n] if getattr(layer, key) > 0]

    def by_op(self) -> dict[str, tuple[int, int]]:
        """op -> (MACs, FLOPs), heaviest FLOPs first: which kinds of layer the work is in."""
        totals: dict[str, tuple[int, int]] = {}
        for layer in self.layers:
            macs, flops = totals.get(layer.op_name, (0, 0))
            totals[layer.op_name] = (macs + layer.macs, flops + layer.flops)
        return dict(sorted(totals.items(), key=lambda item: -item[1][1]))


@gc_paused()
def analyze_cost(graph: Graph, batch: int = 1) -> CostResult:
    """MACs and FLOPs of every layer of `graph` for a batch of `batch` samples."""
    if batch < 1:
        raise ValueError(f"batch must be >= 1, got {batch}")
    layers = []
    for layer in graph.layers:
        macs = layer.op.macs(layer)
        other_flops, how = layer.op.flops(layer)
        layers.append(LayerCost(layer.name, layer.op_name, batch * macs,
                                batch * (2 * macs + other_flops), batch * other_flops,
                                layer.op.macs_formula(layer), how))
    return CostResult(batch, layers)
