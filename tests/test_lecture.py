"""Every shape and parameter figure of the lecture's worked examples (shared/lecture-examples.md),
computed by cnncalc from the specs in architectures/lecture/.

The numbered comments refer to the examples. Shapes are channels-first without the batch
(the lecture's 5x5x1 is (1, 5, 5)); values of the forward passes are tested elsewhere.
"""
from __future__ import annotations

from collections import Counter
from functools import cache
from math import comb, prod
from pathlib import Path

import pytest
from helpers import hand_weights

import cnncalc

LECTURE = Path(__file__).resolve().parent.parent / "architectures" / "lecture"


@cache
def graph(stem: str) -> cnncalc.Graph:
    return cnncalc.load_graph(LECTURE / f"{stem}.yaml")


def shapes(g: cnncalc.Graph) -> dict[str, tuple[int, ...]]:
    return {layer.name: layer.out_shape for layer in g.layers}


def weights(layer: cnncalc.Layer) -> dict[str, int]:
    return {t.name: t.size for t in layer.tensors}


def conv(c_in: int, k: int, filters: int) -> int:
    return (k * k * c_in) * filters + filters  # the lecture's formula (example 3)


# Total parameters of every lecture spec: the lecture's published figure where it gives one,
# else the lecture's formula applied to the spec's layers by hand.
TOTALS = {
    "01_edge_detector": 9,  # one 3x3 kernel, no bias
    "02_multichannel_conv": 19,  # one 3x3x2 filter + bias
    "03_param_count": 1_792,
    "04_maxpool": 0,
    "05_small_cnn": 2_116_801,
    "06_pointwise_conv": 8,
    "07_receptive_field": conv(1, 3, 8) + 2 * conv(8, 3, 8),
    "07_receptive_field_pooling": conv(1, 3, 8) + 2 * conv(8, 3, 8),
    "08_vgg_trend": conv(3, 3, 64) + conv(64, 3, 128) + conv(128, 3, 256),
    "09_output_size": conv(3, 3, 16) + 2 * conv(16, 5, 16) + conv(16, 3, 16),
    "10_dense_after_flatten": 802_816 + 128,
    "11_residual_blocks": 3 * 2 * conv(16, 3, 16),
}


@pytest.mark.parametrize("path", sorted(LECTURE.glob("*.yaml")), ids=lambda p: p.stem)
def test_every_lecture_spec_loads(path: Path) -> None:
    g = cnncalc.load_graph(path)
    assert g.layers
    # each layer against the textbook formulas, the total against the lecture's figure
    ours = [(layer.params, layer.buffers) for layer in g.layers]
    assert ours == [hand_weights(layer) for layer in g.layers]
    assert g.total_params == TOTALS[path.stem]
    assert g.total_buffers == 0


def test_every_lecture_spec_has_a_total() -> None:
    assert sorted(TOTALS) == sorted(p.stem for p in LECTURE.glob("*.yaml"))


def test_channels_last_input_is_converted() -> None:
    g = graph("05_small_cnn")
    assert g.spec.layout == "channels_last"
    assert g.input_shape == (3, 64, 64)  # written [64, 64, 3]


def test_01_edge_detector() -> None:
    g = graph("01_edge_detector")
    assert g.input_shape == (1, 5, 5)
    conv = g.layer("edges")
    assert conv.op_name == "conv"
    assert conv.out_shape == (1, 3, 3)
    assert conv.params == 9 and weights(conv) == {"weight": 9}  # no bias
    assert g.output_shapes == {"edges": (1, 3, 3)}


def test_02_multichannel_conv() -> None:
    g = graph("02_multichannel_conv")
    assert g.input_shape == (2, 4, 4)
    assert shapes(g) == {"conv": (1, 2, 2), "relu": (1, 2, 2)}
    assert weights(g.layer("conv")) == {"weight": 3 * 3 * 2, "bias": 1}
    assert g.total_params == 19


def test_03_param_count() -> None:
    g = graph("03_param_count")
    conv = g.layer("conv")
    assert conv.params == (3 * 3 * 3) * 64 + 64 == 1_792
    assert weights(conv) == {"weight": 1_728, "bias": 64}
    assert conv.out_shape == (64, 30, 30)
    assert g.total_params == 1_792


def test_04_maxpool() -> None:
    g = graph("04_maxpool")
    pool = g.layer("pool")
    assert pool.op_name == "maxpool"
    assert g.input_shape == (1, 4, 4) and prod(g.input_shape) == 16
    assert pool.out_shape == (1, 2, 2) and pool.out_size == 4
    assert g.total_params == 0 and g.total_buffers == 0


def test_05_small_cnn_shapes_and_params() -> None:
    g = graph("05_small_cnn")
    expected = {  # name: (op, shape, params)
        "conv1": ("conv", (32, 64, 64), 896),
        "pool1": ("maxpool", (32, 32, 32), 0),
        "conv2": ("conv", (64, 32, 32), 18_496),
        "pool2": ("maxpool", (64, 16, 16), 0),
        "flatten": ("flatten", (16_384,), 0),
        "fc1": ("dense", (128,), 2_097_280),
        "fc2": ("dense", (1,), 129),
        "prob": ("sigmoid", (1,), 0),
    }
    got = {name: (g.layer(name).op_name, g.layer(name).out_shape, g.layer(name).params)
           for name in expected}
    assert got == expected
    assert g.total_params == 2_116_801
    assert g.total_buffers == 0
    assert g.output_shapes == {"prob": (1,)}
    # every layer is accounted for: the unnamed ones are the parameter-free ReLUs
    rest = [layer for layer in g.layers if layer.name not in expected]
    assert [layer.op_name for layer in rest] == ["relu", "relu", "relu"]


def test_05_first_dense_layer_holds_about_99_percent() -> None:
    g = graph("05_small_cnn")
    share = g.layer("fc1").params / g.total_params
    assert round(100 * share) == 99
    assert max(g.layers, key=lambda layer: layer.params).name == "fc1"


def test_06_pointwise_conv() -> None:
    g = graph("06_pointwise_conv")
    assert g.input_shape == (3, 4, 4)
    conv = g.layer("conv")
    assert conv.out_shape == (2, 4, 4)
    assert weights(conv) == {"weight": 3 * 2, "bias": 2}
    assert g.total_params == 8
    assert g.output_shapes == {"relu": (2, 4, 4)}


@pytest.mark.parametrize("stem, last", [("07_receptive_field", (8, 32, 32)),
                                        ("07_receptive_field_pooling", (8, 8, 8))])
def test_07_receptive_field_specs(stem: str, last: tuple[int, ...]) -> None:
    from cnncalc.analysis.rf import analyze_rf

    g = graph(stem)
    convs = [layer for layer in g.layers if layer.op_name == "conv"]
    assert [layer.name for layer in convs] == ["conv1", "conv2", "conv3"]
    assert list(g.output_shapes.values()) == [last]
    # The lecture's recurrence RF_L = RF_{L-1} + (K - 1) * (product of earlier strides),
    # worked by hand over the layers (K, stride): 3, 5, 7 for the plain stack; with the two
    # 2x2 stride-2 pools 3, 4, 8, 10, 18.
    rf, jump, expected = 1, 1, {}
    for layer in g.layers:
        k, s = {"conv": (3, 1), "maxpool": (2, 2)}[layer.op_name]
        rf, jump = rf + (k - 1) * jump, jump * s
        expected[layer.name] = (rf, rf)
    assert expected["conv3"] == ((7, 7) if stem == "07_receptive_field" else (18, 18))
    result = analyze_rf(g)
    assert {name: result[name].size for name in expected} == expected
    assert {name: result[name].stride for name in expected} == {
        name: (j, j) for name, j in zip(expected, [1, 1, 1] if len(expected) == 3 else [1, 2, 2, 4, 4])}


def test_08_vgg_trend_value_counts() -> None:
    g = graph("08_vgg_trend")
    assert g.input_shape == (3, 224, 224) and prod(g.input_shape) == 150_528
    expected = {
        "conv1": ((64, 224, 224), 3_211_264),
        "pool1": ((64, 112, 112), 802_816),
        "conv2": ((128, 112, 112), 1_605_632),
        "pool2": ((128, 56, 56), 401_408),
        "conv3": ((256, 56, 56), 802_816),
    }
    assert {name: (g.layer(name).out_shape, g.layer(name).out_size) for name in expected} == expected
    # spatial size halves while the channels double: each pool keeps a quarter of the values
    assert g.layer("pool1").out_size * 4 == g.layer("conv1").out_size


def test_09_output_size_formula() -> None:
    g = graph("09_output_size")
    # name: (H in, K, P, S)
    convs = {"same3": (32, 3, 1, 1), "same5": (32, 5, 2, 1), "valid5": (32, 5, 0, 1),
             "down": (28, 3, 1, 2)}
    for name, (h, k, p, s) in convs.items():
        layer = g.layer(name)
        assert layer.in_shapes[0][1:] == (h, h)
        h_out = (h + 2 * p - k) // s + 1
        assert layer.out_shape == (16, h_out, h_out), name
    # P = (K - 1) / 2 with stride 1 keeps the size
    assert g.layer("same3").out_shape[1:] == g.layer("same5").out_shape[1:] == (32, 32)
    assert g.output_shapes == {"down": (16, 14, 14)}


def test_10_dense_after_flatten() -> None:
    g = graph("10_dense_after_flatten")
    assert g.input_shape == (128, 7, 7)
    assert g.layer("flatten").out_shape == (6_272,)
    fc = g.layer("fc")
    assert weights(fc) == {"weight": 6_272 * 128, "bias": 128}
    assert weights(fc)["weight"] == 802_816
    assert fc.params == g.total_params == 802_944


def test_11_residual_blocks_shapes_and_params() -> None:
    g = graph("11_residual_blocks")
    assert all(layer.out_shape == (16, 32, 32) for layer in g.layers)
    assert [layer.op_name for layer in g.layers].count("add") == 3
    assert g.total_params == 3 * 2 * (3 * 3 * 16 * 16 + 16) == 13_920
    assert g.layer("res").out_shape == (16, 32, 32)
    assert g.layer("res.0.sum").op_name == "add"


def test_11_residual_paths_are_binomial() -> None:
    """2^3 = 8 input-to-output paths; C(3, k) of them go through k residual branches."""
    g = graph("11_residual_blocks")
    # paths[t] counts the paths from the input to tensor t by their number of convs
    paths: dict[str, Counter[int]] = {"input": Counter({0: 1})}
    for layer in g.layers:
        step = 1 if layer.op_name == "conv" else 0
        reached: Counter[int] = Counter()
        for source in layer.inputs:
            reached.update({n + step: c for n, c in paths[source].items()})
        paths[layer.name] = reached
    (out,) = g.outputs
    by_blocks = {convs // 2: count for convs, count in paths[out].items()}
    assert sum(by_blocks.values()) == 2 ** 3 == 8
    assert by_blocks == {k: comb(3, k) for k in range(4)}
