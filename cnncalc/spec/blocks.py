"""The `blocks:` section: reusable, parameterised lists of layers."""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from cnncalc.problems import Loc, Problems, did_you_mean
from cnncalc.spec.names import name_problem
from cnncalc.spec.yamlload import LList, LMap

_ARG = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_RESERVED = ("name", "in", "repeat", "if", "in_channels")


@dataclass
class BlockDef:
    REQUIRED = "required"  # written as `filters: required` in `args`

    name: str
    args: dict[str, tuple[Any, Loc]]  # default value (or REQUIRED) and where it is written
    layers: LList
    loc: Loc


def parse_blocks(node: Any, loc: Loc, op_names: set[str], problems: Problems) -> dict[str, BlockDef]:
    if node is None:
        return {}
    if not isinstance(node, LMap):
        problems.error(loc, "bad-blocks", "'blocks' must be a mapping of block name -> definition")
        return {}
    blocks: dict[str, BlockDef] = {}
    for name, body in node.items():
        key_loc, body_loc = node.key_loc(name), node.value_loc(name)
        problem = name_problem(name, "block")
        if problem:
            problems.error(key_loc, "bad-name", problem)
            continue
        if name in op_names:
            problems.error(key_loc, "bad-block", f"block '{name}' has the name of a built-in op")
            continue
        if not isinstance(body, LMap):
            problems.error(body_loc, "bad-block", f"block '{name}' must be a mapping with 'layers' "
                           "(and optionally 'args', 'description')")
            continue
        for key in body:
            if key not in ("args", "layers", "description"):
                problems.error(body.key_loc(key), "unknown-key", f"unknown key '{key}' in block "
                               f"'{name}'{did_you_mean(key, ('args', 'layers', 'description'))}")
        layers = body.get("layers")
        if not isinstance(layers, LList) or not layers:
            problems.error(body.value_loc("layers") if "layers" in body else body_loc, "bad-block",
                           f"block '{name}' needs a non-empty 'layers' list")
            continue
        blocks[name] = BlockDef(name, _parse_args(body.get("args"), body, problems), layers, key_loc)
    _check_recursion(blocks, problems)
    return blocks


def _parse_args(node: Any, body: LMap, problems: Problems) -> dict[str, tuple[Any, Loc]]:
    if node is None:
        return {}
    if not isinstance(node, LMap):
        problems.error(body.value_loc("args"), "bad-block",
                       "'args' must be a mapping of argument -> default (or `required`)")
        return {}
    args = {}
    for key, default in node.items():
        if not _ARG.fullmatch(key) or key in _RESERVED:
            problems.error(node.key_loc(key), "bad-arg-name",
                           f"'{key}' cannot be a block argument name"
                           + (" (it is reserved)" if key in _RESERVED else ""))
            continue
        args[key] = (default, node.value_loc(key))
    return args


def _uses(block: BlockDef, names: set[str]) -> list[tuple[str, Loc]]:
    used = []
    for index, item in enumerate(block.layers):
        op = item if isinstance(item, str) else next(iter(item)) if isinstance(item, LMap) and item else None
        if op in names:
            used.append((op, block.layers.item_loc(index)))
    return used


def _check_recursion(blocks: dict[str, BlockDef], problems: Problems) -> None:
    """A block that (directly or through others) uses itself can never be expanded.

    One depth-first walk with an explicit stack: linear in the number of uses, whatever the
    shape of the block graph (a naive walk of every path is exponential in a fan-out).
    """
    names = set(blocks)
    uses = {name: _uses(blocks[name], names) for name in blocks}
    done: set[str] = set()
    reported: set[str] = set()
    for root in blocks:
        if root in done:
            continue
        trail, on_trail = [root], {root}
        pending = [iter(uses[root])]
        while pending:
            step = next(pending[-1], None)
            if step is None:
                finished = trail.pop()
                done.add(finished)
                on_trail.discard(finished)
                pending.pop()
                continue
            used, loc = step
            if used in on_trail:
                cycle = trail[trail.index(used):] + [used]
                if not reported.intersection(cycle):
                    reported.update(cycle)
                    problems.error(loc, "recursion", f"block '{trail[-1]}' uses '{used}', which is "
                                   f"recursive ({' -> '.join(cycle)})")
            elif used not in done:
                trail.append(used)
                on_trail.add(used)
                pending.append(iter(uses[used]))
