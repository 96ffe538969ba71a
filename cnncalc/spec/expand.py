"""Blocks, `repeat`, `$arg`, `"${expr}"` and scoped names -> a flat list of layer declarations.

The expander walks the spec's `layers` once, instantiating blocks as it meets them. Every
reference (`in:`, `outputs:`) is recorded as a `NameRef` in the scope it was written in and
resolved at the end, so names may be used before they are declared and a cycle can be
reported as a cycle rather than as an unknown name.
"""
from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from cnncalc.ops import aliases
from cnncalc.ops.registry import ops
from cnncalc.problems import Loc, Problems, did_you_mean
from cnncalc.spec.blocks import BlockDef
from cnncalc.spec.expr import ExprError, Value, evaluate_with, names_in
from cnncalc.spec.names import name_problem
from cnncalc.spec.refs import (
    BROKEN,
    INPUT,
    Binding,
    Deferred,
    LayerRef,
    NameRef,
    Ref,
    RefValue,
    Scope,
)
from cnncalc.spec.yamlload import LList, LMap
from cnncalc.text import shown

if TYPE_CHECKING:
    from cnncalc.ops.base import Op

MAX_LAYERS = 100_000  # a spec that expands past this is almost surely a typo in `repeat`
MAX_WORK = 10 * MAX_LAYERS
MAX_NESTING = 32  # blocks inside blocks; real networks nest 2 or 3 deep
SPECIAL_KEYS = ("name", "in", "repeat", "if")
_DOLLAR = re.compile(r"\$([A-Za-z_][A-Za-z0-9_]*)")
_EXPR = re.compile(r"\$\{([^}]*)\}")


@dataclass
class LayerDecl:
    """One layer after expansion; the document resolves `refs` into `inputs` (layer names)."""

    id: str
    op: str
    args: dict[str, Any]
    arg_locs: dict[str, Loc]
    refs: list[Ref]
    loc: Loc
    path: tuple[str, ...]  # enclosing groups (block instances, named repeats), outermost first
    inputs: list[str] = field(default_factory=list)
    extra_deps: list[str] = field(default_factory=list)  # block inputs whose shape an expr needs


@dataclass(frozen=True)
class Group:
    """A block instance or a named repeat: a collapsible row in reports."""

    name: str
    kind: str  # the block's name, or "<op> xN" for a named repeat
    loc: Loc


class _ItemError(Exception):
    """The current item is broken; its problem has been recorded already."""


class _Abort(Exception):
    """Expansion cannot go on (size limit); the problem has been recorded."""


class Expander:
    def __init__(self, blocks: dict[str, BlockDef], problems: Problems):
        self.blocks = blocks
        self.problems = problems
        self.decls: list[LayerDecl] = []
        self.groups: dict[str, Group] = {}
        self.ops = ops()
        self.top = Scope(prefix="")
        self.top.names[INPUT] = LayerRef(INPUT)
        self._stack: list[str] = []
        self._work = 0
        self._sizes: dict[tuple[str, Any], tuple[int, int]] = {}  # see _least
        self._stem: str | None = None  # the name of the item being expanded, once known
        # Set by the document: infers a declared layer's shape from the layers expanded so far.
        self.probe: Callable[[Ref, Loc], tuple[int, ...] | None] | None = None
        self.shape_cache: dict[str, tuple[int, ...]] = {}  # shapes the probe has inferred
        self.vars: dict[str, Binding] = {}  # the spec's `vars:`, seen where no argument hides them

    # -- items ----------------------------------------------------------------------------
    def expand(self, items: LList, scope: Scope, prev: Ref, path: tuple[str, ...]) -> Ref:
        explicit = {v["name"] for item in items if isinstance(item, LMap) and len(item) == 1
                    for v in item.values() if isinstance(v, LMap) and isinstance(v.get("name"), str)}
        counters: dict[str, int] = {}
        for index, item in enumerate(items):
            loc = items.item_loc(index)
            self._tick(loc)
            self._stem = None
            try:
                prev = self._item(item, loc, scope, prev, path, explicit, counters)
            except _ItemError:
                prev = LayerRef(BROKEN)
                self._declare_broken(item, scope, explicit, counters)
        return prev

    def _declare_broken(self, item: Any, scope: Scope, explicit: set[str],
                        counters: dict[str, int]) -> None:
        """Give a broken item's name to BROKEN, so readers of it are not reported again."""
        if isinstance(item, str):
            op_name, raw = item, None
        elif isinstance(item, LMap) and len(item) == 1:
            (op_name, raw), = item.items()
        else:
            return
        name = raw.get("name") if isinstance(raw, LMap) else None
        if not isinstance(name, str) or "$" in name or name_problem(name, "layer"):
            if self._stem is not None:
                name = self._stem
            elif op_name in self.ops or op_name in self.blocks:
                name = self._generate(op_name, scope, explicit, counters)
            else:
                return
        scope.names.setdefault(name, LayerRef(BROKEN))

    def _item(self, item: Any, loc: Loc, scope: Scope, prev: Ref, path: tuple[str, ...],
              explicit: set[str], counters: dict[str, int]) -> Ref:
        op_name, raw, raw_loc = self._split_item(item, loc)
        op, block = self.ops.get(op_name), self.blocks.get(op_name)
        if op is None and block is None:
            known = [*self.ops, *self.blocks]
            hint = aliases.op_hint(op_name) or did_you_mean(op_name, known)  # Linear -> dense
            self._fail(loc, "unknown-op", f"unknown op '{op_name}'{hint}")
        declared = [a.name for a in op.arguments] if op else list(block.args) if block else []
        args, arg_locs = self._arguments(op_name, raw, raw_loc, declared, op)
        name = self._name(args.pop("name", None), arg_locs.get("name", loc), scope)
        # The generated name is taken even when the item is removed (repeat 0), so the names
        # of the items after it never depend on a repeat count.
        stem = self._stem = name or self._generate(op_name, scope, explicit, counters)
        repeated = "repeat" in args
        repeat = self._repeat(args.pop("repeat", 1), arg_locs.get("repeat", loc), scope)
        if "if" in args and not self._condition(args.pop("if"), arg_locs["if"], scope):
            repeat = 0  # the item is absent; its name, if any, stands for its input
        refs = ([prev] if "in" not in args
                else self._in_refs(args.pop("in"), arg_locs["in"], scope))
        if op is not None:
            values = {key: self._subst(value, arg_locs[key], scope) for key, value in args.items()}
            missing = [a.name for a in op.arguments if a.required and a.name not in values]
            if missing:
                self._fail(loc, "missing-arg", f"{op_name} needs argument '{missing[0]}'")
        else:
            values = {key: self._bind(value, arg_locs[key], scope) for key, value in args.items()}
        name_loc = arg_locs.get("name", loc)
        if repeat == 0:
            if name:
                self._declare(scope, name, refs[0], name_loc)
            return refs[0]
        if block is not None:
            self._check_size(block, repeat, values, loc)
        if repeated:  # copies are always stem.0, stem.1, ...: one copy or ten, the same names
            self.groups[scope.prefix + stem] = Group(scope.prefix + stem, f"{op_name} x{repeat}", loc)
        for copy in range(repeat):
            local = f"{stem}.{copy}" if repeated else stem
            copy_path = path + ((scope.prefix + stem,) if repeated else ())
            if op is not None:
                self._count(loc)
                decl = LayerDecl(scope.prefix + local, op_name, dict(values), arg_locs, refs, loc,
                                 copy_path)
                decl.extra_deps = [d.block_input for d in values.values()  # type: ignore[misc]
                                   if isinstance(d, Deferred)]
                self.decls.append(decl)
                out: Ref = LayerRef(decl.id)
            else:
                assert block is not None
                self._tick(loc)
                out = self._instance(block, local, values, arg_locs, refs, loc, scope, copy_path)
            self._declare(scope, local, out, name_loc, generated=name is None)
            refs = [out]
        if repeated:  # `stem` alone is the last copy, inside too: stem.body
            self._declare(scope, stem, refs[0], name_loc, generated=name is None)
            if block is not None:
                scope.children[stem] = scope.children[f"{stem}.{repeat - 1}"]
        return refs[0]

    def _instance(self, block: BlockDef, local: str, values: dict[str, Binding], arg_locs: dict[str, Loc],
                  refs: list[Ref], loc: Loc, scope: Scope, path: tuple[str, ...]) -> Ref:
        if block.name in self._stack:
            self._fail(loc, "recursion", f"block '{block.name}' uses itself "
                       f"({' -> '.join([*self._stack, block.name])})")
        if len(self._stack) >= MAX_NESTING:
            self._fail(loc, "too-deep", f"blocks nested more than {MAX_NESTING} deep "
                       f"({' -> '.join([*self._stack[:3], '...', block.name])})")
        if len(refs) != 1:
            self._fail(arg_locs.get("in", loc), "block-inputs",
                       f"block '{block.name}' has one input ($in); pass other layers as arguments")
        child = Scope(prefix=f"{scope.prefix}{local}.", input_ref=refs[0], block=block.name,
                      parent=scope)
        child.args.update(values)
        for key, (default, default_loc) in block.args.items():
            if key in child.args:
                continue
            if default == BlockDef.REQUIRED:
                self._fail(loc, "missing-arg", f"block '{block.name}' needs argument '{key}'")
            child.args[key] = Binding(self._subst(default, default_loc, child), default_loc, child)
        scope.children[local] = child
        self.groups[child.prefix[:-1]] = Group(child.prefix[:-1], block.name, loc)
        self._stack.append(block.name)
        try:
            return self.expand(block.layers, child, refs[0], path + (child.prefix[:-1],))
        finally:
            self._stack.pop()

    # -- pieces of an item ----------------------------------------------------------------
    def _split_item(self, item: Any, loc: Loc) -> tuple[str, Any, Loc]:
        if isinstance(item, str):
            return item, None, loc
        if isinstance(item, LMap) and len(item) == 1:
            (key, value), = item.items()
            return key, value, item.value_loc(key)
        self._fail(loc, "bad-layer", "a layer is an op name (`- relu`) or a one-key mapping "
                   "(`- conv: {filters: 64, kernel: 3}`)")
        raise AssertionError

    def _arguments(self, op_name: str, raw: Any, raw_loc: Loc, declared: list[str],
                   op: Op[Any] | None = None) -> tuple[dict[str, Any], dict[str, Loc]]:
        if raw is None:
            return {}, {}
        if not isinstance(raw, LMap):
            if not declared:
                self._fail(raw_loc, "unknown-arg", f"{op_name} takes no arguments")
            return {declared[0]: raw}, {declared[0]: raw_loc}
        known = [*declared, *SPECIAL_KEYS]
        for key in raw:
            if key not in known:
                self._fail(raw.key_loc(key), "unknown-arg",
                           f"{op_name} has no argument '{key}'"
                           f"{aliases.arg_hint(op, key) or did_you_mean(key, known)}"
                           + (f" (its arguments: {', '.join(declared)})" if declared else ""))
        return dict(raw), {key: raw.value_loc(key) for key in raw}

    def _name(self, value: Any, loc: Loc, scope: Scope) -> str | None:
        if value is None:
            return None
        value = self._subst(value, loc, scope)
        problem = name_problem(value, "layer")
        if problem:
            self._fail(loc, "bad-name", problem)
        if value == INPUT:
            self._fail(loc, "bad-name", "'input' is reserved for the network input")
        return str(value)

    def _repeat(self, value: Any, loc: Loc, scope: Scope) -> int:
        value = self._subst(value, loc, scope)
        if isinstance(value, Deferred):
            value = self._evaluate_now(value, loc)
        if isinstance(value, bool):  # a condition: the item is there once, or not at all
            value = int(value)
        if not isinstance(value, int) or value < 0:
            self._fail(loc, "bad-repeat", f"repeat must be an integer >= 0 or a condition, "
                       f"got {shown(value)}")
        if value > MAX_LAYERS:
            self._fail(loc, "too-large", f"repeat: {value:,} exceeds the limit of {MAX_LAYERS:,} layers")
        return int(value)

    def _condition(self, value: Any, loc: Loc, scope: Scope) -> bool:
        value = self._subst(value, loc, scope)
        if isinstance(value, Deferred):
            value = self._evaluate_now(value, loc)
        if not isinstance(value, bool):
            self._fail(loc, "bad-if", f"'if' takes a condition (true/false, e.g. "
                       f"\"${{in_channels == filters}}\"), got {shown(value)}")
        return bool(value)

    def _in_refs(self, value: Any, loc: Loc, scope: Scope) -> list[Ref]:
        items = list(value) if isinstance(value, list) else [value]
        locs = ([value.item_loc(i) for i in range(len(items))] if isinstance(value, LList)
                else [loc] * len(items))
        if not items:
            self._fail(loc, "bad-in", "'in' needs at least one layer name")
        refs: list[Ref] = []
        for item, item_loc in zip(items, locs):
            if not isinstance(item, str):
                self._fail(item_loc, "bad-in", f"'in' takes layer names, got {item!r}")
            match = _DOLLAR.fullmatch(item)
            if item == "$in":
                if scope.input_ref is None:
                    self._fail(item_loc, "bad-in", "$in is only defined inside a block; "
                               "the network input is called 'input'")
                refs.append(scope.input_ref)  # type: ignore[arg-type]
            elif match:
                binding = self._binding(match.group(1), item_loc, scope)
                if isinstance(binding.value, RefValue):
                    refs.append(binding.value.ref)
                elif isinstance(binding.value, str) and not binding.value.startswith("$"):
                    refs.append(NameRef(binding.scope, binding.value, binding.loc))
                else:
                    self._fail(item_loc, "bad-in", f"argument ${match.group(1)} is "
                               f"{binding.value!r}, not a layer name")
            else:
                refs.append(NameRef(scope, item, item_loc))
        return refs

    # -- substitution ---------------------------------------------------------------------
    def _binding(self, name: str, loc: Loc, scope: Scope) -> Binding:
        if name not in scope.args and name in self.vars:
            return self.vars[name]
        if name not in scope.args:
            where = f"block '{scope.block}'" if scope.block else "the top level (outside any block)"
            var = " or a variable in vars:" if self.vars else ""
            self._fail(loc, "unknown-arg", f"${name} is not an argument of {where}{var}"
                       f"{did_you_mean(name, [*scope.args, *self.vars])}")
        return scope.args[name]

    def _bind(self, value: Any, loc: Loc, scope: Scope) -> Binding:
        """A block argument; `$arg` passes the outer binding on, keeping the scope it names."""
        match = _DOLLAR.fullmatch(value) if isinstance(value, str) else None
        if match and match.group(1) != "in":
            return self._binding(match.group(1), loc, scope)
        return Binding(self._subst(value, loc, scope), loc, scope)

    def _subst(self, value: Any, loc: Loc, scope: Scope) -> Any:
        if isinstance(value, LList):
            out = LList(self._subst(v, value.item_loc(i), scope) for i, v in enumerate(value))
            out.loc, out.item_locs = value.loc, value.item_locs
            return out
        if not isinstance(value, str) or "$" not in value:
            return value
        if value == "$in":
            if scope.input_ref is None:
                self._fail(loc, "bad-in", "$in is only defined inside a block")
            return RefValue(scope.input_ref)  # type: ignore[arg-type]
        match = _DOLLAR.fullmatch(value)
        if match:
            return self._binding(match.group(1), loc, scope).value
        whole = _EXPR.fullmatch(value.strip())
        if whole:
            return self._expression(whole.group(1), loc, scope)
        parts = []
        for piece in re.split(r"(\$\{[^}]*\})", value):
            part = _EXPR.fullmatch(piece)
            result = self._expression(part.group(1), loc, scope) if part else piece
            if isinstance(result, Deferred):
                self._fail(loc, "bad-expr", "in_channels can only be used in a whole-value "
                           "expression, not inside a longer string")
            parts.append(str(result).lower() if isinstance(result, bool) else str(result))
        return "".join(parts)

    def _expression(self, text: str, loc: Loc, scope: Scope) -> Value | Deferred:
        env: dict[str, Any] = {}
        for name in sorted(names_in(text)):
            if name == "in_channels" and scope.input_ref is not None:
                continue
            value = self._binding(name, loc, scope).value
            if not isinstance(value, (int, float, Deferred)):  # bool is an int: conditions pass
                self._fail(loc, "bad-expr", f"${{{text}}}: '{name}' is {shown(value)}, not a "
                           "number or true/false")
            env[name] = value
        if "in_channels" in names_in(text) or any(isinstance(v, Deferred) for v in env.values()):
            assert scope.input_ref is not None
            return Deferred(text, loc, tuple(env.items()), scope.input_ref)
        try:
            return evaluate_with(text, env)
        except ExprError as exc:
            self._fail(loc, "bad-expr", f"in '${{{text}}}' at character {exc.offset + 1}: {exc}")
            raise AssertionError from None

    def _evaluate_now(self, value: Deferred, loc: Loc) -> Value:
        """`repeat: "${...in_channels...}"`: the structure depends on a shape, so infer it now."""
        env = {k: self._evaluate_now(v, loc) if isinstance(v, Deferred) else v for k, v in value.env}
        shape = self.probe(value.block_input, loc) if self.probe else None
        if shape is None:
            self._fail(loc, "bad-repeat", f"'${{{value.text}}}' needs in_channels, but the block "
                       "input's shape is not known here (it must be declared before the block)")
        try:
            return evaluate_with(value.text, {**env, "in_channels": shape[0]})  # type: ignore[index]
        except ExprError as exc:
            self._fail(loc, "bad-expr", f"in '${{{value.text}}}' at character {exc.offset + 1}: {exc}")
            raise AssertionError from None

    # -- names ----------------------------------------------------------------------------
    def _generate(self, op_name: str, scope: Scope, explicit: set[str], counters: dict[str, int]) -> str:
        while True:
            counters[op_name] = counters.get(op_name, 0) + 1
            candidate = f"{op_name}{counters[op_name]}"
            if candidate not in explicit and candidate not in scope.names:
                return candidate

    def _declare(self, scope: Scope, name: str, ref: Ref, loc: Loc, generated: bool = False) -> None:
        if name in scope.names and not generated:
            self._fail(loc, "duplicate-name", f"duplicate layer name '{name}'")
        scope.names[name] = ref

    def _tick(self, loc: Loc, steps: int = 1) -> None:
        """Items and block instances visited: bounds work that makes no layers (repeat 0)."""
        self._work += steps
        if self._work > MAX_WORK:
            self.problems.error(loc, "too-large", f"the spec expands to more than {MAX_WORK:,} "
                                "items and block instances (check `repeat` and nested blocks)")
            raise _Abort

    def _check_size(self, block: BlockDef, copies: int, values: dict[str, Binding],
                    loc: Loc) -> None:
        """Refuse a fan-out of blocks before expanding it, from a lower bound of its size."""
        given = {key: binding.value for key, binding in values.items()}
        layers, work = self._least(block.name, self._known(block, given, {}), 0)
        if len(self.decls) + copies * layers > MAX_LAYERS:
            self.problems.error(loc, "too-large", f"the spec expands to more than {MAX_LAYERS:,} "
                                f"layers (here {copies:,} x at least {layers:,}; check `repeat` "
                                "and nested blocks)")
            raise _Abort
        if self._work + copies * work > MAX_WORK:
            self._tick(loc, copies * work)

    def _known(self, block: BlockDef, given: Any, env: dict[str, Any]) -> tuple[tuple[str, Any], ...]:
        """The arguments of a block instance whose values are known before expanding it."""
        known = []
        for key, (default, _) in block.args.items():
            passed = isinstance(given, dict) and key in given
            value = _literal(given[key], env) if passed else _literal(default, {})
            if isinstance(value, (int, str)) and value != BlockDef.REQUIRED:
                known.append((key, value))
        return tuple(known)

    def _least(self, name: str, known: tuple[tuple[str, Any], ...], depth: int) -> tuple[int, int]:
        """At least how many layers, and items + instances, one instance of a block makes.

        Counts come from literals and from arguments known here (anything else counts as zero
        copies), so the bound is never too high; memoized per block and known arguments.
        """
        key = (name, known)
        if key in self._sizes:
            return self._sizes[key]
        self._sizes[key] = 0, 0  # a recursive block (reported elsewhere) adds nothing here
        env = dict(known)
        layers = work = 0
        for item in self.blocks[name].layers if depth < MAX_NESTING else ():
            op_name, args = (item, None) if isinstance(item, str) else (
                next(iter(item.items())) if isinstance(item, LMap) and len(item) == 1 else (None, None))
            copies = 1
            if isinstance(args, LMap):
                repeat = _literal(args.get("repeat", 1), env)
                condition = _literal(args.get("if", True), env)
                copies = repeat if isinstance(repeat, int) and repeat >= 0 and condition is True else 0
            work += 1
            if op_name in self.ops:
                layers += copies
            elif op_name in self.blocks and copies:
                inner = self.blocks[op_name]
                inner_layers, inner_work = self._least(op_name, self._known(inner, args, env), depth + 1)
                layers, work = layers + copies * inner_layers, work + copies * (inner_work + 1)
            layers, work = min(layers, MAX_LAYERS + 1), min(work, MAX_WORK + 1)
        self._sizes[key] = layers, work
        return layers, work

    def _count(self, loc: Loc) -> None:
        if len(self.decls) >= MAX_LAYERS:
            self.problems.error(loc, "too-large", f"the spec expands to more than {MAX_LAYERS:,} "
                                "layers (check `repeat` and nested blocks)")
            raise _Abort

    def _fail(self, loc: Loc, code: str, message: str) -> None:
        self.problems.error(loc, code, message)
        raise _ItemError


def _literal(value: Any, env: dict[str, Any]) -> Any:
    """A value known before expansion: a literal, a known `$arg`, or `${expr}` of known ones."""
    if isinstance(value, bool):
        return value
    if not isinstance(value, str) or "$" not in value:
        return value
    match = _DOLLAR.fullmatch(value)
    if match:
        return env.get(match.group(1))
    whole = _EXPR.fullmatch(value.strip())
    if whole:
        names = names_in(whole.group(1))
        if all(isinstance(env.get(n), int) for n in names):
            try:
                return evaluate_with(whole.group(1), {n: env[n] for n in names})
            except ExprError:
                return None
    return None
