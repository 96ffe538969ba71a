"""A whole spec file: top-level keys, the input, then expansion and name resolution."""
from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from cnncalc.checks.model import Check
from cnncalc.checks.parse import parse_checks
from cnncalc.gcpause import gc_paused
from cnncalc.ops.registry import ops
from cnncalc.problems import Loc, Problem, Problems, SpecError, did_you_mean
from cnncalc.spec.blocks import parse_blocks
from cnncalc.spec.dtypes import DTYPE_BYTES as DTYPES
from cnncalc.spec.expand import MAX_NESTING, Expander, Group, LayerDecl, _Abort
from cnncalc.spec.names import text_problem
from cnncalc.spec.refs import BROKEN, INPUT, Binding, Deferred, LayerRef, NameRef, Ref, Scope
from cnncalc.spec.variables import parse_vars, substitute
from cnncalc.spec.yamlload import LList, LMap, load_text
from cnncalc.text import shown

TOP_KEYS = ("cnncalc", "name", "description", "vars", "input", "dtype", "blocks", "layers", "outputs",
            "checks")
LAYOUTS = ("channels_first", "channels_last")


def user_layout(shape: tuple[int, ...], layout: str) -> tuple[int, ...]:
    """A channels-first shape in the layout the spec's input was written in."""
    if layout == "channels_last" and len(shape) > 1:
        return (*shape[1:], shape[0])
    return tuple(shape)


@dataclass
class Spec:
    """A loaded spec: flat layer declarations with resolved inputs, plus the top-level facts."""

    file: str
    name: str
    description: str
    input_shape: tuple[int, ...]  # channels-first, no batch
    layout: str
    dtype: str
    decls: list[LayerDecl]
    outputs: list[tuple[str, Loc]]
    aliases: dict[str, str]  # every name usable at top level (dotted ones too) -> layer id
    groups: dict[str, Group]
    checks: LMap | None
    checks_loc: Loc
    input_loc: Loc
    source_lines: list[str] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)  # found while expanding
    text: str = ""
    input_override: tuple[int, ...] | None = None
    parsed_checks: list[Check] = field(default_factory=list)  # `checks:`, validated
    overrides: dict[str, int | float] = field(default_factory=dict)  # --set, as given
    variables: dict[str, int | float] = field(default_factory=dict)  # vars: after --set


# Infers the shapes of a partial spec's layers (given the shapes already `known`): the graph
# builder (cnncalc.graph.infer_shapes), handed down so that this layer does not import it.
ShapeInference = Callable[["Spec", dict[str, tuple[int, ...]]], dict[str, tuple[int, ...]]]


def load_spec(text: str, file: str, input_override: tuple[int, ...] | None = None,
              infer: ShapeInference | None = None,
              variables: Mapping[str, int | float] | None = None) -> Spec:
    """Parse and expand a spec, or raise SpecError on problems that stop the expansion.

    `input_override` replaces the spec's input shape (the expansion may depend on it when a
    `repeat` uses in_channels). `variables` override the spec's `vars:` (as `--set` does).
    Problems that leave only holes are kept in `Spec.problems`. `infer` gives the shapes a
    block's `${in_channels}` needs while the spec expands; without it they are unknown.
    `cnncalc.graph.load_spec` passes the graph builder: use that one.
    """
    with gc_paused():
        return _load(text, file, input_override, infer, dict(variables or {}))


def _load(text: str, file: str, input_override: tuple[int, ...] | None,
          infer: ShapeInference | None, overrides: dict[str, int | float]) -> Spec:
    root = load_text(text, file)
    problems = Problems()
    start = Loc(file, 1, 1)
    if not isinstance(root, LMap):
        raise SpecError([_problem(start, "bad-spec", "a spec is a mapping with at least "
                                  "'input' and 'layers'")])
    for key in root:
        if key not in TOP_KEYS:
            problems.error(root.key_loc(key), "unknown-key",
                           f"unknown key '{key}'{did_you_mean(key, TOP_KEYS)}")
    version = root.get("cnncalc", 1)
    if isinstance(version, bool) or version != 1:  # `true == 1` in Python, not here
        problems.error(root.value_loc("cnncalc"), "bad-version", f"unsupported format version "
                       f"{shown(version)} (this cnncalc reads format 1: `cnncalc: 1`)")
    values = parse_vars(root, overrides, file, problems)
    bad_vars = False
    for key in ("input", "checks"):  # read as they are, not expanded: only `$var`/`${expr}`
        if key in root:
            before = len(problems.errors)
            root[key] = substitute(root[key], root.value_loc(key), values, problems)
            bad_vars = bad_vars or (key == "input" and len(problems.errors) > before)
    input_shape, layout = _input(root, problems, start, bad_vars)
    if input_override is not None:
        input_shape = tuple(input_override)
    if input_shape is None:
        # Reported: `()` leaves the input without a shape, so the graph builder checks every
        # layer's arguments but reports no shape that follows from a wrong input.
        input_shape = ()
    dtype = root.get("dtype", "float32")
    if not isinstance(dtype, str) or dtype not in DTYPES:
        hint = did_you_mean(dtype, DTYPES) if isinstance(dtype, str) else ""
        problems.error(root.value_loc("dtype"), "bad-dtype", f"dtype must be one of "
                       f"{', '.join(DTYPES)}, got {shown(dtype)}{hint}")
        dtype = "float32"
    for key in ("name", "description"):
        problem = text_problem(root[key], key) if key in root else None
        if problem:
            problems.error(root.value_loc(key), "bad-value", problem)
    blocks = parse_blocks(root.get("blocks"), root.value_loc("blocks"), set(ops()), problems)
    layers = root.get("layers")
    if not isinstance(layers, LList) or not layers:
        where = root.value_loc("layers") if "layers" in root else start
        problems.error(where, "no-layers", "the spec needs a non-empty 'layers' list")
        raise SpecError(problems.errors)
    expander = Expander(blocks, problems)
    expander.vars = {name: Binding(value, root.value_loc("vars"), expander.top)
                     for name, value in values.items()}
    if infer is not None and input_shape:
        expander.probe = lambda ref, loc: _probe(expander, ref, input_shape, file, infer)
    try:
        last = expander.expand(layers, expander.top, LayerRef(INPUT), ())
    except _Abort:
        raise SpecError(problems.errors) from None
    resolver = _Resolver(expander.top, problems)
    for decl in expander.decls:
        decl.inputs = [resolver.resolve(ref) for ref in decl.refs]
        decl.extra_deps = [resolver.resolve(ref) for ref in decl.extra_deps]  # type: ignore[arg-type]
        for key, value in decl.args.items():
            if isinstance(value, Deferred):
                decl.args[key] = _resolve_deferred(value, resolver)
    outputs = _outputs(root, expander.top, resolver, last, start)
    aliases = _aliases(expander.top, resolver)
    # A malformed budget is a spec error for every command, not only for `cnncalc check`.
    checks = parse_checks(root.get("checks"), root.value_loc("checks"), aliases, problems)
    # Problems so far leave holes (BROKEN) the graph builder skips; it reports them with its own.
    return Spec(problems=problems.errors, text=text, input_override=input_override, file=file,
                name=str(root.get("name") or _stem(file)),
                description=str(root.get("description") or ""), input_shape=input_shape,
                layout=layout, dtype=str(dtype), decls=expander.decls, outputs=outputs,
                aliases=aliases, groups=expander.groups,
                checks=root.get("checks"), checks_loc=root.value_loc("checks"),
                input_loc=root.value_loc("input"), source_lines=text.splitlines(),
                parsed_checks=checks, overrides=overrides, variables=values)


def _probe(expander: Expander, ref: Ref, input_shape: tuple[int, ...],
           file: str, infer: ShapeInference) -> tuple[int, ...] | None:
    """The shape of a layer declared so far, inferred from its ancestors (None if unknown)."""
    scratch = Problems()
    resolver = _Resolver(expander.top, scratch)
    target = resolver.resolve(ref)
    if target == INPUT:
        return input_shape
    by_id = {decl.id: decl for decl in expander.decls}
    needed: dict[str, LayerDecl] = {}
    pending = [target]
    known = expander.shape_cache
    while pending:
        name = pending.pop()
        if name in needed or name not in by_id or name in known:
            continue
        decl = by_id[name]
        copy = LayerDecl(decl.id, decl.op, dict(decl.args), decl.arg_locs, decl.refs, decl.loc,
                         decl.path, [resolver.resolve(r) for r in decl.refs],
                         [resolver.resolve(r) for r in decl.extra_deps])  # type: ignore[arg-type]
        copy.args = {k: _resolve_deferred(v, resolver) if isinstance(v, Deferred) else v
                     for k, v in copy.args.items()}
        needed[name] = copy
        pending += [*copy.inputs, *copy.extra_deps]
    if target in known:
        return known[target]
    if target not in needed or scratch.errors:
        return None
    partial = Spec(file=file, name="", description="", input_shape=input_shape,
                   layout="channels_first", dtype="float32",
                   decls=[needed[d.id] for d in expander.decls if d.id in needed],
                   outputs=[], aliases={}, groups={}, checks=None, checks_loc=Loc(file, 1, 1),
                   input_loc=Loc(file, 1, 1))
    try:
        known.update(infer(partial, known))
        return known[target]
    except SpecError:
        return None  # the full build reports what is wrong with those layers


def _resolve_deferred(value: Deferred, resolver: _Resolver) -> Deferred:
    env = tuple((k, _resolve_deferred(v, resolver) if isinstance(v, Deferred) else v)
                for k, v in value.env)
    return Deferred(value.text, value.loc, env, LayerRef(resolver.resolve(value.block_input)))


def _input(root: LMap, problems: Problems, start: Loc,
           reported: bool) -> tuple[tuple[int, ...] | None, str]:
    """The input shape (channels first) and its layout; None when it is missing or wrong
    (`reported`: a variable in it was already refused, so say nothing more about it)."""
    if "input" not in root:
        problems.error(start, "no-input", "the spec needs 'input' (e.g. `input: [3, 224, 224]`)")
        return None, "channels_first"
    node, loc, layout = root["input"], root.value_loc("input"), "channels_first"
    if isinstance(node, LMap):
        for key in node:
            if key not in ("shape", "layout"):
                problems.error(node.key_loc(key), "unknown-key", f"unknown key '{key}' in input"
                               f"{did_you_mean(key, ('shape', 'layout'))}")
        layout = node.get("layout", "channels_first")
        if not isinstance(layout, str) or layout not in LAYOUTS:
            hint = did_you_mean(layout, LAYOUTS) if isinstance(layout, str) else ""
            problems.error(node.value_loc("layout"), "bad-value", f"layout must be channels_first "
                           f"or channels_last, got {shown(layout)}{hint}")
            layout = "channels_first"
        loc, node = node.value_loc("shape"), node.get("shape")
    if not (isinstance(node, list) and node and all(isinstance(n, int) and not isinstance(n, bool)
                                                    and n > 0 for n in node)):
        if not reported:
            problems.error(loc, "bad-input", "input shape must be a list of positive integers, "
                           "channels first (e.g. [3, 224, 224]) or channels_last with layout")
        return None, "channels_first"
    shape = tuple(node)
    return (shape[-1], *shape[:-1]) if layout == "channels_last" else shape, layout


def _outputs(root: LMap, top: Scope, resolver: _Resolver, last: Ref,
             start: Loc) -> list[tuple[str, Loc]]:
    node = root.get("outputs")
    if node is None:
        return [(resolver.resolve(last), start)]
    names = node if isinstance(node, LList) else [node]
    if not names:
        resolver.problems.error(root.value_loc("outputs"), "bad-output", "'outputs' lists at "
                                "least one layer name (leave it out for the last layer)")
    out = []
    for index, name in enumerate(names):
        loc = node.item_loc(index) if isinstance(node, LList) else root.value_loc("outputs")
        if not isinstance(name, str):
            resolver.problems.error(loc, "bad-output", f"outputs lists layer names, got {shown(name)}")
            continue
        out.append((resolver.resolve(NameRef(top, name, loc)), loc))
    return out


def _aliases(top: Scope, resolver: _Resolver) -> dict[str, str]:
    found: dict[str, str] = {}

    def walk(scope: Scope, prefix: str) -> None:
        for name, ref in scope.names.items():
            found.setdefault(prefix + name, resolver.resolve(ref))
        for name, child in scope.children.items():
            walk(child, f"{prefix}{name}.")

    walk(top, "")
    return found


def _stem(file: str) -> str:
    base = file.replace("\\", "/").rsplit("/", 1)[-1]
    for suffix in (".cnn.yaml", ".cnn.yml", ".yaml", ".yml"):
        if base.endswith(suffix):
            return base[: -len(suffix)]
    return base


def _problem(loc: Loc, code: str, message: str) -> Problem:
    return Problem(loc, "error", code, message)


class _Resolver:
    """Turns references into layer ids, reporting unknown names with suggestions."""

    def __init__(self, top: Scope, problems: Problems):
        self.top, self.problems = top, problems
        self._active: set[int] = set()

    def resolve(self, ref: Ref) -> str:
        if isinstance(ref, LayerRef):
            return ref.id
        key = id(ref)
        if key in self._active:
            self.problems.error(ref.loc, "cycle", f"name '{ref.name}' refers to itself")
            return BROKEN
        target = lookup(ref.scope, ref.name)
        if target is None:
            self.problems.error(ref.loc, "unknown-name", self._unknown(ref))
            return BROKEN
        self._active.add(key)
        try:
            return self.resolve(target)
        finally:
            self._active.discard(key)

    def _unknown(self, ref: NameRef) -> str:
        visible = list(visible_names(ref.scope))
        message = f"unknown layer '{ref.name}'{did_you_mean(ref.name, visible)}"
        outer = ref.scope.parent
        while outer is not None:
            if lookup(outer, ref.name) is not None:
                return (f"{message}: '{ref.name}' is outside block '{ref.scope.block}', and outer "
                        f"names are not visible inside a block; pass it as an argument "
                        f"(e.g. `skip: {ref.name}`) and use `in: $skip`")
            outer = outer.parent
        return message


def lookup(scope: Scope, name: str) -> Ref | None:
    """A name in a scope: a local name, or a dotted path into a block instance."""
    if name in scope.names:
        return scope.names[name]
    parts = name.split(".")
    if len(parts) > 2 * MAX_NESTING + 2:  # deeper than any scope can be: not a name
        return None
    for cut in range(len(parts) - 1, 0, -1):
        child = scope.children.get(".".join(parts[:cut]))
        if child is not None:
            found = lookup(child, ".".join(parts[cut:]))
            if found is not None:
                return found
    return None


def visible_names(scope: Scope, prefix: str = "") -> list[str]:
    names = [prefix + n for n in scope.names]
    for name, child in scope.children.items():
        names += visible_names(child, f"{prefix}{name}.")
    return names
