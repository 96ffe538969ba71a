"""`verify --training`: one training step run for real in NumPy (backend/backward.py) and
compared with the training model.

The loss is sum over the network's outputs of <R, output>, R a fixed standard-normal tensor
per output (seeded like the input), so every output's gradient is R. The forward is the
inference forward (batch norm with its running statistics, dropout off), as `verify`'s.

- training-memory: the bytes of the distinct buffers the step really holds after every
  forward and backward step (activations, what each op keeps for backward, activation
  gradients; counted from the arrays, as verify counts the inference peak) against
  analysis/memory.py's training timeline, step by step, and at the peak. The extras an op
  declares besides its inputs and output (max-pool indices, normalisation statistics) are
  recomputed by the NumPy backward from the saved input instead of being kept, so they are
  taken out of the prediction and reported apart. Weight gradients, the optimizer state and
  the weights are not activations and are not in either figure. This run computes no
  gradient for the network input (autograd does not, for a plain input).
- backward-macs: the multiply-accumulates the backward's matrix products perform, per layer
  (a second run that also computes the input's gradient, so every layer computes its input
  gradient and its weight gradient), against the op's `backward_macs(layer)` rule (input plus
  weight gradient MACs per sample) where the op declares one.
- gradients: every weight gradient is finite and in the run's dtype.
"""
from __future__ import annotations

from dataclasses import dataclass
from math import prod
from typing import TYPE_CHECKING, Any

import numpy as np

from cnncalc.analysis.memory import analyze_memory, recorded, saved_bytes
from cnncalc.backend.backward import BackwardResult, run_backward
from cnncalc.backend.results import CheckResult
from cnncalc.ops.base import SavedKind
from cnncalc.spec.dtypes import DTYPE_BYTES

if TYPE_CHECKING:
    from collections.abc import Mapping

    from cnncalc.graph import Graph

# A step's measured bytes may differ from the prediction by this share of the predicted peak.
MEMORY_TOLERANCE = 0.01


@dataclass(frozen=True)
class TrainingFigures:
    predicted_peak: int  # the model's activation peak, without the extras NumPy recomputes
    predicted_at: str  # "backward conv1"
    measured_peak: int
    measured_at: str
    extras_at_peak: int  # declared extras (indices, statistics) live at the predicted peak
    backward_macs: int  # measured, whole batch, the input's gradient included
    loss: str = "sum over outputs of <R, output>, R standard normal (seeded)"

    @property
    def ratio(self) -> float:
        return self.measured_peak / self.predicted_peak if self.predicted_peak else float("nan")

    def as_json(self) -> dict[str, Any]:
        return {**self.__dict__, "ratio": round(self.ratio, 6)}


def extra_bytes(graph: Graph, batch: int, dtype: str) -> dict[tuple[str, str], int]:
    """Per step ("forward"/"backward", layer): bytes of the declared extras live then (an extra
    lives from its layer's forward to its layer's backward, as the model places it)."""
    width = DTYPE_BYTES[dtype]
    steps = [("forward", layer.name) for layer in graph.layers]
    steps += [("backward", layer.name) for layer in reversed(graph.layers)]
    live = [0] * len(steps)
    n = len(graph.layers)
    keeps = recorded(graph)
    for layer in graph.layers:
        size = sum(saved_bytes(s, batch, width) for s in keeps.get(layer.name, [])
                   if s.kind is SavedKind.EXTRA)
        for step in range(layer.index, 2 * n - layer.index):
            live[step] += size
    return dict(zip(steps, live))


def seeds(graph: Graph, batch: int, seed: int, dtype: Any) -> dict[str, np.ndarray]:
    rng = np.random.default_rng([seed, 2])
    return {name: rng.standard_normal((batch, *graph.by_name[name].out_shape)).astype(dtype)
            for name in graph.outputs}


def training_checks(graph: Graph, weights: Mapping[str, np.ndarray], x: np.ndarray, dtype: str,
                    seed: int) -> tuple[TrainingFigures, list[CheckResult], dict[str, float]]:
    batch = x.shape[0]
    grads = seeds(graph, batch, seed, dtype)
    step = run_backward(graph, weights, x, grads, dtype=dtype, input_grad=False, trace_memory=True)
    counted = run_backward(graph, weights, x, grads, dtype=dtype, count_macs=True)
    model = analyze_memory(graph, batch, dtype, training=True).training
    assert model is not None
    extras = extra_bytes(graph, batch, dtype)
    predicted = {(phase, name): live - extras[(phase, name)] for phase, name, live in model.timeline}
    checks, figures = _memory(step, predicted, extras)
    macs = _macs(graph, counted, batch)
    checks += macs
    checks.append(_gradients(graph, step, dtype))
    total = sum(counted.macs.values())
    seconds = {"training forward": step.seconds["forward"], "backward": step.seconds["backward"]}
    return TrainingFigures(*figures, total), checks, seconds


def _memory(step: BackwardResult, predicted: dict[tuple[str, str], int],
            extras: dict[tuple[str, str], int]) -> tuple[list[CheckResult], tuple[int, str, int, str, int]]:
    peak_key = max(predicted, key=lambda k: predicted[k])
    peak = predicted[peak_key]
    allowed = MEMORY_TOLERANCE * peak
    checks = []
    for s in step.steps:
        expected = predicted[(s.phase, s.layer)]
        ok = abs(s.live_bytes - expected) <= allowed
        checks.append(CheckResult("training-memory", s.layer, expected, s.live_bytes, ok,
                                  f"after its {s.phase} step"))
    measured = max(step.steps, key=lambda s: s.live_bytes)
    ratio = measured.live_bytes / peak if peak else float("nan")
    ok = abs(measured.live_bytes - peak) <= allowed
    note = (f"ratio {ratio:.4f}; peak after {measured.phase} {measured.layer} (predicted after "
            f"{' '.join(peak_key)}); extras the model counts and NumPy recomputes: "
            f"{extras[peak_key]:,} bytes at the predicted peak")
    checks.append(CheckResult("training-memory", None, peak, measured.live_bytes, ok, note))
    return checks, (peak, " ".join(peak_key), measured.live_bytes,
                    f"{measured.phase} {measured.layer}", extras[peak_key])


def _macs(graph: Graph, counted: BackwardResult, batch: int) -> list[CheckResult]:
    out = []
    expected_total: int | None = 0
    for layer in graph.layers:
        measured = counted.macs.get(layer.name, 0)
        rule = getattr(layer.op, "backward_macs", None)
        if rule is None:
            if measured:
                expected_total = None
                out.append(CheckResult("backward-macs", layer.name, None, measured, True,
                                       f"no backward_macs rule for op '{layer.op_name}'; measured only"))
            continue
        expected = int(rule(layer)) * batch
        if expected_total is not None:
            expected_total += expected
        if expected or measured:
            out.append(CheckResult("backward-macs", layer.name, expected, measured, expected == measured,
                                   "input and weight gradient GEMMs, whole batch"))
    measured_total = sum(counted.macs.values())
    ok = expected_total is None or expected_total == measured_total
    out.append(CheckResult("backward-macs", None, expected_total, measured_total, ok,
                           "" if expected_total is not None else "some ops declare no rule"))
    return out


def _gradients(graph: Graph, step: BackwardResult, dtype: str) -> CheckResult:
    want = {f"{layer.name}.{t.name}": t.shape for layer in graph.layers for t in layer.tensors if t.trainable}
    bad = [key for key, shape in want.items()
           if key not in step.weights or step.weights[key].shape != shape
           or step.weights[key].dtype != np.dtype(dtype) or not np.isfinite(step.weights[key]).all()]
    values = sum(prod(shape) for shape in want.values())
    note = f"not finite, missing or of another shape or dtype: {', '.join(bad[:5])}" if bad else ""
    return CheckResult("gradients", None, f"{values:,} finite {dtype}",
                       f"{values - sum(prod(want[k]) for k in bad):,} finite", not bad, note)


def training_bytes(graph: Graph, batch: int, dtype: str) -> int:
    """What a training check holds besides verify's forward: the step's activation peak and a
    gradient per weight (for the budget before the run)."""
    model = analyze_memory(graph, batch, dtype, training=True).training
    assert model is not None
    return model.activation_peak_bytes + graph.total_params * DTYPE_BYTES[dtype]
