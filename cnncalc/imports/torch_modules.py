"""torch.nn modules (fx leaves) -> cnncalc layers, named after their module paths.

A module whose settings change what it computes, stores or counts in a way cnncalc's op
does not (a conv's reflect padding, a batch norm without running statistics, the tanh GELU)
is reported, never mapped to something close.
"""
from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from torch import nn

from cnncalc.imports.torch_values import CHANNELS_LAST, Tensor, Unsupported

if TYPE_CHECKING:
    from torch import fx

    from cnncalc.imports.torch_convert import Converter

ModuleHandler = Callable[["Converter", "fx.Node", Any, Tensor], Any]


def per_axis(values: Any) -> Any:
    """(3, 3) -> 3; (1, 2) -> [1, 2]; an int stays an int."""
    if isinstance(values, (tuple, list)):
        items = [int(v) for v in values]
        return items[0] if len(set(items)) == 1 else items
    return int(values)


def is_default(value: Any, default: int) -> bool:
    return bool(per_axis(value) == default)


def _conv(conv: Converter, node: fx.Node, m: Any, x: Tensor) -> Tensor:
    if m.padding_mode != "zeros":
        raise Unsupported(f"padding_mode={m.padding_mode!r}: cnncalc pads with zeros only")
    transposed = isinstance(m, nn.modules.conv._ConvTransposeNd)
    args: dict[str, Any] = {"filters": m.out_channels, "kernel": per_axis(m.kernel_size)}
    if not is_default(m.stride, 1):
        args["stride"] = per_axis(m.stride)
    if isinstance(m.padding, str):
        if m.padding != "valid":
            args["padding"] = m.padding
    elif not is_default(m.padding, 0):
        args["padding"] = per_axis(m.padding)
    if transposed and not is_default(m.output_padding, 0):
        args["output_padding"] = per_axis(m.output_padding)
    if not is_default(m.dilation, 1):
        args["dilation"] = per_axis(m.dilation)
    if m.groups != 1:
        args["groups"] = m.groups
    if m.bias is None:
        args["bias"] = False
    return conv.emit("deconv" if transposed else "conv", args, [x], name=str(node.target))


def _linear(conv: Converter, node: fx.Node, m: Any, x: Tensor) -> Tensor:
    args: dict[str, Any] = {"units": m.out_features}
    if m.bias is None:
        args["bias"] = False
    if x.layout == CHANNELS_LAST and x.rank >= 3:
        return conv.emit("channel_dense", args, [x], name=str(node.target))
    if x.rank == 2:
        return conv.emit("dense", args, [x], name=str(node.target))
    raise Unsupported(f"a Linear on the last axis of a {x.rank}-D channels-first tensor "
                      f"{list(x.shape)} (cnncalc's dense reads a flat vector, channel_dense "
                      "the channels)")


def _batch_norm(conv: Converter, node: fx.Node, m: Any, x: Tensor) -> Tensor:
    if not m.affine:
        raise Unsupported("affine=False: cnncalc's bn has a learned scale and shift")
    if not m.track_running_stats:
        raise Unsupported("track_running_stats=False: cnncalc's bn uses running statistics")
    if x.layout == CHANNELS_LAST:
        raise Unsupported("a batch norm on a permuted (channels-last) tensor")
    return conv.emit("bn", _eps(m.eps), [x], name=str(node.target))


def _eps(eps: float, default: float = 1e-5) -> dict[str, Any]:
    return {} if eps == default else {"eps": float(eps)}


def layer_norm(conv: Converter, x: Tensor, shape: Sequence[int], eps: float, affine: bool,
               name: str) -> Tensor:
    """LayerNorm over the channels at each position (or over the whole sample)."""
    if not affine:
        raise Unsupported("no elementwise affine (weight and bias): cnncalc's layernorm has both")
    shape = tuple(int(n) for n in shape)
    if shape == (x.channels,) and (x.layout == CHANNELS_LAST or x.rank == 2):
        return conv.emit("layernorm", _eps(eps), [x], name=name)
    if x.layout != CHANNELS_LAST and shape == x.shape[1:]:
        return conv.emit("layernorm", {**_eps(eps), "over": "all"}, [x], name=name)
    raise Unsupported(f"normalized_shape {list(shape)} on a tensor of shape {list(x.shape)}: "
                      "cnncalc normalises the channels at each position or the whole sample")


def _layer_norm(conv: Converter, node: fx.Node, m: Any, x: Tensor) -> Tensor:
    affine = m.elementwise_affine and m.bias is not None
    return layer_norm(conv, x, m.normalized_shape, m.eps, affine, str(node.target))


def _group_norm(conv: Converter, node: fx.Node, m: Any, x: Tensor) -> Tensor:
    if not m.affine:
        raise Unsupported("affine=False: cnncalc's groupnorm has a learned scale and shift")
    return conv.emit("groupnorm", {"groups": m.num_groups, **_eps(m.eps)}, [x],
                     name=str(node.target))


def _instance_norm(conv: Converter, node: fx.Node, m: Any, x: Tensor) -> Tensor:
    # Instance norm is group norm with one channel per group, when it has an affine part
    # and no running statistics.
    if not m.affine or m.track_running_stats:
        raise Unsupported("only affine=True, track_running_stats=False maps to cnncalc "
                          "(groupnorm with one group per channel)")
    return conv.emit("groupnorm", {"groups": x.channels, **_eps(m.eps)}, [x],
                     name=str(node.target))


def _lrn(conv: Converter, node: fx.Node, m: Any, x: Tensor) -> Tensor:
    return conv.emit("lrn", {"size": m.size, "alpha": float(m.alpha), "beta": float(m.beta),
                             "k": float(m.k)}, [x], name=str(node.target))


def _activation(op: str) -> ModuleHandler:
    def handler(conv: Converter, node: fx.Node, m: Any, x: Tensor) -> Tensor:
        return conv.emit(op, {}, [x], name=str(node.target))
    return handler


def _hardtanh(conv: Converter, node: fx.Node, m: Any, x: Tensor) -> Tensor:
    if (m.min_val, m.max_val) != (0.0, 6.0):
        raise Unsupported(f"Hardtanh({m.min_val}, {m.max_val}): only (0, 6) is relu6")
    return conv.emit("relu6", {}, [x], name=str(node.target))


def _leaky(conv: Converter, node: fx.Node, m: Any, x: Tensor) -> Tensor:
    args = {} if m.negative_slope == 0.01 else {"slope": float(m.negative_slope)}
    return conv.emit("leaky_relu", args, [x], name=str(node.target))


def _gelu(conv: Converter, node: fx.Node, m: Any, x: Tensor) -> Tensor:
    if m.approximate != "none":
        raise Unsupported(f"approximate={m.approximate!r}: cnncalc's gelu is the exact erf form")
    return conv.emit("gelu", {}, [x], name=str(node.target))


def _softmax(conv: Converter, node: fx.Node, m: Any, x: Tensor) -> Tensor:
    if m.dim is None:
        raise Unsupported("Softmax without a dim")
    axis = x.axis(m.dim)
    return conv.emit("softmax", {"axis": axis} if axis else {}, [x], name=str(node.target))


def pool(conv: Converter, op: str, x: Tensor, kernel: Any, stride: Any, padding: Any,
         ceil_mode: bool, extra: dict[str, Any], name: str | None = None) -> Tensor:
    """max/avg pooling; `extra` holds the op's own settings (dilation, count_include_pad)."""
    if x.layout == CHANNELS_LAST:
        raise Unsupported("pooling a permuted (channels-last) tensor")
    args: dict[str, Any] = {"kernel": per_axis(kernel)}
    # PyTorch's default stride (None, or [] in the functional form) is the kernel, as cnncalc's.
    given = stride is not None and not (isinstance(stride, (tuple, list)) and not stride)
    if given and per_axis(stride) != per_axis(kernel):
        args["stride"] = per_axis(stride)
    if not is_default(padding, 0):
        args["padding"] = per_axis(padding)
    if ceil_mode:
        args["ceil_mode"] = True
    args.update(extra)
    return conv.emit(op, args, [x], name=name)


def _maxpool(conv: Converter, node: fx.Node, m: Any, x: Tensor) -> Tensor:
    if m.return_indices:
        raise Unsupported("return_indices=True")
    extra = {} if is_default(m.dilation, 1) else {"dilation": per_axis(m.dilation)}
    return pool(conv, "maxpool", x, m.kernel_size, m.stride, m.padding, m.ceil_mode, extra,
                str(node.target))


def _avgpool(conv: Converter, node: fx.Node, m: Any, x: Tensor) -> Tensor:
    if m.divisor_override is not None:
        raise Unsupported("divisor_override: cnncalc divides by the window size")
    extra = {} if m.count_include_pad else {"count_include_pad": False}
    return pool(conv, "avgpool", x, m.kernel_size, m.stride, m.padding, m.ceil_mode, extra,
                str(node.target))


def adaptive(conv: Converter, kind: str, x: Tensor, output: Any, name: str | None = None) -> Tensor:
    """adaptive average/max pooling: to 1 everywhere is gap/gmp."""
    spatial = x.rank - 2
    sizes = list(output) if isinstance(output, (tuple, list)) else [output] * spatial
    if all(size == 1 for size in sizes):
        return conv.emit("gap" if kind == "avg" else "gmp", {}, [x], name=name)
    value = [None if size is None else int(size) for size in sizes]
    arg = value[0] if len(set(value)) == 1 and value[0] is not None else value
    return conv.emit(f"adaptive_{kind}pool", {"output": arg}, [x], name=name)


def _adaptive_avg(conv: Converter, node: fx.Node, m: Any, x: Tensor) -> Tensor:
    return adaptive(conv, "avg", x, m.output_size, str(node.target))


def _adaptive_max(conv: Converter, node: fx.Node, m: Any, x: Tensor) -> Tensor:
    if m.return_indices:
        raise Unsupported("return_indices=True")
    return adaptive(conv, "max", x, m.output_size, str(node.target))


def flatten(conv: Converter, x: Tensor, start: int, end: int, name: str | None = None) -> Tensor:
    """flatten(1, -1) of a channels-first tensor; already flat is no layer."""
    if x.layout == CHANNELS_LAST:
        raise Unsupported("flattening a permuted (channels-last) tensor")
    if start % x.rank != 1 or end % x.rank != x.rank - 1:
        raise Unsupported(f"flatten({start}, {end}) of a {x.rank}-D tensor: cnncalc flattens "
                          "everything but the batch")
    if x.rank == 2:
        return x
    return conv.emit("flatten", {}, [x], name=name)


def _flatten(conv: Converter, node: fx.Node, m: Any, x: Tensor) -> Tensor:
    return flatten(conv, x, m.start_dim, m.end_dim, str(node.target))


def dropout(conv: Converter, x: Tensor, rate: float, name: str | None = None) -> Tensor:
    return conv.emit("dropout", {} if rate == 0.5 else {"rate": float(rate)}, [x], name=name)


def _dropout(conv: Converter, node: fx.Node, m: Any, x: Tensor) -> Tensor:
    return dropout(conv, x, m.p, str(node.target))


def _identity(conv: Converter, node: fx.Node, m: Any, x: Tensor) -> Tensor:
    return x


def _pad(conv: Converter, node: fx.Node, m: Any, x: Tensor) -> Tensor:
    return pad(conv, x, list(m.padding), "constant", float(getattr(m, "value", 0.0)),
               str(node.target))


def _upsample(conv: Converter, node: fx.Node, m: Any, x: Tensor) -> Tensor:
    return interpolate(conv, x, m.size, m.scale_factor, m.mode, m.align_corners, False,
                       str(node.target))


def pad(conv: Converter, x: Tensor, pads: list[int], mode: str, value: float,
        name: str | None = None) -> Tensor:
    """F.pad's (last axis first) pairs -> `pad` on the spatial axes or `channel_pad`."""
    if mode != "constant" or value != 0:
        raise Unsupported(f"{mode} padding with value {value}: cnncalc pads with zeros")
    if len(pads) % 2 or len(pads) // 2 > x.rank:
        raise Unsupported(f"padding {pads} for a {x.rank}-D tensor")
    if any(p < 0 for p in pads):
        raise Unsupported("negative padding (cropping)")
    per_dim = [(0, 0)] * x.rank
    for index in range(len(pads) // 2):
        per_dim[x.rank - 1 - index] = (int(pads[2 * index]), int(pads[2 * index + 1]))
    channel_dim = x.rank - 1 if x.layout == CHANNELS_LAST else 1
    spatial = [per_dim[d] for d in range(1, x.rank) if d != channel_dim]
    if per_dim[0] != (0, 0):
        raise Unsupported("padding the batch axis")
    if per_dim[channel_dim] != (0, 0):
        if any(p != (0, 0) for p in spatial):
            raise Unsupported("padding the channels and the spatial axes at once")
        before, after = per_dim[channel_dim]
        return conv.emit("channel_pad", {"before": before, "after": after}, [x], name=name)
    if x.layout == CHANNELS_LAST:
        raise Unsupported("padding a permuted (channels-last) tensor")
    return conv.emit("pad", {"padding": [list(p) for p in spatial]}, [x], name=name)


MODES = ("nearest", "nearest-exact", "linear", "bilinear", "trilinear", "bicubic")


def interpolate(conv: Converter, x: Tensor, size: Any, scale: Any, mode: str,
                align_corners: bool | None, antialias: bool, name: str | None = None) -> Tensor:
    """Upsample/interpolate by a scale factor (a size that is a whole multiple of the input)."""
    if mode not in MODES:
        raise Unsupported(f"mode={mode!r}: cnncalc upsamples with {', '.join(MODES)}")
    if antialias:
        raise Unsupported("antialias=True")
    if x.layout == CHANNELS_LAST:
        raise Unsupported("resizing a permuted (channels-last) tensor")
    spatial = x.shape[2:]
    if scale is not None:
        scales = list(scale) if isinstance(scale, (tuple, list)) else [scale] * len(spatial)
        factors: list[Any] = [int(s) if float(s).is_integer() else float(s) for s in scales]
    else:
        sizes = list(size) if isinstance(size, (tuple, list)) else [size] * len(spatial)
        if any(int(out) % n for out, n in zip(sizes, spatial)):
            raise Unsupported(f"resizing {list(spatial)} to {sizes}: cnncalc's upsample takes a "
                              "scale, and this size is not a whole multiple")
        factors = [int(out) // n for out, n in zip(sizes, spatial)]
    args: dict[str, Any] = {"scale": factors[0] if len(set(factors)) == 1 else factors}
    if mode != "nearest":
        args["mode"] = mode
    if align_corners:
        args["align_corners"] = True
    return conv.emit("upsample", args, [x], name=name)


HANDLERS: list[tuple[type, ModuleHandler]] = [
    (nn.modules.conv._ConvNd, _conv),
    (nn.Linear, _linear),
    (nn.modules.batchnorm._BatchNorm, _batch_norm),
    (nn.LayerNorm, _layer_norm),
    (nn.GroupNorm, _group_norm),
    (nn.modules.instancenorm._InstanceNorm, _instance_norm),
    (nn.LocalResponseNorm, _lrn),
    (nn.ReLU, _activation("relu")),
    (nn.ReLU6, _activation("relu6")),
    (nn.Hardtanh, _hardtanh),
    (nn.LeakyReLU, _leaky),
    (nn.SiLU, _activation("silu")),
    (nn.GELU, _gelu),
    (nn.Sigmoid, _activation("sigmoid")),
    (nn.Tanh, _activation("tanh")),
    (nn.Hardsigmoid, _activation("hardsigmoid")),
    (nn.Hardswish, _activation("hardswish")),
    (nn.Softmax, _softmax),
    (nn.modules.pooling._MaxPoolNd, _maxpool),
    (nn.modules.pooling._AvgPoolNd, _avgpool),
    (nn.modules.pooling._AdaptiveAvgPoolNd, _adaptive_avg),
    (nn.modules.pooling._AdaptiveMaxPoolNd, _adaptive_max),
    (nn.Flatten, _flatten),
    (nn.modules.dropout._DropoutNd, _dropout),
    (nn.Identity, _identity),
    (nn.modules.padding._ConstantPadNd, _pad),
    (nn.Upsample, _upsample),
]


def call(conv: Converter, node: fx.Node, module: Any, args: Any, kwargs: Any) -> Any:
    """The value a call of a leaf module makes."""
    kind = type(module)
    # fx calls only torch.nn's own modules leaves (a subclass is traced through), so the
    # module's class says what it computes.
    handler = next((h for base, h in HANDLERS if isinstance(module, base)), None)
    if handler is None:
        raise Unsupported(f"no cnncalc op for the module {kind.__name__}")
    if len(args) != 1 or kwargs:
        raise Unsupported(f"{kind.__name__} called with {len(args) + len(kwargs)} arguments")
    x = conv.tensor(args[0])
    if conv.calls[str(node.target)] > 1 and any(True for _ in module.parameters()):
        raise Unsupported("a module with weights called more than once: cnncalc would count "
                          "its weights once per call")
    return handler(conv, node, module, x)
