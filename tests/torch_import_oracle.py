"""What an imported PyTorch model must reproduce, worked out from PyTorch alone.

* every layer's output shape = the shape fx's ShapeProp gives the node it came from, here
  propagated independently of the importer (on the meta device for a model built there:
  shapes without arithmetic), and turned
  channels-first where the node sits between ConvNeXt's permute(0, 2, 3, 1) and its way back;
* parameters = the model's own `numel()` sum, without the modules the eval-mode forward never
  calls (named by the test, e.g. GoogLeNet's aux classifiers);
* buffers = the batch-norm running statistics: every buffer but `num_batches_tracked`, the
  one-scalar step counter cnncalc does not model (docs/counting.md).
"""
from __future__ import annotations

from typing import Any

import torch
from torch import fx
from torch.fx.passes.shape_prop import ShapeProp

from cnncalc.analysis.cost import analyze_cost
from cnncalc.graph import Graph, load_graph_text
from cnncalc.imports.torch_source import import_module
from cnncalc.imports.write import write_spec


def node_shapes(model: Any, input_shape: list[int]) -> dict[str, tuple[int, ...]]:
    """fx node name -> its batchless output shape, channels first."""
    graph = fx.symbolic_trace(model.eval())
    device = next((p.device for p in model.parameters()), torch.device("cpu"))
    ShapeProp(graph).propagate(torch.zeros(1, *input_shape, device=device))
    shapes: dict[str, tuple[int, ...]] = {}
    channels_last: set[str] = set()
    for node in graph.graph.nodes:
        inputs = node.all_input_nodes
        moved = bool(inputs) and inputs[0].name in channels_last
        if str(node.target) == "permute" or node.target is torch.permute:
            dims = [d for d in node.args[1:]]
            dims = list(dims[0]) if len(dims) == 1 and isinstance(dims[0], (list, tuple)) else dims
            moved = dims[-1] == 1   # (0, 2, 3, 1): channels last; (0, 3, 1, 2): back
        if moved:
            channels_last.add(node.name)
        meta = node.meta.get("tensor_meta")
        if hasattr(meta, "shape"):
            shape = tuple(int(n) for n in meta.shape)[1:]
            shapes[node.name] = (shape[-1], *shape[:-1]) if moved else shape
    return shapes


def used_counts(model: Any, unused: tuple[str, ...] = ()) -> tuple[int, int]:
    """(parameters, buffers) of the model without the modules under `unused` prefixes."""
    params = sum(p.numel() for name, p in model.named_parameters() if not name.startswith(unused))
    buffers = sum(b.numel() for name, b in model.named_buffers()
                  if not name.startswith(unused) and not name.endswith("num_batches_tracked"))
    return params, buffers


def imported_graph(model: Any, input_shape: list[int], target: str = "test:model"
                   ) -> tuple[Graph, dict[str, str], list[str]]:
    """The model imported and loaded by cnncalc: (graph, layer -> fx node, notes)."""
    result = import_module(model, input_shape, target)
    graph = load_graph_text(write_spec(result.model, flat=True), f"{target}.yaml")
    return graph, {layer.name: layer.origin for layer in result.model.layers}, result.model.notes


def check_import(model: Any, input_shape: list[int], unused: tuple[str, ...] = ()) -> Graph:
    """Import `model` and assert params, buffers and every layer's shape; returns the graph."""
    graph, origin, _ = imported_graph(model, input_shape)
    shapes = node_shapes(model, input_shape)
    params, buffers = used_counts(model, unused)
    assert (graph.total_params, graph.total_buffers) == (params, buffers)
    last = {node: name for name, node in origin.items()}   # a node's last layer is its output
    compared = 0
    for layer in graph.layers:
        node = origin[layer.name]
        if last[node] == layer.name:
            assert layer.out_shape == shapes[node], (layer.name, node)
            compared += 1
    # Only a few nodes become two layers (a mean over H, W: gap then flatten).
    assert compared >= len(graph.layers) - 3
    assert analyze_cost(graph).total_macs >= 0
    return graph
