"""Keras layers with weights -> cnncalc layers: convolutions (plain, depthwise, separable,
transposed), Dense, and the normalisations. Shapes and parameter counts follow Keras' own
rules (`compute_output_shape`, the layer's weights); `keras_layers` holds the shared types.
"""
from __future__ import annotations

from cnncalc.imports.keras_layers import (
    Context,
    Piece,
    Tensor,
    Translation,
    Unsupported,
    channel_axis,
    ints,
    only_channels_last,
    short,
    spatial,
    with_activation,
)

# ---------------------------------------------------------------------------- convolutions

def _conv_args(ctx: Context, rank: int) -> dict[str, object]:
    """kernel, stride, padding and dilation of a Keras conv (valid, same, causal)."""
    kernel = ints(ctx.get("kernel_size"), rank, "kernel_size")
    strides = ints(ctx.get("strides", 1), rank, "strides")
    dilation = ints(ctx.get("dilation_rate", 1), rank, "dilation_rate")
    args: dict[str, object] = {"kernel": short(kernel)}
    if set(strides) != {1}:
        args["stride"] = short(strides)
    padding = ctx.get("padding", "valid")
    if padding == "same":
        args["padding"] = "same"
    elif padding == "causal" and rank == 1:  # left padding by the dilated kernel's reach
        args["padding"] = [[dilation[0] * (kernel[0] - 1), 0]]
    elif padding != "valid":
        raise Unsupported(f"padding {padding!r}")
    if set(dilation) != {1}:
        args["dilation"] = short(dilation)
    return args


def conv(ctx: Context) -> Translation:
    only_channels_last(ctx)
    rank = spatial(ctx, ctx.cls)
    args: dict[str, object] = {"filters": ctx.get("filters"), **_conv_args(ctx, rank)}
    groups = ctx.get("groups", 1)
    if groups != 1:
        args["groups"] = groups
    if not ctx.get("use_bias", True):
        args["bias"] = False
    return with_activation(ctx, [Piece("conv", args)], Tensor(ctx.x.rank, ctx.get("filters")))


def _depthwise_args(ctx: Context, rank: int) -> tuple[dict[str, object], int | None]:
    multiplier = ctx.get("depth_multiplier", 1)
    args: dict[str, object] = {"groups": "depthwise", **_conv_args(ctx, rank)}
    channels = ctx.x.channels
    if multiplier != 1:  # C*m filters, one group per input channel
        if channels is None:
            raise Unsupported("depth_multiplier > 1 on an input of unknown channels",
                              shape_dependent=True)
        args["filters"] = channels * multiplier
        channels *= multiplier
    return args, channels


def depthwise(ctx: Context) -> Translation:
    only_channels_last(ctx)
    rank = spatial(ctx, ctx.cls)
    args, channels = _depthwise_args(ctx, rank)
    if not ctx.get("use_bias", True):
        args["bias"] = False
    return with_activation(ctx, [Piece("conv", args)], Tensor(ctx.x.rank, channels))


def separable(ctx: Context) -> Translation:
    """Keras' SeparableConv: a depthwise conv (no bias) then a 1x1 pointwise conv with the bias."""
    only_channels_last(ctx)
    rank = spatial(ctx, ctx.cls)
    args, _ = _depthwise_args(ctx, rank)
    args["bias"] = False
    pointwise: dict[str, object] = {"filters": ctx.get("filters"), "kernel": 1}
    if not ctx.get("use_bias", True):
        pointwise["bias"] = False
    return with_activation(ctx, [Piece("conv", args, "_depthwise"), Piece("conv", pointwise)],
                            Tensor(ctx.x.rank, ctx.get("filters")))


def transposed(ctx: Context) -> Translation:
    """Keras' ConvTranspose output per axis (deconv_output_length): without output_padding,
    valid gives n*s + max(k - s, 0) and same n*s; with it, (n - 1)*s + k - 2*pad + output_padding,
    pad = k // 2 for same, 0 for valid (k: the dilated kernel)."""
    only_channels_last(ctx)
    rank = spatial(ctx, ctx.cls)
    kernel = ints(ctx.get("kernel_size"), rank, "kernel_size")
    strides = ints(ctx.get("strides", 1), rank, "strides")
    dilation = ints(ctx.get("dilation_rate", 1), rank, "dilation_rate")
    spans = [d * (k - 1) + 1 for k, d in zip(kernel, dilation)]
    padding = ctx.get("padding", "valid")
    if padding not in ("valid", "same"):
        raise Unsupported(f"padding {padding!r}")
    args: dict[str, object] = {"filters": ctx.get("filters"), "kernel": short(kernel)}
    if set(strides) != {1}:
        args["stride"] = short(strides)
    given = ctx.get("output_padding")
    if given is None:
        extra = [max(s - k, 0) if padding == "valid" else 0 for s, k in zip(strides, spans)]
        if padding == "same":
            args["padding"] = "same"
    else:
        extra = ints(given, rank, "output_padding")
        if padding == "same":
            args["padding"] = short([k // 2 for k in spans])
    if set(extra) != {0}:
        args["output_padding"] = short(extra)
    if set(dilation) != {1}:
        args["dilation"] = short(dilation)
    if not ctx.get("use_bias", True):
        args["bias"] = False
    return with_activation(ctx, [Piece("deconv", args)], Tensor(ctx.x.rank, ctx.get("filters")))


def dense(ctx: Context) -> Translation:
    """Dense on a flat input is cnncalc's dense; on a spatial one it acts on the last axis (the
    channels) at every position: channel_dense."""
    args: dict[str, object] = {"units": ctx.get("units")}
    if not ctx.get("use_bias", True):
        args["bias"] = False
    op = "dense" if ctx.x.rank == 1 else "channel_dense"
    return with_activation(ctx, [Piece(op, args)], Tensor(ctx.x.rank, ctx.get("units")))


# ---------------------------------------------------------------------------- normalisation

def _affine_both(ctx: Context, op: str) -> None:
    for key in ("center", "scale"):
        if not ctx.get(key, True):
            raise Unsupported(f"{key}=False: cnncalc's {op} always has both its scale and its shift "
                              "(the parameter count would differ)")


def batch_norm(ctx: Context) -> Translation:
    if channel_axis(ctx.get("axis", -1), ctx.x.rank) != 0:
        raise Unsupported("normalises an axis other than the channels", shape_dependent=True)
    _affine_both(ctx, "bn")
    return Translation([Piece("bn", {"eps": float(ctx.get("epsilon", 1e-3))})], ctx.x)


def layer_norm(ctx: Context) -> Translation:
    if channel_axis(ctx.get("axis", -1), ctx.x.rank) != 0:
        raise Unsupported("normalises axes other than the channels alone", shape_dependent=True)
    _affine_both(ctx, "layernorm")
    if ctx.get("rms_scaling", False):
        raise Unsupported("rms_scaling: cnncalc's layernorm subtracts the mean")
    return Translation([Piece("layernorm", {"eps": float(ctx.get("epsilon", 1e-3))})], ctx.x)


def group_norm(ctx: Context) -> Translation:
    if channel_axis(ctx.get("axis", -1), ctx.x.rank) != 0:
        raise Unsupported("groups an axis other than the channels", shape_dependent=True)
    _affine_both(ctx, "groupnorm")
    return Translation([Piece("groupnorm", {"groups": ctx.get("groups", 32),
                                            "eps": float(ctx.get("epsilon", 1e-3))})], ctx.x)
