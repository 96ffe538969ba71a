"""Keras: a `.keras` file -> `ImportedModel`, with the standard library only (no TensorFlow).

A `.keras` file is a zip holding `config.json` (the model's architecture), `metadata.json`
(the Keras version) and `model.weights.h5`; the architecture is all cnncalc needs. Sequential
and Functional models are read, in the Keras 3 format (inbound nodes as call `args` holding
`__keras_tensor__`s with their `keras_history`) and the Keras 2 one (nested lists of
`[layer, node, tensor, kwargs]`). Each layer is translated by `keras_layers`; every layer that
cannot be expressed is collected and reported together (`UnsupportedModel`).
"""
from __future__ import annotations

import json
import re
import zipfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cnncalc.imports import keras_layers as kl
from cnncalc.imports import keras_weighted as kw
from cnncalc.imports.model import (
    ImportedLayer,
    ImportedModel,
    SourceError,
    UnsupportedModel,
    UnsupportedNode,
)

_NAME_LIMIT = 100  # spec/names.py's MAX_LENGTH
_MODELS = ("Sequential", "Functional", "Model")


@dataclass
class Node:
    """One Keras layer and the layers whose outputs it reads (in call order)."""

    name: str
    cls: str
    config: dict[str, Any]
    inbound: list[str]
    calls: int = 1  # how often the layer is called (shared layers: > 1)


def read_keras(path: str, input_shape: Sequence[int] | None = None) -> ImportedModel:
    """Read a `.keras` file; `input_shape` (channels-last, without the batch: H, W, C) replaces
    the model's own, and is needed when the model leaves a size open (`None`)."""
    config, version = _read_archive(path)
    cls = config.get("class_name")
    body = config.get("config")
    if cls not in _MODELS or not isinstance(body, dict) or not isinstance(body.get("layers"), list):
        raise SourceError(f"{path}: config.json does not describe a Sequential or Functional model "
                          f"(class_name {cls!r})")
    keras3 = version[0] >= 3 if version else "module" in config
    if cls == "Sequential":
        nodes, inputs, outputs, shape = _sequential(path, config, body)
    else:
        nodes, inputs, outputs, shape = _functional(path, body)
    if input_shape is not None:
        shape = list(input_shape)
    if not shape or any(not isinstance(n, int) or isinstance(n, bool) or n <= 0 for n in shape):
        raise SourceError(f"{path}: the model's input shape {shape} (without the batch) has unknown "
                          "sizes; give the input size (e.g. --input 224,224,3)")
    label = f"{Path(path).name} (Keras {'.'.join(map(str, version)) or '?'} {cls})"
    model = _translate(label, nodes, inputs, outputs, list(shape), keras3)
    model.name = _word(str(body.get("name") or Path(path).stem))
    return model


# ---------------------------------------------------------------------------- the layers

def _ranks(*names: str, dims: tuple[int, ...] = (1, 2, 3)) -> list[str]:
    return [name.format(d=d) for name in names for d in dims]


TABLE: dict[str, Callable[[kl.Context], kl.Translation]] = {
    **dict.fromkeys(_ranks("Conv{d}D", "Convolution{d}D"), kw.conv),
    **dict.fromkeys(_ranks("DepthwiseConv{d}D", dims=(1, 2)), kw.depthwise),
    **dict.fromkeys(_ranks("SeparableConv{d}D", "SeparableConvolution{d}D", dims=(1, 2)), kw.separable),
    **dict.fromkeys(_ranks("Conv{d}DTranspose", "Convolution{d}DTranspose"), kw.transposed),
    "Dense": kw.dense,
    "BatchNormalization": kw.batch_norm, "LayerNormalization": kw.layer_norm,
    "GroupNormalization": kw.group_norm,
    **dict.fromkeys(_ranks("MaxPooling{d}D", "MaxPool{d}D"), kl.pool("maxpool")),
    **dict.fromkeys(_ranks("AveragePooling{d}D", "AvgPool{d}D"), kl.pool("avgpool")),
    **dict.fromkeys(_ranks("GlobalAveragePooling{d}D", "GlobalAvgPool{d}D"), kl.global_pool("gap")),
    **dict.fromkeys(_ranks("GlobalMaxPooling{d}D", "GlobalMaxPool{d}D"), kl.global_pool("gmp")),
    "Add": kl.merge("add"), "Multiply": kl.merge("multiply"), "Concatenate": kl.concatenate,
    "Activation": kl.activation_layer, "ReLU": kl.relu_layer, "LeakyReLU": kl.leaky_relu_layer,
    "Softmax": kl.softmax_layer,
    **dict.fromkeys(_ranks("ZeroPadding{d}D"), kl.zero_padding),
    **dict.fromkeys(_ranks("Cropping{d}D"), kl.cropping),
    **dict.fromkeys(_ranks("UpSampling{d}D"), kl.upsampling),
    "Flatten": kl.flatten,
    "Dropout": kl.dropout, **dict.fromkeys(_ranks("SpatialDropout{d}D"), kl.dropout),
    "Identity": kl.identity, "Rescaling": kl.rescaling, "Normalization": kl.normalization,
}


# ---------------------------------------------------------------------------- the archive

def _read_archive(path: str) -> tuple[dict[str, Any], tuple[int, ...]]:
    """config.json (a mapping) and the Keras version from metadata.json (() if unknown)."""
    try:
        with zipfile.ZipFile(path) as archive:
            names = set(archive.namelist())
            if "config.json" not in names:
                raise SourceError(f"{path}: not a .keras model: the archive has no config.json "
                                  f"(it holds {', '.join(sorted(names)[:5]) or 'nothing'})")
            raw = archive.read("config.json")
            meta = archive.read("metadata.json") if "metadata.json" in names else b"{}"
    except FileNotFoundError:
        raise SourceError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise SourceError(f"{path}: is a directory, not a .keras file") from None
    except zipfile.BadZipFile:
        hint = " (a legacy HDF5 model: save it as .keras)" if path.endswith((".h5", ".hdf5")) else ""
        raise SourceError(f"{path}: not a .keras file: not a zip archive{hint}") from None
    except (OSError, RuntimeError, EOFError, zipfile.LargeZipFile) as err:
        raise SourceError(f"{path}: cannot read the archive: {err}") from None
    config = _json(path, "config.json", raw)
    if not isinstance(config, dict):
        raise SourceError(f"{path}: config.json is not a JSON object")
    metadata = _json(path, "metadata.json", meta)
    version = metadata.get("keras_version", "") if isinstance(metadata, dict) else ""
    numbers = tuple(int(n) for n in re.findall(r"\d+", str(version))[:3])
    return config, numbers


def _json(path: str, member: str, raw: bytes) -> Any:
    try:
        return json.loads(raw.decode("utf-8"))
    except UnicodeDecodeError:
        raise SourceError(f"{path}: {member} is not UTF-8 text") from None
    except json.JSONDecodeError as err:
        raise SourceError(f"{path}: {member} is not valid JSON: {err.msg} at line {err.lineno} "
                          f"column {err.colno}") from None
    except RecursionError:
        raise SourceError(f"{path}: {member} is nested too deeply") from None


# ---------------------------------------------------------------------------- the graph

def _layer_name(layer: dict[str, Any]) -> str:
    cfg = layer.get("config")
    return str(layer.get("name") or (cfg.get("name") if isinstance(cfg, dict) else "") or "")


def _batch_shape(cfg: dict[str, Any]) -> list[Any] | None:
    for key in ("batch_shape", "batch_input_shape"):
        if isinstance(cfg.get(key), list):
            return list(cfg[key][1:])
    if isinstance(cfg.get("input_shape"), list):  # build_config
        return list(cfg["input_shape"][1:])
    return None


def _check_layer(path: str, index: int, layer: Any) -> tuple[str, str, dict[str, Any]]:
    if not isinstance(layer, dict) or not isinstance(layer.get("class_name"), str):
        raise SourceError(f"{path}: layer {index} of config.json is not a Keras layer object")
    cfg = layer.get("config")
    if not isinstance(cfg, dict):
        raise SourceError(f"{path}: layer {index} ({layer['class_name']}) has no config object")
    return _layer_name(layer) or f"layer{index}", layer["class_name"], cfg


def _sequential(path: str, config: dict[str, Any], body: dict[str, Any]
                ) -> tuple[list[Node], list[str], list[str], list[Any] | None]:
    nodes: list[Node] = []
    shape: list[Any] | None = None
    previous = "input"
    for index, layer in enumerate(body["layers"]):
        name, cls, cfg = _check_layer(path, index, layer)
        if cls == "InputLayer":
            shape = _batch_shape(cfg)
            previous = name
            nodes.append(Node(name, cls, cfg, []))
            continue
        if shape is None and nodes == []:
            shape = _batch_shape(cfg)  # Keras 2: the first layer's batch_input_shape
        nodes.append(Node(name, cls, cfg, [previous]))
        previous = name
    if shape is None:
        build = config.get("build_config")
        built = build.get("input_shape") if isinstance(build, dict) else None
        for where in (body.get("build_input_shape"), built):
            if isinstance(where, list):
                shape = list(where[1:])
                break
    if not nodes or nodes[0].cls != "InputLayer":
        nodes.insert(0, Node("input", "InputLayer", {}, []))
        if len(nodes) > 1:
            nodes[1].inbound = ["input"]
    if len(nodes) == 1:
        raise SourceError(f"{path}: the Sequential model has no layers")
    return nodes, [nodes[0].name], [nodes[-1].name], shape


def _history(value: Any, found: list[tuple[str, int]]) -> None:
    """Every Keras 3 `__keras_tensor__` in a call's args, in order: (layer, tensor index)."""
    if isinstance(value, dict):
        if value.get("class_name") == "__keras_tensor__":
            history = (value.get("config") or {}).get("keras_history")
            if isinstance(history, list) and history and isinstance(history[0], str):
                found.append((history[0], history[2] if len(history) > 2 else 0))
            return
        for item in value.values():
            _history(item, found)
    elif isinstance(value, list):
        for item in value:
            _history(item, found)


def _inbound(path: str, name: str, nodes: Any) -> tuple[list[tuple[str, int]], int]:
    """A Functional layer's inputs (layer, tensor index) and how many times it is called."""
    if not isinstance(nodes, list):
        raise SourceError(f"{path}: layer {name!r} has no inbound_nodes list")
    if not nodes:
        return [], 0
    found: list[tuple[str, int]] = []
    first = nodes[0]
    if isinstance(first, dict):  # Keras 3: {"args": [...], "kwargs": {...}}
        _history(first.get("args", []), found)
    elif isinstance(first, list):  # Keras 2: [[layer, node, tensor, kwargs], ...]
        for item in first:
            if isinstance(item, list) and item and isinstance(item[0], str):
                found.append((item[0], item[2] if len(item) > 2 and isinstance(item[2], int) else 0))
    else:
        raise SourceError(f"{path}: layer {name!r} has inbound nodes of an unknown form")
    return found, len(nodes)


def _endpoints(value: Any) -> list[str]:
    """input_layers / output_layers: [name, 0, 0] or [[name, 0, 0], ...]."""
    if isinstance(value, list) and value and isinstance(value[0], str):
        return [value[0]]
    if isinstance(value, list):
        return [item[0] for item in value if isinstance(item, list) and item and isinstance(item[0], str)]
    return []


def _functional(path: str, body: dict[str, Any]
                ) -> tuple[list[Node], list[str], list[str], list[Any] | None]:
    nodes: list[Node] = []
    multi_output: list[str] = []
    for index, layer in enumerate(body["layers"]):
        name, cls, cfg = _check_layer(path, index, layer)
        found, calls = _inbound(path, name, layer.get("inbound_nodes", []))
        multi_output += [f"{src}[{tensor}]" for src, tensor in found if tensor]
        nodes.append(Node(name, cls, cfg, [src for src, _ in found], max(calls, 1)))
    inputs, outputs = _endpoints(body.get("input_layers")), _endpoints(body.get("output_layers"))
    known = {node.name for node in nodes}
    missing = [n for n in [*inputs, *outputs, *(s for node in nodes for s in node.inbound)] if n not in known]
    if missing:
        raise SourceError(f"{path}: config.json refers to layers it does not define: "
                          f"{', '.join(sorted(set(missing)))}")
    if not inputs or not outputs:
        raise SourceError(f"{path}: the Functional model names no input_layers or output_layers")
    if multi_output:
        raise UnsupportedModel(path, [UnsupportedNode(ref, "multi-output layer", "inputs",
                                                      "cnncalc layers have one output")
                                      for ref in multi_output])
    first = next(node for node in nodes if node.name == inputs[0])
    return _topological(path, nodes), inputs, outputs, _batch_shape(first.config)


def _topological(path: str, nodes: list[Node]) -> list[Node]:
    """Layers in an order where each comes after its inputs (Keras writes them so; checked)."""
    placed: set[str] = set()
    order: list[Node] = []
    pending = list(nodes)
    while pending:
        ready = [node for node in pending if all(src in placed for src in node.inbound)]
        if not ready:
            raise SourceError(f"{path}: the layers form a cycle: {', '.join(n.name for n in pending)}")
        for node in ready:
            placed.add(node.name)
            order.append(node)
        pending = [node for node in pending if node.name not in placed]
    return order


# ---------------------------------------------------------------------------- translation

def _word(name: str) -> str:
    """A Keras layer name as a cnncalc word (letters, digits, _ and -)."""
    word = re.sub(r"[^A-Za-z0-9_\-]", "_", name)
    if not word or not (word[0].isalpha() or word[0] == "_"):
        word = "l_" + word
    return word[:_NAME_LIMIT - 12]


class _Names:
    def __init__(self) -> None:
        self.used = {"input"}

    def take(self, wanted: str) -> str:
        name, n = wanted, 1
        while name in self.used:
            n += 1
            name = f"{wanted}_{n}"
        self.used.add(name)
        return name


def _translate(source: str, nodes: list[Node], inputs: list[str], outputs: list[str],
               shape: list[int], keras3: bool) -> ImportedModel:
    unsupported: list[UnsupportedNode] = []
    if len(inputs) > 1:
        unsupported.append(UnsupportedNode(", ".join(inputs), "InputLayer", "model inputs",
                                           f"{len(inputs)} inputs: a cnncalc spec has one"))
    names = _Names()
    produced: dict[str, str] = {}   # Keras layer -> the cnncalc layer giving its output
    tensors: dict[str, kl.Tensor] = {}
    layers: list[ImportedLayer] = []
    notes: list[str] = []
    for index, node in enumerate(nodes):
        where = f"layer {index} of {len(nodes)}" + (f", after {', '.join(node.inbound)}"
                                                    if node.inbound else "")
        if node.cls == "InputLayer":
            produced[node.name] = "input"
            tensors[node.name] = kl.Tensor(len(shape), shape[-1] if len(shape) > 1 else shape[0])
            continue
        ins = [tensors.get(src, kl.Tensor(len(shape), None, known=False)) for src in node.inbound]
        try:
            if not ins:
                raise kl.Unsupported("no input")
            if node.calls > 1:
                raise kl.Unsupported(f"shared: called {node.calls} times (cnncalc would count its "
                                     "weights once per call)")
            rule = TABLE.get(node.cls)
            if rule is None:
                kind = "a nested model (flatten it first)" if node.cls in _MODELS else "no cnncalc op"
                raise kl.Unsupported(kind)
            done = rule(kl.Context(node.name, node.cls, node.config, ins, keras3))
        except kl.Unsupported as err:
            if not (err.shape_dependent and not all(t.known for t in ins)):
                unsupported.append(UnsupportedNode(node.name, node.cls, where, err.why))
            tensors[node.name] = kl.Tensor(ins[0].rank if ins else len(shape), None, known=False)
            continue
        notes += done.notes
        previous = [produced.get(src, src) for src in node.inbound]
        base = _word(node.name)
        for piece in done.pieces:
            name = names.take(base + piece.suffix)
            layers.append(ImportedLayer(name, piece.op, piece.args, previous, node.name))
            previous = [name]
        produced[node.name] = previous[0]
        tensors[node.name] = done.out
    if unsupported:
        raise UnsupportedModel(source, unsupported)
    outs = [produced[name] for name in outputs]
    return ImportedModel("", source, shape, layers, outs, channels_last=True, notes=notes)
