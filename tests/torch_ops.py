"""One cnncalc layer as a differentiable torch function: `torch_layer(layer, inputs, weights)`
with torch tensors, for comparing gradients with torch autograd (tests/test_backward_torch.py).

Written from each op's documented PyTorch semantics (the same calls the forward oracles in
forward_cases.py make on NumPy arrays), with every step a torch op so autograd sees it.
"""
from __future__ import annotations

from typing import Any


def _pads(layer: Any) -> list[int]:
    """F.pad's flat list (last axis first) of the layer's (before, after) pads."""
    return [p for w in reversed(layer.attrs.windows) for p in (w.pad_before, w.pad_after)]


def _fn(rank: int, name: str) -> Any:
    import torch.nn.functional as F

    return getattr(F, f"{name}{rank}d")


def _batched(x: Any, shape: tuple[int, ...], out: tuple[int, ...]) -> Any:
    return x.reshape((x.shape[0],) + (1,) * (len(out) - len(shape)) + tuple(shape))


def torch_layer(layer: Any, xs: list[Any], w: dict[str, Any]) -> Any:
    import torch
    import torch.nn.functional as F

    name, a, args = layer.op_name, layer.attrs, layer.args
    x = xs[0]
    rank = x.dim() - 2
    if name == "conv":
        windows = a.windows
        return _fn(rank, "conv")(F.pad(x, _pads(layer)), w["weight"], w.get("bias"),
                                 [v.stride for v in windows], 0, [v.dilation for v in windows], a.groups)
    if name == "deconv":
        windows = a.windows
        full = _fn(rank, "conv_transpose")(x, w["weight"], None, [v.stride for v in windows], 0, 0,
                                           a.groups, [v.dilation for v in windows])
        sizes = zip(reversed(windows), reversed(full.shape[2:]), reversed(layer.out_shape[1:]))
        crop = [p for v, f, o in sizes for p in (-v.pad_before, o - f + v.pad_before)]
        y = F.pad(full, crop)
        return y if "bias" not in w else y + w["bias"].reshape((1, -1) + (1,) * rank)
    if name == "maxpool":
        windows = a.windows
        return _fn(rank, "max_pool")(F.pad(x, _pads(layer), value=float("-inf")),
                                     [v.kernel for v in windows], [v.stride for v in windows], 0,
                                     [v.dilation for v in windows], ceil_mode=windows[0].ceil_mode)
    if name == "avgpool":
        windows = a.windows
        assert all(v.pad_before == v.pad_after for v in windows), "torch pads symmetrically"
        return _fn(rank, "avg_pool")(x, [v.kernel for v in windows], [v.stride for v in windows],
                                     [v.pad_before for v in windows], ceil_mode=windows[0].ceil_mode,
                                     count_include_pad=args["count_include_pad"])
    if name in ("gap", "gmp"):
        return _fn(rank, "adaptive_avg_pool" if name == "gap" else "adaptive_max_pool")(x, 1)
    if name in ("adaptive_avgpool", "adaptive_maxpool"):
        kind = "adaptive_avg_pool" if name == "adaptive_avgpool" else "adaptive_max_pool"
        return _fn(rank, kind)(x, a.out_sizes)
    if name == "dense":
        return F.linear(x, w["weight"], w.get("bias"))
    if name == "bn":
        return F.batch_norm(x, w["running_mean"], w["running_var"], w["weight"], w["bias"], False,
                            0.0, args["eps"])
    if name == "layernorm":
        if args["over"] == "all":
            return F.layer_norm(x, tuple(x.shape[1:]), w["weight"], w["bias"], args["eps"])
        y = F.layer_norm(x.movedim(1, -1), (x.shape[1],), w["weight"], w["bias"], args["eps"])
        return y.movedim(-1, 1)
    if name == "groupnorm":
        return F.group_norm(x, args["groups"], w["weight"], w["bias"], args["eps"])
    if name == "lrn":
        return F.local_response_norm(x, args["size"], args["alpha"], args["beta"], args["k"])
    if name in ("identity", "dropout", "drop_path"):  # inference: stochastic depth is the identity
        return x
    if name == "scale":
        return x * w["weight"].reshape((1, -1) + (1,) * rank)
    if name == "channel_dense":
        return F.linear(x.movedim(1, -1), w["weight"], w.get("bias")).movedim(-1, 1)
    if name == "channel_pad":
        return F.pad(x, [0, 0] * rank + [args["before"], args["after"]])
    if name == "leaky_relu":
        return F.leaky_relu(x, args["slope"])
    if name == "softmax":
        return torch.softmax(x, a + 1)
    if name in ("relu", "relu6", "sigmoid", "tanh", "gelu", "silu", "hardswish", "hardsigmoid"):
        return getattr(F, name)(x)
    if name in ("add", "multiply"):
        parts = [_batched(v, s, layer.out_shape) for v, s in zip(xs, layer.in_shapes)]
        y = parts[0]
        for p in parts[1:]:
            y = y + p if name == "add" else y * p
        return y
    if name == "concat":
        return torch.cat(xs, a + 1)
    if name == "flatten":
        return torch.flatten(x, 1)
    if name == "pad":
        return F.pad(x, [p for pair in reversed(a) for p in pair])
    if name == "slice":
        index = (slice(None),) * (a.axis + 1) + (slice(a.start, a.stop, a.step),)
        return x[index]
    if name == "channel_shuffle":
        g = args["groups"]
        n, c = x.shape[:2]
        return x.reshape(n, g, c // g, *x.shape[2:]).transpose(1, 2).reshape(x.shape)
    if name == "upsample":
        mode = args["mode"]
        if mode == "linear":
            mode = {1: "linear", 2: "bilinear", 3: "trilinear"}[rank]
        align = args["align_corners"] if mode not in ("nearest", "nearest-exact") else None
        return F.interpolate(x, scale_factor=tuple(a), mode=mode, align_corners=align)
    raise KeyError(f"no torch twin for op '{name}'")
