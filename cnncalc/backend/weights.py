"""Weights for the NumPy forward pass: deterministic random initialisation and `.npz` files.

A weight is keyed `"{layer}.{tensor}"` with the tensor names each op declares
(`Op.tensors`): `conv1.weight`, `layer1.first.bn1.running_var`, as PyTorch's state_dict does.

Random weights are reproducible from the seed alone: each layer draws from a generator seeded
by (seed, CRC-32 of its name), so a layer's weights do not change when other layers are
added or removed. Values are drawn in float32 whatever the run's dtype, so a float64 run uses
exactly the float32 run's weights. Ops choose their distributions (`Op.initial_weights`:
He (Kaiming) uniform for conv/dense, scale near 1 for normalisations); one calibration pass then lets
each op adjust to what really reaches it (`Op.calibrate`: batch-norm running statistics,
unit output variance for conv/deconv/dense), so activations stay finite at any depth; it runs
at half the input's size where the network allows (`calibration_graph`).
"""
from __future__ import annotations

import zlib
from collections.abc import Mapping
from math import prod
from typing import TYPE_CHECKING, Any

import numpy as np

from cnncalc.backend.arrayfiles import ArrayFileError, read_npz, write_npz
from cnncalc.backend.run import forward
from cnncalc.graph import build_graph
from cnncalc.problems import SpecError, did_you_mean
from cnncalc.text import fmt_shape

if TYPE_CHECKING:
    from cnncalc.graph import Graph, Layer


class WeightsError(Exception):
    """A weights file that does not fit the graph; `problems` lists every mismatch."""

    def __init__(self, problems: list[str]):
        super().__init__("; ".join(problems))
        self.problems = problems


def expected(graph: Graph) -> dict[str, tuple[Layer, tuple[int, ...]]]:
    """Every weight the graph needs: key -> (layer, shape)."""
    return {f"{layer.name}.{t.name}": (layer, t.shape) for layer in graph.layers for t in layer.tensors}


def layer_rng(seed: int, name: str) -> np.random.Generator:
    return np.random.default_rng([seed, zlib.crc32(name.encode("utf-8"))])


def random_weights(graph: Graph, seed: int = 0) -> dict[str, np.ndarray]:
    """Uncalibrated random float32 weights for every layer."""
    weights: dict[str, np.ndarray] = {}
    for layer in graph.layers:
        if not layer.tensors:
            continue
        made = layer.op.initial_weights(layer, layer_rng(seed, layer.name))
        for tensor in layer.tensors:
            weights[f"{layer.name}.{tensor.name}"] = np.ascontiguousarray(made[tensor.name],
                                                                          dtype=np.float32)
    return weights


def calibration_input(graph: Graph, seed: int, dtype: Any = np.float32) -> np.ndarray:
    """The seeded standard-normal batch of one the calibration pass sees."""
    rng = np.random.default_rng([seed, 0x5EED])
    return rng.standard_normal((1, *graph.input_shape), dtype=np.float32).astype(dtype)


def init_weights(graph: Graph, seed: int = 0, dtype: Any = np.float32) -> dict[str, np.ndarray]:
    """Random weights, calibrated on a seeded random input; float32 unless `dtype` says."""
    if seed < 0:
        raise ValueError(f"the seed must be a non-negative integer, got {seed}")
    weights = {key: value.astype(dtype, copy=False) for key, value in random_weights(graph, seed).items()}
    small = calibration_graph(graph)
    forward(small, calibration_input(small, seed, dtype), weights, calibrate=True)
    return weights


CALIBRATION_MIN_SIDE = 64  # spatial sides from which calibration runs at half the size
CALIBRATION_MIN_POSITIONS = 16


def calibration_graph(graph: Graph) -> Graph:
    """The graph calibration runs on: the same network at half the input's spatial size when
    every side is at least CALIBRATION_MIN_SIDE, the network builds there with the very same
    weight shapes and no map gets too small for statistics; else `graph` itself. Calibration
    costs what one forward pass does, and it only has to bring every layer's output to a sane
    scale, which per-channel statistics of a smaller input do as well (a quarter of the work
    in 2-D). Depends on the spec only, so `init-weights` and `verify` calibrate identically."""
    channels, *spatial = graph.input_shape
    if not spatial or min(spatial) < CALIBRATION_MIN_SIDE:
        return graph
    try:
        small = build_graph(graph.spec, (channels, *(n // 2 for n in spatial)))
    except SpecError:
        return graph
    # Same weights, and no layer's statistics from fewer than CALIBRATION_MIN_POSITIONS
    # positions unless it had fewer already (a batch norm over a single position sees zero
    # variance and would amplify the next input without bound).
    fits = len(small.layers) == len(graph.layers) and all(
        a.name == b.name and [t.shape for t in a.tensors] == [t.shape for t in b.tensors]
        and prod(b.out_shape[1:]) >= min(prod(a.out_shape[1:]), CALIBRATION_MIN_POSITIONS)
        for a, b in zip(graph.layers, small.layers))
    return small if fits else graph


def cast(weights: Mapping[str, np.ndarray], dtype: Any) -> dict[str, np.ndarray]:
    """The weights in the run's dtype (contiguous: what BLAS wants)."""
    return {key: np.ascontiguousarray(value, dtype=dtype) for key, value in weights.items()}


def check(graph: Graph, arrays: Mapping[str, np.ndarray], dtype: Any = None) -> None:
    """Raise WeightsError naming every missing, extra, mis-shaped or unusable array; with
    `dtype`, also every float array whose values do not fit it (float64 -> float32 overflow)."""
    problems = _problems(graph, {key: (a.shape, a.dtype) for key, a in arrays.items()})
    for key, got in arrays.items():
        if key in problems or got.dtype.kind not in "fiub":
            continue
        layer = key.rpartition(".")[0]
        if got.dtype.kind == "f" and not np.isfinite(got).all():
            problems[key] = f"layer '{layer}': '{key}' contains NaN or infinite values"
        elif dtype is not None and got.size and np.dtype(dtype).kind == "f":
            top = float(np.abs(got).max())
            if top > float(np.finfo(dtype).max):
                problems[key] = (f"layer '{layer}': '{key}' holds {top:.3g}, beyond the range of "
                                 f"{np.dtype(dtype).name}; use --dtype float64")
    if problems:
        raise WeightsError(list(problems.values()))


def _problems(graph: Graph, found: Mapping[str, tuple[tuple[int, ...], np.dtype]]) -> dict[str, str]:
    """Missing, extra, mis-shaped and non-number arrays, from their shapes and dtypes alone."""
    want = expected(graph)
    problems = {}
    for key, (layer, shape) in want.items():
        if key not in found:
            problems[key] = (f"layer '{layer.name}' ({layer.op_name}) needs '{key}' of shape "
                             f"{fmt_shape(shape)}; the file has no such array")
            continue
        got_shape, got_dtype = found[key]
        if tuple(got_shape) != shape:
            problems[key] = (f"layer '{layer.name}' ({layer.op_name}): '{key}' has shape "
                             f"{fmt_shape(got_shape)} but the spec needs {fmt_shape(shape)}")
        elif got_dtype.kind not in "fiub":
            problems[key] = f"layer '{layer.name}': '{key}' holds {got_dtype} values, not numbers"
    for key in found:
        if key not in want:
            problems[key] = f"'{key}' belongs to no layer of the spec{did_you_mean(key, want)}"
    return problems


def load(path: str, graph: Graph, dtype: Any = None) -> dict[str, np.ndarray]:
    """Weights from an `.npz` file, checked against the graph (WeightsError otherwise). Each
    member's header is checked first: only arrays of the shapes the graph needs are read, so
    a member declaring terabytes (or holding a pickle) costs nothing. With `dtype`, values
    that overflow it are refused too."""
    want = expected(graph)
    headers: dict[str, tuple[tuple[int, ...], np.dtype]] = {}

    def accept(key: str, header: Any) -> bool:
        headers[key] = (header.shape, header.dtype)
        return key in want and header.shape == want[key][1]

    try:
        arrays = read_npz(path, accept)
    except ArrayFileError as exc:
        raise WeightsError([f"cannot read weights: {exc}"]) from None
    problems = _problems(graph, headers)
    if problems:
        raise WeightsError(list(problems.values()))
    check(graph, arrays, dtype)
    return arrays


def save(path: str, weights: Mapping[str, np.ndarray]) -> None:
    """An .npz archive at exactly `path` (ArrayFileError when it cannot be written or a key
    cannot be an archive member name)."""
    write_npz(path, weights)
