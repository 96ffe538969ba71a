"""ONNX window and resampling nodes -> cnncalc: Conv, ConvTranspose, pooling, Pad, Resize.

ONNX writes padding as [begin_1, ..., begin_n, end_1, ..., end_n] or as `auto_pad`; both are
turned into explicit per-side padding for the input size in use, so the spec says exactly
what the source computes (SAME_LOWER, which cnncalc's `same` is not, included).
"""
from __future__ import annotations

from math import ceil, floor
from typing import Any

import numpy as np

from cnncalc.imports.onnx_values import Act, Context, Refuse


def compact(values: list[Any]) -> Any:
    """One value for every axis where they agree, else the list."""
    return values[0] if all(v == values[0] for v in values) else list(values)


def padding_arg(pairs: list[tuple[int, int]]) -> Any:
    """Per-side padding in cnncalc's shortest form (None: no padding)."""
    if all(b == 0 and a == 0 for b, a in pairs):
        return None
    if all(b == a for b, a in pairs):
        return compact([b for b, _ in pairs])
    return [[b, a] for b, a in pairs]


def spatial(ctx: Context, x: Act) -> list[int]:
    if not x.channels_first:
        raise Refuse("its input is channels-last here (after a Transpose); cnncalc's window ops "
                     "read channels first")
    if len(x.shape) < 2:
        raise Refuse("its input has no spatial axis")
    return list(x.shape[1:])


def pads(ctx: Context, sizes: list[int], kernel: list[int], strides: list[int],
         dilations: list[int]) -> list[tuple[int, int]]:
    """(before, after) per spatial axis from `pads` or `auto_pad` (ONNX's formulas)."""
    auto = ctx.attr("auto_pad", "NOTSET")
    rank = len(sizes)
    if auto in ("NOTSET", ""):
        flat = list(ctx.attr("pads") or [0] * (2 * rank))
        if len(flat) != 2 * rank or min(flat) < 0:
            raise Refuse(f"pads {flat} do not give two non-negative numbers per spatial axis")
        return [(int(flat[i]), int(flat[i + rank])) for i in range(rank)]
    if auto == "VALID":
        return [(0, 0)] * rank
    if auto not in ("SAME_UPPER", "SAME_LOWER"):
        raise Refuse(f"auto_pad {auto!r} is not an ONNX padding mode")
    found = []
    for n, k, s, d in zip(sizes, kernel, strides, dilations):
        total = max((ceil(n / s) - 1) * s + (k - 1) * d + 1 - n, 0)
        small = total // 2
        found.append((small, total - small) if auto == "SAME_UPPER" else (total - small, small))
    return found


def _window(ctx: Context, x: Act, kernel: list[int]) -> tuple[list[int], list[int], list[int]]:
    rank = len(kernel)
    sizes = spatial(ctx, x)
    if len(sizes) != rank:
        raise Refuse(f"a {rank}-axis kernel on an input with {len(sizes)} spatial axes")
    strides = [int(s) for s in ctx.attr("strides") or [1] * rank]
    dilations = [int(d) for d in ctx.attr("dilations") or [1] * rank]
    return sizes, strides, dilations


def conv(ctx: Context) -> None:
    x = ctx.act(0)
    w = ctx.weight_shape(ctx.input(1))
    kernel = [int(k) for k in ctx.attr("kernel_shape") or w[2:]]
    sizes, strides, dilations = _window(ctx, x, kernel)
    group = int(ctx.attr("group", 1))
    if w[1] * group != x.shape[0]:
        raise Refuse(f"its weight {list(w)} with group {group} does not fit {x.shape[0]} input channels")
    args: dict[str, object] = {"filters": w[0], "kernel": compact(kernel)}
    _optional(args, "stride", compact(strides), 1)
    _optional(args, "padding", padding_arg(pads(ctx, sizes, kernel, strides, dilations)), None)
    _optional(args, "dilation", compact(dilations), 1)
    _optional(args, "groups", group, 1)
    _optional(args, "bias", bool(ctx.input(2)), True)
    ctx.put(ctx.emit("conv", args, [x]))


def conv_transpose(ctx: Context) -> None:
    x = ctx.act(0)
    w = ctx.weight_shape(ctx.input(1))
    kernel = [int(k) for k in ctx.attr("kernel_shape") or w[2:]]
    sizes, strides, dilations = _window(ctx, x, kernel)
    group = int(ctx.attr("group", 1))
    rank = len(kernel)
    extra = [int(p) for p in ctx.attr("output_padding") or [0] * rank]
    full = [(n - 1) * s + (k - 1) * d + 1 + e
            for n, s, k, d, e in zip(sizes, strides, kernel, dilations, extra)]
    wanted = ctx.attr("output_shape")
    auto = ctx.attr("auto_pad", "NOTSET")
    if wanted is not None or auto in ("SAME_UPPER", "SAME_LOWER"):
        targets = ([int(t) for t in wanted[-rank:]] if wanted is not None
                   else [n * s for n, s in zip(sizes, strides)])
        totals = [f - t for f, t in zip(full, targets)]
        if any(t < 0 or t % 2 for t in totals):
            raise Refuse(f"output size {targets} needs padding {totals} that cnncalc cannot place "
                         "exactly (negative, or odd: exporters disagree on its side)")
        sides = [(t // 2, t // 2) for t in totals]
    elif auto == "VALID":
        sides = [(0, 0)] * rank
    else:
        flat = [int(p) for p in ctx.attr("pads") or [0] * (2 * rank)]
        sides = [(flat[i], flat[i + rank]) for i in range(rank)]
    args: dict[str, object] = {"filters": w[1] * group, "kernel": compact(kernel)}
    _optional(args, "stride", compact(strides), 1)
    _optional(args, "padding", padding_arg(sides), None)
    _optional(args, "output_padding", compact(extra), 0)
    _optional(args, "dilation", compact(dilations), 1)
    _optional(args, "groups", group, 1)
    _optional(args, "bias", bool(ctx.input(2)), True)
    ctx.put(ctx.emit("deconv", args, [x]))


def pool(ctx: Context) -> None:
    if len(ctx.node.output) > 1 and ctx.node.output[1] and ctx.state.consumers.get(ctx.node.output[1]):
        raise Refuse("its Indices output is used (unpooling has no cnncalc op)")
    x = ctx.act(0)
    kernel = [int(k) for k in ctx.attr("kernel_shape")]
    sizes, strides, dilations = _window(ctx, x, kernel)
    sides = pads(ctx, sizes, kernel, strides, dilations)
    if any(max(b, a) > k // 2 for (b, a), k in zip(sides, kernel)):
        raise Refuse(f"padding {sides} exceeds half the kernel {kernel} (cnncalc follows PyTorch)")
    average = ctx.node.op_type == "AveragePool"
    args: dict[str, object] = {"kernel": compact(kernel), "stride": compact(strides)}
    _optional(args, "padding", padding_arg(sides), None)
    _optional(args, "ceil_mode", bool(ctx.attr("ceil_mode", 0)), False)
    if average:
        if any(d != 1 for d in dilations):
            raise Refuse("a dilated average pool (cnncalc's avgpool has no dilation)")
        if args.get("padding") is not None:
            args["count_include_pad"] = bool(ctx.attr("count_include_pad", 0))
    else:
        _optional(args, "dilation", compact(dilations), 1)
    out = ctx.emit("avgpool" if average else "maxpool", args, [x])
    if args.get("ceil_mode"):
        _ceil_mode_inference(ctx, out, sizes, kernel, strides, dilations, sides)
    ctx.put(out)


def _ceil_mode_inference(ctx: Context, out: Act, sizes: list[int], kernel: list[int],
                         strides: list[int], dilations: list[int], sides: list[tuple[int, int]]) -> None:
    """ONNX's shape inference keeps a ceil-mode window that starts in the right padding; the
    ONNX spec, its reference implementation, PyTorch and cnncalc drop it. Where that is the
    only difference, ONNX's inferred shapes are wrong from here on: stop checking against them."""
    known = ctx.state.inferred.get(ctx.node.output[0])
    if known is None or known[2:] == out.onnx_shape[2:]:
        return
    kept = [ceil((n + b + a - d * (k - 1) - 1) / s) + 1
            for n, (b, a), k, s, d in zip(sizes, sides, kernel, strides, dilations)]
    if list(known[2:]) == kept:
        ctx.state.inferred.clear()
        ctx.state.notes.append(f"{ctx.node.name}: ONNX's shape inference keeps a ceil_mode window "
                               "that starts in the padding; the ONNX spec and PyTorch drop it, as "
                               "cnncalc does")


def global_pool(ctx: Context) -> None:
    x = ctx.act(0)
    spatial(ctx, x)
    ctx.put(ctx.emit("gap" if ctx.node.op_type == "GlobalAveragePool" else "gmp", {}, [x]))


def pad(ctx: Context) -> None:
    x = ctx.act(0)
    mode = ctx.attr("mode", "constant")
    if mode != "constant":
        raise Refuse(f"mode {mode!r} (cnncalc pads with zeros only)")
    if ctx.state.opset < 11:
        flat, fill = ctx.attr("pads"), ctx.attr("value", 0.0)
    else:
        flat = ctx.const(ctx.input(1))
        fill = ctx.const(ctx.input(2)) if ctx.input(2) else 0.0
        if flat is None or fill is None:
            raise Refuse("its pads or value are computed from the data, not constants")
    if np.any(np.asarray(fill) != 0):
        raise Refuse(f"it pads with {np.asarray(fill).tolist()}, not zeros")
    rank = len(x.axes)
    onnx_axes = list(range(rank))
    if ctx.input(3):
        given = ctx.const(ctx.input(3))
        if given is None:
            raise Refuse("its axes are computed from the data")
        onnx_axes = [int(a) % rank for a in given]
    flat = [int(p) for p in flat]
    count = len(onnx_axes)
    sides = {x.axes[a]: (flat[i], flat[i + count]) for i, a in enumerate(onnx_axes)}
    if any(min(s) < 0 for s in sides.values()):
        raise Refuse("a negative pad (a crop)")
    if sides.get(0, (0, 0)) != (0, 0):
        raise Refuse("it pads the batch axis")
    out = x
    channel = sides.get(1, (0, 0))
    if channel != (0, 0):
        args: dict[str, object] = {}
        _optional(args, "before", channel[0], 0)
        _optional(args, "after", channel[1], 0)
        out = ctx.emit("channel_pad", args, [out], ctx.word + "_channels").with_axes(x.axes)
    space = [sides.get(a, (0, 0)) for a in range(2, len(x.shape) + 1)]
    if any(s != (0, 0) for s in space):
        out = ctx.emit("pad", {"padding": padding_arg(space)}, [out]).with_axes(x.axes)
    ctx.put(out)


MODES = {  # (ONNX mode, coordinate transformation, nearest rounding) -> cnncalc mode, align_corners
    ("nearest", "asymmetric", "floor"): ("nearest", False),
    ("nearest", "tf_half_pixel_for_nn", "floor"): ("nearest-exact", False),
    ("nearest", "half_pixel", "round_prefer_ceil"): ("nearest-exact", False),
    ("nearest", "pytorch_half_pixel", "round_prefer_ceil"): ("nearest-exact", False),
    ("linear", "half_pixel", ""): ("linear", False),
    ("linear", "pytorch_half_pixel", ""): ("linear", False),
    ("linear", "align_corners", ""): ("linear", True),
    ("cubic", "half_pixel", ""): ("bicubic", False),
    ("cubic", "pytorch_half_pixel", ""): ("bicubic", False),
    ("cubic", "align_corners", ""): ("bicubic", True),
}


def resize(ctx: Context) -> None:
    x = ctx.act(0)
    sizes = spatial(ctx, x)
    onnx = ctx.node.op_type
    mode = ctx.attr("mode", "nearest")
    if onnx == "Upsample":
        coordinate, rounding = "asymmetric", "floor"
        scales = ctx.attr("scales") if ctx.state.opset < 9 else ctx.const(ctx.input(1))
        targets = None
    else:
        coordinate = ctx.attr("coordinate_transformation_mode", "half_pixel")
        rounding = ctx.attr("nearest_mode", "round_prefer_floor")
        first = 1 if ctx.state.opset < 11 else 2
        scales = ctx.const(ctx.input(first)) if ctx.input(first) else None
        targets = ctx.const(ctx.input(3)) if ctx.input(3) else None
        if ctx.attr("antialias", 0) or ctx.attr("exclude_outside", 0):
            raise Refuse("antialias / exclude_outside (cnncalc resamples as PyTorch's interpolate)")
        if mode == "cubic" and float(ctx.attr("cubic_coeff_a", -0.75)) != -0.75:
            raise Refuse("a cubic coefficient other than -0.75 (PyTorch's)")
        if ctx.attr("axes") is not None:
            raise Refuse("Resize with `axes` is not read")
    if (scales is None or np.size(scales) == 0) and (targets is None or np.size(targets) == 0):
        raise Refuse("its scales / sizes are computed from the data, not constants")
    full = x.onnx_shape
    if targets is not None and np.size(targets):
        factors = [float(t) / n for t, n in zip(targets, full)]
    else:
        factors = [float(str(np.float32(s))) for s in np.asarray(scales).reshape(-1)]
    if len(factors) != len(full):
        raise Refuse(f"{len(factors)} scales for a rank-{len(full)} tensor")
    if factors[:2] != [1.0, 1.0]:
        raise Refuse("it resizes the batch or channel axis")
    factors = factors[2:]
    if onnx == "Upsample" and not all(f.is_integer() for f in factors):
        raise Refuse(f"Upsample by {factors}: its rounding is defined for whole scales only")
    if targets is not None and np.size(targets) and \
            any(floor(n * f) != int(t) for n, f, t in zip(sizes, factors, targets[2:])):
        raise Refuse(f"sizes {list(targets)} are not floor(n x scale) for any scale cnncalc writes")
    key = (mode, coordinate, rounding if mode == "nearest" else "")
    if key not in MODES and onnx == "Upsample":
        raise Refuse(f"Upsample mode {mode!r} (asymmetric coordinates) is none of PyTorch's interpolations")
    if key not in MODES:
        raise Refuse(f"mode {mode!r} with coordinate_transformation_mode {coordinate!r}"
                     + (f" and nearest_mode {rounding!r}" if mode == "nearest" else "")
                     + " is none of PyTorch's interpolations")
    word, corners = MODES[key]
    if "half_pixel" in coordinate and any(floor(n * f) == 1 < n for n, f in zip(sizes, factors)):
        raise Refuse(f"{coordinate} on an output of size 1 differs from PyTorch's")
    if word == "linear" and len(sizes) in (2, 3):
        word = "bilinear" if len(sizes) == 2 else "trilinear"
    args: dict[str, object] = {"scale": compact([int(f) if f.is_integer() else f for f in factors])}
    _optional(args, "mode", word, "nearest")
    _optional(args, "align_corners", corners, False)
    ctx.put(ctx.emit("upsample", args, [x]))


def _optional(args: dict[str, object], key: str, value: object, default: object) -> None:
    """Arguments at their default are left out, as a person writes a spec."""
    if value != default:
        args[key] = value


WINDOW = {"Conv": conv, "ConvTranspose": conv_transpose, "MaxPool": pool, "AveragePool": pool,
          "GlobalAveragePool": global_pool, "GlobalMaxPool": global_pool, "Pad": pad,
          "Resize": resize, "Upsample": resize}
