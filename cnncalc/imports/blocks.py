"""Block definitions from instances: the lines of an instance, its structure (what must be the
same for instances to share a block) and one block per family with `args:` for what differs.
"""
from __future__ import annotations

from collections import Counter
from functools import cache
from typing import Any

from cnncalc.imports.items import (
    REQUIRED,
    Block,
    Entry,
    Instance,
    Item,
    Leaf,
    Ref,
    Run,
    Tensor,
    Use,
)
from cnncalc.imports.names import arg_name, is_word, stem
from cnncalc.ops.args import REQUIRED as OP_REQUIRED
from cnncalc.ops.registry import ops

MISSING: Any = object()


def extra_arg(k: int) -> str:
    """The block argument that carries the k-th input besides `$in`."""
    return "skip" if k == 0 else f"skip{k + 1}"


@cache
def op_default(op: str, key: str) -> Any:
    """An op argument's default when it can be written as a value, else MISSING."""
    for arg in ops()[op].arguments if op in ops() else ():
        if arg.name == key:
            default = arg.default
            if default is OP_REQUIRED or default is None:
                return MISSING
            return default
    return MISSING


def shown(value: object) -> str:
    """A value's identity for comparing (1, 1.0 and True differ; lists by content)."""
    return repr(value)


def entry_of(item: Item, table: dict[str, str]) -> Entry:
    """The line an item is written as, in a scope that writes tensor t as table[t]."""
    if isinstance(item, Run):
        entry = entry_of(item.copies[0], table)
        entry.name, entry.repeat = item.name, len(item.copies)
        return entry
    if isinstance(item, Leaf):
        return Entry(item.layer.op, dict(item.layer.args), item.name,
                     [table[t] for t in item.layer.inputs])
    assert item.block is not None
    args = {key: Ref(table[value.name]) if isinstance(value, Tensor) else value
            for key, value in item.call.items()}
    return Entry(item.block.name, args, item.name, [table[item.main_in]])


def scope_table(instance: Instance) -> dict[str, str]:
    table = {instance.main_in: "$in"}
    table.update({t: f"${extra_arg(k)}" for k, t in enumerate(instance.extras)})
    table.update({item.output: item.name for item in instance.body})
    return table


def entries(instance: Instance) -> list[Entry]:
    table = scope_table(instance)
    return [entry_of(item, table) for item in instance.body]


def structure(lines: list[Entry], extras: int) -> tuple[object, ...]:
    """What instances sharing a block must agree on: every line's kind, name, inputs, the
    layers passed to inner blocks, whether it repeats, and the op arguments given that have
    no default to fill in; argument values and repeat counts may differ."""
    shape: list[object] = [extras]
    for e in lines:
        refs = tuple(sorted((k, v.text) for k, v in e.args.items() if isinstance(v, Ref)))
        fixed = tuple(sorted(k for k in e.args if op_default(e.kind, k) is MISSING))
        shape.append((e.kind, e.name, tuple(e.refs), refs, e.repeat is None, fixed))
    return tuple(shape)


def block_name(family: list[Instance], taken: set[str]) -> str:
    stems = Counter(stem(inst.hint) for inst in family if stem(inst.hint))
    base = stems.most_common(1)[0][0] if stems else "block"
    base = base if is_word(base) else "block"
    if base in ops():
        base += "_block"
    name, number = base, 1
    while name in taken:
        number += 1
        name = f"{base}_{number}"
    taken.add(name)
    return name


def make_block(family: list[Instance], taken: set[str]) -> Block:
    """One block for instances of one structure; sets each instance's `block` and `call`."""
    all_lines = [entries(inst) for inst in family]
    template = [Entry(e.kind, dict(e.args), e.name, list(e.refs), e.repeat, e.cond)
                for e in all_lines[0]]
    variables: dict[tuple[str, tuple[str, ...]], str] = {}
    values: dict[str, list[object]] = {}
    names = {extra_arg(k) for k in range(len(family[0].extras))}

    def variable(key: str, item: str, column: list[object]) -> Use:
        token = (key, tuple(shown(v) for v in column))
        if token not in variables:
            name = arg_name(key)
            if name in names:
                name = arg_name(f"{item}_{key}")
            base, number = name, 1
            while name in names:
                number += 1
                name = f"{base}{number}"
            names.add(name)
            variables[token], values[name] = name, column
        return Use(variables[token])

    for p, line in enumerate(template):
        keys = dict.fromkeys(k for lines in all_lines for k, v in lines[p].args.items()
                             if not isinstance(v, Ref))
        for key in keys:
            column = [lines[p].args.get(key, op_default(line.kind, key)) for lines in all_lines]
            if all(shown(v) == shown(column[0]) for v in column):
                if column[0] is MISSING:
                    line.args.pop(key, None)
                else:
                    line.args[key] = column[0]
            else:
                line.args[key] = variable(key, line.name, column)
        if line.repeat is not None:
            counts: list[object] = [lines[p].repeat for lines in all_lines]
            if any(c != counts[0] for c in counts):
                line.repeat = variable("n", line.name, counts)
    block = Block(block_name(family, taken), {}, template, len(family))
    for name, column in values.items():
        common, count = Counter(shown(v) for v in column).most_common(1)[0]
        default = next(v for v in column if shown(v) == common)
        block.args[name] = default if count * 2 > len(column) and count > 1 else REQUIRED
    for k in range(len(family[0].extras)):
        block.args[extra_arg(k)] = REQUIRED
    for j, inst in enumerate(family):
        inst.block = block
        inst.call = {name: column[j] for name, column in values.items()}
        inst.call.update({extra_arg(k): Tensor(t) for k, t in enumerate(inst.extras)})
    return block


def make_blocks(instances: list[Instance], taken: set[str], alone_ok: bool) -> list[Instance]:
    """Blocks for instances of the same structure; returns the instances left without one
    (a structure used once, unless `alone_ok`)."""
    families: dict[tuple[object, ...], list[Instance]] = {}
    for inst in instances:
        families.setdefault(structure(entries(inst), len(inst.extras)), []).append(inst)
    left = []
    for family in families.values():
        if len(family) > 1 or alone_ok:
            make_block(family, taken)
        else:
            left.extend(family)
    return left
