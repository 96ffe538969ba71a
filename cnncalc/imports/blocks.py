"""Block definitions from instances: the lines of an instance, its structure (what must be the
same for instances to share a block) and one block per family with `args:` for what differs.
"""
from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass
from functools import cache
from typing import Any

from cnncalc.imports.items import (
    REQUIRED,
    Block,
    Entry,
    Expr,
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


@dataclass
class Family:
    """Instances that can share one block: `lines` is the block's layer list (the union of
    theirs, in order), `own` each instance's lines by name (a line it lacks is left out
    with `if:`, its name then standing for its input)."""

    lines: list[Entry]
    instances: list[Instance]
    own: list[dict[str, Entry]]


def _resolve(ref: str, by_name: dict[str, Entry], present: dict[str, Entry]) -> str:
    while ref in by_name and ref not in present:
        ref = by_name[ref].refs[0]
    return ref


def _fits(lines: list[Entry], own: dict[str, Entry], last: str) -> bool:
    """Whether an instance is the block `lines` with the lines it lacks left out."""
    by_name = {line.name: line for line in lines}
    for line in lines:
        mine = own.get(line.name)
        if mine is None:
            continue
        if (mine.kind != line.kind or (mine.repeat is None) != (line.repeat is None)
                or [_resolve(r, by_name, own) for r in line.refs] != mine.refs):
            return False
        refs = {k: _resolve(v.text, by_name, own) for k, v in line.args.items() if isinstance(v, Ref)}
        if refs != {k: v.text for k, v in mine.args.items() if isinstance(v, Ref)}:
            return False
        if _fixed(line) != _fixed(mine):
            return False
    return bool(lines) and _resolve(lines[-1].name, by_name, own) == last


def _fixed(line: Entry) -> tuple[str, ...]:
    return tuple(sorted(k for k in line.args if op_default(line.kind, k) is MISSING))


def _union(a: list[Entry], b: list[Entry]) -> list[Entry] | None:
    """Both layer lists in one order (their common lines in the same order), or None."""
    common = {line.name for line in a} & {line.name for line in b}
    out: list[Entry] = []
    i = j = 0
    while i < len(a) or j < len(b):
        if i < len(a) and a[i].name not in common:
            out.append(a[i])
            i += 1
        elif j < len(b) and b[j].name not in common:
            out.append(b[j])
            j += 1
        elif i < len(a) and j < len(b) and a[i].name == b[j].name:
            out.append(a[i])
            i, j = i + 1, j + 1
        else:
            return None
    return out


def _merge(a: Family, b: Family) -> Family | None:
    lines = _union(a.lines, b.lines)
    if lines is None or len(a.instances[0].extras) != len(b.instances[0].extras):
        return None
    common = len(a.lines) + len(b.lines) - len(lines)
    if common * 3 < len(lines) * 2:
        return None  # mostly different: one block with most of it optional would not read well
    own = a.own + b.own
    instances = a.instances + b.instances
    if not all(_fits(lines, mine, inst.body[-1].name) for mine, inst in zip(own, instances)):
        return None
    return Family(lines, instances, own)


class _Variables:
    """Block arguments for what differs between instances; a column holds one value per
    instance (None where the instance lacks the line), and columns of the same argument
    that agree wherever both have a value share one argument."""

    def __init__(self, taken: set[str]):
        self.names = taken
        self.columns: list[tuple[str, list[object], str]] = []  # (key, column, name)

    def use(self, key: str, item: str, column: list[object], label: str = "") -> Use:
        """The argument for `key` of line `item` (named `label` if given, else `key`, else
        `item_key`)."""
        for other_key, other, name in self.columns:
            if other_key == key and all(x is None or y is None or shown(x) == shown(y)
                                        for x, y in zip(column, other)):
                for j, value in enumerate(column):
                    if other[j] is None:
                        other[j] = value
                return Use(name)
        name = arg_name(label or key)
        if name in self.names:
            name = arg_name(f"{item}_{key}")
        base, number = name, 1
        while name in self.names:
            number += 1
            name = f"{base}{number}"
        self.names.add(name)
        self.columns.append((key, list(column), name))
        return Use(name)


def make_block(family: Family, taken: set[str]) -> Block:
    """One block for a family; sets each instance's `block` and `call`."""
    extras = len(family.instances[0].extras)
    variables = _Variables({extra_arg(k) for k in range(extras)})
    template = []
    for line in family.lines:
        mine = [own.get(line.name) for own in family.own]
        there = [m for m in mine if m is not None]
        out = Entry(line.kind, {}, line.name, list(line.refs), line.repeat)
        for key in dict.fromkeys(k for m in there for k, v in m.args.items() if not isinstance(v, Ref)):
            column = [None if m is None else m.args.get(key, op_default(line.kind, key)) for m in mine]
            values = [v for v in column if v is not None]
            if all(shown(v) == shown(values[0]) for v in values):
                if values[0] is not MISSING:
                    out.args[key] = values[0]
            else:
                out.args[key] = variables.use(key, line.name, column)
        out.args.update({k: v for k, v in line.args.items() if isinstance(v, Ref)})
        if line.repeat is not None:
            counts: list[object] = [None if m is None else m.repeat for m in mine]
            if len({c for c in counts if c is not None}) > 1:
                out.repeat = variables.use("n", line.name, counts)
        if len(there) < len(mine):
            label = re.sub(r"[_-][0-9]+$", "", line.name)  # downsample_0 -> downsample
            out.cond = variables.use("?if", line.name, [m is not None for m in mine], label)
        template.append(out)
    block = Block(block_name(family.instances, taken), {}, template, len(family.instances))
    for _key, column, name in variables.columns:
        values = [v for v in column if v is not None]
        common, count = Counter(shown(v) for v in values).most_common(1)[0]
        default = next(v for v in values if shown(v) == common)
        holes = len(values) < len(column)  # instances without the lines that use it
        column[:] = [default if v is None else v for v in column]
        block.args[name] = default if holes or (count * 2 > len(column) and count > 1) else REQUIRED
    derived = _derived(variables.columns)
    for line in template:
        for key, value in line.args.items():
            if isinstance(value, Use) and value.arg in derived:
                base, factor = derived[value.arg]
                line.args[key] = Expr(f"${{{base} * {factor}}}")
    variables.columns = [c for c in variables.columns if c[2] not in derived]
    for name in derived:
        del block.args[name]
    for k in range(extras):
        block.args[extra_arg(k)] = REQUIRED
    for j, inst in enumerate(family.instances):
        inst.block = block
        inst.call = {name: column[j] for _, column, name in variables.columns}
        inst.call.update({extra_arg(k): Tensor(t) for k, t in enumerate(inst.extras)})
    return block


def _derived(columns: list[tuple[str, list[object], str]]) -> dict[str, tuple[str, int]]:
    """Arguments that are always a whole multiple of another (a bottleneck's 4 x width):
    name -> (the other, the factor), written `"${width * 4}"` instead of an argument."""
    found: dict[str, tuple[str, int]] = {}
    whole = [([v for v in col if isinstance(v, int)], name) for _, col, name in columns
             if len(col) >= 3 and all(type(v) is int for v in col)]  # two could be chance
    for k, (column, name) in enumerate(whole):
        for base, base_name in whole[:k]:
            if base_name in found or min(base) <= 0:
                continue
            factor = column[0] // base[0]
            if factor >= 2 and all(v == factor * b for v, b in zip(column, base)):
                found[name] = (base_name, factor)
                break
    return found


MAX_MERGE = 200  # families tried against each other for `if:`; beyond, exact structure only


def make_blocks(instances: list[Instance], taken: set[str], alone_ok: bool) -> list[Instance]:
    """Blocks for instances of the same structure, up to lines some leave out; returns the
    instances left without one (a structure used once, unless `alone_ok`)."""
    exact: dict[tuple[object, ...], Family] = {}
    for inst in instances:
        lines = entries(inst)
        family = exact.setdefault(structure(lines, len(inst.extras)), Family(lines, [], []))
        family.instances.append(inst)
        family.own.append({line.name: line for line in lines})
    merged: list[Family] = []
    for family in sorted(exact.values(), key=lambda f: -len(f.lines)):
        for k, other in enumerate(merged if len(exact) <= MAX_MERGE else ()):
            both = _merge(other, family)
            if both is not None:
                merged[k] = both
                break
        else:
            merged.append(family)
    left = []
    for family in merged:
        if len(family.instances) > 1 or alone_ok:
            make_block(family, taken)
        else:
            left.extend(family.instances)
    return left
