"""upsample's PyTorch mode words: bilinear / trilinear (linear with PyTorch's rank check),
nearest-exact and bicubic (real modes; their forward oracles are in forward_cases.py)."""
from __future__ import annotations

import pytest
from helpers import graph, where

from cnncalc.backend.verify import rf_plans, verify


def _flops(g) -> int:
    from cnncalc.analysis.cost import analyze_cost

    return analyze_cost(g).layers[-1].flops


@pytest.mark.parametrize(("shape", "mode", "code"), [
    ([3, 8], "bilinear", "rank"), ([3, 4, 4, 4], "bilinear", "rank"),
    ([3, 4, 4], "trilinear", "rank"), ([3, 8], "bicubic", "rank"), ([3, 4, 4, 4], "bicubic", "rank"),
])
def test_modes_with_a_rank_refuse_other_ranks(shape, mode, code) -> None:
    spec = f"input: {shape}\nlayers:\n  - upsample: {{scale: 2, mode: {mode}}}\n"
    assert where(spec) == [(3, 32, code)]  # at the mode


@pytest.mark.parametrize("mode", ["nearest", "nearest-exact"])
def test_align_corners_only_for_interpolating_modes(mode) -> None:
    spec = f"input: [3, 4, 4]\nlayers:\n  - upsample: {{scale: 2, mode: {mode}, align_corners: true}}\n"
    assert where(spec)[0][2] == "shape"


def test_pytorch_refuses_the_same_ranks() -> None:
    torch = pytest.importorskip("torch")
    F = torch.nn.functional
    for shape, mode in [((1, 3, 8), "bilinear"), ((1, 3, 8), "bicubic"), ((1, 3, 4, 4, 4), "bicubic"),
                        ((1, 3, 4, 4), "trilinear")]:
        with pytest.raises((NotImplementedError, ValueError, RuntimeError)):
            F.interpolate(torch.zeros(shape), scale_factor=2.0, mode=mode)


def test_bilinear_is_linear() -> None:
    a = graph("input: [3, 5, 7]\nlayers:\n  - upsample: {scale: [2, 1.5], mode: bilinear}\n")
    b = graph("input: [3, 5, 7]\nlayers:\n  - upsample: {scale: [2, 1.5], mode: linear}\n")
    assert a.layers[0].out_shape == b.layers[0].out_shape == (3, 10, 10)
    assert _flops(a) == _flops(b) == 9 * 3 * 10 * 10  # 3 lerps of 3 per output value


def test_bicubic_flops_and_output_size_follow_pytorch() -> None:
    g = graph("input: [2, 10, 4]\nlayers:\n  - upsample: {scale: [0.7, 2.5], mode: bicubic}\n")
    # PyTorch: floor(10 * 0.7) in double precision is 7 (an exact fraction would give 6).
    assert g.layers[0].out_shape == (2, 7, 10)
    assert _flops(g) == 35 * 2 * 7 * 10


def test_nearest_exact_reads_the_nearest_centre() -> None:
    from cnncalc.ops import rfmap

    amap = rfmap.nearest_exact(__import__("fractions").Fraction(5, 3))  # 3 outputs per 5/3 ...
    assert [amap.taps(o) for o in range(6)] == [(int((o + 0.5) * 3 / 5),) for o in range(6)]


# A channel slice is a strided view at batch > 1: the kernels gather it without a whole copy.
# (Not a spatial crop: the RF analysis maps a later layer's padding taps through the crop.)
@pytest.mark.parametrize("spec", [
    "input: [4, 9, 12]\nlayers:\n  - slice: {start: 1}\n  - upsample: {scale: [2, 0.5], mode: bicubic}",
    "input: [4, 9, 12]\nlayers:\n  - slice: {start: 1, stop: 3}\n"
    "  - upsample: {scale: [1.5, 2.5], mode: bicubic, align_corners: true}\n  - flatten",
    "input: [3, 6, 5, 4]\nlayers:\n  - slice: {start: 1}\n"
    "  - upsample: {scale: [2, 1.5, 1], mode: nearest-exact}\n  - flatten",
])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("batch", [1, 3])
def test_new_modes_pass_verify_on_strided_inputs(spec: str, batch: int, dtype: str) -> None:
    g = graph(spec)
    report = verify(g, batch=batch, dtype=dtype, plans=rf_plans(g, [g.layers[-1].name], 2**31))
    assert report.ok, [r for r in report.results if not r.ok]


@pytest.mark.parametrize("scale", ["1.0e+300", "4611686018427387904", "[2, 1.0e+200]"])
def test_an_output_beyond_int64_is_refused_at_the_scale(scale) -> None:
    spec = f"input: [3, 4, 4]\nlayers:\n  - upsample: {{scale: {scale}}}\n"
    assert where(spec) == [(3, 23, "too-large")]
