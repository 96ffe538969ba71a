"""Run checks on a graph: measure what each check asks for, compare, word the outcome.

The analyses (cost, memory, receptive field) are computed at most once per graph and only
when some check needs them, so a spec with only a params budget stays instant.
"""
from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from functools import cached_property
from typing import TYPE_CHECKING, Any

from cnncalc.analysis.cost import analyze_cost
from cnncalc.analysis.memory import analyze_memory
from cnncalc.analysis.rf import analyze_rf
from cnncalc.checks.model import LABELS, Bound, Check, Result, miss
from cnncalc.spec.document import user_layout
from cnncalc.spec.refs import INPUT
from cnncalc.text import count, fmt_shape, number, short_bytes

if TYPE_CHECKING:
    from cnncalc.analysis.cost import CostResult
    from cnncalc.analysis.memory import MemoryResult
    from cnncalc.analysis.rf import RFResult
    from cnncalc.graph import Graph, Layer

@dataclass(frozen=True)
class Measured:
    value: int | Fraction | None  # None: a global receptive field (sees the whole input)
    shown: str  # the value as the message shows it: '12,504,232', '2,352,000,000 B (2.35 GB)'
    context: str = ""  # appended to the message: ' (training step, batch 32, adam, float32)'
    subject: str = ""  # who was measured, when the check does not say: "layer 'x' receptive field"


def run_checks(graph: Graph, checks: list[Check], figures: Figures | None = None) -> list[Result]:
    """One result per bound of each scalar check and one per shape check, in order
    (`figures`: measurements already made of this graph, to reuse)."""
    figures = figures or Figures(graph)
    results: list[Result] = []
    for check in checks:
        if check.kind == "shape":
            results.append(_shape_result(graph, check))
            continue
        try:
            measured = figures.measure(check)
        except _NoSpatialAxes as exc:
            results.append(Result(check, False, f"{exc} cannot be measured: the input has no "
                                  "spatial axes", check.loc, None,
                                  {b.op: b.value for b in check.bounds}))
            continue
        except _NotComputed as exc:
            results.append(Result(check, False, f"{exc}; the check cannot be decided", check.loc,
                                  None, {b.op: b.value for b in check.bounds}))
            continue
        for bound in check.bounds:
            results.append(_bound_result(graph, check, bound, measured))
    return results


def _subject(graph: Graph, check: Check) -> str:
    """Who is measured: 'params', "layer 'fc' params", "block 'layer4' params"."""
    label = LABELS[check.kind]
    if check.layer is None:
        return label
    kind = "block" if check.layer in graph.spec.groups else "layer"
    return f"{kind} '{check.layer}' {label}"


def _bound_result(graph: Graph, check: Check, bound: Bound, measured: Measured) -> Result:
    subject = measured.subject or _subject(graph, check)
    if measured.value is None:
        # A global receptive field sees the whole input: more than any `min` asks, and no
        # finite `max` or `equals` can describe it.
        passed = bound.op == "min"
        relation = "meets" if passed else "has no finite size for"
        return Result(check, passed, f"{subject} is global (sees the whole input), {relation} "
                      f"{bound.op} {bound.text}", bound.loc, "global", {bound.op: bound.value})
    passed = bound.holds(measured.value)
    actual = measured.value if isinstance(measured.value, int) else str(measured.value)
    return Result(check, passed, _word(subject, bound, measured, passed), bound.loc, actual,
                  {bound.op: bound.value})


def _word(subject: str, bound: Bound, measured: Measured, passed: bool) -> str:
    assert measured.value is not None  # global receptive fields are worded by the caller
    shown, limit = measured.shown, bound.text
    if passed:
        relation = {"max": "within max", "min": "meets min", "equals": "equals"}[bound.op]
        return f"{subject} {shown} {relation} {limit}{measured.context}"
    off = miss(measured.value, bound.value)
    relation = {"max": "exceeds max", "min": "is below min", "equals": "is not"}[bound.op]
    return f"{subject} {shown} {relation} {limit} ({off}){measured.context}"


class _NoSpatialAxes(Exception):
    """A receptive field was asked of a tensor without spatial axes (e.g. a 1-D input)."""


class _NotComputed(Exception):
    """A receptive field the analysis does not compute (analysis/rfgeom.py MAX_PHASES)."""


class Figures:
    """The measurements of one graph, each computed on first use."""

    def __init__(self, graph: Graph):
        self.graph = graph
        self._memory: dict[tuple[Any, ...], MemoryResult] = {}

    @cached_property
    def cost(self) -> CostResult:
        return analyze_cost(self.graph)

    def members(self, name: str) -> list[Layer]:
        """The layers a name stands for: a block's every layer, or the one layer."""
        graph = self.graph
        if name in graph.spec.groups:
            return [layer for layer in graph.layers if name in layer.path]
        target = graph.spec.aliases.get(name, name)
        return [] if target == INPUT else [graph.by_name[target]]

    def measure(self, check: Check) -> Measured:
        kind, layer = check.kind, check.layer
        if kind == "params":
            scope = self.graph.layers if layer is None else self.members(layer)
            value = sum(item.params for item in scope)
            return Measured(value, count(value))
        if kind in ("macs", "flops"):
            names = None if layer is None else {item.name for item in self.members(layer)}
            value = sum(getattr(item, kind) for item in self.cost.layers
                        if names is None or item.name in names)
            return Measured(value, count(value))
        if kind == "memory":
            return self._memory_figure(check)
        if kind == "rf":
            return self._rf_figure(layer)
        raise ValueError(f"unknown check kind {kind!r}")

    @cached_property
    def rf(self) -> RFResult:
        return analyze_rf(self.graph)

    def rf_sizes(self, name: str) -> tuple[int | Fraction, ...] | None:
        """Receptive-field size per spatial axis of a layer (or alias); None when global."""
        target = self.graph.spec.aliases.get(name, name)
        if target == INPUT:
            return tuple(1 for _ in self.graph.input_shape[1:])
        found = self.rf[target]
        if found.not_computed:
            raise _NotComputed(f"the receptive field of '{name}' is not computed: {found.not_computed}")
        return None if found.is_global else tuple(found.size or ())

    def rf_text(self, name: str) -> str:
        """'7x7', '211x99', 'global', 'not computed', or '-' for a layer without spatial axes."""
        try:
            sizes = self.rf_sizes(name)
        except _NotComputed:
            return "not computed"
        if sizes is None:
            return "global"
        return "x".join(number(n) for n in sizes) or "-"

    def default_rf_layer(self) -> str | None:
        """The last layer whose receptive field is not global (what `rf: {min: N}` reads)."""
        found = self.rf.last_local()
        return None if found is None else found.name

    def _rf_figure(self, layer: str | None) -> Measured:
        if len(self.graph.input_shape) < 2:
            raise _NoSpatialAxes("the receptive field")
        name = layer if layer is not None else self.default_rf_layer()
        if name is None:
            return Measured(None, "global", subject="every layer's receptive field")
        kind = "block" if name in self.graph.spec.groups else "layer"
        subject = f"{kind} '{name}' receptive field"
        sizes = self.rf_sizes(name)
        if sizes is None:
            return Measured(None, "global", subject=subject)
        if not sizes:
            raise _NoSpatialAxes(subject)
        smallest = min(sizes)
        shown = number(smallest)
        if len(set(sizes)) > 1:
            shown += f" (smallest axis of {self.rf_text(name)})"
        return Measured(smallest, shown, subject=subject)

    def _memory_figure(self, check: Check) -> Measured:
        batch, training = check.option("batch", 1), check.option("training", False)
        optimizer, dtype = check.option("optimizer", "adam"), check.option("dtype", None)
        key = (batch, training, optimizer, dtype)
        if key not in self._memory:
            self._memory[key] = analyze_memory(self.graph, batch=batch, dtype=dtype,
                                               training=training, optimizer=optimizer)
        result = self._memory[key]
        value = result.training.total_bytes if result.training else result.inference_total_bytes
        binary = any("iB" in bound.text for bound in check.bounds)
        what = f"training step with {optimizer}" if training else "inference total"
        short = short_bytes(value, binary)
        shown = f"{count(value)} B" + ("" if short.endswith(" B") else f" ({short})")
        return Measured(value, shown, f" ({what}, batch {batch}, {result.dtype})")


def _shape_result(graph: Graph, check: Check) -> Result:
    expected = check.shape or ()
    if check.output_index is not None:
        outputs = graph.outputs
        if check.output_index >= len(outputs):
            return Result(check, False, f"expected a shape for output {check.output_index + 1} "
                          f"but the network has {len(outputs)} output"
                          f"{'s' if len(outputs) != 1 else ''}", check.loc, None,
                          {"shape": list(expected)})
        name = outputs[check.output_index]
        subject = f"output '{name}'"
    else:
        name = graph.spec.aliases.get(check.layer or "", check.layer or "")
        subject = f"layer '{check.layer}'"
    actual = user_layout(graph.shape_of(name), graph.spec.layout)
    passed = actual == tuple(expected)
    if passed:
        message = f"{subject} has shape {fmt_shape(actual)} as expected"
    else:
        message = f"{subject} has shape {fmt_shape(actual)}, expected {fmt_shape(expected)}"
    return Result(check, passed, message, check.loc, list(actual), {"shape": list(expected)})
