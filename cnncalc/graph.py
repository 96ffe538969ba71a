"""The layer graph: layers in topological order, each with its shapes, arguments and weights.

`build_graph` validates every layer's arguments from its op's declaration, evaluates the
`${in_channels}` expressions that had to wait for shapes, and infers every output shape.
All problems are collected; a layer whose input failed is skipped, so one mistake gives one
error, not a cascade.
"""
from __future__ import annotations

import heapq
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

from cnncalc.gcpause import gc_paused
from cnncalc.ops.args import REQUIRED
from cnncalc.ops.base import Op, OpError, Shape, Tensor
from cnncalc.ops.registry import ops
from cnncalc.problems import Loc, Problems, SpecError, did_you_mean
from cnncalc.spec import document
from cnncalc.spec.document import Spec
from cnncalc.spec.expand import LayerDecl
from cnncalc.spec.expr import ExprError, evaluate_with
from cnncalc.spec.refs import BROKEN, INPUT, Deferred
from cnncalc.spec.source import read_spec
from cnncalc.text import fmt_shape


@dataclass(eq=False)
class Layer:
    name: str
    op: Op[Any]
    args: dict[str, Any]
    arg_locs: dict[str, Loc]
    inputs: list[str]
    loc: Loc
    path: tuple[str, ...]
    in_shapes: tuple[Shape, ...]
    out_shape: Shape
    attrs: Any
    index: int = 0

    @property
    def op_name(self) -> str:
        return self.op.name

    @cached_property
    def tensors(self) -> list[Tensor]:
        return self.op.tensors(self)

    @cached_property
    def params(self) -> int:
        """Trainable parameters."""
        return sum(t.size for t in self.tensors if t.trainable)

    @cached_property
    def buffers(self) -> int:
        """Non-trainable state (e.g. batch-norm running statistics)."""
        return sum(t.size for t in self.tensors if not t.trainable)

    @property
    def out_size(self) -> int:
        size = 1
        for n in self.out_shape:
            size *= n
        return size


@dataclass(eq=False)
class Graph:
    spec: Spec
    input_shape: Shape
    layers: list[Layer]
    outputs: list[str]
    by_name: dict[str, Layer] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.by_name = {layer.name: layer for layer in self.layers}
        for index, layer in enumerate(self.layers):
            layer.index = index

    @property
    def name(self) -> str:
        return self.spec.name

    def layer(self, name: str) -> Layer:
        """A layer by its name or any alias (`layer1`, `layer1.0.body`); KeyError if unknown."""
        target = self.spec.aliases.get(name, name)
        if target not in self.by_name:
            real = [alias for alias, layer in self.spec.aliases.items() if layer in self.by_name]
            raise KeyError(f"no layer '{name}'{did_you_mean(name, real)}")  # names that work
        return self.by_name[target]

    def shape_of(self, name: str) -> Shape:
        return self.input_shape if name == INPUT else self.by_name[name].out_shape

    @property
    def output_shapes(self) -> dict[str, Shape]:
        return {name: self.shape_of(name) for name in self.outputs}

    @cached_property
    def consumers(self) -> dict[str, list[Layer]]:
        """For each tensor (INPUT or a layer name), the layers that read it."""
        found: dict[str, list[Layer]] = {INPUT: []}
        for layer in self.layers:
            found.setdefault(layer.name, [])
            for source in dict.fromkeys(layer.inputs):
                found[source].append(layer)
        return found

    @property
    def total_params(self) -> int:
        """Trainable parameters of every layer (non-trainable state is `total_buffers`)."""
        return sum(layer.params for layer in self.layers)

    @property
    def total_buffers(self) -> int:
        return sum(layer.buffers for layer in self.layers)


def load_graph(path: str | Path, input_shape: Shape | None = None,
               variables: Mapping[str, int | float] | None = None) -> Graph:
    """Read a spec file (`-`: standard input) and build its graph; raises SpecError listing
    every problem, a file that cannot be read included. `variables` override the spec's
    `vars:` (as `--set NAME=VALUE` does)."""
    text, file = read_spec(path)
    return load_graph_text(text, file, input_shape, variables)


def load_spec(text: str, file: str, input_override: Shape | None = None,
              variables: Mapping[str, int | float] | None = None) -> Spec:
    """Parse and expand a spec (`spec.document.load_spec`), with this module's shape inference
    for the blocks whose `${in_channels}` need a shape while the spec expands; `variables`
    override the spec's `vars:` (as `--set` does)."""
    return document.load_spec(text, file, input_override, infer_shapes, variables)


def graph_in_layout(text: str, file: str, input_shape: tuple[int, ...] | None = None,
                    variables: Mapping[str, int | float] | None = None) -> Graph:
    """Load a spec's text; `input_shape` (replacing the spec's input) is written in the spec's
    layout: C,H,W, or H,W,C for `layout: channels_last`."""
    spec = load_spec(text, file, variables=variables)
    if input_shape is None:
        return build_graph(spec)
    if spec.layout == "channels_last" and len(input_shape) > 1:
        input_shape = (input_shape[-1], *input_shape[:-1])
    return build_graph(spec, input_shape)


def infer_shapes(spec: Spec, known: dict[str, Shape]) -> dict[str, Shape]:
    """Output shapes of a partial spec's layers, given the shapes of layers it reads that are
    `known` (spec.document's probe while a spec expands); raises SpecError."""
    return {layer.name: layer.out_shape for layer in build_graph(spec, known=known).layers}


def load_graph_text(text: str, file: str = "<string>", input_shape: Shape | None = None,
                    variables: Mapping[str, int | float] | None = None) -> Graph:
    with gc_paused():
        return build_graph(load_spec(text, file, input_shape, variables))


def build_graph(spec: Spec, input_shape: Shape | None = None,
                known: dict[str, Shape] | None = None) -> Graph:
    """Infer every layer's shape; `input_shape` overrides the spec's input.

    `known` gives shapes of layers outside `spec.decls` that its layers may read (used to
    infer shapes incrementally while a spec is still being expanded).
    """
    with gc_paused():
        return _build(spec, input_shape, known)


def _build(spec: Spec, input_shape: Shape | None, known: dict[str, Shape] | None) -> Graph:
    if input_shape is not None and tuple(input_shape) != spec.input_shape and spec.text:
        # Expansion can depend on the input shape (repeat with in_channels): expand again.
        spec = load_spec(spec.text, spec.file, tuple(input_shape), spec.overrides)
    problems = Problems()
    problems.items.extend(spec.problems)
    shape_in = tuple(input_shape) if input_shape is not None else spec.input_shape
    shapes: dict[str, Shape] = {**(known or {})}
    if shape_in:  # `()`: the spec's input was refused (reported), nothing reading it has a shape
        shapes[INPUT] = shape_in
    layers: list[Layer] = []
    registry = ops()
    for decl in topological_order(spec.decls, problems):
        op = registry[decl.op]
        ready = all(name in shapes for name in (*decl.inputs, *decl.extra_deps))
        try:
            # Arguments are checked even below a broken layer: their types do not need shapes.
            args = _arguments(op, decl, shapes if ready else None, problems)
            if args is None or not ready:
                continue  # the problem is reported (here or at an earlier layer)
            in_shapes = tuple(shapes[name] for name in decl.inputs)
            _check_input_count(op, decl)
            out_shape, attrs = op.infer(args, in_shapes)
        except OpError as exc:
            loc = decl.arg_locs.get(exc.arg, decl.loc) if exc.arg else decl.loc
            problems.error(loc, exc.code, f"{decl.op} '{decl.id}': {exc}")
            continue
        if min(out_shape, default=1) <= 0:
            problems.error(decl.loc, "non-positive", f"{decl.op} '{decl.id}': output shape "
                           f"{fmt_shape(out_shape)} has an empty axis")
            continue
        shapes[decl.id] = out_shape
        layers.append(Layer(decl.id, op, args, decl.arg_locs, decl.inputs, decl.loc, decl.path,
                            in_shapes, out_shape, attrs))
    if problems.errors:
        unique = dict.fromkeys(problems.errors)  # a block's mistake shows once, not per use
        raise SpecError(sorted(unique, key=lambda p: (p.loc.file, p.loc.line, p.loc.col)))
    return Graph(spec, shape_in, layers, [name for name, _ in spec.outputs])


def topological_order(decls: list[LayerDecl], problems: Problems) -> list[LayerDecl]:
    """Kahn's algorithm, keeping declaration order among ready layers; reports cycles."""
    index = {decl.id: i for i, decl in enumerate(decls)}
    waiting = [0] * len(decls)
    readers: list[list[int]] = [[] for _ in decls]
    for i, decl in enumerate(decls):
        for dep in dict.fromkeys((*decl.inputs, *decl.extra_deps)):
            if dep in index:
                waiting[i] += 1
                readers[index[dep]].append(i)
    ready = [i for i, n in enumerate(waiting) if n == 0]
    heapq.heapify(ready)
    order: list[LayerDecl] = []
    while ready:
        i = heapq.heappop(ready)
        order.append(decls[i])
        for j in readers[i]:
            waiting[j] -= 1
            if waiting[j] == 0:
                heapq.heappush(ready, j)
    if len(order) < len(decls):
        stuck = {i for i, n in enumerate(waiting) if n > 0}
        problems.error(decls[min(stuck)].loc, "cycle", "the layers form a cycle: "
                       + " -> ".join(_cycle(decls, index, stuck)))
    return order


def _cycle(decls: list[LayerDecl], index: dict[str, int], stuck: set[int]) -> list[str]:
    """One cycle among the stuck layers, for the message."""
    current, seen = min(stuck), []
    while current not in seen:
        seen.append(current)
        current = next(index[d] for d in decls[current].inputs if d in index and index[d] in stuck)
    cycle = seen[seen.index(current):] + [current]
    return [decls[i].id for i in reversed(cycle)]


def _check_input_count(op: Op[Any], decl: LayerDecl) -> None:
    n = len(decl.inputs)
    most = op.max_inputs
    if n < op.min_inputs or (most is not None and n > most):
        want = (f"{op.min_inputs} or more" if most is None else str(most))
        raise OpError(f"takes {want} input{'s' if want != '1' else ''} but 'in' gives {n}"
                      + (" (list them: `in: [a, b]`)" if most is None else ""), "in", "inputs")


def _arguments(op: Op[Any], decl: LayerDecl, shapes: dict[str, Shape] | None,
               problems: Problems) -> dict[str, Any] | None:
    """Validate a layer's arguments against its op's declaration; None if any is wrong."""
    args: dict[str, Any] = {}
    ok = True
    for arg in op.arguments:
        loc = decl.arg_locs.get(arg.name, decl.loc)
        if arg.name not in decl.args:
            if arg.default is REQUIRED:
                problems.error(decl.loc, "missing-arg", f"{decl.op} '{decl.id}' needs '{arg.name}'")
                ok = False
            args[arg.name] = None if arg.default in (None, REQUIRED) else arg.type.check(arg.default)
            continue
        value = decl.args[arg.name]
        try:
            if isinstance(value, Deferred):
                if shapes is None:
                    continue
                value = evaluate_deferred(value, shapes)
            args[arg.name] = arg.type.check(value)
        except ExprError as exc:
            problems.error(loc, "bad-expr", f"{decl.op} '{decl.id}': {exc}")
            ok = False
        except ValueError as exc:
            problems.error(loc, "bad-arg", f"{decl.op} '{decl.id}': '{arg.name}' {exc}")
            ok = False
    return args if ok else None


def evaluate_deferred(value: Deferred, shapes: dict[str, Shape]) -> int | float | bool:
    """An expression that needed `in_channels`, now that the block input's shape is known."""
    env = {k: evaluate_deferred(v, shapes) if isinstance(v, Deferred) else v for k, v in value.env}
    source = value.block_input.id  # type: ignore[union-attr]
    env["in_channels"] = shapes[source][0]
    return evaluate_with(value.text, env)


__all__ = ["BROKEN", "Graph", "Layer", "build_graph", "load_graph", "load_graph_text"]
