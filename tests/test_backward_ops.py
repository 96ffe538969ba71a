"""Every op's NumPy backward (Op.backward through backend/backward.py) against central finite
differences of the NumPy forward, on the one-op networks of tests/forward_cases.py (every op,
1-D/2-D/3-D, the awkward arguments, batch 2).

The loss is <R, output of the layer `op`> for a fixed random R. Its gradient is checked along
random directions: for a direction V, (L(p + eV) - L(p - eV)) / 2e must equal <dL/dp, V>,
for the input and for every trainable weight tensor (3 directions each, e = 1e-6 in
float64; bound 1e-6 relative to the directional derivative's scale). A wrong gradient entry
changes <dL/dp, V> for almost every V, so this catches single wrong entries as well as whole
wrong gradients, at a fraction of the cost of one difference per entry. float32 runs must
agree with float64 to 1e-4 (relative to the largest gradient value).
"""
from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from forward_cases import CASES, Case
from helpers import graph

from cnncalc.backend import run
from cnncalc.backend import weights as W
from cnncalc.backend.backward import run_backward
from cnncalc.ops.base import Op
from cnncalc.ops.registry import ops

EPS = 1e-6
DIRECTIONS = 3


def setup(case: Case, seed: int = 0) -> tuple[Any, np.ndarray, dict[str, np.ndarray], np.ndarray]:
    g = graph(f"input: {list(case.shape)}\nlayers:\n  {case.layers}\n")
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((2, *case.shape)) * case.scale
    weights = W.cast(W.random_weights(g, seed), np.float64)
    r = rng.standard_normal((2, *g.layer("op").out_shape))
    return g, x, weights, r


def loss(g: Any, x: np.ndarray, weights: dict[str, np.ndarray], r: np.ndarray) -> float:
    y = run.forward(g, x, weights, keep=("op",)).kept["op"]
    return float(np.sum(y * r))


def covered() -> set[str]:
    return {line.split(":")[0].strip("- ").strip() for case in CASES
            for line in case.layers.splitlines() if "name: op" in line}


def test_every_op_has_a_backward_and_a_case() -> None:
    missing = sorted(name for name, op in ops().items() if type(op).backward is Op.backward)
    assert not missing, f"ops without a NumPy backward: {missing}"
    untested = sorted(set(ops()) - covered())
    assert not untested, f"no finite-difference case for {untested}"


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_backward_matches_finite_differences(case: Case) -> None:
    g, x, weights, r = setup(case)
    result = run_backward(g, weights, x, {"op": r})
    assert np.allclose(result.outputs["op"], run.forward(g, x, weights, keep=("op",)).kept["op"])
    rng = np.random.default_rng(1)
    trainable = [f"{layer.name}.{t.name}" for layer in g.layers for t in layer.tensors if t.trainable]
    assert sorted(result.weights) == sorted(trainable)
    params: list[tuple[str, np.ndarray]] = [("input", result.inputs[0])]
    params += [(key, result.weights[key]) for key in trainable]
    for key, grad in params:
        base = x if key == "input" else weights[key]
        assert grad is not None and grad.shape == base.shape and grad.dtype == np.float64, key
        for _ in range(DIRECTIONS):
            v = rng.standard_normal(base.shape)

            def at(step: float, key: str = key, v: np.ndarray = v) -> float:
                if key == "input":
                    return loss(g, x + step * v, weights, r)
                return loss(g, x, {**weights, key: weights[key] + step * v}, r)

            numeric = (at(EPS) - at(-EPS)) / (2 * EPS)
            analytic = float(np.sum(grad * v))
            scale = max(1.0, float(np.abs(grad).sum() * np.abs(v).max()))
            assert abs(numeric - analytic) <= 1e-6 * scale, (key, numeric, analytic)


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_float32_backward_agrees_with_float64(case: Case) -> None:
    g, x, weights, r = setup(case)
    ref = run_backward(g, weights, x, {"op": r})
    got = run_backward(g, weights, x, {"op": r}, dtype="float32")
    pairs = [(got.inputs[0], ref.inputs[0])] + [(got.weights[k], ref.weights[k]) for k in ref.weights]
    for mine, exact in pairs:
        assert mine is not None and exact is not None and mine.dtype == np.float32
        scale = max(1.0, float(np.abs(exact).max()))
        assert float(np.abs(mine - exact).max()) <= 1e-4 * scale


def test_gradient_of_a_tensor_read_twice_is_summed() -> None:
    # y = x * x: dL/dx = 2 x R (one input feeding both operands of a layer).
    g = graph("input: [3, 4]\nlayers:\n  - multiply: {in: [input, input], name: op}\n")
    x = np.random.default_rng(0).standard_normal((2, 3, 4))
    r = np.random.default_rng(1).standard_normal((2, 3, 4))
    result = run_backward(g, {}, x, {"op": r})
    assert np.allclose(result.inputs[0], 2 * x * r)


def test_linear_mode_treats_activations_as_identity() -> None:
    g = graph("input: [2, 6]\nlayers:\n  - conv: {filters: 3, kernel: 3, name: c}\n"
              "  - relu\n  - sigmoid\n  - softmax: {name: op}\n")
    plain = graph("input: [2, 6]\nlayers:\n  - conv: {filters: 3, kernel: 3, name: c}\n"
                  "  - identity: {name: op}\n")
    weights = W.cast(W.random_weights(g, 0), np.float64)
    x = np.random.default_rng(0).standard_normal((2, 2, 6))
    r = np.random.default_rng(1).standard_normal((2, 3, 4))
    lin = run_backward(g, weights, x, {"op": r}, linear=True)
    ref = run_backward(plain, weights, x, {"op": r})
    assert np.allclose(lin.inputs[0], ref.inputs[0]) and np.allclose(lin.outputs["op"], ref.outputs["op"])
    assert not np.allclose(run_backward(g, weights, x, {"op": r}).inputs[0], ref.inputs[0])
    assert {name for name, op in ops().items() if op.activation} == {
        "relu", "relu6", "leaky_relu", "sigmoid", "tanh", "gelu", "silu", "hardsigmoid",
        "hardswish", "softmax"}


def test_seeding_an_inner_layer_runs_only_what_it_needs() -> None:
    g = graph("input: [2, 8]\nlayers:\n  - conv: {filters: 3, kernel: 3, name: a}\n"
              "  - conv: {filters: 2, kernel: 3, name: b}\n")
    weights = W.cast(W.random_weights(g, 0), np.float64)
    x = np.random.default_rng(0).standard_normal((1, 2, 8))
    r = np.ones((1, 3, 6))
    result = run_backward(g, weights, x, {"a": r})
    assert set(result.weights) == {"a.weight", "a.bias"} and set(result.outputs) == {"a"}
    with pytest.raises(ValueError, match="seed for 'a' has shape"):
        run_backward(g, weights, x, {"a": np.ones((1, 3, 5))})
