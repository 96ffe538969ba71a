"""A shape-propagated torch.fx graph -> cnncalc layers, node by node.

Every node becomes a value (`torch_values`): a tensor held by a cnncalc layer, a part of a
chunk, a parameter, or a plain Python value. The shape side computations fx leaves behind
(`x.size()`, `getitem`, `//`) are evaluated on those plain values and emit nothing. A node
cnncalc cannot express is recorded with why, and its output carries on as a "poisoned"
tensor so that every other such node is found too: the caller gets them all at once.
"""
from __future__ import annotations

import re
from collections import Counter
from typing import Any

import torch
from torch import fx

from cnncalc.imports import torch_functions, torch_modules, torch_reshape
from cnncalc.imports.model import ImportedLayer, UnsupportedNode
from cnncalc.imports.torch_values import CHANNELS_FIRST, Param, Piece, Poisoned, Tensor, Unsupported

assert torch_reshape.HANDLED   # its handlers are registered in torch_functions' tables
MAX_NAME = 100   # cnncalc's longest layer name (spec/names.py)


def word(path: str) -> str:
    """A module path as a cnncalc word: `layer1.0.conv1` -> `layer1_0_conv1`."""
    text = re.sub(r"[^A-Za-z0-9_\-]", "_", path.replace(".", "_")) or "layer"
    if not re.match(r"[A-Za-z_]", text):
        text = "_" + text
    return text[:MAX_NAME]


class Converter:
    def __init__(self, root: fx.GraphModule, source: str) -> None:
        self.root = root
        self.source = source
        self.modules = dict(root.named_modules())
        self.values: dict[fx.Node, Any] = {}
        self.layers: list[ImportedLayer] = []
        self.expected: dict[str, tuple[int, ...]] = {}   # layer -> the PyTorch node's shape
        self.names: set[str] = {"input"}
        self.problems: list[UnsupportedNode] = []
        self.calls: Counter[str] = Counter()               # module path -> times called
        self.read_params: set[str] = set()                 # get_attr targets
        self.materialised: dict[Piece, Tensor] = {}
        self.node: fx.Node | None = None                   # the node being translated
        self.inputs_seen = 0

    # -- the walk ----------------------------------------------------------------------------

    def run(self) -> list[str]:
        """Translate every node; the names of the layers that are the outputs."""
        outputs: list[str] = []
        for node in self.root.graph.nodes:
            self.node = node
            if node.op == "output":
                outputs = self.outputs(fx.node.map_arg(node.args[0], self.values.__getitem__))
                continue
            try:
                self.values[node] = self.visit(node)
            except Poisoned:
                self.values[node] = self.poison(node)
            except Unsupported as exc:
                self.report(node, str(exc))
                self.values[node] = self.poison(node)
        return outputs

    def visit(self, node: fx.Node) -> Any:
        if node.op == "placeholder":
            self.inputs_seen += 1
            if self.inputs_seen > 1:
                raise Unsupported("a second input: a cnncalc network has one input")
            return Tensor("input", self.shape(node))
        if node.op == "get_attr":
            value = self.root
            for part in node.target.split("."):   # type: ignore[union-attr]
                value = getattr(value, part)
            if isinstance(value, torch.Tensor):
                self.read_params.add(str(node.target))
                return Param(str(node.target), value, isinstance(value, torch.nn.Parameter))
            return value
        args = fx.node.map_arg(node.args, self.values.__getitem__)
        kwargs = fx.node.map_arg(node.kwargs, self.values.__getitem__)
        if node.op == "call_module":
            self.calls[str(node.target)] += 1
            module = self.modules[str(node.target)]
            return torch_modules.call(self, node, module, args, kwargs)
        if not _holds_tensor((args, kwargs)):
            return self.evaluate(node, args, kwargs)
        return torch_functions.call(self, node, args, kwargs)

    def evaluate(self, node: fx.Node, args: Any, kwargs: Any) -> Any:
        """A side computation on plain values (shapes, sizes, constants): run it."""
        try:
            if node.op == "call_method":
                return getattr(args[0], str(node.target))(*args[1:], **kwargs)
            return node.target(*args, **kwargs)   # type: ignore[operator]
        except Exception as exc:  # the user's own code failing on plain values
            raise Unsupported(f"evaluating it on constants failed: {exc}") from None

    def outputs(self, value: Any) -> list[str]:
        found: list[str] = []
        for item in _flat(value):
            if isinstance(item, Piece):
                item = self.tensor(item)
            if not isinstance(item, Tensor):
                continue
            if item.poisoned:
                continue
            if item.layout != CHANNELS_FIRST or item.shuffle:
                self.report(self.node, "the output is left in a permuted layout")  # type: ignore[arg-type]
                continue
            if item.layer == "input":
                item = self.emit("identity", {}, [item], base="output")
            found.append(item.layer)
        if not found and not self.problems:
            self.report(self.node, "the model returns no tensor")  # type: ignore[arg-type]
        return found

    # -- emitting layers ---------------------------------------------------------------------

    def emit(self, op: str, args: dict[str, Any], inputs: list[Tensor], *, base: str | None = None,
             shape: tuple[int, ...] | None = None, layout: str | None = None,
             name: str | None = None) -> Tensor:
        """Add one cnncalc layer for the current node and return the tensor it makes.

        `shape` defaults to the node's propagated shape and `layout` to the first input's;
        `name` (a module path) or `base` (a word inside the node's module scope) name it.
        """
        node = self.node
        assert node is not None
        if any(t.poisoned for t in inputs):
            raise Poisoned("")  # already reported upstream
        out = Tensor("", shape if shape is not None else self.shape(node),
                     layout or inputs[0].layout)
        layer_name = self.unique(word(name) if name is not None else self.scoped(node, base))
        origin = node.name   # unique, unlike a module path (a ReLU module called 3 times)
        self.layers.append(ImportedLayer(layer_name, op, args, [t.layer for t in inputs], origin))
        out = Tensor(layer_name, out.shape, out.layout)
        self.expected[layer_name] = out.cnncalc_shape()
        return out

    def tensor(self, value: Any) -> Tensor:
        """A value a layer reads as a tensor (a chunk's part becomes its `slice` layer)."""
        if isinstance(value, Piece):
            if value not in self.materialised:
                source = value.source
                shape = list(source.shape)
                shape[value.dim] = value.stop - value.start
                args: dict[str, Any] = {"start": value.start, "stop": value.stop}
                axis = source.axis(value.dim)
                if axis:
                    args["axis"] = axis
                self.materialised[value] = self.emit("slice", args, [source], base="slice",
                                                     shape=tuple(shape))
            return self.materialised[value]
        if isinstance(value, Tensor):
            if value.shuffle:
                raise Unsupported("a reshape that is not part of a channel shuffle")
            return value
        if isinstance(value, Param):
            raise Unsupported(f"a tensor computed from the parameter {value.target}")
        raise Unsupported(f"expected a tensor, got {type(value).__name__}")

    def scoped(self, node: fx.Node, base: str | None) -> str:
        """`layer1.0` + `add` -> `layer1_0_add`; the module's own name when it is the op."""
        base = base or re.sub(r"_\d+$", "", node.name)
        scope = self.scope(node)
        if not scope:
            return word(base)
        if scope.rsplit(".", 1)[-1] == base:
            return word(scope)
        return word(f"{scope}.{base}")

    def scope(self, node: fx.Node) -> str:
        """The path of the innermost module whose forward made this node ('' for the root)."""
        stack = node.meta.get("nn_module_stack") or {}
        if not stack:
            return ""
        entry = list(stack.values())[-1]
        return str(entry[0] if isinstance(entry, tuple) else entry)

    def unique(self, name: str) -> str:
        candidate, index = name, 0
        while candidate in self.names:
            index += 1
            suffix = f"_{index}"
            candidate = name[:MAX_NAME - len(suffix)] + suffix
        self.names.add(candidate)
        return candidate

    # -- shapes and problems -----------------------------------------------------------------

    def shape(self, node: fx.Node) -> tuple[int, ...]:
        meta = node.meta.get("tensor_meta")
        if meta is None or not hasattr(meta, "shape"):
            raise Unsupported("PyTorch gave it no tensor shape")
        return tuple(int(n) for n in meta.shape)

    def poison(self, node: fx.Node) -> Any:
        meta = node.meta.get("tensor_meta")
        if meta is not None and hasattr(meta, "shape"):
            return Tensor(f"<{node.name}>", tuple(int(n) for n in meta.shape), poisoned=True)
        if isinstance(meta, (tuple, list)):
            return tuple(Tensor(f"<{node.name}>", tuple(int(n) for n in m.shape), poisoned=True)
                         for m in meta if hasattr(m, "shape"))
        return Tensor(f"<{node.name}>", (), poisoned=True)

    def report(self, node: fx.Node, why: str) -> None:
        self.problems.append(UnsupportedNode(node.name, self.op_type(node),
                                             self.scope(node) or "the model's forward", why))

    def op_type(self, node: fx.Node) -> str:
        if node.op == "call_module":
            kind = type(self.modules[str(node.target)])
            return f"{kind.__module__}.{kind.__qualname__}"
        if node.op == "call_method":
            return f"Tensor.{node.target}"
        if node.op == "call_function":
            target = node.target
            module = (getattr(target, "__module__", None) or "torch").replace("_operator", "operator")
            return f"{module}.{getattr(target, '__name__', target)}"
        return node.op


def _flat(value: Any) -> list[Any]:
    if isinstance(value, (tuple, list)):
        return [item for part in value for item in _flat(part)]
    if isinstance(value, dict):
        return [item for part in value.values() for item in _flat(part)]
    return [value]


def _holds_tensor(value: Any) -> bool:
    return any(isinstance(item, (Tensor, Piece, Param, torch.Tensor)) for item in _flat(value))
