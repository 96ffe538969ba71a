"""Spec variables: a top-level `vars:` mapping of knobs (width, depth, resolution) with their
defaults, overridden from the command line with `--set NAME=VALUE`.

Variables are visible in every `${...}` of the spec: inside blocks (where a block argument of
the same name hides them), at the top level, in `input` and in `checks`.
"""
from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from cnncalc.problems import Loc, Problems, did_you_mean
from cnncalc.spec.expr import FUNCTIONS, KEYWORDS, ExprError, evaluate_with, names_in
from cnncalc.spec.yamlload import LList, LMap
from cnncalc.text import shown

Number = int | float
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")
_DOLLAR = re.compile(r"\$([A-Za-z_][A-Za-z0-9_]*)\Z")
_EXPR = re.compile(r"\$\{([^}]*)\}\Z")
RESERVED = frozenset({*KEYWORDS, *FUNCTIONS, "in", "in_channels"})


def parse_value(text: str) -> Number:
    """A --set value: an integer or a decimal; ValueError otherwise."""
    text = text.strip()
    if re.fullmatch(r"[-+]?\d+", text):
        return int(text)
    value = float(text)
    if not abs(value) <= 1e18:  # refuses inf and nan as the expression language does
        raise ValueError(text)
    return value


def parse_vars(root: LMap, overrides: Mapping[str, Number], file: str,
               problems: Problems) -> dict[str, Number]:
    """The spec's variables with the overrides applied; every problem is located."""
    node = root.get("vars")
    found: dict[str, Number] = {}
    if node is not None and not isinstance(node, LMap):
        problems.error(root.value_loc("vars"), "bad-vars", "vars is a mapping of names to "
                       f"numbers (e.g. `vars: {{width: 1.0, res: 224}}`), got {shown(node)}")
        node = None
    for name, value in (node or LMap()).items():
        assert node is not None
        if not isinstance(name, str) or not _NAME.match(name) or name in RESERVED:
            problems.error(node.key_loc(name), "bad-vars", f"variable name {shown(name)} is not "
                           "a name (letters, digits, _) or is reserved (a keyword, a function, "
                           "in, in_channels)")
        elif isinstance(value, bool) or not isinstance(value, (int, float)):
            problems.error(node.value_loc(name), "bad-vars", f"variable '{name}' needs a number "
                           f"(an integer or a decimal) as its default, got {shown(value)}")
        else:
            found[name] = value
    where = root.key_loc("vars") if node is not None else Loc(file, 1, 1)
    for name, value in overrides.items():
        if name not in found and not (node and name in node):
            declared = f"{did_you_mean(name, found)}" if found else " (the spec has no vars:)"
            problems.error(where, "unknown-var", f"--set {name}: the spec declares no variable "
                           f"'{name}'{declared}")
        elif name in found:
            found[name] = value
    return found


def substitute(node: Any, loc: Loc, variables: Mapping[str, Number], problems: Problems) -> Any:
    """`node` with every `$name` and whole-value `${expr}` replaced by its value (for the
    parts of a spec that are not expanded: `input` and `checks`); keeps the locations."""
    if isinstance(node, LMap):
        out = LMap({key: substitute(value, node.value_loc(key), variables, problems)
                    for key, value in node.items()})
        out.loc, out.key_locs, out.value_locs = node.loc, node.key_locs, node.value_locs
        return out
    if isinstance(node, LList):
        items = LList(substitute(v, node.item_loc(i), variables, problems) for i, v in enumerate(node))
        items.loc, items.item_locs = node.loc, node.item_locs
        return items
    if not isinstance(node, str) or "$" not in node:
        return node
    match = _DOLLAR.match(node.strip()) or _EXPR.match(node.strip())
    if not match:
        return node  # left for the consumer to refuse as it refuses any string
    text = match.group(1)
    for name in sorted(names_in(text)):
        if name not in variables:
            problems.error(loc, "unknown-var", f"'{node}': no variable '{name}'"
                           f"{did_you_mean(name, variables) if variables else ' (the spec has no vars:)'}")
            return node
    try:
        return evaluate_with(text, variables)
    except ExprError as exc:
        problems.error(loc, "bad-expr", f"in '{node}' at character {exc.offset + 1}: {exc}")
        return node
