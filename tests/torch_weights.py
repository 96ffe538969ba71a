"""Give a torch_zoo model the weights of a cnncalc graph, so both compute the same function.

The zoo specs list their weighted layers in the order torch_zoo registers the matching
modules (torchvision's order), so the two sequences are paired in order; every pairing is
checked by kind and by shape, and any mismatch raises.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from cnncalc.graph import Graph

_KINDS = {"conv": ("Conv1d", "Conv2d", "Conv3d"), "deconv": ("ConvTranspose1d", "ConvTranspose2d",
                                                             "ConvTranspose3d"),
          "dense": ("Linear",), "bn": ("BatchNorm1d", "BatchNorm2d", "BatchNorm3d"),
          "layernorm": ("LayerNorm",), "groupnorm": ("GroupNorm",)}


def load_into(model: Any, graph: Graph, weights: dict[str, np.ndarray]) -> None:
    import torch

    modules = [m for _, m in model.named_modules()
               if any(type(m).__name__ in names for names in _KINDS.values())]
    layers = [layer for layer in graph.layers if layer.tensors]
    if len(modules) != len(layers):
        raise ValueError(f"{len(layers)} weighted layers but {len(modules)} torch modules")
    for layer, module in zip(layers, modules):
        if type(module).__name__ not in _KINDS[layer.op_name]:
            raise ValueError(f"{layer.name} ({layer.op_name}) paired with {type(module).__name__}")
        state = module.state_dict()
        for tensor in layer.tensors:
            value = weights[f"{layer.name}.{tensor.name}"]
            theirs = tuple(state[tensor.name].shape)
            if theirs != value.shape:
                raise ValueError(f"{layer.name}.{tensor.name}: {value.shape} vs {theirs}")
            state[tensor.name] = torch.from_numpy(np.ascontiguousarray(value, dtype=np.float32))
        module.load_state_dict(state)
