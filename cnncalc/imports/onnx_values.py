"""What an ONNX tensor is while a graph is translated, and the translation's running state.

Every tensor of the graph becomes one of three things: a constant (an initializer, a
`Constant` node or a side graph computed from shapes: NumPy arrays, never layers), an `Act`
(the output of a cnncalc layer, seen through a transpose: ConvNeXt runs its MLP channels
last), or a `Pending` step of a pattern that only means something whole (the Erf form of
GELU, a normalisation written out, a channel shuffle's Reshape-Transpose-Reshape).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from cnncalc.imports.model import ImportedLayer, UnsupportedNode
from cnncalc.ops.args import REQUIRED
from cnncalc.ops.base import OpError
from cnncalc.ops.registry import ops
from cnncalc.text import fmt_shape


class Refuse(Exception):
    """This node has no exact cnncalc equivalent; the message says why."""


@dataclass(frozen=True)
class Act:
    """The output of cnncalc layer `layer` (or "input"), `shape` channels first without the
    batch. ONNX axis i of the tensor holds cnncalc axis `axes[i]` of (batch, *shape)."""

    layer: str
    shape: tuple[int, ...]
    axes: tuple[int, ...]
    batch: int = 1

    @property
    def onnx_shape(self) -> tuple[int, ...]:
        full = (self.batch, *self.shape)
        return tuple(full[a] for a in self.axes)

    @property
    def channels_first(self) -> bool:
        return self.axes == tuple(range(len(self.axes)))

    def axis(self, onnx_axis: int) -> int:
        """The cnncalc axis (0 = channels) an ONNX axis of this tensor is."""
        rank = len(self.axes)
        if not -rank <= onnx_axis < rank:
            raise Refuse(f"axis {onnx_axis} is outside a rank-{rank} tensor")
        found = self.axes[onnx_axis % rank]
        if found == 0:
            raise Refuse("it works along the batch axis")
        return found - 1

    def with_axes(self, axes: tuple[int, ...]) -> Act:
        return Act(self.layer, self.shape, axes, self.batch)


def identity_axes(rank: int) -> tuple[int, ...]:
    return tuple(range(rank + 1))


def channels_last_axes(rank: int) -> tuple[int, ...]:
    """(batch, spatial..., channels) for a cnncalc shape of `rank` axes."""
    return (0, *range(2, rank + 1), 1)


@dataclass(frozen=True)
class Pending:
    """A step of a multi-node pattern: `kind` says which, `source` is the tensor it started
    from, `node` the node that began it (named when the pattern is left unfinished)."""

    kind: str
    source: Act
    node: Any                       # onnx NodeProto
    info: tuple[tuple[str, Any], ...] = ()

    def get(self, key: str) -> Any:
        return dict(self.info)[key]

    def then(self, kind: str, **info: Any) -> Pending:
        return Pending(kind, self.source, self.node, tuple({**dict(self.info), **info}.items()))


Value = Any  # numpy.ndarray | Act | Pending


def cnncalc_shape(op_name: str, args: dict[str, object],
                  inputs: list[tuple[int, ...]]) -> tuple[int, ...]:
    """The output shape cnncalc itself gives this layer (its own argument checks and shape
    rule), so the importer never guesses a shape; a refusal carries cnncalc's message."""
    registry = ops()
    if op_name not in registry:
        raise Refuse(f"it needs cnncalc's {op_name} op, which this version of cnncalc lacks")
    op = registry[op_name]
    checked: dict[str, Any] = {}
    try:
        for arg in op.arguments:
            if arg.name in args:
                checked[arg.name] = arg.type.check(args[arg.name])
            else:
                checked[arg.name] = None if arg.default in (None, REQUIRED) else arg.type.check(arg.default)
        shape, _ = op.infer(checked, inputs)
    except (OpError, ValueError) as exc:
        raise Refuse(f"cnncalc's {op_name} refuses it: {exc}") from None
    if min(shape, default=1) <= 0:
        raise Refuse(f"cnncalc's {op_name} would give the empty shape {fmt_shape(shape)}")
    return tuple(shape)


@dataclass
class Draft:
    """A layer before it has its final name: `module` is the source's module path (dotted),
    `suffix` the node's own word, used when a module holds more than one layer."""

    layer: ImportedLayer
    module: str
    suffix: str


@dataclass
class State:
    """The translation so far."""

    values: dict[str, Value] = field(default_factory=dict)
    drafts: dict[str, Draft] = field(default_factory=dict)      # by internal id
    consumers: dict[str, int] = field(default_factory=dict)     # readers of each tensor
    reader_ops: dict[str, set[str]] = field(default_factory=dict)  # their op types
    unsupported: list[UnsupportedNode] = field(default_factory=list)
    inferred: dict[str, tuple[int, ...]] = field(default_factory=dict)   # ONNX's own shapes
    opset: int = 13
    notes: list[str] = field(default_factory=list)
    initializers: dict[str, Any] = field(default_factory=dict)  # name -> onnx TensorProto
    consts: dict[str, Any] = field(default_factory=dict)        # name -> numpy array
    batch: int = 1
    graph_outputs: set[str] = field(default_factory=set)


def module_path(node_name: str) -> tuple[str, str]:
    """PyTorch's exporter names a node `/layer1/layer1.0/conv1/Conv`: the scopes, each either
    a child's name or a Sequential's dotted one (`layer1.0` extends `layer1`), then the node's
    own word. -> ("layer1.0.conv1", "Conv"). Other names: ("", the name)."""
    if not node_name.startswith("/"):
        return "", node_name
    *scopes, word = node_name[1:].split("/")
    path: list[str] = []
    for scope in scopes:
        if path and scope.startswith(path[-1] + "."):
            path[-1] = scope
        elif scope:
            path.append(scope)
    return ".".join(path), word


class Context:
    """One node being translated: reading its inputs, writing its outputs, emitting layers."""

    def __init__(self, state: State, node: Any) -> None:
        self.state = state
        self.node = node
        self.module, self.word = module_path(node.name)
        if not node.name:
            self.word = node.output[0] if node.output else node.op_type

    def attr(self, name: str, default: Any = None) -> Any:
        for attribute in self.node.attribute:
            if attribute.name == name:
                import onnx  # only ever loaded with the ONNX importer

                value = onnx.helper.get_attribute_value(attribute)
                return value.decode() if isinstance(value, bytes) else value
        return default

    def input(self, index: int) -> str:
        """The name of input `index`, "" if it is absent (optional inputs)."""
        return self.node.input[index] if index < len(self.node.input) else ""

    def const(self, name: str) -> Any:
        """The value of a constant tensor (NumPy), None if `name` is not a constant."""
        state = self.state
        if name in state.consts:
            return state.consts[name]
        if name in state.initializers:
            from onnx import numpy_helper  # only ever loaded with the ONNX importer

            state.consts[name] = numpy_helper.to_array(state.initializers[name])
            return state.consts[name]
        return None

    def is_const(self, name: str) -> bool:
        return name in self.state.consts or name in self.state.initializers

    def weight_shape(self, name: str) -> tuple[int, ...]:
        """A constant's shape without reading its data (weights can be large)."""
        if name in self.state.initializers:
            return tuple(int(d) for d in self.state.initializers[name].dims)
        if name in self.state.consts:
            return tuple(self.state.consts[name].shape)
        raise Refuse(f"its weight '{name}' is computed in the graph, not a stored constant")

    def value(self, index: int) -> Value:
        name = self.input(index)
        if self.is_const(name):
            return self.const(name)
        return self.state.values[name]

    def act(self, index: int = 0) -> Act:
        value = self.value(index)
        if not isinstance(value, Act):
            what = "a constant" if not isinstance(value, Pending) else f"a partial {value.kind} pattern"
            raise Refuse(f"its input '{self.input(index)}' is {what}, not a layer's output")
        return value

    def put(self, value: Value, index: int = 0) -> None:
        """Output `index` of the node is `value`; an `Act` is checked against ONNX's shape."""
        name = self.node.output[index]
        if isinstance(value, Act):
            known = self.state.inferred.get(name)
            if known is not None and known[1:] != value.onnx_shape[1:]:
                raise Refuse(f"cnncalc gives its output the shape {fmt_shape(value.onnx_shape[1:])} "
                             f"but the ONNX graph says {fmt_shape(known[1:])}")
        self.state.values[name] = value

    def emit(self, op: str, args: dict[str, object], inputs: list[Act], word: str = "") -> Act:
        """A new cnncalc layer reading `inputs`; its (channels-first) output."""
        shape = cnncalc_shape(op, args, [a.shape for a in inputs])
        ident = f"~{len(self.state.drafts)}"
        layer = ImportedLayer(ident, op, args, [a.layer for a in inputs], self.module or self.node.name)
        self.state.drafts[ident] = Draft(layer, self.module, word or self.word)
        return Act(ident, shape, identity_axes(len(shape)), self.state.batch)

    def draft(self, act: Act) -> Draft | None:
        return self.state.drafts.get(act.layer)

    def readers(self, index: int = 0) -> int:
        return self.state.consumers.get(self.input(index), 0)
