"""A node's `forward`: one statement per submodule, in the order the network computes them.

Variables: a tensor read again later (a skip connection, a branch) keeps a name of its own,
taken from its layer (`enc1 = self.enc1(x)`); a tensor only the next statement reads flows
in `x` (or `out` when `x` is still needed), as one would write it by hand.
"""
from __future__ import annotations

from cnncalc.export.calls import MODULE_ATTRIBUTES, ExportError, identifier, is_attribute, literal
from cnncalc.export.tree import Node

CHAIN = ("x", "out", "y", "z", "h")


def access(owner: str, local: str, what: Node) -> str:
    """`self.conv1`; `getattr(self, "conv-a")` for a name that is no identifier."""
    if local in MODULE_ATTRIBUTES:
        raise ExportError(f"'{what.name}': the name '{local}' is an attribute of every "
                          "torch.nn.Module and cannot name a submodule; rename the layer",
                          what.layers()[0].loc)
    return f"{owner}.{local}" if is_attribute(local) else f"getattr({owner}, {literal(local)})"


def statements(node: Node) -> list[tuple[str, list[str], list[str], str]]:
    """The calls of `node`'s forward: (callee expression, tensors in, tensors out, the name
    of its result), repeats that are no plain chain unrolled (`self.layer1[0](x, skip)`)."""
    found: list[tuple[str, list[str], list[str], str]] = []
    for child in node.children:
        callee = access("self", child.local, child)
        if child.layer is not None:
            found.append((callee, list(child.layer.inputs), [child.name], child.local))
        elif child.is_repeat and not is_chain(child):
            for i, copy in enumerate(child.children):
                outs = [copy.name] if copy.layer is not None else copy.outputs
                ins = list(copy.layer.inputs) if copy.layer is not None else copy.inputs
                found.append((f"{callee}[{i}]", ins, outs, node.relative(copy.name)))
        else:
            found.append((callee, list(child.inputs), list(child.outputs), child.local))
    return found


def is_chain(node: Node) -> bool:
    """A repeat whose copies each read only the one before (the first: the repeat's input)
    and give only the last copy's output away: an nn.Sequential."""
    previous = None
    for copy in node.children:
        ins = list(copy.layer.inputs) if copy.layer is not None else copy.inputs
        if len(ins) != 1 or (previous is not None and ins[0] != previous):
            return False
        outs = [copy.name] if copy.layer is not None else copy.outputs
        if len(outs) != 1:
            return False
        previous = outs[0]
    return node.outputs == [previous]


def forward_lines(node: Node, returns: list[str], params: list[tuple[str, str]],
                  transform_out: dict[str, str] | None = None) -> list[str]:
    """The body of `forward` (without the `def` line). `params` are (tensor, argument name);
    `transform_out` maps an output tensor to an expression template applied on return."""
    calls = statements(node)
    last_use: dict[str, int] = {}
    for index, (_, ins, _, _) in enumerate(calls):
        for tensor in ins:
            last_use[tensor] = index
    end = len(calls)
    for tensor in returns:
        last_use[tensor] = end
    var: dict[str, str] = dict(params)
    holds: dict[str, str] = {name: tensor for tensor, name in params}  # variable -> tensor
    lines: list[str] = []

    def live(name: str, now: int) -> bool:
        tensor = holds.get(name)
        return tensor is not None and last_use.get(tensor, -1) > now

    for index, (callee, ins, outs, result) in enumerate(calls):
        args = ", ".join(var[t] for t in ins)
        names: list[str] = []
        for out in outs:
            readers = [i for i, (_, i_ins, _, _) in enumerate(calls) if out in i_ins]
            long_lived = out in returns and index + 1 != end or len(readers) > 1 or (
                bool(readers) and readers[0] != index + 1)
            if long_lived or len(outs) > 1:
                label = result if out == outs[0] else node.relative(out)
                name = identifier(label.replace(".", "_"),
                                  {n for n in holds if live(n, index - 1)} | set(CHAIN[:1]) | set(names))
            else:
                first = var.get(ins[0]) if ins else None
                if first in CHAIN and not live(first, index):
                    name = first
                else:
                    name = next((c for c in CHAIN if not live(c, index) and c not in names),
                                identifier("out", set(holds)))
            names.append(name)
            var[out] = name
            holds[name] = out
        target = ", ".join(names)
        lines.append(f"{target} = {callee}({args})" if names else f"{callee}({args})")
    results = []
    for tensor in returns:
        expr = var[tensor]
        if transform_out and tensor in transform_out:
            expr = transform_out[tensor].format(expr)
        results.append(expr)
    if results:  # a block none of whose tensors is read outside it returns nothing
        lines.append("return " + ", ".join(results))
    return lines
