"""verify() as a library: each check catches the analysis error it is there for, the
receptive-field probe measures what it should, and random weights behave."""
from __future__ import annotations

import numpy as np
import pytest
from helpers import graph

from cnncalc.backend import rf_probe
from cnncalc.backend import weights as W
from cnncalc.backend.run import forward
from cnncalc.backend.verify import rf_plans, verify
from cnncalc.ops.conv import Conv
from cnncalc.ops.pool import MaxPool

SMALL_CNN = """
    input: [3, 12, 12]
    layers:
      - conv: {filters: 4, kernel: 3, padding: 1, name: c1}
      - bn
      - relu
      - maxpool: {kernel: 2, name: p1}
      - conv: {filters: 8, kernel: 3, stride: 2, padding: 1, name: c2}
      - relu: {name: r2}
      - flatten
      - dense: {units: 5, name: fc}
    """


def failed(report) -> dict[tuple[str, str | None], object]:
    return {(r.check, r.layer): r for r in report.results if not r.ok}


def test_a_correct_network_passes() -> None:
    g = graph(SMALL_CNN)
    report = verify(g, plans=rf_plans(g, ["c2"], 2**31))
    assert report.ok, failed(report)
    assert {r.layer for r in report.results if r.check == "rf"} >= {"c2 axis 1", "fc axis 2"}


def test_wrong_mac_rule_is_caught(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(Conv, "macs", lambda self, layer: 7)
    report = verify(graph(SMALL_CNN))
    bad = failed(report)
    assert ("macs", "c1") in bad and ("macs", "c2") in bad and ("macs", None) in bad
    assert bad[("macs", "c1")].expected == 7 and bad[("macs", "c1")].measured == 4 * 12 * 12 * 27


def test_declared_but_unused_weight_is_caught(monkeypatch: pytest.MonkeyPatch) -> None:
    from cnncalc.ops.base import Tensor

    original = Conv.tensors
    monkeypatch.setattr(Conv, "tensors", lambda self, layer: original(self, layer) + [Tensor("scale", (3,))])
    report = verify(graph(SMALL_CNN))
    bad = failed(report)
    assert bad[("params", "c1")].note == "never read: scale"
    assert bad[("params", "c1")].expected == bad[("params", "c1")].measured + 3


def test_wrong_shape_is_caught() -> None:
    g = graph(SMALL_CNN)
    g.by_name["p1"].out_shape = (4, 5, 5)  # what a wrong pooling rule would claim
    bad = failed(verify(g))
    assert bad[("shape", "p1")].expected == [4, 5, 5] and bad[("shape", "p1")].measured == [4, 6, 6]


def test_wrong_receptive_field_rule_is_caught(monkeypatch: pytest.MonkeyPatch) -> None:
    from cnncalc.ops import rfmap

    def shifted(self, layer):  # a window one position off
        return [(0, tuple(rfmap.AxisMap(w.stride, 1, (tuple(1 + t for t in rfmap.window(w).phases[0]),))
                          for w in layer.attrs.windows))]

    monkeypatch.setattr(MaxPool, "rf", shifted)
    g = graph(SMALL_CNN)
    report = verify(g, plans=rf_plans(g, ["r2"], 2**31))
    assert ("rf", "r2 axis 1") in failed(report)


def test_memory_difference_is_caught(monkeypatch: pytest.MonkeyPatch) -> None:
    """A flatten that copies although the analysis counts it as a view."""
    from cnncalc.ops.reshape import Flatten

    monkeypatch.setattr(Flatten, "forward", lambda self, layer, inputs, w, overwrite=None:
                        inputs[0].reshape(inputs[0].shape[0], -1).copy())
    g = graph("input: [64, 8, 8]\nlayers:\n  - flatten: {name: f}\n  - dense: {units: 2}\n")
    bad = failed(verify(g))
    assert "first difference after f" in bad[("memory", None)].note


def test_non_finite_values_are_caught() -> None:
    g = graph("input: [2, 4]\nlayers:\n  - conv: {filters: 2, kernel: 1, name: c}\n  - relu\n")
    w = W.random_weights(g, 0)
    w["c.bias"] = np.array([np.inf, 0], dtype=np.float32)
    bad = failed(verify(g, weights=w))
    assert bad[("values", "c")].measured == "NaN/inf float32"


def test_float64_run_matches_float32_run() -> None:
    g = graph(SMALL_CNN)
    y32 = verify(g, seed=3).outputs["fc"]
    y64 = verify(g, seed=3, dtype="float64").outputs["fc"]
    assert y32.dtype == np.float32 and y64.dtype == np.float64
    assert np.abs(y32 - y64).max() <= 1e-4 * max(1.0, np.abs(y64).max())


# ---------------------------------------------------------------------------- random weights


def test_random_weights_are_deterministic_and_per_layer() -> None:
    a = W.init_weights(graph(SMALL_CNN), seed=1)
    b = W.init_weights(graph(SMALL_CNN), seed=1)
    assert a.keys() == b.keys() and all(np.array_equal(a[k], b[k]) for k in a)
    c = W.init_weights(graph(SMALL_CNN), seed=2)
    assert not np.array_equal(a["c1.weight"], c["c1.weight"])
    # A layer added at the end leaves the earlier layers' draws alone.
    longer = graph(SMALL_CNN.rstrip() + "\n      - dense: {units: 3}\n")
    alone = W.random_weights(graph(SMALL_CNN), 1)
    assert np.array_equal(W.random_weights(longer, 1)["c1.weight"], alone["c1.weight"])


def test_random_weights_keep_deep_networks_finite() -> None:
    """120 plain conv layers, and 60 residual blocks (whose sums double per block without
    calibrated batch norms), at float32."""
    plain = graph("input: [8, 8, 8]\nlayers:\n  - conv: {filters: 8, kernel: 3, padding: 1, repeat: 120}\n"
                  "  - tanh: {name: out}\n")
    residual = graph("""
        input: [8, 8, 8]
        blocks:
          res:
            layers:
              - conv: {filters: 8, kernel: 3, padding: 1, bias: false}
              - bn
              - relu
              - conv: {filters: 8, kernel: 3, padding: 1, bias: false}
              - bn: {name: body}
              - add: {in: [body, $in]}
        layers:
          - res: {repeat: 60}
          - relu: {name: out}
        """)
    for g in (plain, residual):
        report = verify(g)
        assert report.ok, failed(report)
        y = report.outputs["out"]
        assert np.isfinite(y).all() and 1e-3 < float(np.std(y)) < 1e3


# ---------------------------------------------------------------------------- receptive fields


def measure_one(spec: str, layer: str, unit: tuple[int, ...], axis: int = 0):
    g = graph(spec)
    return rf_probe.measure(g, [rf_probe.Query(layer, unit, axis)])[rf_probe.Query(layer, unit, axis)]


def test_probe_measures_a_conv_window_by_hand() -> None:
    spec = "input: [1, 20]\nlayers:\n  - conv: {filters: 1, kernel: 5, stride: 3, padding: 2, name: c}\n"
    # unit i reads positions 3i-2 .. 3i+2 (cut to the input)
    assert [measure_one(spec, "c", (i,)) for i in (0, 1, 6)] == [(0, 2), (1, 5), (16, 19)]


def test_probe_lecture_example_7() -> None:
    spec = """
        input: [1, 15, 15]
        layers:
          - conv: {filters: 1, kernel: 3, name: a}
          - conv: {filters: 1, kernel: 3, name: b}
          - conv: {filters: 1, kernel: 3, name: c}
        """
    sizes = []
    for name, unit in (("a", (6, 6)), ("b", (5, 5)), ("c", (4, 4))):
        lo, hi = measure_one(spec, name, unit)
        sizes.append(hi - lo + 1)
    assert sizes == [3, 5, 7]


def test_probe_sees_dilation_holes_as_a_hull_and_nothing_beyond_dropped_tails() -> None:
    spec = "input: [1, 12]\nlayers:\n  - conv: {filters: 1, kernel: 3, dilation: 3, name: c}\n"
    assert measure_one(spec, "c", (0,)) == (0, 6)
    spec = "input: [1, 9]\nlayers:\n  - maxpool: {kernel: 2, name: p}\n  - gap: {name: g}\n"
    assert measure_one(spec, "g", (0,)) == (0, 7)  # position 8 is never pooled


@pytest.mark.parametrize("layers", [
    "- deconv: {filters: 2, kernel: 3, stride: 2, padding: 1, output_padding: 1}\n"
    "  - conv: {filters: 2, kernel: 3, padding: 1, name: t}",
    "- upsample: {scale: 1.5}\n  - conv: {filters: 2, kernel: 3, name: t}",
    "- upsample: {scale: 2, mode: linear}\n  - maxpool: {kernel: 3, stride: 2, name: t}",
    "- upsample: {scale: 3, mode: linear, align_corners: true, name: t}",
    "- conv: {filters: 2, kernel: 3, dilation: 2, name: a}\n"
    "  - maxpool: {kernel: 3, dilation: 2, stride: 1, in: input, name: b}\n"
    "  - concat: {in: [a, b], axis: 2, name: t}",
    "- relu: {name: b}\n  - slice: {axis: 1, start: 2, stop: -2, name: s}\n"
    "  - conv: {filters: 2, kernel: 3, stride: 2, name: t}",
    "- pad: {padding: [[2, 0], [0, 3]]}\n  - avgpool: {kernel: 3, stride: 2, ceil_mode: true, name: t}",
    "- softmax: {axis: 2}\n  - conv: {filters: 2, kernel: 3, name: t}",
    "- layernorm: {over: all, name: t}",
    "- gap: {name: g}\n  - multiply: {in: [input, g], name: t}",
    "- adaptive_maxpool: {output: [5, 3], name: t}",
])
def test_probe_agrees_with_the_analysis(layers: str) -> None:
    g = graph(f"input: [2, 11, 10]\nlayers:\n  {layers}\n")
    report = verify(g, plans=rf_plans(g, ["t"], 2**31))
    rf = [r for r in report.results if r.check == "rf"]
    assert rf and all(r.ok for r in rf), [r for r in rf if not r.ok]


# ---------------------------------------------------------------------------- every op


@pytest.fixture(params=__import__("forward_cases").CASES, ids=lambda c: c.id)
def op_case(request: pytest.FixtureRequest):
    return request.param


def test_verify_passes_on_every_op(op_case) -> None:
    """Per op: shapes, parameters, MACs, the memory model (new, view or in place) and the
    workspace estimate, at batch 3, with the receptive field of the op's layer."""
    g = graph(f"input: {list(op_case.shape)}\nlayers:\n  {op_case.layers}\n")
    report = verify(g, batch=3, plans=rf_plans(g, ["op"], 2**31))
    assert report.ok, failed(report)


# ---------------------------------------------------------------------------- fuzz finds


@pytest.mark.parametrize("spec", [
    # nearest upsampling by fancy indexing returned a non-C-contiguous array: flatten copied it
    "input: [9, 9, 6, 11]\nlayers:\n  - upsample: {scale: [2, 3, 1]}\n  - flatten",
    # gathering several axes at once left NumPy index buffers as unestimated workspace
    "input: [9, 9, 6, 11]\nlayers:\n  - upsample: {scale: [2, 3, 1]}\n  - upsample: {scale: [2, 3, 1]}",
    "input: [5, 6, 9, 7]\nlayers:\n  - upsample: {scale: [3, 2, 2]}",
    # leaky_relu's np.where mask was workspace beyond its two output-sized temporaries
    "input: [9, 9, 6, 11]\nlayers:\n  - upsample: {scale: 4}\n  - leaky_relu",
    # a strided input (a crop) is gathered without a whole copy first
    "input: [3, 9, 12]\nlayers:\n  - slice: {axis: 2, start: 1, stop: -2}\n  - upsample: {scale: [2, 0.5]}",
    "input: [3, 9, 12]\nlayers:\n  - slice: {axis: 2, start: 1, stop: -2}\n"
    "  - upsample: {scale: [0.5, 2.5], mode: linear, align_corners: true}\n  - leaky_relu: {slope: 3}",
    # a channel slice of a batch > 1 is strided across samples but each sample is one run:
    # flatten (which keeps the batch axis) views it, in NumPy as in PyTorch
    "input: [2, 2, 2]\nlayers:\n  - slice: {start: 0, stop: 1}\n  - flatten\n"
    "  - dense: {units: 1, bias: false}",
    "input: [3, 4, 5]\nlayers:\n  - slice: {axis: 1, start: 1, stop: 3}\n  - flatten",
    # softmax along a spatial axis has effective stride 0: the probe's slack must stay >= 1
    "input: [12, 12]\nlayers:\n  - softmax: {axis: 1}\n  - groupnorm: {groups: 1}",
])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("batch", [1, 2, 3])
def test_fuzzer_finds_pass_verify(spec: str, batch: int, dtype: str) -> None:
    g = graph(spec)
    report = verify(g, batch=batch, dtype=dtype, plans=rf_plans(g, [g.layers[-1].name], 2**31))
    assert report.ok, failed(report)


def test_an_input_read_twice_is_not_overwritten_in_place() -> None:
    """`add: {in: [a, a, a]}` is 3a: writing into `a` while it is still read would give 4a,
    and the memory model must not count that buffer as reused either."""
    g = graph("""
        input: [2, 8, 8]
        layers:
          - relu
          - add: {in: [relu1, relu1, relu1]}
          - relu
        """)
    x = np.abs(np.random.default_rng(0).standard_normal((1, 2, 8, 8)))
    np.testing.assert_allclose(forward(g, x, {}).outputs["relu2"], 3 * x)
    report = verify(g)
    assert report.ok, failed(report)
