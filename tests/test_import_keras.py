"""The Keras importer: `.keras` files written here (a zip with a hand-written config.json, no
TensorFlow), imported, written as a spec and loaded by cnncalc. Every expected number is worked
out by hand from Keras' documented rules (its layers' output-size formulas, its parameter
counts as `model.summary()` shows them: trainable + non-trainable), never by cnncalc's rules.

Keras 3 configs (Functional inbound nodes as call args of `__keras_tensor__`s) and Keras 2
ones (nested `[layer, node, tensor, kwargs]` lists) are both covered.
"""
from __future__ import annotations

import json
import zipfile
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from cnncalc.analysis.cost import analyze_cost
from cnncalc.backend import run
from cnncalc.backend import weights as W
from cnncalc.graph import Graph, load_graph_text
from cnncalc.imports import coverage
from cnncalc.imports.keras_source import TABLE, read_keras
from cnncalc.imports.model import ImportedModel, SourceError, UnsupportedModel
from cnncalc.imports.write import write_flat, write_spec
from cnncalc.ops.registry import ops

# ---------------------------------------------------------------------------- builders


def layer(cls: str, name: str, **config: Any) -> dict[str, Any]:
    """A Keras 3 layer entry (Sequential form: no inbound nodes)."""
    return {"module": "keras.layers", "class_name": cls, "registered_name": None,
            "config": {"name": name, "trainable": True, "dtype": "float32", **config}}


def _tensor(src: str) -> dict[str, Any]:
    return {"class_name": "__keras_tensor__",
            "config": {"shape": None, "dtype": "float32", "keras_history": [src, 0, 0]}}


def node(cls: str, name: str, inputs: list[str], **config: Any) -> dict[str, Any]:
    """A Keras 3 Functional layer: inbound nodes as call args (a list for merges)."""
    entry = {**layer(cls, name, **config), "name": name, "inbound_nodes": []}
    if inputs:
        args = [_tensor(inputs[0])] if len(inputs) == 1 else [[_tensor(s) for s in inputs]]
        entry["inbound_nodes"] = [{"args": args, "kwargs": {}}]
    return entry


def node2(cls: str, name: str, inputs: list[str], **config: Any) -> dict[str, Any]:
    """A Keras 2 Functional layer: inbound nodes as [[[layer, node, tensor, kwargs], ...]]."""
    return {"class_name": cls, "name": name, "config": {"name": name, "trainable": True, **config},
            "inbound_nodes": [[[src, 0, 0, {}] for src in inputs]] if inputs else []}


def sequential(layers: list[dict[str, Any]], **extra: Any) -> dict[str, Any]:
    return {"module": "keras", "class_name": "Sequential",
            "config": {"name": "sequential", "trainable": True, "layers": layers, **extra}}


def functional(layers: list[dict[str, Any]], inputs: list[str], outputs: list[str],
               keras3: bool = True) -> dict[str, Any]:
    ends = ((lambda names: [[n, 0, 0] for n in names]) if not keras3 or len(inputs) > 1
            else (lambda names: [names[0], 0, 0] if len(names) == 1 else [[n, 0, 0] for n in names]))
    body = {"name": "model", "trainable": True, "layers": layers,
            "input_layers": ends(inputs), "output_layers": ends(outputs)}
    return ({"module": "keras.src.models.functional", "class_name": "Functional", "config": body}
            if keras3 else {"class_name": "Functional", "config": body})


def keras_file(tmp_path: Path, config: dict[str, Any], version: str = "3.6.0",
               name: str = "model.keras") -> str:
    path = tmp_path / name
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("config.json", json.dumps(config))
        archive.writestr("metadata.json", json.dumps({"keras_version": version,
                                                      "date_saved": "2026-12-01@11:00:00"}))
        archive.writestr("model.weights.h5", b"")  # the weights are never read
    return str(path)


def load(path: str, **kw: Any) -> tuple[ImportedModel, Graph]:
    model = read_keras(path, **kw)
    # Flat: the tests find each Keras layer's cnncalc layers by name (folding renames a
    # structural repeat; tests/test_import_fold.py checks folded == flat).
    return model, load_graph_text(write_spec(model, flat=True), "imported.yaml")


def per_keras_layer(model: ImportedModel, g: Graph) -> dict[str, tuple[tuple[int, ...], int, int]]:
    """Keras layer -> (its output shape channels-last as Keras prints it, params + buffers
    (model.summary's Param #), MACs), summed over the cnncalc layers it became."""
    macs = {c.name: c.macs for c in analyze_cost(g).layers}
    out: dict[str, tuple[tuple[int, ...], int, int]] = {}
    for imported in model.layers:
        lay = g.layer(imported.name)
        shape = lay.out_shape if len(lay.out_shape) == 1 else (*lay.out_shape[1:], lay.out_shape[0])
        _, params, m = out.get(imported.origin, ((), 0, 0))
        out[imported.origin] = (shape, params + lay.params + lay.buffers, m + macs[lay.name])
    return out


def totals(g: Graph) -> tuple[int, int, int]:
    return (sum(lay.params for lay in g.layers), sum(lay.buffers for lay in g.layers),
            analyze_cost(g).total_macs)


# ---------------------------------------------------------------------------- three models

def test_sequential_cnn(tmp_path: Path) -> None:
    config = sequential([
        layer("InputLayer", "input_layer", batch_shape=[None, 28, 28, 1]),
        layer("Conv2D", "conv1", filters=32, kernel_size=[3, 3], strides=[1, 1], padding="valid",
              data_format="channels_last", dilation_rate=[1, 1], groups=1, activation="relu",
              use_bias=True),
        layer("MaxPooling2D", "pool1", pool_size=[2, 2], strides=[2, 2], padding="valid"),
        layer("Conv2D", "conv2", filters=64, kernel_size=3, padding="same", activation="relu"),
        layer("BatchNormalization", "bn", axis=-1, momentum=0.99, epsilon=0.001, center=True,
              scale=True),
        layer("MaxPooling2D", "pool2", pool_size=2, strides=None, padding="same"),
        layer("Flatten", "flatten"),
        layer("Dropout", "drop", rate=0.5),
        layer("Dense", "dense", units=10, activation="softmax", use_bias=True),
    ])
    model, g = load(keras_file(tmp_path, config))
    assert model.channels_last and model.input_shape == [28, 28, 1]
    assert per_keras_layer(model, g) == {
        "conv1": ((26, 26, 32), 3 * 3 * 1 * 32 + 32, 26 * 26 * 32 * 9),
        "pool1": ((13, 13, 32), 0, 0),
        "conv2": ((13, 13, 64), 3 * 3 * 32 * 64 + 64, 13 * 13 * 64 * 3 * 3 * 32),
        "bn": ((13, 13, 64), 4 * 64, 0),   # gamma, beta + moving mean, variance
        "pool2": ((7, 7, 64), 0, 0),       # same: ceil(13 / 2)
        "flatten": ((3136,), 0, 0),
        "drop": ((3136,), 0, 0),
        "dense": ((10,), 3136 * 10 + 10, 31360),
    }
    assert totals(g) == (50314, 128, 3_341_056)
    assert g.layer("bn").args["eps"] == 0.001  # Keras' default, not cnncalc's 1e-5
    assert [lay.op_name for lay in g.layers][-1] == "softmax"
    assert any("flattens channels-last" in note for note in model.notes)
    assert write_spec(model).startswith("# Imported by cnncalc from model.keras (Keras 3.6.0 Sequential).")


def resnet_block(keras3: bool = True) -> dict[str, Any]:
    n = node if keras3 else node2
    conv = {"kernel_size": [3, 3], "padding": "same", "use_bias": False}
    return functional([
        n("InputLayer", "image", [], batch_shape=[None, 16, 16, 8]),
        n("Conv2D", "stem", ["image"], filters=16, **conv),
        n("BatchNormalization", "stem_bn", ["stem"], axis=-1, epsilon=1.001e-5),
        n("Activation", "stem_relu", ["stem_bn"], activation="relu"),
        n("Conv2D", "c1", ["stem_relu"], filters=16, **conv),
        n("BatchNormalization", "bn1", ["c1"], axis=3, epsilon=1.001e-5),
        n("ReLU", "relu1", ["bn1"], max_value=None, negative_slope=0.0, threshold=0.0),
        n("Conv2D", "c2", ["relu1"], filters=16, **conv),
        n("BatchNormalization", "bn2", ["c2"], axis=-1, epsilon=1.001e-5),
        n("Add", "add", ["bn2", "stem_relu"]),
        n("Activation", "out_relu", ["add"], activation="relu"),
        n("Conv2D", "down", ["out_relu"], filters=32, kernel_size=3, strides=2, padding="same"),
        n("Conv2D", "short", ["out_relu"], filters=32, kernel_size=1, strides=[2, 2]),
        n("Add", "add2", ["down", "short"]),
        n("Concatenate", "cat", ["add2", "short"], axis=-1),
        n("GlobalAveragePooling2D", "gap", ["cat"], keepdims=False),
        n("Dense", "fc", ["gap"], units=10),
    ], ["image"], ["fc"], keras3)


@pytest.mark.parametrize("keras3", [True, False], ids=["keras3", "keras2"])
def test_functional_resnet_block(tmp_path: Path, keras3: bool) -> None:
    model, g = load(keras_file(tmp_path, resnet_block(keras3), "3.6.0" if keras3 else "2.15.0"))
    got = per_keras_layer(model, g)
    assert got == {
        "stem": ((16, 16, 16), 3 * 3 * 8 * 16, 16 * 16 * 16 * 72),
        "stem_bn": ((16, 16, 16), 64, 0), "stem_relu": ((16, 16, 16), 0, 0),
        "c1": ((16, 16, 16), 3 * 3 * 16 * 16, 16 * 16 * 16 * 144),
        "bn1": ((16, 16, 16), 64, 0), "relu1": ((16, 16, 16), 0, 0),
        "c2": ((16, 16, 16), 2304, 589_824), "bn2": ((16, 16, 16), 64, 0),
        "add": ((16, 16, 16), 0, 0), "out_relu": ((16, 16, 16), 0, 0),
        "down": ((8, 8, 32), 3 * 3 * 16 * 32 + 32, 8 * 8 * 32 * 144),   # same, stride 2: ceil(16/2)
        "short": ((8, 8, 32), 16 * 32 + 32, 8 * 8 * 32 * 16),           # valid 1x1, stride 2
        "add2": ((8, 8, 32), 0, 0),
        "cat": ((8, 8, 64), 0, 0),                                       # axis -1: the channels
        "gap": ((64,), 0, 0),
        "fc": ((10,), 64 * 10 + 10, 640),
    }
    # trainable: convs 1152 + 2304 + 2304 + 4640 + 544, dense 650, BN 3 x 32; non-trainable 3 x 32
    assert totals(g) == (11690, 96, 1_802_880)
    assert model.outputs == ["fc"]
    # the residual join reads the stem's activation, written as `in:` in the spec
    assert g.layer("add").inputs == ["bn2", "stem_relu"]
    assert g.layer("stem_bn").args["eps"] == 1.001e-5


def mobilenet_keras2() -> dict[str, Any]:
    relu6 = {"max_value": 6.0, "negative_slope": 0.0, "threshold": 0.0}
    return functional([
        node2("InputLayer", "input_1", [], batch_input_shape=[None, 32, 32, 3], dtype="float32"),
        node2("ZeroPadding2D", "pad", ["input_1"], padding=[[0, 1], [0, 1]]),
        node2("Conv2D", "conv1", ["pad"], filters=8, kernel_size=[3, 3], strides=[2, 2],
              padding="valid", use_bias=False, activation="linear"),
        node2("BatchNormalization", "conv1_bn", ["conv1"], axis=-1, epsilon=0.001),
        node2("ReLU", "conv1_relu", ["conv1_bn"], **relu6),
        node2("DepthwiseConv2D", "dw1", ["conv1_relu"], kernel_size=[3, 3], padding="same",
              depth_multiplier=1, use_bias=False),
        node2("BatchNormalization", "dw1_bn", ["dw1"], axis=-1, epsilon=0.001),
        node2("ReLU", "dw1_relu", ["dw1_bn"], **relu6),
        node2("Conv2D", "pw1", ["dw1_relu"], filters=16, kernel_size=[1, 1], use_bias=False),
        node2("BatchNormalization", "pw1_bn", ["pw1"], axis=-1, epsilon=0.001),
        node2("ReLU", "pw1_relu", ["pw1_bn"], **relu6),
        node2("DepthwiseConv2D", "dw2", ["pw1_relu"], kernel_size=3, strides=2, padding="same",
              depth_multiplier=2, use_bias=True),
        node2("SeparableConv2D", "sep", ["dw2"], filters=24, kernel_size=3, padding="same",
              activation="relu", use_bias=True),
        node2("GlobalAveragePooling2D", "gap", ["sep"], keepdims=True),
        node2("Dropout", "drop", ["gap"], rate=0.001),
        node2("Conv2D", "logits", ["drop"], filters=10, kernel_size=1, padding="same"),
        node2("Flatten", "flat", ["logits"]),
        node2("Activation", "pred", ["flat"], activation="softmax"),
    ], ["input_1"], ["pred"], keras3=False)


def test_mobilenet_style_depthwise_net_keras2_format(tmp_path: Path) -> None:
    model, g = load(keras_file(tmp_path, mobilenet_keras2(), "2.15.0"))
    assert per_keras_layer(model, g) == {
        "pad": ((33, 33, 3), 0, 0),
        "conv1": ((16, 16, 8), 3 * 3 * 3 * 8, 16 * 16 * 8 * 27),         # floor((33 - 3) / 2) + 1
        "conv1_bn": ((16, 16, 8), 32, 0), "conv1_relu": ((16, 16, 8), 0, 0),
        "dw1": ((16, 16, 8), 3 * 3 * 8, 16 * 16 * 8 * 9),
        "dw1_bn": ((16, 16, 8), 32, 0), "dw1_relu": ((16, 16, 8), 0, 0),
        "pw1": ((16, 16, 16), 8 * 16, 16 * 16 * 16 * 8),
        "pw1_bn": ((16, 16, 16), 64, 0), "pw1_relu": ((16, 16, 16), 0, 0),
        # depth_multiplier 2: 16 x 2 = 32 channels, kernel 3x3x16x2 + 32 biases
        "dw2": ((8, 8, 32), 3 * 3 * 16 * 2 + 32, 8 * 8 * 32 * 9),
        # depthwise 3x3x32 (no bias) + pointwise 32x24 + 24 biases
        "sep": ((8, 8, 24), 288 + 32 * 24 + 24, 8 * 8 * 32 * 9 + 8 * 8 * 24 * 32),
        "gap": ((1, 1, 24), 0, 0), "drop": ((1, 1, 24), 0, 0),
        "logits": ((1, 1, 10), 24 * 10 + 10, 240),
        "flat": ((10,), 0, 0), "pred": ((10,), 0, 0),
    }
    assert totals(g) == (2130, 64, 192_752)
    ops_used = {lay.op_name for lay in g.layers}
    assert {"relu6", "pad", "softmax"} <= ops_used and "relu" in ops_used  # sep's activation


def test_convnext_block_of_keras_applications(tmp_path: Path) -> None:
    """keras.applications' ConvNeXt block: a grouped 7x7 Conv2D (depthwise), LayerNormalization,
    Dense on the spatial tensor (pointwise), LayerScale, StochasticDepth, Add."""
    config = functional([
        node("InputLayer", "x", [], batch_shape=[None, 8, 8, 16]),
        node("Conv2D", "dw", ["x"], filters=16, kernel_size=7, padding="same", groups=16),
        node("LayerNormalization", "ln", ["dw"], axis=-1, epsilon=1e-6),
        node("Dense", "pw1", ["ln"], units=64, activation="gelu"),
        node("Dense", "pw2", ["pw1"], units=16),
        node("LayerScale", "ls", ["pw2"], init_values=1e-6, projection_dim=16),
        node("StochasticDepth", "sd", ["ls"], drop_path_rate=0.1),
        node("Add", "res", ["x", "sd"]),
    ], ["x"], ["res"])
    model, g = load(keras_file(tmp_path, config))
    assert per_keras_layer(model, g) == {
        "dw": ((8, 8, 16), 7 * 7 * 1 * 16 + 16, 64 * 16 * 49),
        "ln": ((8, 8, 16), 2 * 16, 0),
        "pw1": ((8, 8, 64), 16 * 64 + 64, 64 * 16 * 64),
        "pw2": ((8, 8, 16), 64 * 16 + 16, 64 * 64 * 16),
        "ls": ((8, 8, 16), 16, 0), "sd": ((8, 8, 16), 0, 0), "res": ((8, 8, 16), 0, 0),
    }
    assert [lay.op_name for lay in g.layers] == ["conv", "layernorm", "channel_dense", "gelu",
                                                 "channel_dense", "scale", "drop_path", "add"]
    assert g.layer("ls").args["init"] == 1e-6 and g.layer("ln").args["eps"] == 1e-6
    bad = functional([node("InputLayer", "x", [], batch_shape=[None, 4, 4, 8]),
                      node("LayerScale", "ls", ["x"], init_values=0.1, projection_dim=4),
                      node("LayerScale", "mine", ["ls"], hidden_size=8)], ["x"], ["mine"])
    found = unsupported(keras_file(tmp_path, bad))
    assert [(name, why.split(" ")[0]) for name, _, why in found] == [("ls", "projection_dim"),
                                                                    ("mine", "a")]


@pytest.mark.parametrize("build", [resnet_block, mobilenet_keras2])
def test_imported_specs_run_forward(tmp_path: Path, build: Any) -> None:
    """The written spec is a network cnncalc runs (random weights, NumPy forward)."""
    model, g = load(keras_file(tmp_path, build()))
    x = np.random.default_rng(0).standard_normal((2, *g.input_shape))
    result = run.forward(g, x, W.random_weights(g, 0))
    [out] = model.outputs
    assert result.outputs[out].shape == (2, 10) and np.isfinite(result.outputs[out]).all()


# ---------------------------------------------------------------------------- one layer each

def one(tmp_path: Path, shape: list[int], *layers: dict[str, Any], version: str = "3.6.0"
        ) -> tuple[ImportedModel, Graph]:
    config = sequential([layer("InputLayer", "x", batch_shape=[None, *shape]), *layers])
    return load(keras_file(tmp_path, config, version))


def last(model: ImportedModel, g: Graph) -> tuple[tuple[int, ...], int, int]:
    return per_keras_layer(model, g)[model.layers[-1].origin]


@pytest.mark.parametrize(("config", "expected"), [
    # valid, no output_padding: n*s + max(k - s, 0)
    ({"kernel_size": 3, "strides": 2, "padding": "valid"}, (11, 11, 3)),
    ({"kernel_size": 1, "strides": 3, "padding": "valid"}, (15, 15, 3)),   # k < s: n*s
    ({"kernel_size": 4, "strides": 2, "padding": "valid"}, (12, 12, 3)),
    ({"kernel_size": 3, "strides": 2, "padding": "same"}, (10, 10, 3)),    # same: n*s
    ({"kernel_size": 2, "strides": 3, "padding": "same"}, (15, 15, 3)),
    # with output_padding: (n - 1)*s + k - 2*pad + output_padding, pad = k // 2 for same
    ({"kernel_size": 3, "strides": 2, "padding": "same", "output_padding": 1}, (10, 10, 3)),
    ({"kernel_size": 5, "strides": 3, "padding": "same", "output_padding": [2, 0]}, (15, 13, 3)),
    ({"kernel_size": 3, "strides": 2, "padding": "valid", "output_padding": 1}, (12, 12, 3)),
    # dilation 2: the dilated kernel 5 in the valid rule: 5*1 + max(5 - 1, 0)
    ({"kernel_size": 3, "strides": 1, "padding": "valid", "dilation_rate": 2}, (9, 9, 3)),
])
def test_conv2d_transpose_sizes(tmp_path: Path, config: dict[str, Any], expected: tuple[int, ...]) -> None:
    model, g = one(tmp_path, [5, 5, 4], layer("Conv2DTranspose", "up", filters=3, **config))
    shape, params, macs = last(model, g)
    k = config["kernel_size"]
    assert shape == expected
    assert params == k * k * 4 * 3 + 3  # kernel (k, k, filters, in) + bias
    assert macs == 5 * 5 * k * k * 4 * 3  # every input value times every tap and filter


def test_conv1d_causal_and_conv3d(tmp_path: Path) -> None:
    model, g = one(tmp_path, [20, 4], layer("Conv1D", "c", filters=8, kernel_size=3,
                                            padding="causal", dilation_rate=2))
    assert last(model, g) == ((20, 8), 3 * 4 * 8 + 8, 20 * 8 * 12)
    assert g.layer("c").args["padding"] == ((4, 0),)  # dilation*(k - 1) on the left only
    model, g = one(tmp_path, [6, 6, 6, 2], layer("Conv3D", "c", filters=4, kernel_size=3, use_bias=False))
    assert last(model, g) == ((4, 4, 4, 4), 27 * 2 * 4, 64 * 4 * 54)
    model, g = one(tmp_path, [9, 6], layer("Conv1D", "c", filters=6, kernel_size=3, groups=3,
                                           strides=2))
    assert last(model, g) == ((4, 6), 3 * 2 * 6 + 6, 4 * 6 * 6)  # kernel (3, 6/3, 6)


def test_dense_on_a_spatial_input_is_channel_dense(tmp_path: Path) -> None:
    model, g = one(tmp_path, [4, 4, 8], layer("Dense", "d", units=16, activation="gelu"))
    assert last(model, g) == ((4, 4, 16), 8 * 16 + 16, 4 * 4 * 8 * 16)
    assert [lay.op_name for lay in g.layers] == ["channel_dense", "gelu"]
    model, g = one(tmp_path, [7, 5], layer("Dense", "d", units=3, use_bias=False))  # tokens x dims
    assert last(model, g) == ((7, 3), 15, 7 * 5 * 3)


def tf_same_avg_pool(x: np.ndarray, k: int, s: int) -> np.ndarray:
    """TF's average pooling with 'same' padding, from its definition: the output covers
    ceil(n / s) windows, the total padding max((out - 1)*s + k - n, 0) puts its odd pixel
    after, and each window averages only the values inside the input."""
    n_h, n_w = x.shape[2:]
    out_h, out_w = -(-n_h // s), -(-n_w // s)
    top = max((out_h - 1) * s + k - n_h, 0) // 2
    left = max((out_w - 1) * s + k - n_w, 0) // 2
    y = np.zeros((*x.shape[:2], out_h, out_w))
    for i in range(out_h):
        for j in range(out_w):
            rows = range(max(i * s - top, 0), min(i * s - top + k, n_h))
            cols = range(max(j * s - left, 0), min(j * s - left + k, n_w))
            y[:, :, i, j] = x[:, :, rows.start:rows.stop, cols.start:cols.stop].mean(axis=(2, 3))
    return y


def test_same_average_pooling_pads_after_and_excludes_the_padding(tmp_path: Path) -> None:
    model, g = one(tmp_path, [8, 7, 2], layer("AveragePooling2D", "p", pool_size=3, strides=2,
                                              padding="same"))
    assert last(model, g)[0] == (4, 4, 2)  # ceil(8 / 2), ceil(7 / 2)
    x = np.random.default_rng(0).standard_normal((2, 2, 8, 7))  # cnncalc's channels-first batch
    y = run.forward(g, x, {}).outputs["p"]
    assert np.allclose(y, tf_same_avg_pool(x, 3, 2), atol=1e-12)


@pytest.mark.parametrize(("shape", "config", "expected"), [
    ([10, 3], ("MaxPooling1D", {"pool_size": 2, "strides": 1}), (9, 3)),
    ([10, 3], ("MaxPooling1D", {"pool_size": [3], "padding": "same"}), (4, 3)),
    ([6, 6, 6, 2], ("AveragePooling3D", {"pool_size": 2}), (3, 3, 3, 2)),
    ([9, 9, 2], ("MaxPooling2D", {"pool_size": [3, 2], "strides": [2, 3], "padding": "valid"}), (4, 3, 2)),
    ([10, 3], ("GlobalMaxPooling1D", {}), (3,)),
    ([5, 5, 3], ("GlobalAveragePooling2D", {"keepdims": True}), (1, 1, 3)),
    ([5, 5, 3], ("ZeroPadding2D", {"padding": 2}), (9, 9, 3)),
    ([5, 5, 3], ("ZeroPadding2D", {"padding": [1, 2]}), (7, 9, 3)),
    ([8, 2], ("ZeroPadding1D", {"padding": [3, 1]}), (12, 2)),
    ([8, 8, 3], ("Cropping2D", {"cropping": [[1, 0], [2, 2]]}), (7, 4, 3)),
    ([4, 5, 3], ("UpSampling2D", {"size": [2, 3], "interpolation": "bilinear"}), (8, 15, 3)),
    ([4, 3], ("UpSampling1D", {"size": 3}), (12, 3)),
    ([2, 2, 2, 3], ("UpSampling3D", {"size": 2}), (4, 4, 4, 3)),
    ([4, 5, 3], ("Softmax", {"axis": -1}), (4, 5, 3)),
    ([4, 5, 3], ("SpatialDropout2D", {"rate": 0.2}), (4, 5, 3)),
    ([4, 5, 3], ("Flatten", {}), (60,)),
])
def test_shape_only_layers(tmp_path: Path, shape: list[int], config: tuple[str, dict[str, Any]],
                           expected: tuple[int, ...]) -> None:
    cls, cfg = config
    model, g = one(tmp_path, shape, layer(cls, "op", **cfg))
    assert last(model, g) == (expected, 0, 0)


@pytest.mark.parametrize(("config", "ops_args"), [
    (("ReLU", {"max_value": 6.0}), ("relu6", {})),
    (("ReLU", {"negative_slope": 0.1}), ("leaky_relu", {"slope": 0.1})),
    (("ReLU", {}), ("relu", {})),
    (("LeakyReLU", {"negative_slope": 0.3}), ("leaky_relu", {"slope": 0.3})),
    (("LeakyReLU", {}), ("leaky_relu", {"slope": 0.3})),                  # Keras' default
    (("Activation", {"activation": "hard_sigmoid"}), ("hardsigmoid", {})),  # Keras 3: relu6(x+3)/6
    (("Activation", {"activation": "hard_silu"}), ("hardswish", {})),
    (("Activation", {"activation": "swish"}), ("silu", {})),
    (("Activation", {"activation": "leaky_relu"}), ("leaky_relu", {"slope": 0.2})),
    (("Activation", {"activation": "linear"}), ("identity", {})),
    (("Identity", {}), ("identity", {})),
])
def test_activations(tmp_path: Path, config: tuple[str, dict[str, Any]],
                     ops_args: tuple[str, dict[str, Any]]) -> None:
    model, g = one(tmp_path, [4, 4, 3], layer(config[0], "act", **config[1]))
    [imported] = model.layers
    assert (imported.op, imported.args) == ops_args


def test_concatenate_along_a_spatial_axis_and_multiply(tmp_path: Path) -> None:
    config = functional([
        node("InputLayer", "x", [], batch_shape=[None, 6, 5, 4]),
        node("Conv2D", "a", ["x"], filters=4, kernel_size=1),
        node("Concatenate", "rows", ["x", "a"], axis=1),
        node("Multiply", "gate", ["rows", "rows"]),
        node("GlobalMaxPooling2D", "g", ["gate"]),
    ], ["x"], ["g", "rows"])
    model, g = load(keras_file(tmp_path, config))
    got = per_keras_layer(model, g)
    assert got["rows"][0] == (12, 5, 4) and got["g"][0] == (4,)
    assert model.outputs == ["g", "rows"] and "outputs: [g, rows]" in write_flat(model)


def test_keyword_inputs_and_bare_histories(tmp_path: Path) -> None:
    """A layer called with keywords (`layer(inputs=x)`) keeps its tensors in kwargs; some
    writers leave out the `__keras_tensor__` wrapper around `keras_history`."""
    conv = node("Conv2D", "c", [], filters=2, kernel_size=3)
    conv["inbound_nodes"] = [{"args": [], "kwargs": {"inputs": _tensor("x"), "training": False}}]
    add = node("Add", "sum", [])
    add["inbound_nodes"] = [{"args": [[{"keras_history": ["c", 0, 0]}, {"keras_history": ["c", 0, 0]}]],
                             "kwargs": {}}]
    config = functional([node("InputLayer", "x", [], batch_shape=[None, 5, 5, 1]), conv, add],
                        ["x"], ["sum"])
    model, g = load(keras_file(tmp_path, config))
    assert g.layer("c").inputs == ["input"] and g.layer("sum").inputs == ["c", "c"]
    assert last(model, g) == ((3, 3, 2), 0, 0)


def test_rescaling_and_constant_normalization_are_identity_with_a_note(tmp_path: Path) -> None:
    model, g = one(tmp_path, [8, 8, 3], layer("Rescaling", "scale01", scale=1 / 255, offset=0.0),
                   layer("Normalization", "norm", axis=-1, mean=[0.5, 0.4, 0.3],
                         variance=[0.1, 0.2, 0.3], invert=False),
                   layer("Conv2D", "c", filters=2, kernel_size=1))
    assert [lay.op_name for lay in g.layers] == ["identity", "identity", "conv"]
    assert totals(g) == (3 * 2 + 2, 0, 64 * 2 * 3)
    assert [note.split(":")[0] for note in model.notes] == ["scale01", "norm"]
    assert "# Note: scale01: Rescaling" in write_spec(model)


def test_sequential_without_input_layer_takes_build_input_shape(tmp_path: Path) -> None:
    config = sequential([layer("Conv2D", "c", filters=2, kernel_size=3)],
                        build_input_shape=[None, 9, 9, 1])
    model, g = load(keras_file(tmp_path, config))
    assert last(model, g) == ((7, 7, 2), 9 * 2 + 2, 49 * 2 * 9)


def test_input_shape_override_for_open_sizes(tmp_path: Path) -> None:
    config = sequential([layer("InputLayer", "x", batch_shape=[None, None, None, 3]),
                         layer("Conv2D", "c", filters=2, kernel_size=3)])
    path = keras_file(tmp_path, config)
    with pytest.raises(SourceError, match="unknown sizes.*--input"):
        read_keras(path)
    model, g = load(path, input_shape=[10, 12, 3])
    assert last(model, g)[0] == (8, 10, 2)


def test_names_become_cnncalc_words(tmp_path: Path) -> None:
    model, g = one(tmp_path, [4, 4, 3], layer("Conv2D", "block1/conv 1", filters=2, kernel_size=1),
                   layer("Activation", "input", activation="relu"),
                   layer("Activation", "1st", activation="relu"))
    assert [lay.name for lay in g.layers] == ["block1_conv_1", "input_2", "l_1st"]
    assert [imported.origin for imported in model.layers] == ["block1/conv 1", "input", "1st"]


# ---------------------------------------------------------------------------- refusals

def unsupported(path: str) -> list[tuple[str, str, str]]:
    with pytest.raises(UnsupportedModel) as info:
        read_keras(path)
    return [(n.name, n.op_type, n.why) for n in info.value.nodes]


def test_every_unsupported_layer_is_listed(tmp_path: Path) -> None:
    config = sequential([
        layer("InputLayer", "x", batch_shape=[None, 8, 8, 3]),
        layer("Conv2D", "c", filters=4, kernel_size=3, activation="elu"),
        layer("BatchNormalization", "bn", axis=-1, center=False),
        layer("PReLU", "prelu"),
        layer("UpSampling2D", "up", size=2, interpolation="bicubic"),
        layer("Lambda", "lam", function="..."),
        layer("Conv2D", "cf", filters=2, kernel_size=1, data_format="channels_first"),
        layer("Normalization", "norm", axis=-1, mean=None, variance=None),
        layer("Dense", "d", units=3),
    ])
    found = unsupported(keras_file(tmp_path, config))
    assert [(name, cls) for name, cls, _ in found] == [
        ("c", "Conv2D"), ("bn", "BatchNormalization"), ("prelu", "PReLU"), ("up", "UpSampling2D"),
        ("lam", "Lambda"), ("cf", "Conv2D"), ("norm", "Normalization")]
    why = dict((name, reason) for name, _, reason in found)
    assert "elu" in why["c"] and "center=False" in why["bn"] and "channels_first" in why["cf"]
    assert "no cnncalc op" in why["prelu"] and "non-trainable" in why["norm"]
    with pytest.raises(UnsupportedModel, match=r"7 node\(s\).*\n  c: Conv2D at layer 1 of 9, after x"):
        read_keras(keras_file(tmp_path, config))


def test_keras2_hard_sigmoid_is_refused(tmp_path: Path) -> None:
    config = sequential([layer("InputLayer", "x", batch_shape=[None, 3]),
                         layer("Activation", "h", activation="hard_sigmoid")])
    [(name, _, why)] = unsupported(keras_file(tmp_path, config, "2.15.0"))
    assert name == "h" and "0.2x + 0.5" in why


def test_shared_nested_and_multi_input_models_are_refused(tmp_path: Path) -> None:
    shared = node("Conv2D", "shared", ["a"], filters=3, kernel_size=1)
    shared["inbound_nodes"].append({"args": [_tensor("b")], "kwargs": {}})
    config = functional([
        node("InputLayer", "a", [], batch_shape=[None, 4, 4, 3]),
        node("InputLayer", "b", [], batch_shape=[None, 4, 4, 3]),
        shared,
        {**node("Functional", "inner", ["shared"]), "config": {"name": "inner", "layers": []}},
    ], ["a", "b"], ["inner"])
    found = unsupported(keras_file(tmp_path, config))
    assert [(name, cls) for name, cls, _ in found] == [("a, b", "InputLayer"), ("shared", "Conv2D"),
                                                       ("inner", "Functional")]
    assert "called 2 times" in found[1][2] and "nested model" in found[2][2]


@pytest.mark.parametrize(("content", "message"), [
    (None, "no such file"),
    (b"not a zip", "not a zip archive"),
    ({"other.json": "{}"}, "has no config.json"),
    ({"config.json": "{not json"}, "config.json is not valid JSON: .* line 1 column 2"),
    ({"config.json": "[1, 2]"}, "not a JSON object"),
    ({"config.json": json.dumps({"class_name": "Dense", "config": {}})},
     "not describe a Sequential or Functional model"),
    ({"config.json": json.dumps(sequential([]))}, "has no layers"),
    ({"config.json": json.dumps(sequential(["conv"]))}, "layer 0 of config.json is not a Keras layer"),
    ({"config.json": json.dumps(functional([node("InputLayer", "x", [], batch_shape=[None, 3]),
                                            node("Dense", "d", ["y"], units=2)], ["x"], ["d"]))},
     "refers to layers it does not define: y"),
])
def test_unreadable_sources(tmp_path: Path, content: Any, message: str) -> None:
    path = tmp_path / "bad.keras"
    if isinstance(content, bytes):
        path.write_bytes(content)
    elif isinstance(content, dict):
        with zipfile.ZipFile(path, "w") as archive:
            for member, text in content.items():
                archive.writestr(member, text)
    with pytest.raises(SourceError, match=message) as info:
        read_keras(str(path))
    assert str(info.value).startswith(str(path))


# ---------------------------------------------------------------------------- the mapping table

def test_coverage_table_matches_the_translation_table(tmp_path: Path) -> None:
    """Every Keras word the op reference shows is a class the importer translates, to an op
    that exists; and every plain class listed really becomes that op."""
    assert set(coverage.KERAS) <= set(ops())
    listed = {word.split("(")[0] for words in coverage.KERAS.values() for word in words}
    assert listed <= set(TABLE)
    canonical = {cls for cls in TABLE if not cls.startswith(("Convolution", "MaxPool", "AvgPool",
                                                                "GlobalAvgPool", "GlobalMaxPool",
                                                                "SeparableConvolution"))}
    assert canonical <= listed, canonical - listed
    configs = {"Dense": {"units": 2}, "Concatenate": {}, "GroupNormalization": {"groups": 1},
               "Rescaling": {"scale": 2.0}, "Cropping2D": {"cropping": 1}}
    for op, words in coverage.KERAS.items():
        for cls in (w for w in words if "(" not in w and w not in ("Add", "Multiply", "Concatenate")):
            rank = int(next((ch for ch in cls if ch.isdigit()), "2"))  # Conv1D: 1 spatial axis
            cfg = configs.get(cls, {"filters": 2, "kernel_size": 1} if "Conv" in cls else
                              {"cropping": 1} if cls.startswith("Cropping") else {})
            model, _ = one(tmp_path, [6] * rank + [2], layer(cls, "op", **cfg))
            assert op in {imported.op for imported in model.layers}, (cls, op)
