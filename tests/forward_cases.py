"""One-op networks for the forward-pass tests, each with its two oracles.

A case is a tiny spec whose layer named `op` is the op under test (other layers only feed
it), an input shape, a loop implementation (tests/naive.py) and a torch.nn.functional
implementation of that layer, both taking the batch `x` (float64), the layer's weights by
tensor name and the Layer. Every op of SPEC.md appears, in 1-D, 2-D and 3-D where the op is
spatial, with the awkward arguments (asymmetric and `same` padding, ceil_mode, dilation,
groups, output_padding, uneven adaptive bins, broadcasting).
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import naive
import numpy as np

Fn = Callable[[np.ndarray, dict, Any], np.ndarray]


@dataclass(frozen=True)
class Case:
    id: str
    layers: str  # YAML list items under `layers:`
    shape: tuple[int, ...]
    naive: Fn
    torch: Fn
    scale: float = 1.0  # input values are standard normal times this


def geometry(layer: Any) -> tuple[list[int], list[tuple[int, int]], list[int], list[int]]:
    w = layer.attrs.windows
    return ([a.stride for a in w], [(a.pad_before, a.pad_after) for a in w], [a.dilation for a in w],
            [a.kernel for a in w])


# ---------------------------------------------------------------------------- torch helpers


def t(a: np.ndarray) -> Any:
    import torch

    return torch.from_numpy(np.ascontiguousarray(a))


def fn(rank: int, name: str) -> Any:
    import torch.nn.functional as F

    return getattr(F, f"{name}{rank}d")


def flat_pads(pads: list[tuple[int, int]]) -> list[int]:
    """F.pad wants the last axis first."""
    return [p for pair in reversed(pads) for p in pair]


def torch_conv(x, w, layer):
    import torch.nn.functional as F

    strides, pads, dil, _ = geometry(layer)
    xp = F.pad(t(x), flat_pads(pads))
    b = w.get("bias")
    return fn(len(strides), "conv")(xp, t(w["weight"]), None if b is None else t(b), strides, 0, dil,
                                    layer.attrs.groups).numpy()


def torch_deconv(x, w, layer):
    """The full transposed conv, then PyTorch's crop by `padding` (possibly asymmetric, which
    torch's own argument cannot say) and output_padding, then the bias."""
    strides, pads, dil, _ = geometry(layer)
    a = layer.attrs
    full = fn(len(strides), "conv_transpose")(t(x), t(w["weight"]), None, strides, 0, 0, a.groups,
                                               dil).numpy()
    out = np.zeros((*full.shape[:2], *layer.out_shape[1:]))
    src = tuple(slice(pb, min(pb + n, f)) for (pb, _), n, f in zip(pads, layer.out_shape[1:], full.shape[2:]))
    dst = tuple(slice(0, s.stop - s.start) for s in src)
    out[(slice(None), slice(None), *dst)] = full[(slice(None), slice(None), *src)]
    if "bias" in w:
        out += w["bias"].reshape((1, -1) + (1,) * len(strides))
    return out


def torch_pool(x, w, layer, kind):
    import torch.nn.functional as F

    strides, pads, dil, kernel = geometry(layer)
    rank = len(strides)
    ceil = layer.attrs.windows[0].ceil_mode
    if kind == "max":
        xp = F.pad(t(x), flat_pads(pads), value=-np.inf)
        return fn(rank, "max_pool")(xp, kernel, strides, 0, dil, ceil_mode=ceil).numpy()
    assert all(pb == pa for pb, pa in pads), "torch avg_pool pads symmetrically"
    return fn(rank, "avg_pool")(t(x), kernel, strides, [pb for pb, _ in pads], ceil_mode=ceil,
                                count_include_pad=layer.args["count_include_pad"]).numpy()


def torch_act(name: str, **kw: Any) -> Fn:
    def run(x, w, layer):
        import torch.nn.functional as F

        if name in ("identity", "dropout"):
            return x
        return getattr(F, name)(t(x), **kw).numpy()

    return run


# ---------------------------------------------------------------------------- naive helpers


def naive_conv(x, w, layer):
    strides, pads, dil, _ = geometry(layer)
    return naive.conv(x, w["weight"], w.get("bias"), strides, pads, dil, layer.attrs.groups)


def naive_deconv(x, w, layer):
    strides, pads, dil, _ = geometry(layer)
    return naive.deconv(x, w["weight"], w.get("bias"), strides, pads, layer.attrs.output_padding, dil,
                        layer.attrs.groups)


def naive_pool(kind: str) -> Fn:
    def run(x, w, layer):
        strides, pads, dil, kernel = geometry(layer)
        return naive.pool(x, kind, kernel, strides, pads, dil, layer.attrs.windows[0].ceil_mode,
                          layer.args.get("count_include_pad", True))

    return run


def spatial_axes(x: np.ndarray) -> tuple[int, ...]:
    return tuple(range(2, x.ndim))


def channel(v: np.ndarray, x: np.ndarray) -> np.ndarray:
    return v.reshape((1, -1) + (1,) * (x.ndim - 2))


CONV = [
    Case("conv2d", "- conv: {filters: 5, kernel: 3, name: op}", (3, 7, 6), naive_conv, torch_conv),
    Case("conv2d-asym-stride-dilation",
         "- conv: {filters: 4, kernel: [3, 2], stride: [2, 1], padding: [[1, 2], [0, 1]], "
         "dilation: [1, 2], name: op}", (3, 9, 8), naive_conv, torch_conv),
    Case("conv2d-same-stride2", "- conv: {filters: 4, kernel: 3, stride: 2, padding: same, name: op}",
         (2, 8, 7), naive_conv, torch_conv),
    Case("conv2d-groups-nobias",
         "- conv: {filters: 6, kernel: 3, groups: 2, bias: false, padding: 1, name: op}", (4, 6, 6),
         naive_conv, torch_conv),
    Case("conv2d-depthwise",
         "- conv: {groups: depthwise, kernel: 3, padding: 1, stride: 2, name: op}", (5, 7, 7),
         naive_conv, torch_conv),
    Case("conv2d-1x1-strided", "- conv: {filters: 3, kernel: 1, stride: 2, name: op}", (4, 7, 7),
         naive_conv, torch_conv),
    Case("conv1d", "- conv: {filters: 3, kernel: 5, stride: 2, padding: 2, name: op}", (2, 19),
         naive_conv, torch_conv),
    Case("conv3d", "- conv: {filters: 2, kernel: [3, 1, 2], padding: [1, 0, 1], name: op}",
         (2, 4, 5, 4), naive_conv, torch_conv),
    Case("deconv2d", "- deconv: {filters: 3, kernel: 3, stride: 2, name: op}", (4, 4, 5),
         naive_deconv, torch_deconv),
    Case("deconv2d-crop-outpad-groups",
         "- deconv: {filters: 4, kernel: 4, stride: 2, padding: 1, output_padding: 1, groups: 2, "
         "name: op}", (4, 3, 4), naive_deconv, torch_deconv),
    Case("deconv2d-dilation-asym",
         "- deconv: {filters: 2, kernel: 3, stride: 3, dilation: 2, padding: [[2, 1], [0, 2]], "
         "output_padding: [1, 0], name: op}", (3, 4, 3), naive_deconv, torch_deconv),
    Case("deconv2d-same", "- deconv: {filters: 2, kernel: 3, stride: 2, padding: same, name: op}",
         (3, 5, 4), naive_deconv, torch_deconv),
    Case("deconv2d-same-k1", "- deconv: {filters: 2, kernel: 1, stride: 2, padding: same, name: op}",
         (3, 3, 2), naive_deconv, torch_deconv),
    Case("deconv1d", "- deconv: {filters: 2, kernel: 4, stride: 2, padding: 1, bias: false, name: op}",
         (3, 6), naive_deconv, torch_deconv),
    Case("deconv3d", "- deconv: {filters: 2, kernel: 2, stride: 2, name: op}", (2, 2, 3, 2),
         naive_deconv, torch_deconv),
]

POOL = [
    Case("maxpool2d", "- maxpool: {kernel: 3, stride: 2, padding: 1, name: op}", (3, 8, 7),
         naive_pool("max"), lambda x, w, layer: torch_pool(x, w, layer, "max")),
    Case("maxpool2d-ceil-dilation",
         "- maxpool: {kernel: 2, stride: 2, ceil_mode: true, dilation: [1, 2], name: op}", (2, 7, 9),
         naive_pool("max"), lambda x, w, layer: torch_pool(x, w, layer, "max")),
    Case("maxpool2d-same", "- maxpool: {kernel: 3, stride: 2, padding: same, name: op}", (2, 6, 7),
         naive_pool("max"), lambda x, w, layer: torch_pool(x, w, layer, "max")),
    Case("maxpool1d-ceil", "- maxpool: {kernel: 3, stride: 2, ceil_mode: true, padding: 1, name: op}",
         (2, 10), naive_pool("max"), lambda x, w, layer: torch_pool(x, w, layer, "max")),
    Case("maxpool3d", "- maxpool: {kernel: 2, name: op}", (2, 4, 5, 4), naive_pool("max"),
         lambda x, w, layer: torch_pool(x, w, layer, "max")),
    Case("avgpool2d-exclude-pad-ceil",
         "- avgpool: {kernel: 3, stride: 2, padding: 1, count_include_pad: false, ceil_mode: true, "
         "name: op}", (2, 8, 7), naive_pool("avg"), lambda x, w, layer: torch_pool(x, w, layer, "avg")),
    Case("avgpool2d-include-pad",
         "- avgpool: {kernel: [2, 3], stride: [2, 1], padding: [1, 1], name: op}", (2, 5, 6),
         naive_pool("avg"), lambda x, w, layer: torch_pool(x, w, layer, "avg")),
    Case("avgpool1d", "- avgpool: {kernel: 4, stride: 3, padding: 2, name: op}", (2, 11),
         naive_pool("avg"), lambda x, w, layer: torch_pool(x, w, layer, "avg")),
    Case("avgpool3d", "- avgpool: {kernel: 2, name: op}", (2, 4, 4, 4), naive_pool("avg"),
         lambda x, w, layer: torch_pool(x, w, layer, "avg")),
    Case("gap2d", "- gap: {name: op}", (3, 5, 4),
         lambda x, w, layer: naive.adaptive(x, "avg", (1, 1)),
         lambda x, w, layer: fn(2, "adaptive_avg_pool")(t(x), 1).numpy()),
    Case("gap1d", "- gap: {name: op}", (3, 7), lambda x, w, layer: naive.adaptive(x, "avg", (1,)),
         lambda x, w, layer: fn(1, "adaptive_avg_pool")(t(x), 1).numpy()),
    Case("gmp3d", "- gmp: {name: op}", (2, 3, 4, 2), lambda x, w, layer: naive.adaptive(x, "max", (1, 1, 1)),
         lambda x, w, layer: fn(3, "adaptive_max_pool")(t(x), 1).numpy()),
    Case("adaptive-avg-uneven", "- adaptive_avgpool: {output: [3, 2], name: op}", (2, 7, 5),
         lambda x, w, layer: naive.adaptive(x, "avg", (3, 2)),
         lambda x, w, layer: fn(2, "adaptive_avg_pool")(t(x), (3, 2)).numpy()),
    Case("adaptive-max-uneven", "- adaptive_maxpool: {output: [4, 3], name: op}", (2, 7, 5),
         lambda x, w, layer: naive.adaptive(x, "max", (4, 3)),
         lambda x, w, layer: fn(2, "adaptive_max_pool")(t(x), (4, 3)).numpy()),
    Case("adaptive-avg1d-keep-null", "- adaptive_avgpool: {output: [null, 2], name: op}", (2, 3, 5),
         lambda x, w, layer: naive.adaptive(x, "avg", (3, 2)),
         lambda x, w, layer: fn(2, "adaptive_avg_pool")(t(x), (None, 2)).numpy()),
]


def torch_dense(x, w, layer):
    import torch.nn.functional as F

    b = w.get("bias")
    return F.linear(t(x.reshape(x.shape[0], -1)), t(w["weight"]), None if b is None else t(b)).numpy()


def torch_norm(kind: str) -> Fn:
    def run(x, w, layer):
        import torch.nn.functional as F

        a = layer.args
        if kind == "bn":
            return F.batch_norm(t(x), t(w["running_mean"]), t(w["running_var"]), t(w["weight"]),
                                t(w["bias"]), False, 0.0, a["eps"]).numpy()
        if kind == "ln-all":
            return F.layer_norm(t(x), x.shape[1:], t(w["weight"]), t(w["bias"]), a["eps"]).numpy()
        if kind == "ln-channels":
            moved = np.moveaxis(x, 1, -1)
            y = F.layer_norm(t(moved), (x.shape[1],), t(w["weight"]), t(w["bias"]), a["eps"]).numpy()
            return np.moveaxis(y, -1, 1)
        if kind == "gn":
            return F.group_norm(t(x), a["groups"], t(w["weight"]), t(w["bias"]), a["eps"]).numpy()
        return F.local_response_norm(t(x), a["size"], a["alpha"], a["beta"], a["k"]).numpy()

    return run


DENSE_NORM = [
    Case("dense", "- flatten\n  - dense: {units: 5, name: op}", (3, 2, 2),
         lambda x, w, layer: naive.dense(x.reshape(x.shape[0], -1), w["weight"], w["bias"]), torch_dense),
    Case("dense-nobias", "- flatten\n  - dense: {units: 4, bias: false, name: op}", (7,),
         lambda x, w, layer: naive.dense(x, w["weight"], None), torch_dense),
    Case("bn2d", "- bn: {name: op}", (4, 3, 3),
         lambda x, w, layer: naive.batch_norm(x, w["running_mean"], w["running_var"], w["weight"],
                                          w["bias"], 1e-5), torch_norm("bn")),
    Case("bn-flat", "- bn: {eps: 0.001, name: op}", (6,),
         lambda x, w, layer: naive.batch_norm(x, w["running_mean"], w["running_var"], w["weight"],
                                          w["bias"], 1e-3), torch_norm("bn")),
    Case("bn3d", "- bn: {name: op}", (2, 2, 3, 2),
         lambda x, w, layer: naive.batch_norm(x, w["running_mean"], w["running_var"], w["weight"],
                                          w["bias"], 1e-5), torch_norm("bn")),
    Case("layernorm-channels", "- layernorm: {name: op}", (4, 3, 2),
         lambda x, w, layer: naive.layer_norm_channels(x, w["weight"], w["bias"], 1e-5),
         torch_norm("ln-channels")),
    Case("layernorm-all", "- layernorm: {over: all, name: op}", (3, 2, 4),
         lambda x, w, layer: naive.layer_norm_all(x, w["weight"], w["bias"], 1e-5), torch_norm("ln-all")),
    Case("groupnorm", "- groupnorm: {groups: 2, name: op}", (4, 3, 3),
         lambda x, w, layer: naive.group_norm(x, 2, w["weight"], w["bias"], 1e-5), torch_norm("gn")),
    Case("groupnorm1d", "- groupnorm: {groups: 3, eps: 0.01, name: op}", (6, 5),
         lambda x, w, layer: naive.group_norm(x, 3, w["weight"], w["bias"], 0.01), torch_norm("gn")),
    Case("lrn", "- lrn: {size: 3, name: op}", (5, 3, 3),
         lambda x, w, layer: naive.lrn(x, 3, 1e-4, 0.75, 1.0), torch_norm("lrn"), scale=10.0),
    Case("lrn-even", "- lrn: {size: 4, alpha: 0.01, beta: 0.5, k: 2, name: op}", (6, 2, 3),
         lambda x, w, layer: naive.lrn(x, 4, 0.01, 0.5, 2.0), torch_norm("lrn"), scale=3.0),
]

def torch_channel_dense(x, w, layer):
    """nn.Linear on the channels-last tensor, as ConvNeXt's pwconv."""
    import torch.nn.functional as F

    b = w.get("bias")
    y = F.linear(t(x).movedim(1, -1), t(w["weight"]), None if b is None else t(b))
    return y.movedim(-1, 1).numpy()


def torch_scale(x, w, layer):
    """ConvNeXt's layer scale: gamma * x on the channels-last tensor."""
    x = x.reshape(x.shape[0], *layer.in_shapes[0])  # the flat case's input comes through flatten
    return (t(w["weight"]) * t(x).movedim(1, -1)).movedim(-1, 1).numpy()


def torch_drop_path(x, w, layer):
    """torchvision's StochasticDepth in eval mode (identity), where torchvision is installed."""
    try:
        from torchvision.ops import StochasticDepth
    except ImportError:
        return x
    return StochasticDepth(layer.args["rate"], layer.args["mode"]).eval()(t(x)).numpy()


PER_POSITION = [
    Case("channel_dense", "- channel_dense: {units: 4, name: op}", (3, 4, 2),
         lambda x, w, layer: naive.channel_dense(x, w["weight"], w["bias"]), torch_channel_dense),
    Case("channel_dense-nobias-3d", "- channel_dense: {units: 2, bias: false, name: op}", (5, 2, 3, 2),
         lambda x, w, layer: naive.channel_dense(x, w["weight"], None), torch_channel_dense),
    Case("channel_dense-1d", "- channel_dense: {units: 3, name: op}", (2, 5),
         lambda x, w, layer: naive.channel_dense(x, w["weight"], w["bias"]), torch_channel_dense),
    Case("scale", "- scale: {init: 0.5, name: op}", (4, 3, 2),
         lambda x, w, layer: naive.scale(x, w["weight"]), torch_scale),
    Case("scale-flat", "- flatten\n  - scale: {name: op}", (2, 3),
         lambda x, w, layer: naive.scale(x.reshape(x.shape[0], -1), w["weight"]), torch_scale),
    Case("drop_path", "- drop_path: {rate: 0.2, name: op}", (3, 4, 2),
         lambda x, w, layer: x, torch_drop_path),
    Case("drop_path-batch", "- drop_path: {rate: 0.5, mode: batch, name: op}", (2, 3),
         lambda x, w, layer: x, torch_drop_path),
]

ACTIVATION = [
    Case(name, f"- {name}: {{name: op}}", (3, 4, 5), lambda x, w, layer, n=name: naive.activation(x, n),
         torch_act(name), scale=4.0)
    for name in ("relu", "relu6", "sigmoid", "tanh", "gelu", "silu", "hardswish", "hardsigmoid",
                 "identity", "dropout")
] + [
    Case("leaky_relu", "- leaky_relu: {slope: 0.2, name: op}", (3, 4),
         lambda x, w, layer: np.where(x > 0, x, 0.2 * x), torch_act("leaky_relu", negative_slope=0.2)),
    Case("softmax-channels", "- softmax: {name: op}", (5, 3, 2), lambda x, w, layer: naive.softmax(x, 1),
         lambda x, w, layer: __import__("torch").softmax(t(x), 1).numpy(), scale=3.0),
    Case("softmax-spatial", "- softmax: {axis: -1, name: op}", (2, 3, 6),
         lambda x, w, layer: naive.softmax(x, 3),
         lambda x, w, layer: __import__("torch").softmax(t(x), 3).numpy(),
         scale=3.0),
]

MERGE_RESHAPE = [
    Case("add-inplace", "- relu: {name: a}\n  - add: {in: [input, a], name: op}", (3, 4, 4),
         lambda x, w, layer: x + np.maximum(x, 0), lambda x, w, layer: (t(x) + t(x).relu()).numpy()),
    Case("add-three", "- relu: {name: a}\n  - tanh: {in: input, name: b}\n"
         "  - add: {in: [a, input, b], name: op}", (2, 5),
         lambda x, w, layer: np.maximum(x, 0) + x + np.tanh(x),
         lambda x, w, layer: (t(x).relu() + t(x) + t(x).tanh()).numpy()),
    Case("multiply-se-gate", "- gap: {name: g}\n  - multiply: {in: [input, g], name: op}", (3, 4, 5),
         lambda x, w, layer: x * x.mean(axis=(2, 3), keepdims=True),
         lambda x, w, layer: (t(x) * t(x).mean(dim=(2, 3), keepdim=True)).numpy()),
    Case("multiply-channel-broadcast", "- slice: {stop: 1, name: s}\n"
         "  - multiply: {in: [input, s], name: op}", (3, 4, 2), lambda x, w, layer: x * x[:, :1],
         lambda x, w, layer: (t(x) * t(x)[:, :1]).numpy()),
    Case("concat-channels", "- relu: {name: a}\n  - concat: {in: [input, a], name: op}", (2, 3, 3),
         lambda x, w, layer: np.concatenate([x, np.maximum(x, 0)], 1),
         lambda x, w, layer: __import__("torch").cat([t(x), t(x).relu()], 1).numpy()),
    Case("concat-spatial", "- relu: {name: a}\n  - concat: {in: [a, input], axis: 2, name: op}",
         (2, 3, 4), lambda x, w, layer: np.concatenate([np.maximum(x, 0), x], 3),
         lambda x, w, layer: __import__("torch").cat([t(x).relu(), t(x)], 3).numpy()),
    Case("flatten", "- flatten: {name: op}", (3, 2, 4), lambda x, w, layer: x.reshape(x.shape[0], -1),
         lambda x, w, layer: __import__("torch").flatten(t(x), 1).numpy()),
    Case("pad2d", "- pad: {padding: [[1, 0], [2, 1]], name: op}", (2, 3, 2),
         lambda x, w, layer: naive.pad(x, [(1, 0), (2, 1)]),
         lambda x, w, layer: __import__("torch").nn.functional.pad(t(x), [2, 1, 1, 0]).numpy()),
    Case("pad1d", "- pad: {padding: 2, name: op}", (2, 3), lambda x, w, layer: naive.pad(x, [(2, 2)]),
         lambda x, w, layer: __import__("torch").nn.functional.pad(t(x), [2, 2]).numpy()),
    Case("channel_shuffle", "- channel_shuffle: {groups: 2, name: op}", (6, 2, 2),
         lambda x, w, layer: naive.channel_shuffle(x, 2),
         lambda x, w, layer: __import__("torch").nn.functional.channel_shuffle(t(x), 2).numpy()),
    Case("slice-channels", "- slice: {start: 1, stop: 3, name: op}", (4, 2, 2),
         lambda x, w, layer: x[:, 1:3], lambda x, w, layer: x[:, 1:3]),
    Case("slice-spatial", "- slice: {axis: 2, start: -3, name: op}", (2, 3, 5),
         lambda x, w, layer: x[:, :, :, -3:], lambda x, w, layer: t(x)[:, :, :, -3:].numpy()),
    Case("slice-step-spatial", "- slice: {axis: 1, step: 2, name: op}", (2, 7, 3),
         lambda x, w, layer: naive.strided_slice(x, 1, 0, 7, 2),
         lambda x, w, layer: t(x)[:, :, ::2].numpy()),
    Case("slice-step-offset", "- slice: {axis: -1, start: 1, stop: -1, step: 3, name: op}", (2, 3, 9),
         lambda x, w, layer: naive.strided_slice(x, 2, 1, 8, 3),
         lambda x, w, layer: t(x)[:, :, :, 1:-1:3].numpy()),
    Case("slice-step-channels", "- slice: {start: 1, step: 2, name: op}", (6, 2, 2),
         lambda x, w, layer: naive.strided_slice(x, 0, 1, 6, 2),
         lambda x, w, layer: t(x)[:, 1::2].numpy()),
    Case("channel_pad", "- channel_pad: {before: 2, after: 1, name: op}", (3, 2, 3),
         lambda x, w, layer: naive.channel_pad(x, 2, 1),
         lambda x, w, layer: __import__("torch").nn.functional.pad(t(x), [0, 0, 0, 0, 2, 1]).numpy()),
    Case("channel_pad-1d-after", "- channel_pad: {after: 3, name: op}", (2, 4),
         lambda x, w, layer: naive.channel_pad(x, 0, 3),
         lambda x, w, layer: __import__("torch").nn.functional.pad(t(x), [0, 0, 0, 3]).numpy()),
    Case("channel_pad-optionA", "- slice: {axis: 1, step: 2, name: s}\n"
         "  - slice: {axis: 2, step: 2, name: s2}\n  - channel_pad: {before: 2, after: 2, name: op}",
         (4, 5, 6), lambda x, w, layer: naive.channel_pad(x[:, :, ::2, ::2], 2, 2),
         lambda x, w, layer: __import__("torch").nn.functional.pad(
             t(x)[:, :, ::2, ::2], [0, 0, 0, 0, 2, 2]).numpy()),
]


def torch_up(mode: str, scale: Any, align: bool | None = None) -> Fn:
    def run(x, w, layer):
        import torch.nn.functional as F

        name = {1: "linear", 2: "bilinear", 3: "trilinear"}[x.ndim - 2] if mode == "linear" else mode
        return F.interpolate(t(x), scale_factor=scale, mode=name, align_corners=align).numpy()

    return run


UPSAMPLE = [
    Case("upsample-nearest", "- upsample: {scale: 2, name: op}", (2, 3, 4),
         lambda x, w, layer: naive.upsample_nearest(x, (2, 2)), torch_up("nearest", 2)),
    Case("upsample-nearest-per-axis", "- upsample: {scale: [2, 3], name: op}", (2, 3, 2),
         lambda x, w, layer: naive.upsample_nearest(x, (2, 3)), torch_up("nearest", (2, 3))),
    Case("upsample-nearest-3d", "- upsample: {scale: 2, name: op}", (1, 2, 3, 2),
         lambda x, w, layer: naive.upsample_nearest(x, (2, 2, 2)), torch_up("nearest", 2)),
    Case("upsample-nearest-fractional", "- upsample: {scale: 1.5, name: op}", (2, 4, 6),
         None, torch_up("nearest", 1.5)),  # type: ignore[arg-type]
    Case("upsample-bilinear", "- upsample: {scale: 2, mode: linear, name: op}", (2, 3, 4),
         lambda x, w, layer: naive.upsample_linear(x, (2, 2), False), torch_up("linear", 2, False)),
    Case("upsample-bilinear-align", "- upsample: {scale: 2, mode: linear, align_corners: true, name: op}",
         (2, 3, 4), lambda x, w, layer: naive.upsample_linear(x, (2, 2), True), torch_up("linear", 2, True)),
    Case("upsample-linear1d-fractional", "- upsample: {scale: 2.5, mode: linear, name: op}", (2, 4),
         lambda x, w, layer: naive.upsample_linear(x, (2.5,), False), torch_up("linear", 2.5, False)),
    Case("upsample-trilinear", "- upsample: {scale: [2, 1, 3], mode: linear, name: op}", (1, 2, 3, 2),
         lambda x, w, layer: naive.upsample_linear(x, (2, 1, 3), False),
         torch_up("linear", (2, 1, 3), False)),
    Case("upsample-bilinear-word", "- upsample: {scale: [2, 1.5], mode: bilinear, name: op}", (2, 3, 4),
         lambda x, w, layer: naive.upsample_linear(x, (2, 1.5), False),
         torch_up("bilinear", (2, 1.5), False)),
    Case("upsample-trilinear-word", "- upsample: {scale: 2, mode: trilinear, align_corners: true, name: op}",
         (1, 2, 3, 2), lambda x, w, layer: naive.upsample_linear(x, (2, 2, 2), True),
         torch_up("trilinear", 2, True)),
    Case("upsample-nearest-exact-1d", "- upsample: {scale: 1.7, mode: nearest-exact, name: op}", (2, 5),
         lambda x, w, layer: naive.upsample_nearest_exact(x, (1.7,)), torch_up("nearest-exact", 1.7)),
    Case("upsample-nearest-exact", "- upsample: {scale: [3, 0.5], mode: nearest-exact, name: op}",
         (2, 3, 6), lambda x, w, layer: naive.upsample_nearest_exact(x, (3, 0.5)),
         torch_up("nearest-exact", (3, 0.5))),
    Case("upsample-nearest-exact-3d", "- upsample: {scale: [2, 1.5, 1], mode: nearest-exact, name: op}",
         (1, 2, 3, 2), lambda x, w, layer: naive.upsample_nearest_exact(x, (2, 1.5, 1)),
         torch_up("nearest-exact", (2, 1.5, 1))),
    Case("upsample-bicubic", "- upsample: {scale: 2, mode: bicubic, name: op}", (2, 3, 4),
         lambda x, w, layer: naive.upsample_bicubic(x, (2, 2), False), torch_up("bicubic", 2, False)),
    Case("upsample-bicubic-align",
         "- upsample: {scale: [2.5, 3], mode: bicubic, align_corners: true, name: op}",
         (2, 5, 4), lambda x, w, layer: naive.upsample_bicubic(x, (2.5, 3), True),
         torch_up("bicubic", (2.5, 3), True)),
    Case("upsample-bicubic-down", "- upsample: {scale: [0.6, 1.3], mode: bicubic, name: op}", (2, 7, 5),
         lambda x, w, layer: naive.upsample_bicubic(x, (0.6, 1.3), False),
         torch_up("bicubic", (0.6, 1.3), False)),
]

CASES = CONV + POOL + DENSE_NORM + PER_POSITION + ACTIVATION + MERGE_RESHAPE + UPSAMPLE
