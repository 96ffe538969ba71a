"""Fold an imported model's flat layer list into blocks, repeats and scoped names.

The source's own hierarchy comes first: the layers' origins (`layer1.0.conv1`) form a tree of
modules. A module whose layers run one after another, read one tensor from before it (plus
maybe others, passed in as arguments) and hand one tensor on is a block instance; instances
of the same structure anywhere in the model share one block, with `args:` for what differs
(`blocks.py`); consecutive identical instances chained one into the next become `repeat:`.
A module that is not such a subgraph, is the only one of its kind, or holds a single item is
dissolved into its parent, its items then named `module_item` as the flat spec names them.
Where a stretch of layers has no hierarchy (ONNX node names, Keras layers), repeated chains
are found from the graph alone (`repeats.py`).

What the folding reads from an importer: `ImportedLayer.origin` is the source's dotted
module path of the layer (`layer1.0.conv1`); a function call inside a module (torch.fx's
`add`, `cat`, `flatten`) should carry the module's path plus a word of its own
(`layer1.0.add`), so it stays inside its block; an empty or non-dotted origin is a layer with
no hierarchy. A layer's name inside its module is what its flat name has after the module's
(`layer1_0_relu_1` in `layer1.0` -> `relu_1`), else its origin's last word.

Modules are folded from the innermost out, one depth of the tree at a time, so instances
are compared once their own insides are settled. Every step is linear in the layers (times
the depth of the tree, and a small constant for the repeat search).
"""
from __future__ import annotations

from dataclasses import dataclass, field

from cnncalc.imports.blocks import make_blocks
from cnncalc.imports.items import Block, Instance, Item, Leaf, Run
from cnncalc.imports.model import ImportedModel
from cnncalc.imports.names import as_word, is_word, run_name, split_origin, stem, unique
from cnncalc.imports.repeats import Flow, find_repeats

MAX_DEPTH = 24  # origin scopes deeper than this are read as one name


@dataclass(eq=False)
class Node:
    """A module of the source: its layers and sub-modules, in running order."""

    name: str
    parent: Node | None
    children: list[Node | int] = field(default_factory=list)
    groups: dict[str, Node] = field(default_factory=dict)
    locals: dict[int, str] = field(default_factory=dict)  # layer index -> its name here

    def prefix(self) -> str:
        parts = []
        node: Node | None = self
        while node is not None and node.parent is not None:
            parts.append(node.name)
            node = node.parent
        return "_".join(reversed(parts))


@dataclass
class Folded:
    body: list[Item]  # the top level
    blocks: list[Block]  # every block, in order of creation
    names: dict[str, str]  # imported layer name -> its (dotted) name in the folded spec


def tree(model: ImportedModel) -> Node:
    root = Node("", None)
    for index, layer in enumerate(model.layers):
        parts = split_origin(layer.origin)
        path, leaf = (parts[:-1], parts[-1]) if 1 < len(parts) <= MAX_DEPTH else ([], "")
        node = root
        for part in path:
            child = node.groups.get(part)
            if child is None:
                child = node.groups[part] = Node(part, node)
                node.children.append(child)
            node = child
        prefix = node.prefix() + "_" if node is not root else ""
        own = layer.name[len(prefix):] if layer.name.startswith(prefix) else ""
        node.locals[index] = own if own and is_word(own) else (leaf or layer.name)
        node.children.append(index)
    return root


def by_depth(root: Node) -> list[list[Node]]:
    """Modules grouped by depth, deepest first (the root, depth 0, is not included).

    A module is always deeper than its parent, so its insides are settled before it; and
    modules at one depth (`layer2.0` with its `downsample`, `layer2.1` without) are compared
    with each other, whatever lies inside them.
    """
    levels: list[list[Node]] = []
    stack = [(root, 0)]
    while stack:
        node, depth = stack.pop()
        if depth:
            while len(levels) < depth:
                levels.append([])
            levels[depth - 1].append(node)
        stack.extend((c, depth + 1) for c in reversed(node.children) if isinstance(c, Node))
    return list(reversed(levels))


class Folder:
    def __init__(self, model: ImportedModel):
        self.model = model
        self.flow = Flow(model)
        self.taken: set[str] = set()
        self.blocks: list[Block] = []
        # what a folded module stands for in its parent: an instance, a run, or its items
        self.result: dict[int, Item | list[Item]] = {}

    def fold(self) -> Folded:
        root = tree(self.model)
        for level in by_depth(root):
            candidates: list[tuple[Node, Instance]] = []
            found: list[Instance] = []
            for node in level:
                body = self.body(node, found)
                outcome = self.settle(node, body)
                if isinstance(outcome, Instance):
                    candidates.append((node, outcome))
                self.result[id(node)] = outcome
            self.assign(found, alone_ok=True)
            alone = self.assign([inst for _, inst in candidates], alone_ok=False)
            for inst in alone:
                node = next(n for n, i in candidates if i is inst)
                self.result[id(node)] = self.dissolve(node, inst.body)
        found = []
        body = self.body(root, found)
        self.assign(found, alone_ok=True)
        body = self.top_names(body)
        return Folded(body, self.blocks, self.names(body))

    def assign(self, instances: list[Instance], alone_ok: bool) -> list[Instance]:
        before = {id(b) for b in self.blocks}
        left = make_blocks(instances, self.taken, alone_ok)
        for inst in instances:
            if inst.block is not None and id(inst.block) not in before:
                before.add(id(inst.block))
                self.blocks.append(inst.block)
        return left

    # -- one module ----------------------------------------------------------------------
    def body(self, node: Node, found: list[Instance]) -> list[Item]:
        """The module's items in running order: its layers, and what its sub-modules became."""
        items: list[Item] = []
        for child in node.children:
            if isinstance(child, int):
                items.append(Leaf(node.locals[child], self.model.layers[child], child))
                continue
            outcome = self.result.pop(id(child))
            items.extend(outcome if isinstance(outcome, list) else [outcome])
        items.sort(key=lambda item: item.lo)
        items = find_repeats(items, self.flow, found)
        items = self.runs(items)
        for item, name in zip(items, unique([item.name for item in items])):
            item.name = name
        return items

    def runs(self, items: list[Item]) -> list[Item]:
        """Consecutive identical layers or instances, each reading only the one before: a Run."""
        out: list[Item] = []
        i = 0
        while i < len(items):
            j = i + 1
            while j < len(items) and self.chains(items[j - 1], items[j]):
                j += 1
            if j - i > 1:
                copies = [c for c in items[i:j] if isinstance(c, (Leaf, Instance))]
                out.append(Run(run_name(items[i].name, items[j - 1].name), copies))
            else:
                out.append(items[i])
            i = j
        return out

    def chains(self, a: Item, b: Item) -> bool:
        if b.lo != a.hi + 1 or self.flow.last_read[a.hi] > b.hi:
            return False
        if isinstance(a, Leaf) and isinstance(b, Leaf):
            return (a.layer.op == b.layer.op and repr(a.layer.args) == repr(b.layer.args)
                    and b.layer.inputs == [a.output])
        if isinstance(a, Instance) and isinstance(b, Instance):
            return (a.block is not None and a.block is b.block and repr(a.call) == repr(b.call)
                    and b.main_in == a.output and a.output not in b.extras)
        return False

    def settle(self, node: Node, body: list[Item]) -> Item | list[Item]:
        """What a module becomes: a repeat (all its items are copies), an instance waiting
        for its block, or its items handed to the parent."""
        shape = self.flow.subgraph(body)
        if shape is None:
            return self.dissolve(node, body)
        main_in, extras = shape
        if len(body) == 1 and isinstance(body[0], Run):
            body[0].name = node.name
            return body[0]
        if len(body) == 1 and body[0].name == "0" and isinstance(body[0], Instance):
            return Run(node.name, [body[0]])  # `repeat: 1` keeps the source's `name.0.conv`
        if len(body) == 1 or not all(is_word(item.name) for item in body):
            return self.dissolve(node, body)
        hint = node.name if stem(node.name) else f"{stem(node.parent.name) if node.parent else ''}_block"
        return Instance(node.name, body, main_in, extras, hint.lstrip("_"))

    def dissolve(self, node: Node, body: list[Item]) -> list[Item]:
        for item in body:
            item.name = f"{node.name}_{item.name}"
        return body

    def top_names(self, body: list[Item]) -> list[Item]:
        for item, name in zip(body, unique([as_word(item.name) for item in body])):
            item.name = name
        return body

    # -- names ---------------------------------------------------------------------------
    def names(self, body: list[Item]) -> dict[str, str]:
        out: dict[str, str] = {}
        stack: list[tuple[str, Item]] = [("", item) for item in body]
        while stack:
            prefix, item = stack.pop()
            if isinstance(item, Leaf):
                out[item.layer.name] = prefix + item.name
            elif isinstance(item, Instance):
                stack.extend((f"{prefix}{item.name}.", inner) for inner in item.body)
            else:
                for copy, inner in enumerate(item.copies):
                    if isinstance(inner, Leaf):
                        out[inner.layer.name] = f"{prefix}{item.name}.{copy}"
                    else:
                        stack.extend((f"{prefix}{item.name}.{copy}.", x) for x in inner.body)
        return out


def fold(model: ImportedModel) -> Folded:
    return Folder(model).fold()
