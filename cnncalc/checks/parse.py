"""The `checks:` section of a spec -> a list of `Check`s, or located problems.

This runs while the spec loads (cnncalc.spec.document), so a malformed checks section is a
spec error for every command, not only for `cnncalc check`: a budget that silently does
nothing is worse than none. Layer names are checked against every name the spec declares.
"""
from __future__ import annotations

from collections.abc import Callable, Collection
from typing import Any

from cnncalc.checks.model import Bound, Check
from cnncalc.checks.units import UnitError, parse_bytes, parse_count
from cnncalc.problems import Loc, Problems, did_you_mean
from cnncalc.spec.dtypes import DTYPE_BYTES as DTYPES
from cnncalc.spec.dtypes import OPTIMIZER_STATES
from cnncalc.spec.yamlload import LList, LMap

BOUND_KEYS = ("max", "min", "equals")
# check -> (how its numbers are written, extra keys it accepts besides the bounds)
SCALARS: dict[str, tuple[Callable[[Any], int], tuple[str, ...]]] = {
    "params": (parse_count, ()),
    "macs": (parse_count, ()),
    "flops": (parse_count, ()),
    "rf": (parse_count, ("layer",)),
    "memory": (parse_bytes, ("batch", "training", "optimizer", "dtype")),
}
CHECK_KEYS = (*SCALARS, "output", "layers")
LAYER_KEYS = ("shape", "params", "macs", "flops", "rf")


def parse_checks(node: Any, loc: Loc, names: Collection[str], problems: Problems) -> list[Check]:
    """Every check in a `checks:` mapping; problems go to `problems` (nothing is raised)."""
    if node is None:  # `checks:` with nothing under it
        return []
    if not isinstance(node, LMap):
        problems.error(loc, "bad-checks", "'checks' must be a mapping, e.g. "
                       "`checks: {params: {max: 12M}, output: [1000]}`")
        return []
    parser = _Parser(names, problems)
    found: list[Check] = []
    for key, value in node.items():
        where, key_loc = node.value_loc(key), node.key_loc(key)
        if key in SCALARS:
            found += parser.scalar(key, value, where, key_loc, f"checks.{key}", None)
        elif key == "output":
            found += parser.outputs(value, where, key_loc)
        elif key == "layers":
            found += parser.layers(value, where)
        else:
            problems.error(key_loc, "unknown-check", f"unknown check '{key}' (checks are "
                           f"{', '.join(CHECK_KEYS)}){did_you_mean(key, CHECK_KEYS)}")
    return found


class _Parser:
    def __init__(self, names: Collection[str], problems: Problems):
        self.names, self.problems = names, problems

    def scalar(self, kind: str, node: Any, where: Loc, key_loc: Loc, check_id: str,
               layer: str | None) -> list[Check]:
        """`params: {max: 12M}` and friends: one Check holding every bound written."""
        parse, extra = SCALARS[kind]
        if layer is not None:
            extra = ()  # a layer entry already names its layer; memory is whole-network
        if not isinstance(node, LMap):
            example = "{min: 200}" if kind == "rf" else "{max: 12M} or {equals: 11689512}"
            self.problems.error(where, "bad-check", f"'{kind}' takes a mapping of bounds, "
                                f"e.g. `{kind}: {example}`")
            return []
        bounds: list[Bound] = []
        options: list[tuple[str, Any]] = []
        ok = True
        for key, value in node.items():
            at = node.value_loc(key)
            if key in BOUND_KEYS:
                try:
                    bounds.append(Bound(key, parse(value), _text(value), node.key_loc(key)))
                except UnitError as exc:
                    self.problems.error(at, "bad-value", f"{kind} {key}: {exc}")
                    ok = False
            elif key in extra:
                option = self._option(key, value, at)
                ok = ok and option is not None
                if option is not None:
                    options.append((key, option))
            else:
                allowed = (*BOUND_KEYS, *extra)
                self.problems.error(node.key_loc(key), "unknown-key", f"unknown key '{key}' in "
                                    f"'{kind}' (allowed: {', '.join(allowed)})"
                                    f"{did_you_mean(key, allowed)}")
                ok = False
        if ok and not bounds:
            self.problems.error(where, "bad-check", f"'{kind}' needs at least one of "
                                f"{', '.join(BOUND_KEYS)}")
            ok = False
        limits = {b.op: b for b in bounds}
        if "min" in limits and "max" in limits and limits["min"].value > limits["max"].value:
            self.problems.error(limits["min"].loc, "bad-check", f"'{kind}' min "
                                f"{limits['min'].text} is above max {limits['max'].text}")
            ok = False
        if not ok:
            return []
        options_map = dict(options)
        target = layer if layer is not None else options_map.pop("layer", None)
        return [Check(check_id, kind, key_loc, tuple(bounds), layer=target,
                      options=tuple(options_map.items()))]

    def _option(self, key: str, value: Any, at: Loc) -> Any:
        if key == "layer":
            return self.name(value, at)
        if key == "batch":
            if isinstance(value, int) and not isinstance(value, bool) and value >= 1:
                return value
            self.problems.error(at, "bad-value", "memory batch must be an integer >= 1")
        elif key == "training":
            if isinstance(value, bool):
                return value
            self.problems.error(at, "bad-value", "memory training must be true or false")
        elif key == "optimizer":
            if value in OPTIMIZER_STATES:
                return value
            self.problems.error(at, "bad-value", f"memory optimizer must be one of "
                                f"{', '.join(OPTIMIZER_STATES)}"
                                f"{did_you_mean(str(value), OPTIMIZER_STATES)}")
        elif key == "dtype":
            if value in DTYPES:
                return value
            self.problems.error(at, "bad-value", f"memory dtype must be one of "
                                f"{', '.join(DTYPES)}{did_you_mean(str(value), DTYPES)}")
        return None

    def name(self, value: Any, at: Loc) -> str | None:
        if not isinstance(value, str):
            self.problems.error(at, "bad-value", "expected a layer name")
            return None
        if value not in self.names:
            self.problems.error(at, "unknown-name", f"unknown layer '{value}'"
                                f"{did_you_mean(value, self.names)}")
            return None
        return value

    def outputs(self, node: Any, where: Loc, key_loc: Loc) -> list[Check]:
        """`output: [1000]` (the first output), or a list of shapes, one per output."""
        if isinstance(node, LList) and node and all(isinstance(item, LList) for item in node):
            found = []
            for index, item in enumerate(node):
                shape = self.shape(item, node.item_loc(index), "output")
                if shape is not None:
                    found.append(Check(f"checks.output.{index}", "shape", node.item_loc(index),
                                       shape=shape, output_index=index))
            return found
        shape = self.shape(node, where, "output")
        return [] if shape is None else [Check("checks.output", "shape", key_loc, shape=shape,
                                               output_index=0)]

    def shape(self, node: Any, at: Loc, what: str) -> tuple[int, ...] | None:
        if (isinstance(node, list) and node
                and all(isinstance(n, int) and not isinstance(n, bool) and n > 0 for n in node)):
            return tuple(node)
        self.problems.error(at, "bad-value", f"{what} must be a list of positive integers "
                            "in the input's layout, e.g. [1000] or [512, 7, 7]")
        return None

    def layers(self, node: Any, where: Loc) -> list[Check]:
        """`layers: {layer4: {shape: [512, 7, 7], params: {max: 10M}}}`."""
        if not isinstance(node, LMap):
            self.problems.error(where, "bad-check", "checks 'layers' maps layer names to checks, "
                                "e.g. `layers: {layer4: {shape: [512, 7, 7]}}`")
            return []
        found: list[Check] = []
        for name, entry in node.items():
            if self.name(name, node.key_loc(name)) is None:
                continue
            at = node.value_loc(name)
            if not isinstance(entry, LMap) or not entry:
                self.problems.error(at, "bad-check", f"checks for layer '{name}' are a mapping, "
                                    "e.g. `{shape: [512, 7, 7]}` or `{params: {max: 1M}}`")
                continue
            for key, value in entry.items():
                check_id = f"checks.layers.{name}.{key}"
                if key == "shape":
                    shape = self.shape(value, entry.value_loc(key), f"shape of '{name}'")
                    if shape is not None:
                        found.append(Check(check_id, "shape", entry.key_loc(key), shape=shape,
                                           layer=name))
                elif key in LAYER_KEYS:
                    found += self.scalar(key, value, entry.value_loc(key), entry.key_loc(key),
                                         check_id, name)
                else:
                    self.problems.error(entry.key_loc(key), "unknown-check", f"unknown check "
                                        f"'{key}' for layer '{name}' (allowed: "
                                        f"{', '.join(LAYER_KEYS)}){did_you_mean(key, LAYER_KEYS)}")
        return found


def _text(value: Any) -> str:
    """A bound as the user wrote it: '12M' stays '12M', 11689512 becomes '11,689,512'."""
    if isinstance(value, int):
        return f"{value:,}"
    return str(value).strip()
