"""Every op's NumPy forward pass (Op.forward through backend/run.py) against two oracles:
loop implementations written from the definitions (tests/naive.py, float64, always run) and
torch.nn.functional with the same weights (when torch is importable).

Error bounds, absolute, scaled by max(1, max|reference|): float64 1e-10, float32 1e-4 (the
reference is always computed in float64). The output dtype must be the run's dtype.
"""
from __future__ import annotations

import numpy as np
import pytest
from forward_cases import CASES, Case
from helpers import graph

from cnncalc.backend import run
from cnncalc.backend import weights as W
from cnncalc.ops.registry import ops

TOL = {"float64": 1e-10, "float32": 1e-4}


def forward_case(case: Case, dtype: str, batch: int = 2, seed: int = 0):
    g = graph(f"input: {list(case.shape)}\nlayers:\n  {case.layers}\n")
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((batch, *case.shape)) * case.scale
    weights = W.random_weights(g, seed)
    result = run.forward(g, x.astype(dtype), W.cast(weights, dtype), keep=("op",))
    layer = g.layer("op")
    mine = {t.name: weights[f"op.{t.name}"].astype(np.float64) for t in layer.tensors}
    return x, mine, layer, result.kept["op"]


def check(got: np.ndarray, ref: np.ndarray, dtype: str) -> None:
    ref = np.asarray(ref, dtype=np.float64)
    assert got.shape == ref.shape, (got.shape, ref.shape)
    assert got.dtype == np.dtype(dtype)
    scale = max(1.0, float(np.abs(ref).max()))
    err = float(np.abs(got.astype(np.float64) - ref).max())
    assert err <= TOL[dtype] * scale, f"max abs error {err:.3g} > {TOL[dtype] * scale:.3g}"


def test_every_op_has_a_case() -> None:
    covered = {line.split(":")[0].strip("- ").strip() for case in CASES
               for line in case.layers.replace("\n", "\n").splitlines() if "name: op" in line}
    missing = set(ops()) - covered
    assert not missing, f"no forward test for {sorted(missing)}"


@pytest.mark.parametrize("case", [c for c in CASES if c.naive is not None], ids=lambda c: c.id)
def test_forward_matches_loops(case: Case) -> None:
    x, w, layer, y = forward_case(case, "float64")
    expected = case.naive(x, w, layer)
    assert expected.shape[1:] == layer.out_shape
    check(y, expected, "float64")


@pytest.mark.torch
@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_forward_matches_torch(case: Case, dtype: str) -> None:
    pytest.importorskip("torch")
    x, w, layer, y = forward_case(case, dtype)
    check(y, case.torch(x, w, layer), dtype)


def test_inplace_ops_reuse_their_input_buffer_and_never_the_callers() -> None:
    g = graph("""
        input: [3, 4, 4]
        layers:
          - relu: {name: r0}            # on the caller's input: must not overwrite it
          - conv: {filters: 3, kernel: 1, name: c}
          - relu: {name: r1}            # last reader of c: in place
          - add: {in: [r1, r0], name: s}
          - flatten: {name: f}
        """)
    x = np.random.default_rng(0).standard_normal((2, 3, 4, 4))
    before = x.copy()
    result = run.forward(g, x, W.random_weights(g, 0))
    placed = {t.name: t.placed for t in result.layers}
    assert placed == {"r0": "new", "c": "new", "r1": "in place on c", "s": "in place on r1",
                      "f": "view of s"}
    assert np.array_equal(x, before)


def test_inplace_skipped_while_another_layer_still_reads() -> None:
    g = graph("""
        input: [2, 3]
        layers:
          - conv: {filters: 2, kernel: 1, name: c}
          - relu: {name: r}
          - add: {in: [c, r], name: s}
        """)
    x = np.random.default_rng(1).standard_normal((1, 2, 3))
    w = W.random_weights(g, 0)
    result = run.forward(g, x, w, keep=("c",))
    placed = {t.name: t.placed for t in result.layers}
    assert placed["r"] == "new"  # c is read again by s
    c = result.kept["c"]
    assert np.allclose(result.outputs["s"], c + np.maximum(c, 0))


def test_forward_names_the_layer_that_fails() -> None:
    g = graph("input: [2, 4]\nlayers:\n  - conv: {filters: 2, kernel: 3, name: c}\n")
    w = W.random_weights(g, 0)
    w["c.weight"] = w["c.weight"][:, :1]  # one input channel instead of two
    with pytest.raises(run.LayerError, match="conv 'c'"):
        run.forward(g, np.zeros((1, 2, 4)), w)
