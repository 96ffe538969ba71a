"""The effective receptive field (Luo et al., NeurIPS 2016) of one unit: how much each input
position matters to it, measured as a gradient, and its size per axis.

The map is the magnitude of the gradient of the unit with respect to the input: the unit's
value summed over its channels is differentiated (the NumPy backward pass, `run_backward`),
the absolute input gradient is summed over the input channels and averaged over `samples`
random inputs (and, unless weights are given, as many draws of random weights), then
normalised to sum 1. `linear` holds every activation as the identity: the analytic case, where
stacked convolutions with uniform kernels give exactly a discrete Gaussian.

Per spatial axis the map's marginal p (the map summed over the other axes) is summarised by
`erfstats.axis_stats`: standard deviation, the half-widths holding 68% and 95% of the mass
around the unit's centre, and the theoretical receptive field for comparison.
"""
from __future__ import annotations

from dataclasses import dataclass
from math import prod
from typing import TYPE_CHECKING, Any

import numpy as np

from cnncalc.analysis.rf import analyze_rf
from cnncalc.backend import weights as W
from cnncalc.backend.backward import run_backward
from cnncalc.backend.erfstats import AxisStats, axis_stats
from cnncalc.backend.verify import sample_input

if TYPE_CHECKING:
    from collections.abc import Mapping

    from cnncalc.graph import Graph, Layer


class ErfError(ValueError):
    """A layer or unit the ERF cannot be taken of (the message says why and what would do)."""


@dataclass(frozen=True)
class ErfResult:
    layer: str
    unit: tuple[int, ...]  # spatial position in the layer's output, one index per axis
    samples: int
    seed: int | None  # None when the weights were given
    linear: bool
    centre: tuple[float, ...]  # the unit's theoretical RF centre per axis, in input pixels
    map: np.ndarray  # over the input's spatial axes, float64, sums to 1
    axes: tuple[AxisStats, ...]

    def as_json(self) -> dict[str, Any]:
        return {"layer": self.layer, "unit": list(self.unit), "samples": self.samples,
                "seed": self.seed, "linear": self.linear, "centre": list(self.centre),
                "axes": [a.as_json() for a in self.axes]}


def plane(result: ErfResult) -> list[list[float]]:
    """The map as rows of floats over the first two spatial axes (a 1-D map as one column, a
    3-D map summed over its later axes): what a 2-D picture of it shows."""
    m = result.map
    if m.ndim == 1:
        return [[float(v)] for v in m]
    flat: list[list[float]] = m.sum(axis=tuple(range(2, m.ndim))).tolist()
    return flat


def default_layer(graph: Graph) -> Layer:
    """The last layer whose output has spatial positions (more than one)."""
    for layer in reversed(graph.layers):
        if len(layer.out_shape) > 1 and prod(layer.out_shape[1:]) > 1:
            return layer
    raise ErfError("no layer has spatial axes (the input is flat?): the effective receptive "
                   "field needs a feature map")


def pick_unit(layer: Layer, unit: tuple[int, ...] | None) -> tuple[int, ...]:
    """`unit` checked against the layer's spatial sizes, or the centre unit ((n - 1) // 2)."""
    sizes = layer.out_shape[1:]
    if not sizes:
        raise ErfError(f"layer '{layer.name}' has no spatial axes (output [{layer.out_shape[0]}]);"
                       " choose a layer with a feature map")
    if unit is None:
        return tuple((n - 1) // 2 for n in sizes)
    if len(unit) != len(sizes):
        raise ErfError(f"--unit has {len(unit)} indices but layer '{layer.name}' has "
                       f"{len(sizes)} spatial axes (sizes {', '.join(map(str, sizes))})")
    for axis, (u, n) in enumerate(zip(unit, sizes), start=1):
        if not 0 <= u < n:
            raise ErfError(f"--unit index {u} is out of range along spatial axis {axis} of "
                           f"layer '{layer.name}' (0..{n - 1})")
    return unit


def compute_erf(graph: Graph, layer: str | None = None, unit: tuple[int, ...] | None = None, *,
                weights: Mapping[str, np.ndarray] | None = None, seed: int = 0, samples: int = 8,
                linear: bool = False) -> ErfResult:
    """The ERF of `unit` of `layer` (defaults: the last spatial layer, its centre unit) over
    `samples` random inputs; fresh random weights per sample (seeds `seed`, `seed + 1`, ...)
    unless `weights` ("layer.tensor" arrays) are given. Runs in float64."""
    if samples < 1:
        raise ErfError(f"--samples must be at least 1, got {samples}")
    target = graph.layer(layer) if layer is not None else default_layer(graph)
    where = pick_unit(target, unit)
    if len(graph.input_shape) < 2:
        raise ErfError("the network input has no spatial axes")
    region = analyze_rf(graph)[target.name].region(where)
    if region is None or any(r is None for r in region):
        raise ErfError(f"layer '{target.name}' has no local receptive field (every path is "
                       "global); choose an earlier layer")
    bounds = [(float(r[0]), float(r[1])) for r in region if r is not None]
    seed_grad = np.zeros((1, *target.out_shape))
    index: tuple[int | slice, ...] = (0, slice(None), *where)
    seed_grad[index] = 1.0  # d(sum over channels)/d(unit) = 1
    total = np.zeros(graph.input_shape[1:])
    if weights is not None:
        x = sample_input(graph, samples, seed, np.float64)
        grad = _input_grad(graph, weights, x, target.name, np.repeat(seed_grad, samples, 0), linear)
        total += np.abs(grad).sum(axis=1).sum(axis=0)
    else:
        for i in range(samples):
            drawn = W.init_weights(graph, seed + i, np.float64)
            x = sample_input(graph, 1, seed + i, np.float64)
            grad = _input_grad(graph, drawn, x, target.name, seed_grad, linear)
            total += np.abs(grad).sum(axis=1)[0]
    mass = float(total.sum())
    if not mass > 0 or not np.isfinite(mass):
        raise ErfError(f"the gradient of unit {list(where)} of '{target.name}' with respect to "
                       "the input is zero everywhere (dead activations, or the unit does not "
                       "depend on the input); try --linear")
    erf_map = total / mass
    centre = tuple((lo + hi) / 2 for lo, hi in bounds)
    stats = axis_stats(erf_map, centre, [int(hi - lo + 1) for lo, hi in bounds])
    return ErfResult(target.name, where, samples, None if weights is not None else seed, linear,
                     centre, erf_map, stats)


def _input_grad(graph: Graph, weights: Mapping[str, np.ndarray], x: np.ndarray, name: str,
                seed_grad: np.ndarray, linear: bool) -> np.ndarray:
    result = run_backward(graph, weights, x, {name: seed_grad}, linear=linear, dtype="float64")
    grad = result.inputs[0]
    assert grad is not None  # run_backward computes the input gradient by default
    return grad
