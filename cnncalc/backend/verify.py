"""`verify(graph)`: run the network for real in NumPy and check every number cnncalc computes.

One forward pass (random or given weights and input) is compared, layer by layer, with the
analyses:

- shape: each output array's shape is the inferred shape (and the batch is kept);
- values: each output is finite and stays in the run's dtype;
- params / buffers: the weight arrays each layer's forward actually read, counted, equal its
  parameter (and running-statistics) count; an array declared but never read fails;
- macs: the multiply-accumulates the matrix products performed (counted from the operand
  shapes handed to BLAS) equal analysis/cost.py's per-layer figure;
- memory: the bytes of the buffers the run holds right after each layer -- every activation
  still alive -- peaks at the predicted inference peak (analysis/memory.py), within
  MEMORY_TOLERANCE. Kernel workspace (im2col columns, temporaries) is measured apart and
  must stay under the pre-run estimate (backend/budget.py);
- rf: receptive fields measured by dependency masks (rf_probe.py) equal analysis/rf.py's.

A layer whose forward fails (an op or kernel refusing its arguments) ends the run with one
failed `forward` check naming it.

`verify` returns plain data; the CLI renders it.
"""
from __future__ import annotations

import time
import tracemalloc
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

import numpy as np

from cnncalc.analysis.cost import analyze_cost
from cnncalc.analysis.memory import analyze_memory
from cnncalc.analysis.rf import analyze_rf
from cnncalc.backend import rfcheck
from cnncalc.backend import weights as W
from cnncalc.backend.arrayfiles import MAX_AXES
from cnncalc.backend.budget import estimate
from cnncalc.backend.results import CheckResult
from cnncalc.backend.rf_probe import probe_bytes
from cnncalc.backend.run import LayerError, forward
from cnncalc.backend.verify_training import TrainingFigures, training_bytes, training_checks

if TYPE_CHECKING:
    from cnncalc.backend.budget import Estimate
    from cnncalc.backend.rfcheck import Plan
    from cnncalc.backend.run import RunResult
    from cnncalc.graph import Graph, Layer

# The measured activation peak may differ from the prediction by this share (it is exact on
# every zoo network and op test; the margin absorbs a NumPy that allocates differently).
MEMORY_TOLERANCE = 0.01
# Workspace measured may exceed the estimate by this (small temporaries of tiny layers).
WORKSPACE_SLACK = 64 * 1024

Step = Callable[[str, int, int], None]  # (phase, done, total)


@dataclass(frozen=True)
class MemoryFigures:
    predicted_peak: int
    predicted_layer: str
    measured_peak: int
    measured_layer: str
    workspace: int
    workspace_layer: str
    workspace_estimate: int
    traced_peak: int  # everything tracemalloc saw at once, workspace included

    @property
    def ratio(self) -> float:
        return self.measured_peak / self.predicted_peak if self.predicted_peak else float("nan")


@dataclass
class VerifyReport:
    results: list[CheckResult]
    batch: int
    dtype: str
    weights: str  # where the weights came from
    input: str  # where the input came from
    outputs: dict[str, np.ndarray] = field(default_factory=dict)
    seconds: dict[str, float] = field(default_factory=dict)
    memory: MemoryFigures | None = None
    training: TrainingFigures | None = None  # with `training`: the training step's figures

    @property
    def ok(self) -> bool:
        return all(result.ok for result in self.results)

    @property
    def failures(self) -> list[CheckResult]:
        return [result for result in self.results if not result.ok]

    def as_json(self) -> dict[str, Any]:
        memory = None
        if self.memory is not None:
            memory = {**self.memory.__dict__, "ratio": round(self.memory.ratio, 6)}
        return {"ok": self.ok, "batch": self.batch, "dtype": self.dtype, "weights": self.weights,
                "input": self.input, "seconds": {k: round(v, 3) for k, v in self.seconds.items()},
                "memory": memory, "checks": [result.as_json() for result in self.results],
                **({"training": self.training.as_json()} if self.training is not None else {})}


def sample_input(graph: Graph, batch: int, seed: int, dtype: Any) -> np.ndarray:
    """The seeded standard-normal input used when none is given."""
    rng = np.random.default_rng([seed, 1])
    return rng.standard_normal((batch, *graph.input_shape), dtype=np.float32).astype(dtype)


def rf_plans(graph: Graph, layers: list[str], budget: int) -> list[Plan]:
    """Which layers' receptive fields to probe, and how (see rfcheck.py); an unknown name in
    `layers` raises KeyError with a suggestion."""
    analysis = analyze_rf(graph)
    return rfcheck.plan(graph, analysis, rfcheck.targets(graph, analysis, layers), budget)


class BudgetError(Exception):
    """The run would need more memory than allowed."""

    def __init__(self, needed: Estimate, limit: int):
        super().__init__(f"verify would need about {needed.total:,} bytes; the limit is {limit:,}")
        self.needed = needed
        self.limit = limit


def prepare(graph: Graph, *, batch: int = 1, dtype: str = "float32", rf_layers: list[str] | None = None,
            limit: int) -> tuple[list[Plan], Estimate]:
    """The receptive-field plans and the memory estimate of a run; BudgetError when the
    estimate exceeds `limit` bytes. `rf_layers` None skips the receptive-field probe."""
    if batch < 1:
        raise ValueError(f"batch must be at least 1, got {batch}")
    deepest = max((len(s) for layer in graph.layers for s in (layer.out_shape, *layer.in_shapes)),
                  default=len(graph.input_shape))
    if deepest + 1 > MAX_AXES:
        raise ValueError(f"a tensor of {deepest} axes (plus the batch axis): the NumPy forward "
                         f"runs at most {MAX_AXES} axes")
    plans = [] if rf_layers is None else rf_plans(graph, rf_layers, limit)
    groups: dict[int, list[Plan]] = {}
    for p in plans:
        groups.setdefault(id(p.graph), []).append(p)
    probe = max((probe_bytes(group[0].graph, {p.layer for p in group},
                             2 * sum(len(p.queries) for p in group) + 1) for group in groups.values()),
                default=0)
    needed = estimate(graph, batch, dtype, probe)
    if needed.total > limit:
        raise BudgetError(needed, limit)
    return plans, needed


def check_training_budget(graph: Graph, batch: int, dtype: str, limit: int) -> None:
    """BudgetError when the forward's estimate plus a training step's activations and
    gradients (backend/verify_training.py) exceed `limit` bytes."""
    needed = estimate(graph, batch, dtype)
    total = needed.total + training_bytes(graph, batch, dtype)
    if total > limit:
        raise BudgetError(replace(needed, activations=needed.activations + total - needed.total), limit)


def verify(graph: Graph, *, batch: int = 1, dtype: str = "float32", seed: int = 0,
           weights: Mapping[str, np.ndarray] | None = None, weights_name: str = "",
           x: np.ndarray | None = None, input_name: str = "", plans: list[Plan] | None = None,
           observe: Callable[[Layer, np.ndarray], None] | None = None,
           step: Step | None = None, training: bool = False) -> VerifyReport:
    """Run `graph` and compare. `weights` (checked, keyed "{layer}.{tensor}") default to the
    seeded random ones; `x` (N, *input shape) to a seeded random batch of `batch`. `plans`
    say which receptive fields to probe (rf_plans; None: none). `observe(layer, output)` sees
    every activation; `step(phase, done, total)` reports progress. `training` also runs a
    training step (forward + backward) and checks it (backend/verify_training.py)."""
    if seed < 0:
        raise ValueError(f"the seed must be a non-negative integer, got {seed}")
    if x is not None and (x.ndim == 0 or x.shape[0] < 1):
        raise ValueError(f"the input holds no sample (shape {x.shape})")
    if x is None and batch < 1:
        raise ValueError(f"batch must be at least 1, got {batch}")
    kind = np.dtype(dtype)
    seconds: dict[str, float] = {}
    random = f"random (seed {seed})"
    if x is None:
        x = sample_input(graph, batch, seed, kind)
        input_name = input_name or random
    batch = x.shape[0]
    report = VerifyReport([], batch, kind.name, weights_name or (random if weights is None else "given"),
                          input_name or "given", seconds=seconds)
    values: list[CheckResult] = []

    def stopped(exc: LayerError) -> VerifyReport:
        # An op that cannot run: nothing after it can be compared.
        report.results = [*values, CheckResult("forward", exc.layer, "runs", str(exc), False,
                                                "the forward pass stopped at this layer")]
        return report

    began = time.perf_counter()
    if step is not None:
        step("weights", 0, 1)
    if weights is None:
        try:
            weights = W.init_weights(graph, seed)  # runs the network once to calibrate
        except LayerError as exc:
            return stopped(exc)
    weights = W.cast(weights, kind)
    seconds["weights"] = time.perf_counter() - began
    if step is not None:
        step("weights", 1, 1)

    done = [0]

    def look(layer: Layer, y: np.ndarray) -> None:
        values.append(_values(layer, y, kind))
        if observe is not None:
            observe(layer, y)
        done[0] += 1
        if step is not None:
            step("forward", done[0], len(graph.layers))

    started = not tracemalloc.is_tracing()
    if started:
        tracemalloc.start()
    began = time.perf_counter()
    try:
        run = forward(graph, np.array(x, dtype=kind), weights, count_macs=True, trace_memory=True,
                      observe=look)
    except LayerError as exc:
        return stopped(exc)
    finally:
        if started:
            tracemalloc.stop()
    seconds["forward"] = time.perf_counter() - began
    report.outputs = run.outputs
    report.results += _shapes(graph, run, batch)
    report.results += values
    report.results += _weights(graph, run)
    report.results += _macs(graph, run, batch)
    memory, checks = _memory(graph, run, batch, kind.name)
    report.memory = memory
    report.results += checks
    if training:
        if step is not None:
            step("training step", 0, 1)
        try:
            report.training, checks, times = training_checks(graph, weights, np.array(x, dtype=kind),
                                                             kind.name, seed)
        except LayerError as exc:
            report.results += [CheckResult("backward", exc.layer, "runs", str(exc), False,
                                           "the training step stopped at this layer")]
        else:
            report.results += checks
            seconds.update(times)
        if step is not None:
            step("training step", 1, 1)
    if plans:
        began = time.perf_counter()
        if step is not None:
            step("receptive field", 0, 1)
        report.results += rfcheck.run(plans)
        if step is not None:
            step("receptive field", 1, 1)
        seconds["rf"] = time.perf_counter() - began
    return report


def _shapes(graph: Graph, run: RunResult, batch: int) -> list[CheckResult]:
    out = []
    for layer, trace in zip(graph.layers, run.layers):
        ok = trace.shape == (batch, *layer.out_shape)
        note = "" if ok or trace.shape[1:] == layer.out_shape else "the forward pass disagrees"
        if not ok and trace.shape[0] != batch:
            note = f"batch {trace.shape[0]} instead of {batch}"
        out.append(CheckResult("shape", layer.name, list(layer.out_shape), list(trace.shape[1:]), ok, note))
    return out


def _values(layer: Layer, y: np.ndarray, kind: np.dtype) -> CheckResult:
    finite = bool(np.isfinite(y).all())
    ok = finite and y.dtype == kind
    measured = f"{'finite' if finite else 'NaN/inf'} {y.dtype}"
    note = "" if ok else ("overflow or an invalid operation" if not finite else
                          f"the output was converted to {y.dtype}")
    return CheckResult("values", layer.name, f"finite {kind.name}", measured, ok, note)


def _weights(graph: Graph, run: RunResult) -> list[CheckResult]:
    out = []
    totals = {"params": [0, 0], "buffers": [0, 0]}
    for layer in graph.layers:
        used = run.used.get(layer.name, {})
        for check, trainable, expected in (("params", True, layer.params), ("buffers", False, layer.buffers)):
            declared = [t.name for t in layer.tensors if t.trainable == trainable]
            measured = sum(size for name, size in used.items() if name in declared)
            totals[check][0] += expected
            totals[check][1] += measured
            if not declared and not measured:
                continue
            unused = [name for name in declared if name not in used]
            note = f"never read: {', '.join(unused)}" if unused else ""
            out.append(CheckResult(check, layer.name, expected, measured, expected == measured, note))
    for check, (expected, measured) in totals.items():
        out.append(CheckResult(check, None, expected, measured, expected == measured))
    return out


def _macs(graph: Graph, run: RunResult, batch: int) -> list[CheckResult]:
    cost = analyze_cost(graph, batch)
    out = []
    for layer, computed in zip(graph.layers, cost.layers):
        measured = run.macs.get(layer.name, 0)
        if computed.macs or measured:
            out.append(CheckResult("macs", layer.name, computed.macs, measured, computed.macs == measured))
    measured_total = sum(run.macs.values())
    out.append(CheckResult("macs", None, cost.total_macs, measured_total,
                           cost.total_macs == measured_total))
    return out


def _memory(graph: Graph, run: RunResult, batch: int, dtype: str
            ) -> tuple[MemoryFigures, list[CheckResult]]:
    predicted = analyze_memory(graph, batch, dtype)
    traces = run.layers
    peak_trace = max(traces, key=lambda t: t.live_bytes or 0)
    work = max(traces, key=lambda t: t.workspace_bytes or 0)
    planned = estimate(graph, batch, dtype)
    figures = MemoryFigures(
        predicted.inference_peak_bytes, predicted.inference_peak_layer,
        peak_trace.live_bytes or 0, peak_trace.name, work.workspace_bytes or 0, work.name,
        planned.workspace, max(t.peak_bytes or 0 for t in traces))
    allowed = MEMORY_TOLERANCE * figures.predicted_peak
    ok = abs(figures.measured_peak - figures.predicted_peak) <= allowed
    note = (f"ratio {figures.ratio:.4f}; peak after {figures.measured_layer} "
            f"(predicted at {figures.predicted_layer})")
    if not ok:
        note += _first_difference(predicted, traces, allowed)
    checks = [CheckResult("memory", None, figures.predicted_peak, figures.measured_peak, ok, note)]
    ok = figures.workspace <= figures.workspace_estimate + WORKSPACE_SLACK
    checks.append(CheckResult(
        "workspace", None, figures.workspace_estimate, figures.workspace, ok,
        f"largest at {figures.workspace_layer}; kernel scratch (im2col columns, temporaries), "
        "not part of the activation peak; expected = the pre-run estimate, an upper bound"))
    return figures, checks


def _first_difference(predicted: Any, traces: list[Any], allowed: float) -> str:
    for layer, trace in zip(predicted.layers, traces):
        if trace.live_bytes is not None and abs(trace.live_bytes - layer.live_bytes) > allowed:
            return (f"; first difference after {layer.name}: {trace.live_bytes:,} bytes live, "
                    f"predicted {layer.live_bytes:,} ({trace.placed})")
    return ""
