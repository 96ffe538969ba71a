"""An ONNX file -> `ImportedModel`, read with the `onnx` package only (no runtime).

Weight shapes come from the initializers (their data is never needed, so external-data
files are only checked, not read); every layer's shape is cnncalc's own, checked against
ONNX's shape inference where that knows it. Nodes are translated in graph order
(`onnx_window`, `onnx_shapes`, `onnx_nodes`); constant side graphs are evaluated
(`onnx_consts`). Every node without an exact cnncalc form is collected and reported at once.
"""
from __future__ import annotations

import os
import re
from math import prod
from pathlib import Path
from typing import Any

from cnncalc.imports.model import ImportedLayer, ImportedModel, SourceError, UnsupportedModel, UnsupportedNode
from cnncalc.imports.onnx_consts import FOLD, fold
from cnncalc.imports.onnx_nodes import NODES
from cnncalc.imports.onnx_shapes import SHAPES
from cnncalc.imports.onnx_values import (
    Act,
    Context,
    Pending,
    Refuse,
    State,
    channels_last_axes,
    identity_axes,
)
from cnncalc.imports.onnx_window import WINDOW

TRANSLATE: dict[str, Any] = {**WINDOW, **SHAPES, **NODES}

# ONNX op type -> the cnncalc op(s) it becomes, for the op reference ("a, b": either, by its
# arguments or input; docs/import-onnx.md says when). Patterns of several nodes map too: x *
# sigmoid(x) -> silu, x * hardsigmoid(x) -> hardswish, Div-Erf-Add-Mul-Mul -> gelu, a written-out
# norm -> layernorm / groupnorm, Reshape-Transpose-Reshape -> channel_shuffle.
ONNX_OPS: dict[str, str] = {
    "Conv": "conv", "ConvTranspose": "deconv", "Gemm": "dense", "MatMul": "dense, channel_dense",
    "BatchNormalization": "bn", "Relu": "relu", "Clip": "relu6, relu", "LeakyRelu": "leaky_relu",
    "Sigmoid": "sigmoid, silu", "Tanh": "tanh", "HardSigmoid": "hardsigmoid, hardswish",
    "HardSwish": "hardswish", "Softmax": "softmax", "Gelu": "gelu", "Erf": "gelu", "Add": "add",
    "Mul": "multiply, scale", "Concat": "concat", "Flatten": "flatten", "Squeeze": "flatten",
    "Reshape": "flatten, channel_shuffle, groupnorm", "Pad": "pad, channel_pad",
    "Resize": "upsample", "Upsample": "upsample", "Slice": "slice", "Split": "slice",
    "MaxPool": "maxpool", "AveragePool": "avgpool", "GlobalAveragePool": "gap",
    "GlobalMaxPool": "gmp", "ReduceMean": "gap, layernorm, groupnorm", "ReduceMax": "gmp",
    "LRN": "lrn", "InstanceNormalization": "groupnorm", "GroupNormalization": "groupnorm",
    "LayerNormalization": "layernorm",
}
# ONNX ops read without making a layer: layout changes, inference no-ops, and arithmetic on
# shapes and constants (evaluated). Ops in ONNX_OPS are evaluated too where their inputs are
# constants.
ONNX_NO_LAYER: tuple[str, ...] = tuple(sorted({"Transpose", "Identity", "Dropout", "Constant", *FOLD}
                                              - set(ONNX_OPS)))

INSTALL = "reading ONNX files needs the onnx package: pip install 'cnncalc[onnx]'"


def _onnx() -> Any:
    try:
        import onnx
    except ImportError:
        raise SourceError(INSTALL) from None
    return onnx


def load(path: str) -> Any:
    """The ModelProto, its external data checked but not read; SourceError if it is not one."""
    onnx = _onnx()
    file = Path(path)
    if not file.is_file():
        raise SourceError(f"{path}: no such file")
    try:
        model = onnx.load(str(file), load_external_data=False)
    except Exception as exc:  # protobuf's DecodeError and friends: not a model at all
        raise SourceError(f"{path}: not an ONNX model, or a truncated one ({type(exc).__name__}: "
                          f"{exc})") from None
    if model.ir_version <= 0 or not model.HasField("graph") or not model.graph.node:
        raise SourceError(f"{path}: not an ONNX model (no graph with nodes)")
    from onnx.external_data_helper import uses_external_data  # with onnx, as above

    for tensor in model.graph.initializer:
        if uses_external_data(tensor):
            info = {entry.key: entry.value for entry in tensor.external_data}
            data = file.parent / info.get("location", "")
            need = int(info.get("offset", 0)) + int(info.get("length", 0))
            if not data.is_file() or os.path.getsize(data) < need:
                raise SourceError(f"{path}: the external data of '{tensor.name}' ({data}) is missing "
                                  "or too short")
            if prod(tensor.dims) <= 4096:  # small constants are read (shapes, scales)
                onnx.external_data_helper.load_external_data_for_tensor(tensor, str(file.parent))
                tensor.data_location = onnx.TensorProto.DEFAULT
    return model


def _static(type_proto: Any) -> tuple[int, ...] | None:
    shape = type_proto.tensor_type.shape
    if not type_proto.tensor_type.HasField("shape"):
        return None
    dims = [d.dim_value if d.HasField("dim_value") else 0 for d in shape.dim]
    return tuple(dims) if all(d > 0 for d in dims) else None


def _inferred(model: Any, data_input: Any) -> dict[str, tuple[int, ...]]:
    """ONNX's own shape of every tensor it can infer, on a copy without the large weights."""
    onnx = _onnx()
    small = [t for t in model.graph.initializer if prod(t.dims) <= 4096]
    large = [onnx.helper.make_tensor_value_info(t.name, t.data_type, list(t.dims))
             for t in model.graph.initializer if prod(t.dims) > 4096]
    known = {t.name for t in model.graph.initializer}
    inputs = [data_input] + [i for i in model.graph.input if i.name not in known and i is not data_input]
    graph = onnx.helper.make_graph(list(model.graph.node), "shapes", inputs + large,
                                   list(model.graph.output), small)
    light = onnx.helper.make_model(graph, opset_imports=list(model.opset_import))
    light.ir_version = model.ir_version
    try:
        done = onnx.shape_inference.infer_shapes(light, data_prop=True)
    except Exception:  # inference is only a cross-check: without it cnncalc's shapes stand
        return {}
    found = {}
    for info in (*done.graph.value_info, *done.graph.output):
        shape = _static(info.type)
        if shape is not None:
            found[info.name] = shape
    return found


def _data_input(model: Any, path: str) -> Any:
    known = {t.name for t in model.graph.initializer}
    inputs = [i for i in model.graph.input if i.name not in known]
    if len(inputs) != 1:
        names = ", ".join(i.name for i in inputs) or "none"
        raise SourceError(f"{path}: the graph has {len(inputs)} inputs ({names}); a cnncalc spec has one")
    return inputs[0]


def _input_act(model: Any, path: str, data_input: Any, input_shape: list[int] | None,
               state: State) -> tuple[Act, list[int], bool]:
    dims = [d.dim_value if d.HasField("dim_value") else None
            for d in data_input.type.tensor_type.shape.dim]
    if len(dims) < 2:
        raise SourceError(f"{path}: input '{data_input.name}' has rank {len(dims)}; cnncalc needs "
                          "[batch, channels, ...]")
    if input_shape is not None:
        if len(input_shape) != len(dims) - 1:
            raise SourceError(f"{path}: --input has {len(input_shape)} values but input "
                              f"'{data_input.name}' has {len(dims) - 1} besides the batch")
        dims[1:] = list(input_shape)
    if any(d is None or d <= 0 for d in dims[1:]):
        shown = ["?" if d is None else str(d) for d in dims]
        raise SourceError(f"{path}: input '{data_input.name}' has the dynamic shape "
                          f"[{', '.join(shown)}]: give the shape without the batch (--input)")
    state.batch = dims[0] or 1
    sizes = [int(d or 0) for d in dims[1:]]
    rank = len(sizes)
    readers = [n for n in model.graph.node if data_input.name in n.input]
    last = [0, rank, *range(1, rank)]
    if rank >= 2 and readers and all(n.op_type == "Transpose" and
                                     [int(p) for p in _attr(n, "perm", [])] == last for n in readers):
        return Act("input", (sizes[-1], *sizes[:-1]), channels_last_axes(rank), state.batch), sizes, True
    return Act("input", tuple(sizes), identity_axes(rank), state.batch), sizes, False


def _attr(node: Any, name: str, default: Any) -> Any:
    for attribute in node.attribute:
        if attribute.name == name:
            return _onnx().helper.get_attribute_value(attribute)
    return default


def _where(index: int, node: Any) -> str:
    ins = ", ".join(n for n in node.input if n) or "none"
    outs = ", ".join(n for n in node.output if n)
    return f"node {index} (reads {ins}; writes {outs})"


def read_onnx(path: str, input_shape: list[int] | None = None) -> ImportedModel:
    """Translate the ONNX file at `path`. `input_shape` (without the batch) replaces the graph
    input's shape, needed when that is symbolic. Raises SourceError or UnsupportedModel."""
    model = load(path)
    state = State(initializers={t.name: t for t in model.graph.initializer})
    state.opset = max([o.version for o in model.opset_import if o.domain in ("", "ai.onnx")] or [13])
    data_input = _data_input(model, path)
    start, shape, channels_last = _input_act(model, path, data_input, input_shape, state)
    state.values[data_input.name] = start
    fixed = _onnx().helper.make_tensor_value_info(
        data_input.name, data_input.type.tensor_type.elem_type, [state.batch, *start.onnx_shape[1:]])
    state.inferred = _inferred(model, fixed)
    state.graph_outputs = {o.name for o in model.graph.output}
    for node in model.graph.node:
        for name in node.input:
            state.consumers[name] = state.consumers.get(name, 0) + 1
            state.reader_ops.setdefault(name, set()).add(node.op_type)
    for name in state.graph_outputs:
        state.consumers[name] = state.consumers.get(name, 0) + 1
    _translate(model, path, state)
    return _finish(model, path, state, shape, channels_last)


def _translate(model: Any, path: str, state: State) -> None:
    broken: set[str] = set()
    reported: set[str] = set()

    def report(node: Any, index: int, why: str) -> None:
        key = node.name or node.output[0]
        if key not in reported:
            reported.add(key)
            state.unsupported.append(UnsupportedNode(node.name or f"({node.output[0]})", node.op_type,
                                                     _where(index, node), why))

    def key(node: Any) -> tuple[str, ...]:  # protobuf gives a new wrapper per access: not id()
        return (node.name, *node.output)

    order = {key(node): i for i, node in enumerate(model.graph.node)}
    for index, node in enumerate(model.graph.node):
        known = node.op_type in TRANSLATE or node.op_type in FOLD or node.op_type == "Constant"
        if node.domain not in ("", "ai.onnx") or not known:
            domain = f" of domain '{node.domain}'" if node.domain not in ("", "ai.onnx") else ""
            report(node, index, f"no cnncalc op for {node.op_type}{domain}")
            broken.update(node.output)
            continue
        if any(name in broken for name in node.input):
            broken.update(node.output)
            continue
        missing = [n for n in node.input if n and n not in state.values and n not in state.consts
                   and n not in state.initializers]
        if missing:
            raise SourceError(f"{path}: node '{node.name}' reads '{missing[0]}', which nothing "
                              "produces (a truncated or damaged file?)")
        ctx = Context(state, node)
        try:
            if not fold(ctx):
                TRANSLATE.get(node.op_type, _no_fold)(ctx)
        except Refuse as exc:
            pending = [v for v in (state.values.get(n) for n in node.input) if isinstance(v, Pending)]
            if pending and node.op_type not in ("Erf", "Sqrt", "Pow", "Sub", "Div"):
                first = pending[0].node
                report(first, order.get(key(first), index), f"it starts a {pending[0].kind} pattern "
                       f"that '{node.name}' ({node.op_type}) does not continue: {exc}")
            else:
                report(node, index, str(exc))
            broken.update(node.output)
    for output in model.graph.output:
        value = state.values.get(output.name)
        if isinstance(value, Pending):
            report(value.node, order[key(value.node)],
                   f"its {value.kind} pattern is left unfinished at the graph output")
        elif output.name not in broken and not isinstance(value, Act):
            state.unsupported.append(UnsupportedNode(output.name, "output", "graph output",
                                                     "a constant, not computed from the input"))


def _no_fold(ctx: Context) -> None:
    raise Refuse(f"{ctx.node.op_type} on a layer's output (cnncalc evaluates it only on constants)")


def word(text: str) -> str:
    """Any text as a cnncalc word: [A-Za-z_][A-Za-z0-9_-]*, at most 100 characters."""
    found = re.sub(r"[^A-Za-z0-9_]+", "_", text).strip("_")
    if not found or not (found[0].isalpha() or found[0] == "_"):
        found = "n_" + found
    return found[:100].rstrip("_") or "n"


def _names(state: State) -> dict[str, str]:
    """Final layer names: the module path (`layer1.0.conv1` -> layer1_0_conv1) where a module
    makes one layer, with the node's own word where it makes several."""
    per_module: dict[str, int] = {}
    for draft in state.drafts.values():
        per_module[draft.module] = per_module.get(draft.module, 0) + 1
    parents = {module[:i] for module in per_module for i, c in enumerate(module) if c == "."}
    taken: set[str] = {"input"}
    names: dict[str, str] = {}
    for ident, draft in state.drafts.items():
        if draft.module and per_module[draft.module] == 1 and draft.module not in parents:
            base = word(draft.module)
        elif draft.module:
            base = word(f"{draft.module}_{draft.suffix.lower()}")
        else:
            base = word(draft.suffix.lower())
        name, n = base, 1
        while name in taken:
            n += 1
            name = f"{base[:95]}_{n}"
        taken.add(name)
        names[ident] = name
    return names


def _finish(model: Any, path: str, state: State, shape: list[int], channels_last: bool) -> ImportedModel:
    if state.unsupported:
        raise UnsupportedModel(path, state.unsupported)
    names = _names(state)
    names["input"] = "input"
    layers = []
    for ident, draft in state.drafts.items():
        layer = draft.layer
        layers.append(ImportedLayer(names[ident], layer.op, layer.args,
                                    [names[i] for i in layer.inputs], layer.origin))
    outputs: list[str] = []
    for output in model.graph.output:
        act = state.values[output.name]
        if act.layer == "input":
            raise SourceError(f"{path}: the graph output '{output.name}' is its input unchanged")
        outputs.append(names[act.layer])
        if not act.channels_first and prod(act.shape[1:]) > 1:
            state.notes.append(f"output '{output.name}' is channels-last in the source; "
                               "cnncalc shows it channels first")
    _fold_note(model, state)
    producer = f" ({model.producer_name} {model.producer_version})".rstrip() if model.producer_name else ""
    return ImportedModel(name=Path(path).stem, source=f"{Path(path).name}{producer}", input_shape=shape,
                         layers=layers, outputs=list(dict.fromkeys(outputs)),
                         channels_last=channels_last, notes=state.notes)


def _fold_note(model: Any, state: State) -> None:
    """An exporter that folded batch norm into the convolutions left fewer parameters: say so.
    PyTorch's eval-mode export names the weights it computed while folding `onnx::Conv_*`."""
    convs = [n for n in model.graph.node if n.op_type == "Conv"]
    folded = [n for n in convs if len(n.input) > 2 and n.input[2].startswith("onnx::Conv_")]
    if folded:
        channels = sum(int(Context(state, n).weight_shape(n.input[2])[0]) for n in folded)
        state.notes.append(
            f"{len(folded)} convolutions carry weights the exporter computed (`onnx::Conv_*`): batch "
            "norm was folded into them. The source model had C more parameters per folded BN of C "
            "channels (its 2C scale and shift became a C-element conv bias, if the conv had none) and "
            f"2C more buffers: here up to {channels:,} parameters and {2 * channels:,} buffers")
        return
    biased = sum(1 for n in convs if len(n.input) > 2 and n.input[2])
    norms = {"BatchNormalization", "LayerNormalization", "GroupNormalization", "InstanceNormalization"}
    if biased and not any(n.op_type in norms for n in model.graph.node):
        state.notes.append(
            f"no normalisation nodes, and {biased} of {len(convs)} convolutions have a bias: if the "
            "exporter folded batch norm into them, the source model had C more parameters (2C scale "
            "and shift instead of a C-element bias) and 2C more buffers per folded BN of C channels")
