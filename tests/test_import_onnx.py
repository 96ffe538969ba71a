"""ONNX graphs built by hand with onnx.helper -> `read_onnx`: each mapping against hand-worked
parameters and shapes, and its values against ONNX's own reference evaluator (onnx.reference)
run on the same input with the same weights -- the oracle for what a node means."""
from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

from cnncalc.backend.run import forward
from cnncalc.graph import Graph, load_graph_text
from cnncalc.imports.model import ImportedModel, SourceError, UnsupportedModel
from cnncalc.imports.write import write_spec

onnx = pytest.importorskip("onnx")
from onnx import TensorProto, helper, numpy_helper  # noqa: E402
from onnx.reference import ReferenceEvaluator  # noqa: E402

from cnncalc.imports.onnx_source import ONNX_NO_LAYER, ONNX_OPS, TRANSLATE, read_onnx  # noqa: E402
from cnncalc.imports.onnx_values import module_path  # noqa: E402

RNG = np.random.default_rng(0)


def rand(*shape: int) -> Any:
    return RNG.standard_normal(shape).astype(np.float32)


def const(name: str, value: Any) -> Any:
    return helper.make_node("Constant", [], [name], name=f"const_{name}",
                            value=numpy_helper.from_array(np.asarray(value)))


def build(nodes: list[Any], inits: dict[str, Any] | None = None, shape: Any = (1, 4, 8, 8),
          opset: int = 17, output: str = "y") -> Any:
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, list(shape))
    y = helper.make_tensor_value_info(output, TensorProto.FLOAT, None)
    tensors = [numpy_helper.from_array(np.asarray(v), k) for k, v in (inits or {}).items()]
    model = helper.make_model(helper.make_graph(nodes, "g", [x], [y], tensors),
                              opset_imports=[helper.make_opsetid("", opset)])
    model.ir_version = 8
    return model


def load(tmp_path: Path, model: Any, input_shape: list[int] | None = None) -> tuple[ImportedModel, Graph]:
    path = tmp_path / "m.onnx"
    onnx.save(model, str(path))
    imported = read_onnx(str(path), input_shape)
    return imported, load_graph_text(write_spec(imported, flat=True), "m.yaml")


def agrees(model: Any, g: Graph, weights: dict[str, Any] | None = None, shape: Any = None) -> None:
    """cnncalc's NumPy forward of the imported graph equals ONNX's reference evaluator."""
    x = rand(*(shape or (1, *g.input_shape)))
    expected = ReferenceEvaluator(model).run(None, {"x": x})[0]
    got = forward(g, x, weights or {}).outputs[g.outputs[0]]
    assert got.shape == expected.shape
    np.testing.assert_allclose(got, expected, rtol=1e-4, atol=1e-5)


def ops_of(imported: ImportedModel) -> list[str]:
    return [layer.op for layer in imported.layers]


# ----------------------------------------------------------------------------- windows

CONVS = [  # attributes, expected padding argument
    ({"pads": [1, 1, 1, 1]}, 1),
    ({"pads": [0, 1, 2, 1], "strides": [2, 1]}, [[0, 2], [1, 1]]),
    ({"auto_pad": "SAME_UPPER", "strides": [2, 2]}, [[0, 1], [0, 1]]),
    ({"auto_pad": "SAME_LOWER", "strides": [2, 2]}, [[1, 0], [1, 0]]),
    ({"auto_pad": "VALID", "dilations": [2, 2]}, None),
    ({"pads": [2, 2, 2, 2], "dilations": [2, 2], "group": 2}, 2),
]


@pytest.mark.parametrize("attrs, padding", CONVS)
@pytest.mark.parametrize("bias", [True, False])
def test_conv(tmp_path: Path, attrs: dict[str, Any], padding: Any, bias: bool) -> None:
    group = attrs.get("group", 1)
    w, b = rand(6, 4 // group, 3, 3), rand(6)
    node = helper.make_node("Conv", ["x", "w", "b"] if bias else ["x", "w"], ["y"], name="c",
                            kernel_shape=[3, 3], **attrs)
    model = build([node], {"w": w, "b": b} if bias else {"w": w})
    imported, g = load(tmp_path, model)
    layer = imported.layers[0]
    assert (layer.op, layer.args.get("padding"), layer.args.get("bias", True)) == ("conv", padding, bias)
    assert g.total_params == 6 * (4 // group) * 9 + (6 if bias else 0)
    agrees(model, g, {"c.weight": w, "c.bias": b} if bias else {"c.weight": w})


def test_conv_transpose_with_output_padding(tmp_path: Path) -> None:
    w, b = rand(4, 3, 3, 3), rand(3)
    node = helper.make_node("ConvTranspose", ["x", "w", "b"], ["y"], name="d", kernel_shape=[3, 3],
                            strides=[2, 2], pads=[1, 1, 1, 1], output_padding=[1, 1])
    model = build([node], {"w": w, "b": b})
    imported, g = load(tmp_path, model)
    assert imported.layers[0].args == {"filters": 3, "kernel": 3, "stride": 2, "padding": 1,
                                       "output_padding": 1}
    assert g.layers[0].out_shape == (3, 16, 16) and g.total_params == 4 * 3 * 9 + 3
    agrees(model, g, {"d.weight": w, "d.bias": b})


POOLS = [
    ("MaxPool", {"kernel_shape": [3, 3], "strides": [2, 2], "pads": [1, 1, 1, 1]}),
    ("MaxPool", {"kernel_shape": [3, 3], "strides": [2, 2], "ceil_mode": 1}),
    ("MaxPool", {"kernel_shape": [2, 2], "auto_pad": "SAME_UPPER", "strides": [2, 2]}),
    ("AveragePool", {"kernel_shape": [3, 3], "strides": [2, 2], "pads": [1, 1, 1, 1]}),
    ("AveragePool", {"kernel_shape": [3, 3], "strides": [1, 1], "pads": [1, 1, 1, 1],
                     "count_include_pad": 1}),
    ("AveragePool", {"kernel_shape": [2, 2], "strides": [2, 2]}),
]


@pytest.mark.parametrize("op, attrs", POOLS)
def test_pooling(tmp_path: Path, op: str, attrs: dict[str, Any]) -> None:
    model = build([helper.make_node(op, ["x"], ["y"], name="p", **attrs)], shape=(1, 2, 9, 9))
    imported, g = load(tmp_path, model)
    assert ops_of(imported) == ["maxpool" if op == "MaxPool" else "avgpool"]
    agrees(model, g)


@pytest.mark.parametrize("shape", [(1, 4, 17), (1, 4, 6, 7, 5)])
def test_one_and_three_spatial_axes(tmp_path: Path, shape: tuple[int, ...]) -> None:
    rank = len(shape) - 2
    w = rand(3, 4, *[3] * rank)
    nodes = [helper.make_node("Conv", ["x", "w"], ["c"], name="conv", kernel_shape=[3] * rank,
                              pads=[1] * (2 * rank), strides=[2] * rank),
             helper.make_node("MaxPool", ["c"], ["y"], name="pool", kernel_shape=[2] * rank,
                              strides=[1] * rank)]
    model = build(nodes, {"w": w}, shape=shape)
    imported, g = load(tmp_path, model)
    assert ops_of(imported) == ["conv", "maxpool"]
    agrees(model, g, {"conv.weight": w})


def test_ceil_mode_drops_a_window_that_starts_in_the_padding(tmp_path: Path) -> None:
    """ONNX's spec and reference (and PyTorch) give 3 here; its shape inference says 4."""
    nodes = [helper.make_node("MaxPool", ["x"], ["p"], name="pool", kernel_shape=[2, 2],
                              strides=[2, 2], pads=[1, 1, 1, 1], ceil_mode=1),
             helper.make_node("Relu", ["p"], ["y"], name="relu")]
    model = build(nodes, shape=(1, 2, 5, 5))
    imported, g = load(tmp_path, model)
    assert g.layers[0].out_shape == (2, 3, 3)
    assert len(imported.notes) == 1 and "starts in the padding" in imported.notes[0]
    agrees(model, g)


def test_pool_padding_beyond_half_the_kernel_is_refused(tmp_path: Path) -> None:
    model = build([helper.make_node("MaxPool", ["x"], ["y"], name="p", kernel_shape=[2, 2],
                                    pads=[2, 2, 2, 2])])
    with pytest.raises(UnsupportedModel, match="exceeds half the kernel"):
        load(tmp_path, model)


def test_global_pools_and_spatial_reduce_mean(tmp_path: Path) -> None:
    nodes = [helper.make_node("GlobalMaxPool", ["x"], ["m"], name="gmp"),
             helper.make_node("GlobalAveragePool", ["x"], ["a"], name="gap"),
             helper.make_node("Add", ["m", "a"], ["s"], name="add"),
             helper.make_node("ReduceMean", ["s"], ["y"], name="mean", axes=[2, 3], keepdims=0)]
    model = build(nodes)
    imported, g = load(tmp_path, model)
    assert ops_of(imported) == ["gmp", "gap", "add", "gap", "flatten"]
    assert g.output_shapes == {imported.outputs[0]: (4,)}
    agrees(model, g)


RESIZES = [  # Resize attributes, scales or sizes -> cnncalc's upsample arguments
    ({"mode": "nearest", "coordinate_transformation_mode": "asymmetric", "nearest_mode": "floor"},
     [1, 1, 2, 2], None, {"scale": 2}),
    ({"mode": "nearest", "coordinate_transformation_mode": "asymmetric", "nearest_mode": "floor"},
     [1, 1, 3, 2], None, {"scale": [3, 2]}),
    ({"mode": "nearest", "coordinate_transformation_mode": "half_pixel",
      "nearest_mode": "round_prefer_ceil"}, [1, 1, 2, 2], None, {"scale": 2, "mode": "nearest-exact"}),
    ({"mode": "linear", "coordinate_transformation_mode": "pytorch_half_pixel"}, [1, 1, 2, 2], None,
     {"scale": 2, "mode": "bilinear"}),
    ({"mode": "linear", "coordinate_transformation_mode": "align_corners"}, None, [1, 4, 12, 12],
     {"scale": 1.5, "mode": "bilinear", "align_corners": True}),
    ({"mode": "cubic", "coordinate_transformation_mode": "half_pixel"}, [1, 1, 2, 2], None,
     {"scale": 2, "mode": "bicubic"}),
    ({"mode": "cubic", "coordinate_transformation_mode": "align_corners"}, None, [1, 4, 16, 16],
     {"scale": 2, "mode": "bicubic", "align_corners": True}),
]


@pytest.mark.parametrize("attrs, scales, sizes, args", RESIZES)
def test_resize_modes(tmp_path: Path, attrs: dict[str, Any], scales: Any, sizes: Any,
                      args: dict[str, Any]) -> None:
    inits: dict[str, Any] = {"scales": np.array(scales or [], np.float32)}
    inputs = ["x", "", "scales"]
    if sizes is not None:
        inits["sizes"] = np.array(sizes, np.int64)
        inputs = ["x", "", "", "sizes"]
    model = build([helper.make_node("Resize", inputs, ["y"], name="r", **attrs)], inits)
    imported, g = load(tmp_path, model)
    assert imported.layers[0].args == args
    agrees(model, g)


@pytest.mark.parametrize("attrs, factor", [
    ({"mode": "nearest"}, 2),  # half_pixel + round_prefer_floor: none of PyTorch's
    ({"mode": "linear", "coordinate_transformation_mode": "asymmetric"}, 2),
    ({"mode": "cubic", "cubic_coeff_a": -0.5}, 2),
    ({"mode": "linear", "coordinate_transformation_mode": "pytorch_half_pixel"}, 0.125),  # to 1x1
])
def test_resize_modes_pytorch_lacks_are_refused(tmp_path: Path, attrs: dict[str, Any],
                                                factor: float) -> None:
    scales = np.array([1, 1, factor, factor], np.float32)
    model = build([helper.make_node("Resize", ["x", "", "scales"], ["y"], name="r", **attrs)],
                  {"scales": scales})
    with pytest.raises(UnsupportedModel, match="r: Resize"):
        load(tmp_path, model)


def test_old_upsample_with_whole_scales(tmp_path: Path) -> None:
    node = helper.make_node("Upsample", ["x", "scales"], ["y"], name="u", mode="nearest")
    model = build([node], {"scales": np.array([1, 1, 2, 3], np.float32)}, opset=9)
    imported, g = load(tmp_path, model)
    assert imported.layers[0].args == {"scale": [2, 3]} and g.layers[0].out_shape == (4, 16, 24)


def test_opset_9_slices_take_attributes(tmp_path: Path) -> None:
    """Before opset 10 Slice reads starts / ends / axes as attributes (on shapes and layers)."""
    nodes = [helper.make_node("Shape", ["x"], ["s"], name="shape"),
             helper.make_node("Slice", ["s"], ["hw"], name="hw", starts=[2], ends=[4], axes=[0]),
             helper.make_node("Slice", ["x"], ["c"], name="crop", starts=[1, 2], ends=[3, 100],
                              axes=[1, 3]),
             helper.make_node("Relu", ["c"], ["y"], name="relu")]
    model = build(nodes, opset=9)
    imported, g = load(tmp_path, model)
    assert [(layer.op, layer.args) for layer in imported.layers] == [
        ("slice", {"start": 1, "stop": 3}), ("slice", {"axis": 2, "start": 2}), ("relu", {})]
    agrees(model, g)
    linear = build([helper.make_node("Upsample", ["x", "scales"], ["y"], name="u", mode="linear")],
                   {"scales": np.array([1, 1, 2, 2], np.float32)}, opset=9)
    with pytest.raises(UnsupportedModel, match="Upsample mode 'linear'"):
        load(tmp_path, linear)


# ----------------------------------------------------------------------------- activations

def test_clip_forms(tmp_path: Path) -> None:
    nodes = [const("lo", np.float32(0)), const("hi", np.float32(6)),
             helper.make_node("Clip", ["x", "lo", "hi"], ["a"], name="six"),
             helper.make_node("Clip", ["a", "lo"], ["y"], name="plain")]
    model = build(nodes)
    imported, g = load(tmp_path, model)
    assert ops_of(imported) == ["relu6", "relu"]
    agrees(model, g)
    old = build([helper.make_node("Clip", ["x"], ["y"], name="c", min=0.0, max=6.0)], opset=6)
    assert ops_of(load(tmp_path, old)[0]) == ["relu6"]
    other = build([helper.make_node("Clip", ["x"], ["y"], name="c", min=-1.0, max=1.0)], opset=6)
    with pytest.raises(UnsupportedModel, match="c: Clip"):
        load(tmp_path, other)


def test_activations(tmp_path: Path) -> None:
    nodes = [helper.make_node("LeakyRelu", ["x"], ["a"], name="leaky", alpha=0.2),
             helper.make_node("Tanh", ["a"], ["b"], name="tanh"),
             helper.make_node("HardSigmoid", ["b"], ["c"], name="hsig", alpha=1 / 6),
             helper.make_node("HardSwish", ["c"], ["d"], name="hswish"),
             helper.make_node("Gelu", ["d"], ["e"], name="gelu"),
             helper.make_node("Softmax", ["e"], ["y"], name="soft", axis=1)]
    model = build(nodes, opset=20)
    imported, g = load(tmp_path, model)
    assert ops_of(imported) == ["leaky_relu", "tanh", "hardsigmoid", "hardswish", "gelu", "softmax"]
    assert imported.layers[0].args == {"slope": 0.2} and imported.layers[-1].args == {}
    agrees(model, g)


def test_hard_sigmoid_with_onnx_defaults_is_refused(tmp_path: Path) -> None:
    model = build([helper.make_node("HardSigmoid", ["x"], ["y"], name="h")])  # alpha 0.2
    with pytest.raises(UnsupportedModel, match="alpha 0.2"):
        load(tmp_path, model)


def test_x_times_its_gate_becomes_silu_and_hardswish(tmp_path: Path) -> None:
    nodes = [helper.make_node("Sigmoid", ["x"], ["s"], name="/act/Sigmoid"),
             helper.make_node("Mul", ["x", "s"], ["a"], name="/act/Mul"),
             helper.make_node("HardSigmoid", ["a"], ["h"], name="hs", alpha=1 / 6),
             helper.make_node("Mul", ["h", "a"], ["y"], name="hmul")]
    model = build(nodes)
    imported, g = load(tmp_path, model)
    assert ops_of(imported) == ["silu", "hardswish"]
    assert imported.layers[0].name == "act"
    agrees(model, g)


def test_squeeze_excite_gate_is_a_multiply(tmp_path: Path) -> None:
    w1, w2 = rand(2, 4, 1, 1), rand(4, 2, 1, 1)
    nodes = [helper.make_node("GlobalAveragePool", ["x"], ["p"], name="pool"),
             helper.make_node("Conv", ["p", "w1"], ["q"], name="fc1", kernel_shape=[1, 1]),
             helper.make_node("Relu", ["q"], ["r"], name="relu"),
             helper.make_node("Conv", ["r", "w2"], ["t"], name="fc2", kernel_shape=[1, 1]),
             helper.make_node("Sigmoid", ["t"], ["s"], name="gate"),
             helper.make_node("Mul", ["x", "s"], ["y"], name="scale")]
    model = build(nodes, {"w1": w1, "w2": w2})
    imported, g = load(tmp_path, model)
    assert ops_of(imported) == ["gap", "conv", "relu", "conv", "sigmoid", "multiply"]
    agrees(model, g, {"fc1.weight": w1, "fc2.weight": w2})


@pytest.mark.parametrize("half_first", [False, True])
def test_erf_gelu_is_gelu(tmp_path: Path, half_first: bool) -> None:
    nodes = [const("root2", np.float32(np.sqrt(2))), const("one", np.float32(1)),
             const("half", np.float32(0.5)),
             helper.make_node("Div", ["x", "root2"], ["d"], name="div"),
             helper.make_node("Erf", ["d"], ["e"], name="erf"),
             helper.make_node("Add", ["e", "one"], ["a"], name="add")]
    if half_first:
        nodes += [helper.make_node("Mul", ["x", "half"], ["h"], name="half_x"),
                  helper.make_node("Mul", ["h", "a"], ["y"], name="gelu")]
    else:
        nodes += [helper.make_node("Mul", ["x", "a"], ["m"], name="mul"),
                  helper.make_node("Mul", ["m", "half"], ["y"], name="gelu")]
    model = build(nodes)
    imported, g = load(tmp_path, model)
    assert ops_of(imported) == ["gelu"]
    agrees(model, g)


def test_lrn(tmp_path: Path) -> None:
    model = build([helper.make_node("LRN", ["x"], ["y"], name="n", size=3, alpha=1e-3, beta=0.75,
                                    bias=2.0)])
    imported, g = load(tmp_path, model)
    assert imported.layers[0].args == {"size": 3, "alpha": 0.001, "beta": 0.75, "k": 2.0}
    # The ONNX spec's formula by hand (onnx.reference's LRN loops over the batch, not channels).
    x = rand(1, 4, 8, 8)
    squares = np.pad(x ** 2, ((0, 0), (1, 1), (0, 0), (0, 0)))
    window = squares[:, :-2] + squares[:, 1:-1] + squares[:, 2:]
    expected = x / (2.0 + 1e-3 / 3 * window) ** 0.75
    np.testing.assert_allclose(forward(g, x, {}).outputs[g.outputs[0]], expected, rtol=1e-5)
    even = build([helper.make_node("LRN", ["x"], ["y"], name="n", size=4)])
    with pytest.raises(UnsupportedModel, match="even size"):
        load(tmp_path, even)


# ----------------------------------------------------------------------------- normalisations

def test_batch_norm(tmp_path: Path) -> None:
    scale, shift, mean, var = rand(4), rand(4), rand(4), np.abs(rand(4)) + 0.5
    node = helper.make_node("BatchNormalization", ["x", "s", "b", "m", "v"], ["y"], name="bn",
                            epsilon=1e-3)
    model = build([node], {"s": scale, "b": shift, "m": mean, "v": var})
    imported, g = load(tmp_path, model)
    assert imported.layers[0].args == {"eps": 0.001}
    assert (g.total_params, g.total_buffers) == (8, 8)
    agrees(model, g, {"bn.weight": scale, "bn.bias": shift, "bn.running_mean": mean,
                      "bn.running_var": var})


def _written_out_norm(axes: list[int], gamma: Any, beta: Any) -> list[Any]:
    """ReduceMean-Sub-Pow-ReduceMean-Add-Sqrt-Div-Mul-Add, as exporters write a norm."""
    return [const("two", np.float32(2)), const("eps", np.float32(1e-6)),
            const("gamma", gamma), const("beta", beta),
            helper.make_node("ReduceMean", ["t"], ["mu"], name="mean", axes=axes),
            helper.make_node("Sub", ["t", "mu"], ["d"], name="sub"),
            helper.make_node("Pow", ["d", "two"], ["sq"], name="pow"),
            helper.make_node("ReduceMean", ["sq"], ["var"], name="var", axes=axes),
            helper.make_node("Add", ["var", "eps"], ["ve"], name="add_eps"),
            helper.make_node("Sqrt", ["ve"], ["std"], name="sqrt"),
            helper.make_node("Div", ["d", "std"], ["n"], name="div"),
            helper.make_node("Mul", ["gamma", "n"], ["scaled"], name="mul"),
            helper.make_node("Add", ["scaled", "beta"], ["z"], name="ln")]


def test_written_out_layer_norm_over_channels_last(tmp_path: Path) -> None:
    gamma, beta = rand(4), rand(4)
    nodes = [helper.make_node("Transpose", ["x"], ["t"], name="to_last", perm=[0, 2, 3, 1]),
             *_written_out_norm([-1], gamma, beta),
             helper.make_node("Transpose", ["z"], ["y"], name="to_first", perm=[0, 3, 1, 2])]
    model = build(nodes)
    imported, g = load(tmp_path, model)
    assert [(layer.op, layer.args) for layer in imported.layers] == [("layernorm", {"eps": 1e-6})]
    assert g.total_params == 8
    agrees(model, g, {"ln.weight": gamma, "ln.bias": beta})


def test_written_out_layer_norm_over_channels_first(tmp_path: Path) -> None:
    gamma, beta = rand(4, 1, 1), rand(4, 1, 1)
    nodes = [helper.make_node("Identity", ["x"], ["t"], name="id"),
             *_written_out_norm([1], gamma, beta),
             helper.make_node("Relu", ["z"], ["y"], name="relu")]
    model = build(nodes)
    imported, g = load(tmp_path, model)
    assert ops_of(imported) == ["layernorm", "relu"]
    agrees(model, g, {"ln.weight": gamma.reshape(-1), "ln.bias": beta.reshape(-1)})


def test_written_out_instance_norm(tmp_path: Path) -> None:
    gamma, beta = rand(4, 1, 1), rand(4, 1, 1)
    nodes = [helper.make_node("Identity", ["x"], ["t"], name="id"),
             *_written_out_norm([2, 3], gamma, beta),
             helper.make_node("Relu", ["z"], ["y"], name="relu")]
    model = build(nodes)
    imported, g = load(tmp_path, model)
    assert [(layer.op, layer.args) for layer in imported.layers] == [
        ("groupnorm", {"groups": 4, "eps": 1e-6}), ("relu", {})]
    agrees(model, g, {"ln.weight": gamma.reshape(-1), "ln.bias": beta.reshape(-1)})


def test_a_channel_mean_outside_a_norm_is_refused(tmp_path: Path) -> None:
    nodes = [helper.make_node("ReduceMean", ["x"], ["m"], name="mean", axes=[1]),
             helper.make_node("Relu", ["m"], ["y"], name="relu")]
    with pytest.raises(UnsupportedModel) as caught:
        load(tmp_path, build(nodes))
    assert [(n.name, n.op_type) for n in caught.value.nodes] == [("mean", "ReduceMean")]


def test_written_out_norm_without_affine_is_refused(tmp_path: Path) -> None:
    nodes = [helper.make_node("Identity", ["x"], ["t"], name="id"),
             *_written_out_norm([1], rand(4), rand(4))[:-2],
             helper.make_node("Relu", ["n"], ["y"], name="relu")]
    with pytest.raises(UnsupportedModel) as caught:
        load(tmp_path, build(nodes))
    assert [(n.name, n.op_type) for n in caught.value.nodes] == [("mean", "ReduceMean")]
    assert caught.value.nodes[0].where == "node 5 (reads t; writes mu)"


def test_norm_nodes(tmp_path: Path) -> None:
    s1, b1, s2, b2 = rand(4), rand(4), rand(4), rand(4)
    s3, b3 = rand(4), rand(4)
    nodes = [helper.make_node("InstanceNormalization", ["x", "s1", "b1"], ["a"], name="inorm"),
             helper.make_node("GroupNormalization", ["a", "s2", "b2"], ["b"], name="gnorm",
                              num_groups=2, epsilon=1e-3),
             helper.make_node("Transpose", ["b"], ["c"], name="last", perm=[0, 2, 3, 1]),
             helper.make_node("LayerNormalization", ["c", "s3", "b3"], ["d"], name="lnorm"),
             helper.make_node("Transpose", ["d"], ["y"], name="first", perm=[0, 3, 1, 2])]
    model = build(nodes, {"s1": s1, "b1": b1, "s2": s2, "b2": b2, "s3": s3, "b3": b3}, opset=21)
    imported, g = load(tmp_path, model)
    assert [(layer.op, layer.args) for layer in imported.layers] == [
        ("groupnorm", {"groups": 4}), ("groupnorm", {"groups": 2, "eps": 0.001}), ("layernorm", {})]
    assert g.total_params == 24
    weights = {"inorm.weight": s1, "inorm.bias": b1, "gnorm.weight": s2, "gnorm.bias": b2,
               "lnorm.weight": s3, "lnorm.bias": b3}
    x = rand(1, 4, 8, 8)
    # onnx.reference's GroupNormalization is opset 18's (a scale per group): the opset-21
    # meaning (a scale per channel) is PyTorch's group_norm, written out here.
    inst = (x - x.mean((2, 3), keepdims=True)) / np.sqrt(x.var((2, 3), keepdims=True) + 1e-5)
    a = inst * s1.reshape(4, 1, 1) + b1.reshape(4, 1, 1)
    grouped = a.reshape(1, 2, -1)
    b = ((grouped - grouped.mean(-1, keepdims=True)) / np.sqrt(grouped.var(-1, keepdims=True) + 1e-3))
    b = b.reshape(1, 4, 8, 8) * s2.reshape(4, 1, 1) + b2.reshape(4, 1, 1)
    c = (b - b.mean(1, keepdims=True)) / np.sqrt(b.var(1, keepdims=True) + 1e-5)
    expected = c * s3.reshape(4, 1, 1) + b3.reshape(4, 1, 1)
    np.testing.assert_allclose(forward(g, x, weights).outputs[g.outputs[0]], expected, rtol=1e-4,
                               atol=1e-5)


def test_pytorch_group_norm_pattern_is_groupnorm(tmp_path: Path) -> None:
    gamma, beta = rand(4, 1, 1), rand(4, 1, 1)
    nodes = [const("grouped", np.array([0, 2, -1], np.int64)),
             helper.make_node("Reshape", ["x", "grouped"], ["r"], name="/gn/Reshape"),
             helper.make_node("InstanceNormalization", ["r", "ones", "zeros"], ["i"],
                              name="/gn/InstanceNormalization"),
             helper.make_node("Shape", ["x"], ["shape"], name="/gn/Shape"),
             helper.make_node("Reshape", ["i", "shape"], ["back"], name="/gn/Reshape_1"),
             helper.make_node("Mul", ["back", "gamma"], ["m"], name="/gn/Mul"),
             helper.make_node("Add", ["m", "beta"], ["y"], name="/gn/Add")]
    model = build(nodes, {"ones": np.ones(2, np.float32), "zeros": np.zeros(2, np.float32),
                          "gamma": gamma, "beta": beta})
    imported, g = load(tmp_path, model)
    assert [(layer.name, layer.op, layer.args) for layer in imported.layers] == [
        ("gn", "groupnorm", {"groups": 2})]
    agrees(model, g, {"gn.weight": gamma.reshape(-1), "gn.bias": beta.reshape(-1)})


# ----------------------------------------------------------------------------- moving values

def test_shape_gather_side_graph_flattens(tmp_path: Path) -> None:
    """Old exporters' x.view(x.size(0), -1): Shape-Gather-Unsqueeze-Concat-Reshape."""
    nodes = [helper.make_node("Shape", ["x"], ["s"], name="shape"),
             const("zero", np.array(0, np.int64)), const("minus", np.array([-1], np.int64)),
             helper.make_node("Gather", ["s", "zero"], ["n"], name="gather", axis=0),
             helper.make_node("Unsqueeze", ["n"], ["n1"], name="unsq", axes=[0]),
             helper.make_node("Concat", ["n1", "minus"], ["target"], name="cat", axis=0),
             helper.make_node("Reshape", ["x", "target"], ["f"], name="view"),
             helper.make_node("Gemm", ["f", "w", "b"], ["y"], name="fc", transB=1)]
    w, b = rand(10, 256), rand(10)
    model = build(nodes, {"w": w, "b": b}, opset=11)
    imported, g = load(tmp_path, model)
    assert ops_of(imported) == ["flatten", "dense"]
    assert g.total_params == 2570
    agrees(model, g, {"fc.weight": w, "fc.bias": b})


def test_channel_shuffle(tmp_path: Path) -> None:
    nodes = [const("split", np.array([1, 2, 2, 8, 8], np.int64)),
             const("back", np.array([1, 4, 8, 8], np.int64)),
             helper.make_node("Reshape", ["x", "split"], ["r"], name="/s/Reshape"),
             helper.make_node("Transpose", ["r"], ["t"], name="/s/Transpose", perm=[0, 2, 1, 3, 4]),
             helper.make_node("Reshape", ["t", "back"], ["y"], name="/s/Reshape_1")]
    model = build(nodes)
    imported, g = load(tmp_path, model)
    assert [(layer.op, layer.args) for layer in imported.layers] == [("channel_shuffle", {"groups": 2})]
    agrees(model, g)


def test_pad_spatial_and_channels(tmp_path: Path) -> None:
    nodes = [const("pads", np.array([0, 2, 1, 0, 0, 1, 1, 3], np.int64)),
             helper.make_node("Pad", ["x", "pads"], ["y"], name="pad")]
    model = build(nodes)
    imported, g = load(tmp_path, model)
    assert [(layer.op, layer.args) for layer in imported.layers] == [
        ("channel_pad", {"before": 2, "after": 1}), ("pad", {"padding": [[1, 1], [0, 3]]})]
    assert g.layers[-1].out_shape == (7, 10, 11)
    agrees(model, g)
    reflect = build([const("pads", np.array([0, 0, 1, 1, 0, 0, 1, 1], np.int64)),
                     helper.make_node("Pad", ["x", "pads"], ["y"], name="pad", mode="reflect")])
    with pytest.raises(UnsupportedModel, match="zeros only"):
        load(tmp_path, reflect)


def test_split_and_strided_slice(tmp_path: Path) -> None:
    nodes = [const("sizes", np.array([1, 3], np.int64)),
             helper.make_node("Split", ["x", "sizes"], ["a", "b"], name="split", axis=1),
             const("starts", np.array([1, 0], np.int64)), const("ends", np.array([2**63 - 1, 7], np.int64)),
             const("axes", np.array([2, 3], np.int64)), const("steps", np.array([2, 3], np.int64)),
             helper.make_node("Slice", ["b", "starts", "ends", "axes", "steps"], ["c"], name="sub"),
             helper.make_node("Slice", ["a", "starts", "ends", "axes", "steps"], ["d"], name="sub2"),
             helper.make_node("Concat", ["c", "d"], ["y"], name="cat", axis=1)]
    model = build(nodes)
    imported, g = load(tmp_path, model)
    assert [(layer.op, layer.args) for layer in imported.layers][:4] == [
        ("slice", {"stop": 1}), ("slice", {"start": 1}),
        ("slice", {"axis": 1, "start": 1, "step": 2}), ("slice", {"axis": 2, "stop": 7, "step": 3})]
    assert g.output_shapes == {imported.outputs[0]: (4, 4, 3)}
    agrees(model, g)


def test_dense_forms(tmp_path: Path) -> None:
    w1, w2, b2, w3, b3 = rand(16, 6), rand(6, 5), rand(5), rand(5, 3), rand(3)
    nodes = [helper.make_node("Flatten", ["x"], ["f"], name="flat"),
             helper.make_node("Gemm", ["f", "w1"], ["a"], name="g1"),              # no transB, no C
             helper.make_node("MatMul", ["a", "w2"], ["m"], name="mm"),
             helper.make_node("Add", ["b2", "m"], ["b"], name="bias"),             # bias first
             helper.make_node("Gemm", ["b", "w3", "b3"], ["y"], name="g3")]
    model = build(nodes, {"w1": w1, "w2": w2, "b2": b2, "w3": w3, "b3": b3}, shape=(1, 4, 2, 2))
    imported, g = load(tmp_path, model)
    assert [(layer.op, layer.args) for layer in imported.layers] == [
        ("flatten", {}), ("dense", {"units": 6, "bias": False}), ("dense", {"units": 5}),
        ("dense", {"units": 3})]
    assert g.total_params == 16 * 6 + 6 * 5 + 5 + 5 * 3 + 3
    agrees(model, g, {"g1.weight": w1.T, "mm.weight": w2.T, "mm.bias": b2, "g3.weight": w3.T,
                      "g3.bias": b3})
    scaled = build([helper.make_node("Flatten", ["x"], ["f"], name="flat"),
                    helper.make_node("Gemm", ["f", "w1"], ["y"], name="g", alpha=0.5)], {"w1": w1},
                   shape=(1, 4, 2, 2))
    with pytest.raises(UnsupportedModel, match="alpha"):
        load(tmp_path, scaled)


def test_channels_last_mlp_and_layer_scale(tmp_path: Path) -> None:
    """ConvNeXt's block: Linear on channels-last, then a per-channel layer scale."""
    w, b, gamma = rand(4, 8), rand(8), np.full((8, 1, 1), 1e-6, np.float32)
    nodes = [helper.make_node("Transpose", ["x"], ["t"], name="last", perm=[0, 2, 3, 1]),
             helper.make_node("MatMul", ["t", "w"], ["m"], name="/pwconv1/MatMul"),
             helper.make_node("Add", ["m", "b"], ["a"], name="/pwconv1/Add"),
             helper.make_node("Transpose", ["a"], ["f"], name="first", perm=[0, 3, 1, 2]),
             helper.make_node("Mul", ["gamma", "f"], ["y"], name="/Mul")]
    model = build(nodes, {"w": w, "b": b, "gamma": gamma})
    imported, g = load(tmp_path, model)
    assert [(layer.name, layer.op, layer.args) for layer in imported.layers] == [
        ("pwconv1", "channel_dense", {"units": 8}), ("mul", "scale", {"init": 1e-6})]
    assert g.total_params == 4 * 8 + 8 + 8
    agrees(model, g, {"pwconv1.weight": w.T, "pwconv1.bias": b, "mul.weight": gamma.reshape(-1)})


def test_channels_last_input(tmp_path: Path) -> None:
    w = rand(5, 3, 3, 3)
    nodes = [helper.make_node("Transpose", ["x"], ["t"], name="nchw", perm=[0, 3, 1, 2]),
             helper.make_node("Conv", ["t", "w"], ["y"], name="conv", kernel_shape=[3, 3])]
    model = build(nodes, {"w": w}, shape=(1, 10, 12, 3))
    imported, g = load(tmp_path, model)
    assert imported.channels_last and imported.input_shape == [10, 12, 3]
    assert g.layers[0].out_shape == (5, 8, 10)
    x = rand(1, 10, 12, 3)
    expected = ReferenceEvaluator(model).run(None, {"x": x})[0]
    got = forward(g, np.ascontiguousarray(x.transpose(0, 3, 1, 2)), {"conv.weight": w})
    np.testing.assert_allclose(got.outputs["conv"], expected, rtol=1e-4, atol=1e-5)


def test_identity_and_dropout_make_no_layer(tmp_path: Path) -> None:
    nodes = [helper.make_node("Identity", ["x"], ["a"], name="id"),
             helper.make_node("Dropout", ["a"], ["b"], name="drop"),
             helper.make_node("Relu", ["b"], ["y"], name="relu")]
    imported, _ = load(tmp_path, build(nodes))
    assert [(layer.op, layer.inputs) for layer in imported.layers] == [("relu", ["input"])]


def test_softmax_axis(tmp_path: Path) -> None:
    nodes = [helper.make_node("Softmax", ["x"], ["y"], name="soft", axis=-1)]
    model = build(nodes)
    imported, g = load(tmp_path, model)
    assert imported.layers[0].args == {"axis": 2}
    agrees(model, g)


# ----------------------------------------------------------------------------- names

@pytest.mark.parametrize("node, path", [
    ("/layer1/layer1.0/conv1/Conv", ("layer1.0.conv1", "Conv")),
    ("/features/features.1/features.1.0/block/block.0/block.0.2/Sigmoid",
     ("features.1.0.block.0.2", "Sigmoid")),
    ("/stage2/stage2.0/branch2/branch2.0/Conv", ("stage2.0.branch2.0", "Conv")),
    ("/Flatten", ("", "Flatten")),
    ("StatefulPartitionedCall/model/conv2d/Conv2D", ("", "StatefulPartitionedCall/model/conv2d/Conv2D")),
])
def test_module_paths_from_pytorch_node_names(node: str, path: tuple[str, str]) -> None:
    assert module_path(node) == path


def test_names_are_valid_unique_words(tmp_path: Path) -> None:
    nodes = [helper.make_node("Relu", ["x"], ["a"], name="StatefulPartitionedCall/model/re lu:0"),
             helper.make_node("Relu", ["a"], ["b"], name="StatefulPartitionedCall/model/re lu:0"),
             helper.make_node("Relu", ["b"], ["c"], name=""),
             helper.make_node("Relu", ["c"], ["y"], name="0input")]
    imported, g = load(tmp_path, build(nodes))
    assert [layer.name for layer in imported.layers] == [
        "statefulpartitionedcall_model_re_lu_0", "statefulpartitionedcall_model_re_lu_0_2", "c",
        "n_0input"]
    assert len(g.layers) == 4


# ----------------------------------------------------------------------------- errors

def test_every_unsupported_node_is_listed_and_nothing_else(tmp_path: Path) -> None:
    hidden = 3
    nodes = [helper.make_node("Relu", ["x"], ["a"], name="relu"),
             const("seq", np.array([8, 1, 32], np.int64)),
             helper.make_node("Reshape", ["a"], ["r"], name="to_seq"),  # fixed below
             helper.make_node("LSTM", ["r", "W", "R"], ["h"], name="lstm", hidden_size=hidden),
             helper.make_node("Relu", ["h"], ["h2"], name="after_lstm"),          # downstream: fine
             helper.make_node("NonMaxSuppression", ["boxes", "scores"], ["keep"], name="nms"),
             helper.make_node("Sigmoid", ["a"], ["y"], name="sigmoid")]
    nodes[2].input.append("seq")
    model = build(nodes, {"W": rand(1, 4 * hidden, 32), "R": rand(1, 4 * hidden, hidden),
                          "boxes": rand(1, 5, 4), "scores": rand(1, 1, 5)}, shape=(1, 4, 8, 8))
    with pytest.raises(UnsupportedModel) as caught:
        load(tmp_path, model)
    found = caught.value.nodes
    assert [(n.name, n.op_type) for n in found] == [("to_seq", "Reshape"), ("lstm", "LSTM"),
                                                    ("nms", "NonMaxSuppression")]
    assert "reads a, seq; writes r" in found[0].where and "no cnncalc op for LSTM" in found[1].why
    assert "3 node(s)" in str(caught.value)


def test_other_domains_are_unsupported(tmp_path: Path) -> None:
    node = helper.make_node("FusedConv", ["x"], ["y"], name="fused", domain="com.microsoft")
    model = build([node])
    model.opset_import.append(helper.make_opsetid("com.microsoft", 1))
    with pytest.raises(UnsupportedModel, match="domain 'com.microsoft'"):
        load(tmp_path, model)


def _tiny() -> Any:
    return build([helper.make_node("Conv", ["x", "w"], ["y"], name="c", kernel_shape=[3, 3])],
                 {"w": rand(8, 4, 3, 3)})


@pytest.mark.parametrize("content", [b"not a model at all\n", b"", b"\x00\x01\x02garbage" * 50])
def test_a_file_that_is_not_onnx(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "x.onnx"
    path.write_bytes(content)
    with pytest.raises(SourceError, match="not an ONNX model"):
        read_onnx(str(path), None)


def test_squeeze_after_global_pooling_flattens(tmp_path: Path) -> None:
    nodes = [helper.make_node("GlobalAveragePool", ["x"], ["p"], name="gap"),
             const("axes", np.array([2, 3], np.int64)),
             helper.make_node("Squeeze", ["p", "axes"], ["y"], name="squeeze")]
    model = build(nodes)
    imported, g = load(tmp_path, model)
    assert ops_of(imported) == ["gap", "flatten"]
    agrees(model, g)


@pytest.mark.parametrize("keep", [0.3, 0.6, 0.9])
def test_a_truncated_file(tmp_path: Path, keep: float) -> None:
    data = _tiny().SerializeToString()
    path = tmp_path / "cut.onnx"
    path.write_bytes(data[: int(len(data) * keep)])
    with pytest.raises(SourceError, match="truncated"):
        read_onnx(str(path), None)


def test_missing_file_and_missing_external_data(tmp_path: Path) -> None:
    with pytest.raises(SourceError, match="no such file"):
        read_onnx(str(tmp_path / "absent.onnx"), None)
    path = tmp_path / "ext.onnx"
    onnx.save(_tiny(), str(path), save_as_external_data=True, location="ext.data", size_threshold=0)
    assert read_onnx(str(path), None).layers[0].args == {"filters": 8, "kernel": 3, "bias": False}
    (tmp_path / "ext.data").unlink()
    with pytest.raises(SourceError, match="external data of 'w'"):
        read_onnx(str(path), None)


def test_dynamic_input_needs_a_shape(tmp_path: Path) -> None:
    model = _tiny()
    dims = model.graph.input[0].type.tensor_type.shape.dim
    for dim, symbol in zip(dims, ["N", "C", "H", "W"]):
        dim.dim_param = symbol
    with pytest.raises(SourceError, match=r"dynamic shape \[\?, \?, \?, \?\]"):
        load(tmp_path, model)
    imported, g = load(tmp_path, model, [4, 20, 30])
    assert imported.input_shape == [4, 20, 30] and g.layers[0].out_shape == (8, 18, 28)
    with pytest.raises(SourceError, match="--input has 2 values"):
        load(tmp_path, model, [20, 30])


def test_two_inputs_are_refused(tmp_path: Path) -> None:
    model = _tiny()
    model.graph.input.append(helper.make_tensor_value_info("z", TensorProto.FLOAT, [1, 4, 8, 8]))
    with pytest.raises(SourceError, match="2 inputs"):
        load(tmp_path, model)


def test_without_the_onnx_package(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "m.onnx"
    onnx.save(_tiny(), str(path))
    monkeypatch.setitem(__import__("sys").modules, "onnx", None)
    with pytest.raises(SourceError, match=r"pip install 'cnncalc\[onnx\]'"):
        read_onnx(str(path), None)


# ----------------------------------------------------------------------------- the mapping table

def test_mapping_table_names_real_ops_and_is_documented() -> None:
    from cnncalc.ops.registry import ops

    doc = (Path(__file__).resolve().parent.parent / "docs" / "import-onnx.md").read_text()
    for onnx_op, targets in ONNX_OPS.items():
        assert onnx_op in TRANSLATE and f"`{onnx_op}`" in doc, onnx_op
        assert all(target in ops() for target in targets.split(", ")), targets
    assert not set(ONNX_NO_LAYER) & set(ONNX_OPS)


def test_the_op_reference_table_says_the_same() -> None:
    """imports/coverage.py's ONNX table (op -> ONNX words, shown in docs/format.md) and
    ONNX_OPS (ONNX op -> cnncalc ops) describe one mapping."""
    from cnncalc.imports.coverage import ONNX

    pairs = {(onnx_op, target) for onnx_op, targets in ONNX_OPS.items() for target in targets.split(", ")}
    for onnx_op, target in pairs:
        assert any(onnx_op in word for word in ONNX.get(target, ())), (onnx_op, target)
    assert set(ONNX) == {target for _, target in pairs}
