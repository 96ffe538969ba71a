"""Latency lower bounds from the roofline model (Williams, Waterman and Patterson 2009).

A layer cannot finish before its arithmetic is done at the device's peak rate, nor before
the bytes it must move have crossed the memory bus at peak bandwidth:

    bound = max(FLOPs / peak_flops[dtype], bytes / bandwidth)

where bytes = (distinct inputs + output) x batch + weights (trainable and buffers), in the
element type: each layer reads its inputs and weights from memory and writes its output.
The network's `latency_bound_s` is the sum over layers: a bound for layer-by-layer execution
(what eager frameworks do). Fusing layers or keeping tensors in cache can skip some traffic,
so `compulsory_bound_s` (all FLOPs at peak, or only the network input, the weights and the
outputs crossing the bus, whichever is slower) is a bound no schedule can beat. Layers that
frameworks run as views of their input (flatten, identity, slice; dropout at inference) move
nothing and get a bound of 0, so the sum never counts traffic that does not happen.
"""
from __future__ import annotations

from dataclasses import dataclass
from math import prod
from typing import TYPE_CHECKING

from cnncalc.analysis.cost import CostResult, analyze_cost
from cnncalc.ops.base import OutputStorage
from cnncalc.spec.dtypes import DTYPE_BYTES

if TYPE_CHECKING:
    from cnncalc.devices import Device
    from cnncalc.graph import Graph


@dataclass(frozen=True)
class LayerBound:
    name: str
    op_name: str
    flops: int
    bytes_moved: int
    compute_s: float
    memory_s: float

    @property
    def bound_s(self) -> float:
        return max(self.compute_s, self.memory_s)

    @property
    def intensity(self) -> float:
        """Arithmetic intensity, FLOPs per byte moved."""
        return self.flops / self.bytes_moved if self.bytes_moved else 0.0

    @property
    def limit(self) -> str:
        return "compute" if self.compute_s >= self.memory_s else "memory"


@dataclass(frozen=True)
class Roofline:
    device: Device
    dtype: str
    batch: int
    layers: list[LayerBound]
    compulsory_bytes: int
    total_flops: int

    @property
    def latency_bound_s(self) -> float:
        return sum(layer.bound_s for layer in self.layers)

    @property
    def compulsory_bound_s(self) -> float:
        return max(self.total_flops / self.peak, self.compulsory_bytes / self.device.bandwidth)

    @property
    def peak(self) -> float:
        return self.device.peak_flops[self.dtype]

    @property
    def ridge(self) -> float:
        """The intensity (FLOPs/byte) above which a layer is compute-bound on this device."""
        return self.peak / self.device.bandwidth


class NoPeak(ValueError):
    """The device states no peak for the spec's element type."""


def analyze_roofline(graph: Graph, device: Device, batch: int = 1,
                     dtype: str | None = None, cost: CostResult | None = None) -> Roofline:
    """Per-layer and total latency lower bounds of `graph` on `device`; `cost` is the cost
    analysis at `batch` when the caller has it already."""
    dtype = dtype or graph.spec.dtype
    if dtype not in device.peak_flops:
        raise NoPeak(f"device '{device.name}' states no peak for {dtype} (it has "
                     f"{', '.join(device.peak_flops)})")
    peak, bandwidth, width = device.peak_flops[dtype], device.bandwidth, DTYPE_BYTES[dtype]
    if cost is None or cost.batch != batch:
        cost = analyze_cost(graph, batch)
    layers = []
    for layer, lc in zip(graph.layers, cost.layers):
        # a tensor read twice (add: [x, x]) crosses the bus once
        inputs = sum(prod(graph.shape_of(name)) for name in dict.fromkeys(layer.inputs))
        moved = (batch * (inputs + layer.out_size) + layer.params + layer.buffers) * width
        if layer.op.output_storage(layer, False) is OutputStorage.VIEW:
            moved = 0  # a view (flatten, slice, identity, dropout at inference) moves nothing
        layers.append(LayerBound(layer.name, layer.op_name, lc.flops, moved,
                                 lc.flops / peak, moved / bandwidth))
    compulsory = (batch * (prod(graph.input_shape) + sum(prod(s) for s in graph.output_shapes.values()))
                  + graph.total_params + graph.total_buffers) * width
    return Roofline(device, dtype, batch, layers, compulsory, cost.total_flops)
