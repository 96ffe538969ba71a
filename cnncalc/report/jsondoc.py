"""The `--json` document every command prints: these keys are stable; commands add keys."""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from cnncalc.graph import Graph


def graph_json(graph: Graph) -> dict[str, Any]:
    return {
        "name": graph.name,
        "file": graph.spec.file,
        "input_shape": list(graph.input_shape),
        "dtype": graph.spec.dtype,
        "output_shapes": {name: list(shape) for name, shape in graph.output_shapes.items()},
        "total_params": graph.total_params,
        "trainable_params": graph.total_params,
        "buffers": graph.total_buffers,
        "layers": [
            {
                "name": layer.name,
                "op": layer.op_name,
                "inputs": list(layer.inputs),
                "output_shape": list(layer.out_shape),
                "params": layer.params,
                "buffers": layer.buffers,
                "block": layer.path[-1] if layer.path else None,
            }
            for layer in graph.layers
        ],
    }
