"""The module tree of an exported network: block instances and named repeats become
submodules, layers their leaves, named as cnncalc names them (so `layer1.0.conv1` is the
module at that path and its weight is `layer1.0.conv1.weight`, as in the `.npz` files).

Each node knows the tensors it reads from outside (its forward's arguments) and the tensors
of its own that are read outside it (what its forward returns).
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from cnncalc.export.calls import ExportError, identifier
from cnncalc.spec.refs import INPUT

if TYPE_CHECKING:
    from cnncalc.graph import Graph, Layer


@dataclass(eq=False)
class Node:
    name: str  # the full cnncalc name; "" for the model
    local: str  # the name inside its parent ("layer1", "0", "conv1")
    kind: str  # the block's name, "<op> xN" for a named repeat, the op's name for a layer
    layer: Layer | None = None
    children: list[Node] = field(default_factory=list)
    first: int = 0  # the smallest topological index inside
    inputs: list[str] = field(default_factory=list)  # tensors read from outside, in order
    outputs: list[str] = field(default_factory=list)  # own tensors read outside it
    input_names: dict[str, str] = field(default_factory=dict)  # input -> argument name

    @property
    def is_repeat(self) -> bool:
        return self.layer is None and re.search(r" x\d+$", self.kind) is not None

    def layers(self) -> list[Layer]:
        if self.layer is not None:
            return [self.layer]
        return [layer for child in self.children for layer in child.layers()]

    def relative(self, tensor: str) -> str:
        """A tensor's name as seen inside this node (`layer1.0.conv1` in `layer1`: `0.conv1`)."""
        return tensor[len(self.name) + 1:] if self.name and tensor.startswith(self.name + ".") else tensor


def build_tree(graph: Graph) -> Node:
    """The node tree, children in the order the network computes them."""
    root = Node("", "", "model")
    nodes: dict[str, Node] = {"": root}
    for layer in graph.layers:
        parent = root
        for group in layer.path:
            if group not in nodes:
                kind = graph.spec.groups[group].kind
                nodes[group] = Node(group, group[len(parent.name) + 1:] if parent.name else group,
                                    kind, first=layer.index)
                parent.children.append(nodes[group])
            parent = nodes[group]
        local = layer.name[len(parent.name) + 1:] if parent.name else layer.name
        parent.children.append(Node(layer.name, local, layer.op_name, layer, first=layer.index))
    _wire(root, graph)
    return root


def _wire(root: Node, graph: Graph) -> None:
    """Inputs and outputs of every node, its children ordered, and the order checked."""
    readers: dict[str, list[Layer]] = graph.consumers

    def visit(node: Node) -> set[str]:
        inside: set[str] = set()
        for child in node.children:
            inside |= visit(child) if child.layer is None else {child.name}
        node.children.sort(key=lambda child: child.first)
        if node.layer is not None:
            node.inputs = list(dict.fromkeys(node.layer.inputs))
            inside = {node.name}
        else:
            node.inputs = list(dict.fromkeys(t for layer in node.layers() for t in layer.inputs
                                             if t not in inside))
        used_outside = [t for t in inside if t in graph.outputs
                        or any(reader.name not in inside for reader in readers.get(t, []))]
        used_outside.sort(key=lambda t: graph.by_name[t].index)
        if len(used_outside) > 1:  # the block's result first, then what else is read outside
            used_outside.insert(0, used_outside.pop())
        node.outputs = used_outside
        return inside

    visit(root)
    _check_order(root)


def _check_order(node: Node) -> None:
    """Every child must read only its parent's inputs and what earlier children computed:
    a block whose layers interleave with layers outside it cannot be one submodule call."""
    ready = set(node.inputs) | {INPUT}
    for child in node.children:
        missing = [t for t in child.inputs if t not in ready]
        if missing:
            raise ExportError(f"'{child.name}' reads '{missing[0]}', which is computed after it "
                              "outside its block; the exporter writes each block as one "
                              "submodule call and cannot order these", child.layers()[0].loc)
        ready.update(child.outputs if child.layer is None else [child.name])
        if child.layer is None:
            _check_order(child)


def name_inputs(node: Node, graph: Graph) -> None:
    """Argument names of each block's forward: `x` for the block's input, the block argument's
    name for a layer passed in (`skip` in `in: [$skip, up]`), else x2, x3..."""
    for child in node.children:
        if child.layer is None:
            name_inputs(child, graph)
    if node.layer is not None:
        return
    names: dict[str, str] = {}
    for tensor in node.inputs:
        names[tensor] = _written_name(node, tensor, graph) or ""
    order = sorted(node.inputs, key=lambda t: names[t] != "x")  # the block's input first
    node.inputs = order
    taken: set[str] = set()
    for i, tensor in enumerate(order):
        name = identifier(names[tensor] or ("x" if i == 0 else f"x{i + 1}"), taken)
        taken.add(name)
        node.input_names[tensor] = name


def _written_name(node: Node, tensor: str, graph: Graph) -> str | None:
    """How the first layer of `node` reading `tensor` wrote it: `$skip` -> skip, `$in` or no
    `in:` at all -> x."""
    for layer in node.layers():
        if tensor not in layer.inputs:
            continue
        loc = layer.arg_locs.get("in")
        if loc is None:
            return "x"
        lines = graph.spec.source_lines
        if not 0 < loc.line <= len(lines):
            return None
        text = lines[loc.line - 1][loc.col - 1:]
        match = re.match(r"\[([^\]]*)\]", text) if text.startswith("[") else re.match(r"([^,}\s#]+)", text)
        if not match:
            return None
        tokens = [t.strip().strip("'\"") for t in match.group(1).split(",")]
        position = layer.inputs.index(tensor)
        if position >= len(tokens):
            return None
        token = tokens[position]
        if token == "$in":
            return "x"
        return token[1:] if token.startswith("$") else None
    return None
