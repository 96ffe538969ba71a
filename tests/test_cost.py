"""MACs and FLOPs: torchvision's published figures, PyTorch forward hooks, the NumPy backend's
instrumented matrix products, and hand-computed FLOPs for every op."""
from __future__ import annotations

from typing import Any

import numpy as np
import pytest
import torch_zoo
from helpers import ARCH, graph

from cnncalc.analysis.cost import analyze_cost
from cnncalc.backend import kernels
from cnncalc.graph import load_graph
from cnncalc.ops.registry import ops

# torchvision's published `_ops` (GMACs) for these models at 224x224, as exact integers.
TORCHVISION_MACS = {
    "resnet18": 1_814_073_344,
    "resnet50": 4_089_184_256,
    "vgg16": 15_470_264_320,
    "alexnet": 714_188_480,
    "mobilenet_v2": 300_774_272,
}


@pytest.mark.parametrize("name", TORCHVISION_MACS)
def test_zoo_macs_equal_torchvision(name: str) -> None:
    assert analyze_cost(load_graph(ARCH / f"{name}.yaml")).total_macs == TORCHVISION_MACS[name]


def _hooked_macs(model: Any, input_shape: tuple[int, ...]) -> list[int]:
    """Per conv/deconv/linear module, in execution order, MACs per sample from the tensors the
    module really saw (output or input elements x the weight's per-position size)."""
    import torch
    from torch import nn

    found: list[int] = []

    def hook(m: Any, inp: Any, out: Any) -> None:
        w = m.weight
        if isinstance(m, nn.Linear):
            found.append(out[0].numel() * w.shape[1])
        elif isinstance(m, (nn.ConvTranspose1d, nn.ConvTranspose2d, nn.ConvTranspose3d)):
            found.append(inp[0][0].numel() * w[0].numel())  # w: (in, out/groups, *k)
        else:
            found.append(out[0].numel() * w[0].numel())  # w: (out, in/groups, *k)

    kinds = (nn.Conv1d, nn.Conv2d, nn.Conv3d, nn.ConvTranspose1d, nn.ConvTranspose2d,
             nn.ConvTranspose3d, nn.Linear)
    handles = [m.register_forward_hook(hook) for m in model.modules() if isinstance(m, kinds)]
    try:
        with torch.no_grad():
            model.eval()(torch.zeros(1, *input_shape))
    finally:
        for h in handles:
            h.remove()
    return found


@pytest.mark.torch
@pytest.mark.parametrize("name", torch_zoo.ZOO)
def test_zoo_macs_equal_pytorch_forward_hooks_layer_by_layer(name: str) -> None:
    pytest.importorskip("torch")
    build, input_shape, _ = torch_zoo.ZOO[name]
    g = load_graph(ARCH / f"{name}.yaml")
    cost = analyze_cost(g)
    mine = [cost.layers[layer.index].macs for layer in g.layers
            if layer.op_name in ("conv", "deconv", "dense")]
    theirs = _hooked_macs(build(), input_shape)
    assert mine == theirs
    assert cost.total_macs == sum(theirs)


# ---------------------------------------------------------------------------- NumPy oracle

CONV_CASES = [
    # (input shape, conv arguments)
    ((3, 9, 9), "{filters: 4, kernel: 3, padding: 1}"),
    ((4, 10, 7), "{filters: 6, kernel: [3, 2], stride: 2, padding: [1, 0], groups: 2}"),
    ((6, 11, 11), "{groups: depthwise, kernel: 3, dilation: 2, padding: same, bias: false}"),
    ((2, 17), "{filters: 5, kernel: 4, stride: 3}"),
    ((2, 5, 6, 4), "{filters: 3, kernel: 2, padding: 1}"),
]


@pytest.mark.parametrize("shape, arguments", CONV_CASES)
def test_conv_macs_equal_the_numpy_backend_gemms(shape: tuple[int, ...], arguments: str) -> None:
    g = graph(f"input: {list(shape)}\nlayers:\n  - conv: {arguments}\n")
    layer = g.layers[0]
    a = layer.attrs
    x = np.zeros((2, *shape), np.float32)
    w = np.zeros((a.out_channels, a.in_channels // a.groups, *a.kernel), np.float32)
    with kernels.count_macs() as counter:
        y = kernels.conv(x, w, None, tuple(wd.stride for wd in a.windows),
                         tuple((wd.pad_before, wd.pad_after) for wd in a.windows),
                         tuple(wd.dilation for wd in a.windows), a.groups)
    assert y.shape[1:] == layer.out_shape
    assert counter.per_sample == layer.op.macs(layer) == analyze_cost(g).total_macs


@pytest.mark.parametrize("shape, arguments", [
    ((3, 5, 5), "{filters: 4, kernel: 3, stride: 2, padding: 1, output_padding: 1}"),
    ((4, 6), "{filters: 2, kernel: 4, stride: 2, groups: 2}"),
])
def test_deconv_macs_equal_the_numpy_backend_gemms(shape: tuple[int, ...], arguments: str) -> None:
    layer = graph(f"input: {list(shape)}\nlayers:\n  - deconv: {arguments}\n").layers[0]
    a = layer.attrs
    x = np.zeros((1, *shape), np.float32)
    w = np.zeros((a.in_channels, a.out_channels // a.groups, *a.kernel), np.float32)
    with kernels.count_macs() as counter:
        y = kernels.conv_transpose(x, w, None, tuple(wd.stride for wd in a.windows),
                                   tuple((wd.pad_before, wd.pad_after) for wd in a.windows),
                                   a.output_padding, tuple(wd.dilation for wd in a.windows),
                                   a.groups)
    assert y.shape[1:] == layer.out_shape
    assert counter.per_sample == layer.op.macs(layer)


def test_dense_macs_equal_the_numpy_backend_gemm() -> None:
    layer = graph("input: [37]\nlayers:\n  - dense: 11\n").layers[0]
    with kernels.count_macs() as counter:
        kernels.dense(np.zeros((3, 37), np.float32), np.zeros((11, 37), np.float32))
    assert counter.per_sample == layer.op.macs(layer) == 37 * 11


# ---------------------------------------------------------------------------- FLOPs by hand

# (op, layers (the last is the one measured), input shape, MACs, FLOPs), worked out by hand.
# Input [2, 4, 4] has 32 values.
FLOP_CASES: list[tuple[str, str, list[int], int, int]] = [
    # out [3,4,4] = 48 values, each 2*9 MACs; + 48 bias adds
    ("conv", "- conv: {filters: 3, kernel: 3, padding: 1}", [2, 4, 4], 48 * 18, 2 * 864 + 48),
    # out [4,2,2] = 16 values, each (2/2)*9 MACs, no bias
    ("conv", "- conv: {filters: 4, kernel: 3, stride: 2, padding: 1, groups: 2, bias: false}",
     [2, 4, 4], 16 * 9, 2 * 144),
    # 32 input values, each scattered to 3 channels x 2*2 taps; out [3,8,8] = 192 bias adds
    ("deconv", "- deconv: {filters: 3, kernel: 2, stride: 2}", [2, 4, 4], 32 * 12, 2 * 384 + 192),
    ("dense", "- dense: 5", [8], 40, 2 * 40 + 5),
    ("dense", "- dense: {units: 5, bias: false}", [8], 40, 80),
    ("maxpool", "- maxpool: 2", [2, 4, 4], 0, 8 * 3),  # 8 outputs, 4 - 1 compares
    ("avgpool", "- avgpool: 2", [2, 4, 4], 0, 8 * 4),  # 3 adds + 1 divide
    ("gap", "- gap", [2, 4, 4], 0, 32),  # 15 adds + 1 divide per channel
    ("gmp", "- gmp", [2, 4, 4], 0, 30),  # 15 compares per channel
    # 4 -> 3 bins along each axis: [0,2) [1,3) [2,4): 6 values per axis, 36 per channel
    ("adaptive_avgpool", "- adaptive_avgpool: {output: 3}", [2, 4, 4], 0, 72),
    ("adaptive_maxpool", "- adaptive_maxpool: {output: 3}", [2, 4, 4], 0, 72 - 18),
    ("bn", "- bn", [2, 4, 4], 0, 64),
    ("layernorm", "- layernorm", [2, 4, 4], 0, 7 * 32 + 4 * 16),  # 16 positions
    ("layernorm", "- layernorm: {over: all}", [2, 4, 4], 0, 7 * 32 + 4),
    ("groupnorm", "- groupnorm: {groups: 2}", [2, 4, 4], 0, 7 * 32 + 4 * 2),
    ("lrn", "- lrn: {size: 3}", [2, 4, 4], 0, (3 + 5) * 32),
    ("relu", "- relu", [2, 4, 4], 0, 32),
    ("relu6", "- relu6", [2, 4, 4], 0, 64),
    ("leaky_relu", "- leaky_relu", [2, 4, 4], 0, 64),
    ("sigmoid", "- sigmoid", [2, 4, 4], 0, 128),
    ("tanh", "- tanh", [2, 4, 4], 0, 32),
    ("gelu", "- gelu", [2, 4, 4], 0, 160),
    ("silu", "- silu", [2, 4, 4], 0, 160),
    ("hardswish", "- hardswish", [2, 4, 4], 0, 160),
    ("hardsigmoid", "- hardsigmoid", [2, 4, 4], 0, 128),
    ("identity", "- identity", [2, 4, 4], 0, 0),
    ("dropout", "- dropout", [2, 4, 4], 0, 0),
    ("softmax", "- softmax", [2, 4, 4], 0, 160),
    ("add", "- relu: {name: r}\n  - add: {in: [input, r]}", [2, 4, 4], 0, 32),
    ("add", "- relu: {name: r}\n  - tanh: {name: t}\n  - add: {in: [input, r, t]}", [2, 4, 4], 0, 64),
    ("add", "- gap: {name: g}\n  - add: {in: [input, g]}", [2, 4, 4], 0, 32),  # broadcast: 32 outputs
    ("multiply", "- gap: {name: g}\n  - multiply: {in: [input, g]}", [2, 4, 4], 0, 32),
    ("concat", "- relu: {name: r}\n  - concat: {in: [input, r]}", [2, 4, 4], 0, 0),
    ("flatten", "- flatten", [2, 4, 4], 0, 0),
    ("pad", "- pad: 1", [2, 4, 4], 0, 0),
    ("channel_shuffle", "- channel_shuffle: 2", [2, 4, 4], 0, 0),
    ("slice", "- slice: {stop: 1}", [2, 4, 4], 0, 0),
    ("slice", "- slice: {axis: 1, step: 2}", [2, 5, 4], 0, 0),
    ("channel_pad", "- channel_pad: {before: 1, after: 2}", [2, 4, 4], 0, 0),
    ("drop_path", "- drop_path: 0.3", [2, 4, 4], 0, 0),
    # gamma times each of the 2*4*4 = 32 values
    ("scale", "- scale: 1.0e-6", [2, 4, 4], 0, 32),
    # 3*4 = 12 positions, each 2 channels x 5 units = 10 MACs; + a bias add per output value (5*12)
    ("channel_dense", "- channel_dense: 5", [2, 3, 4], 120, 2 * 120 + 60),
    ("channel_dense", "- channel_dense: {units: 3, bias: false}", [4, 2], 2 * 4 * 3, 2 * 24),
    ("upsample", "- upsample: 2", [2, 4, 4], 0, 0),
    # out [2,8,8] = 128 values, each 3 lerps (2 along one axis, 1 along the other) of 3 flops
    ("upsample", "- upsample: {scale: 2, mode: linear}", [2, 4, 4], 0, 128 * 9),
    ("upsample", "- upsample: {scale: 2, mode: linear}", [1, 6], 0, 12 * 3),  # 1-D: 1 lerp
]


@pytest.mark.parametrize("op, layers, shape, macs, flops", FLOP_CASES,
                         ids=[f"{case[0]}-{i}" for i, case in enumerate(FLOP_CASES)])
def test_flops_per_op_by_hand(op: str, layers: str, shape: list[int], macs: int, flops: int) -> None:
    g = graph(f"input: {shape}\nlayers:\n  {layers}\n")
    last = analyze_cost(g).layers[-1]
    assert last.op_name == op
    assert (last.macs, last.flops) == (macs, flops)
    assert last.flops == 2 * last.macs + last.other_flops


def test_every_op_has_a_hand_computed_flops_case() -> None:
    assert {case[0] for case in FLOP_CASES} == set(ops())


def test_batch_scales_compute_not_weights() -> None:
    g = load_graph(ARCH / "lecture" / "05_small_cnn.yaml")
    one, four = analyze_cost(g), analyze_cost(g, batch=4)
    assert four.total_macs == 4 * one.total_macs and four.total_flops == 4 * one.total_flops
    assert all(b.flops == 4 * a.flops for a, b in zip(one.layers, four.layers))
    with pytest.raises(ValueError):
        analyze_cost(g, batch=0)


def test_small_cnn_macs_by_hand() -> None:
    # Lecture example 5: conv 64x64x32 outputs x 3*3*3; conv 32x32x64 x 3*3*32; 16384*128; 128*1.
    cost = analyze_cost(load_graph(ARCH / "lecture" / "05_small_cnn.yaml"))
    assert cost.total_macs == 64 * 64 * 32 * 27 + 32 * 32 * 64 * 288 + 16384 * 128 + 128
    assert cost.layer("conv1").macs_formula == "(32*64*64)*(3*3*3) = 3,538,944"


def test_top_and_by_op() -> None:
    cost = analyze_cost(load_graph(ARCH / "vgg16.yaml"))
    top = cost.top(3)
    assert [layer.flops for layer in top] == sorted((layer.flops for layer in cost.layers),
                                                    reverse=True)[:3]
    assert list(cost.by_op())[0] == "conv"
    assert sum(f for _, f in cost.by_op().values()) == cost.total_flops
