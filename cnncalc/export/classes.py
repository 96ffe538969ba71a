"""One nn.Module class per block, constructed with what differs between its instances.

Instances of a block whose expansions have the same layers, wiring and modules share one
class; every constructor value that differs between them (a conv's `out_channels`, a
stride) becomes a parameter of the class, named after the module argument it feeds
(`in_channels`, `stride`; one name for values that always agree, as a conv's
`out_channels` and the next batch norm's `num_features`). A block whose instances differ in
structure (an `if:` that removes a layer) gets one class per structure (`Basic`, `Basic2`).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from cnncalc.export.calls import Call, Param, class_name, identifier, is_attribute, literal
from cnncalc.export.forward import forward_lines, is_chain
from cnncalc.export.modules import module_call
from cnncalc.export.tree import Node

if TYPE_CHECKING:
    from cnncalc.graph import Graph

# Values that always agree under these names are one parameter (channel counts).
_CHANNELS = frozenset({"in_channels", "out_channels", "num_features", "num_channels",
                       "normalized_shape", "in_features", "out_features"})
POSITIONAL_PARAMS = 2  # instances are written `Basic(64, 128)` up to this many, else by keyword


@dataclass
class ClassDef:
    name: str
    kind: str  # the block's name ("model" for the network)
    params: list[str]
    members: list[tuple[str, Call]]  # (local name, constructor call), in forward's order
    arguments: list[str]  # forward's argument names
    body: list[str]  # forward's lines
    instances: list[Node] = field(default_factory=list)


def _leaves(value: object, key: str, found: list[tuple[str, object]]) -> None:
    """The constructor values of a call tree, in order, each with its argument's name."""
    if isinstance(value, Call):
        for arg_key, arg in value.args:
            _leaves(arg, arg_key, found)
    elif isinstance(value, list) and value and all(isinstance(v, Call) for v in value):
        for item in value:
            _leaves(item, key, found)
    else:
        found.append((key, value))


def _shape(value: object) -> object:
    """A call tree with its values left out: what instances of one class share."""
    if isinstance(value, Call):
        return (value.func, value.positional, tuple((k, _shape(v)) for k, v in value.args))
    if isinstance(value, list) and value and all(isinstance(v, Call) for v in value):
        return ("list", tuple(_shape(v) for v in value))
    return "?"


def _substitute(value: object, params: dict[int, Param], counter: list[int]) -> object:
    if isinstance(value, Call):
        args = tuple((k, _substitute(v, params, counter)) for k, v in value.args)
        return Call(value.func, args, value.positional, value.helpers)
    if isinstance(value, list) and value and all(isinstance(v, Call) for v in value):
        return [_substitute(v, params, counter) for v in value]
    index = counter[0]
    counter[0] += 1
    return params.get(index, value)


class Classes:
    """Every class the exported module defines, built from the leaves of the tree up."""

    def __init__(self, graph: Graph, root: Node):
        self.graph = graph
        self.defs: list[ClassDef] = []
        self.calls: dict[Node, Call] = {}  # block instance -> its constructor call
        self.taken = {"Model", "Add", "Multiply", "Concat", "Slice", "ChannelShuffle",
                      "ChannelLayerNorm", "Scale", "DropPath", "ChannelDense", "ChannelPad"}
        by_height: dict[int, list[Node]] = {}
        self._height(root, by_height)
        for height in sorted(by_height):
            self._build(by_height[height])

    def _height(self, node: Node, by_height: dict[int, list[Node]]) -> int:
        if node.layer is not None:
            return 0
        below = max((self._height(child, by_height) for child in node.children), default=0)
        if node.is_repeat or not node.name:
            return below
        by_height.setdefault(below + 1, []).append(node)
        return below + 1

    def member_call(self, child: Node) -> Call:
        """The constructor of one child of a block: a layer's module, a block's class, or an
        nn.Sequential / nn.ModuleList of a repeat's copies."""
        if child.layer is not None:
            return module_call(child.layer)
        if not child.is_repeat:
            return self.calls[child]
        copies = [self.member_call(copy) for copy in child.children]
        if is_chain(child):
            return Call("nn.Sequential", tuple((str(i), c) for i, c in enumerate(copies)), len(copies))
        return Call("nn.ModuleList", (("modules", copies),), 1)

    def _template(self, node: Node) -> tuple[list[tuple[str, Call]], list[str], list[str]]:
        members = [(child.local, self.member_call(child)) for child in node.children]
        arguments = [node.input_names[t] for t in node.inputs]
        body = forward_lines(node, node.outputs, [(t, node.input_names[t]) for t in node.inputs])
        return members, arguments, body

    def _build(self, nodes: list[Node]) -> None:
        groups: dict[object, list[tuple[Node, list[tuple[str, Call]], list[str], list[str]]]] = {}
        for node in nodes:
            members, arguments, body = self._template(node)
            key = (node.kind, tuple((local, _shape(call)) for local, call in members),
                   tuple(arguments), tuple(body))
            groups.setdefault(key, []).append((node, members, arguments, body))
        for instances in groups.values():
            self._define(instances)

    def _define(self, instances: list[tuple[Node, list[tuple[str, Call]], list[str], list[str]]]) -> None:
        first, members, arguments, body = instances[0]
        values: list[list[tuple[str, object]]] = []
        for _, their_members, _, _ in instances:
            found: list[tuple[str, object]] = []
            for _, call in their_members:
                _leaves(call, "", found)
            values.append(found)
        # Each slot that differs between instances becomes a parameter; slots that always
        # agree (and name the same kind of value) share one.
        groups: dict[tuple[str, str], list[int]] = {}  # (kind of value, values) -> slots
        for slot, (key, _) in enumerate(values[0]):
            column = tuple(repr(v[slot][1]) for v in values)
            if len(set(column)) > 1:
                groups.setdefault(("channels" if key in _CHANNELS else key, str(column)), []).append(slot)
        owners = self._owners(members)
        first_in = next((slot for slot, (key, _) in enumerate(values[0]) if key in _CHANNELS), -1)
        params: dict[int, Param] = {}
        names: list[str] = []
        for slots in groups.values():
            keys = {values[0][slot][0] for slot in slots}
            key = values[0][slots[0]][0]
            if keys & {"out_channels", "out_features"}:
                # With the block's input channel count too: a block keeping the channels.
                key = ("channels" if first_in in slots else key if key.startswith("out_")
                       else "out_channels" if "out_channels" in keys else "out_features")
            base = key if key not in names else f"{owners[slots[0]]}_{key}"
            param = Param(identifier(base, set(names) | {"self"}))
            names.append(param.name)
            params.update((slot, param) for slot in slots)
        counter = [0]
        template = [(local, _substitute(call, params, counter)) for local, call in members]
        name = class_name(first.kind, self.taken)
        self.taken.add(name)
        self.defs.append(ClassDef(name, first.kind, names, template, arguments,  # type: ignore[arg-type]
                                  body, [node for node, *_ in instances]))
        for (node, *_), found in zip(instances, values):
            chosen: dict[str, object] = {}
            for slot, param in params.items():
                chosen.setdefault(param.name, found[slot][1])
            args = tuple((n, chosen[n]) for n in names)
            self.calls[node] = Call(name, args, len(args) if len(args) <= POSITIONAL_PARAMS else 0)

    def _owners(self, members: list[tuple[str, Call]]) -> list[str]:
        """For each slot, the (identifier of the) member it belongs to."""
        owners: list[str] = []
        for local, call in members:
            found: list[tuple[str, object]] = []
            _leaves(call, "", found)
            owners.extend([identifier(local)] * len(found))
        return owners

    def model(self, root: Node, prefix: list[str], returns_to: dict[str, str]) -> ClassDef:
        """The network's class: no parameters, its submodules as the spec has them."""
        members = [(child.local, self.member_call(child)) for child in root.children]
        body = prefix + forward_lines(root, list(self.graph.outputs), [(t, "x") for t in root.inputs],
                                      returns_to)
        return ClassDef("Model", "model", [], members, ["x"], body, [root])


def init_line(local: str) -> tuple[str, str]:
    """What goes around a member's constructor in __init__: `self.conv1 = ...`, or add_module
    for a name that is no identifier (the names were checked when forward was written)."""
    if not is_attribute(local):
        return f"self.add_module({literal(local)}, ", ")"
    return f"self.{local} = ", ""
