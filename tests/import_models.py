"""Test helpers for the import writer: cnncalc's own graphs as imported models, and the
comparison of two loaded graphs that must be the same network."""
from __future__ import annotations

from typing import Any

from cnncalc.graph import Graph
from cnncalc.imports.model import ImportedLayer, ImportedModel
from cnncalc.ops.args import REQUIRED


def _default(layer: Any, key: str) -> object:
    for arg in layer.op.arguments:
        if arg.name == key:
            return None if arg.default in (None, REQUIRED) else arg.type.check(arg.default)
    raise KeyError(key)


def graph_model(graph: Graph, hierarchy: bool = True) -> ImportedModel:
    """A loaded graph as an importer would hand it over: flat names (`layer1_0_conv1`),
    defaults left out, and origins from the dotted names (or none, as ONNX gives)."""
    flat = {layer.name: layer.name.replace(".", "_") for layer in graph.layers}
    flat["input"] = "input"
    assert len(set(flat.values())) == len(flat), "two layers with one flat name"
    layers = []
    for layer in graph.layers:
        args = {key: (list(value) if isinstance(value, tuple) else value)
                for key, value in layer.args.items() if repr(value) != repr(_default(layer, key))}
        layers.append(ImportedLayer(flat[layer.name], layer.op_name, args,
                                    [flat[name] for name in layer.inputs],
                                    layer.name if hierarchy else ""))
    return ImportedModel(graph.name, f"the test graph {graph.name}", list(graph.input_shape),
                         layers, [flat[name] for name in graph.outputs])


def same_network(flat: Graph, folded: Graph, names: dict[str, str]) -> None:
    """The folded graph is the flat one with layers renamed by `names`: same order, ops,
    arguments, inputs, shapes, weights and outputs."""
    assert len(flat.layers) == len(folded.layers)
    assert sorted(names) == sorted(layer.name for layer in flat.layers)
    assert len(set(names.values())) == len(names)
    rename = {**names, "input": "input"}
    for a, b in zip(flat.layers, folded.layers):
        where = f"{a.name} -> {b.name}"
        assert rename[a.name] == b.name, where
        assert a.op_name == b.op_name, where
        assert repr(a.args) == repr(b.args), where
        assert [rename[n] for n in a.inputs] == b.inputs, where
        assert a.in_shapes == b.in_shapes and a.out_shape == b.out_shape, where
        assert (a.params, a.buffers) == (b.params, b.buffers), where
    assert [rename[n] for n in flat.outputs] == folded.outputs
    assert flat.input_shape == folded.input_shape
