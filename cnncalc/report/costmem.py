"""JSON keys for compute and memory, shared by `summary`, `flops` and `memory` (added, never renamed).

Per layer: "macs", "flops", "activation_bytes"; top level: "total_macs", "total_flops",
"batch" and a "memory" object (exact integers, bytes). See docs/counting.md.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from cnncalc.analysis.cost import CostResult, LayerCost
    from cnncalc.analysis.memory import MemoryResult


def memory_json(mem: MemoryResult) -> dict[str, Any]:
    """The top-level "memory" object."""
    document: dict[str, Any] = {
        "batch": mem.batch,
        "dtype": mem.dtype,
        "dtype_bytes": mem.dtype_bytes,
        "params_bytes": mem.params_bytes,
        "buffers_bytes": mem.buffers_bytes,
        "input_bytes": mem.input_bytes,
        "activations_sum_bytes": mem.activations_sum_bytes,
        "inference_peak_bytes": mem.inference_peak_bytes,
        "inference_peak_layer": mem.inference_peak_layer,
        "inference_live": list(mem.inference_live),
        "inference_total_bytes": mem.inference_total_bytes,
        "inplace": list(mem.inplace),
    }
    training = mem.training
    if training is not None:
        document["optimizer"] = training.optimizer
        document["training_bytes"] = training.total_bytes
        document["training"] = {
            "params_bytes": training.params_bytes,
            "gradients_bytes": training.gradients_bytes,
            "optimizer_bytes": training.optimizer_bytes,
            "buffers_bytes": training.buffers_bytes,
            "saved_bytes": training.saved_bytes,
            "transient_bytes": training.transient_bytes,
            "activation_peak_bytes": training.activation_peak_bytes,
            "peak_phase": training.peak_phase,
            "peak_layer": training.peak_layer,
            "inplace": list(training.inplace),
            "total_bytes": training.total_bytes,
            "timeline": [{"phase": phase, "layer": layer, "live_bytes": live}
                         for phase, layer, live in training.timeline],
        }
    return document


def add_cost_memory(document: dict[str, Any], cost: CostResult, mem: MemoryResult) -> None:
    """Add the compute and memory keys to a `graph_json` document (layers in the same order)."""
    for entry, layer_cost, layer_mem in zip(document["layers"], cost.layers, mem.layers):
        entry["macs"] = layer_cost.macs
        entry["flops"] = layer_cost.flops
        entry["activation_bytes"] = layer_mem.activation_bytes
    document["batch"] = cost.batch
    document["total_macs"] = cost.total_macs
    document["total_flops"] = cost.total_flops
    document["memory"] = memory_json(mem)


def how_counted(layer: LayerCost) -> str:
    """A layer's FLOPs in words: '2 x MACs (64*112*112*147) + bias: 1 x 802,816'."""
    parts = [f"2 x MACs ({layer.macs_formula})"] if layer.macs else []
    if layer.other_flops or not parts:
        parts.append(layer.how)
    return " + ".join(parts)
