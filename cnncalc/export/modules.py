"""Each cnncalc op as the torch.nn module that computes it: `module_call(layer) -> Call`.

torch.nn's own module wherever it computes exactly what cnncalc's forward does; a small
module defined in the exported file (helpers.py) where torch.nn has none (add, concat,
slice...) or where cnncalc's geometry is wider than torch.nn's (padding that differs before
and after: TF/Keras 'same'). The parameters and buffers of each module are exactly the
tensors the op declares, under the same names, so state_dict keys are cnncalc's weight keys
(BatchNorm's num_batches_tracked aside, which load_npz skips).
"""
from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from cnncalc.export.calls import Call, ExportError, per_axis

if TYPE_CHECKING:
    from cnncalc.graph import Layer

_TORCH_RANKS = (1, 2, 3)  # torch.nn has 1-d, 2-d and 3-d convolutions, pools and pads


def _rank(layer: Layer, what: str) -> int:
    rank = len(layer.in_shapes[0]) - 1
    if rank not in _TORCH_RANKS:
        raise ExportError(f"{layer.op_name} '{layer.name}': torch.nn has no {what} over {rank} "
                          "spatial axes (only 1, 2 or 3)")
    return rank


def _pads(pairs: Any) -> tuple[int, ...]:
    """(before, after) per spatial axis -> F.pad's order: the last axis first."""
    return tuple(v for before, after in reversed(pairs) for v in (before, after))


def _symmetric(windows: Any, at_most_half: bool = False) -> bool:
    return all(w.pad_before == w.pad_after and (not at_most_half or w.pad_before <= w.kernel // 2)
               for w in windows)


def _conv(layer: Layer) -> Call:
    a = layer.attrs
    rank = _rank(layer, "convolution")
    w = a.windows
    args: list[tuple[str, object]] = [("in_channels", a.in_channels), ("out_channels", a.out_channels),
                                      ("kernel_size", per_axis([x.kernel for x in w]))]
    stride, dilation = per_axis([x.stride for x in w]), per_axis([x.dilation for x in w])
    if stride != 1:
        args.append(("stride", stride))
    symmetric = _symmetric(w)
    padding = per_axis([x.pad_before for x in w])
    if symmetric and padding != 0:
        args.append(("padding", padding))
    if dilation != 1:
        args.append(("dilation", dilation))
    if a.groups != 1:
        args.append(("groups", a.groups))
    if not layer.args["bias"]:
        args.append(("bias", False))
    if symmetric:
        return Call(f"nn.Conv{rank}d", tuple(args), 3)
    args.append(("pads", _pads([(x.pad_before, x.pad_after) for x in w])))
    return Call(f"PaddedConv{rank}d", tuple(args), 3, (f"PaddedConv{rank}d",))


def _deconv(layer: Layer) -> Call:
    a = layer.attrs
    rank = _rank(layer, "transposed convolution")
    w = a.windows
    args: list[tuple[str, object]] = [("in_channels", a.in_channels), ("out_channels", a.out_channels),
                                      ("kernel_size", per_axis([x.kernel for x in w]))]
    stride, dilation = per_axis([x.stride for x in w]), per_axis([x.dilation for x in w])
    if stride != 1:
        args.append(("stride", stride))
    symmetric = _symmetric(w)
    padding = per_axis([x.pad_before for x in w])
    if symmetric and padding != 0:
        args.append(("padding", padding))
    if any(a.output_padding):
        args.append(("output_padding", per_axis(a.output_padding)))
    if a.groups != 1:
        args.append(("groups", a.groups))
    if not layer.args["bias"]:
        args.append(("bias", False))
    if dilation != 1:
        args.append(("dilation", dilation))
    if symmetric:
        return Call(f"nn.ConvTranspose{rank}d", tuple(args), 3)
    # PyTorch's padding crops the output; different crops before and after are cut explicitly.
    args.append(("crops", tuple((x.pad_before, x.pad_after) for x in w)))
    return Call(f"CroppedConvTranspose{rank}d", tuple(args), 3, (f"CroppedConvTranspose{rank}d",))


def _pool(layer: Layer) -> Call:
    kind = "Max" if layer.op_name == "maxpool" else "Avg"
    rank = _rank(layer, "pooling")
    w = layer.attrs.windows
    args: list[tuple[str, object]] = [("kernel_size", per_axis([x.kernel for x in w])),
                                      ("stride", per_axis([x.stride for x in w]))]
    # torch.nn pools pad each side alike, at most half the kernel; other padding goes to F.pad.
    symmetric = _symmetric(w, at_most_half=True)
    padding = per_axis([x.pad_before for x in w])
    if symmetric and padding != 0:
        args.append(("padding", padding))
    dilation = per_axis([x.dilation for x in w])
    if dilation != 1:
        args.append(("dilation", dilation))
    if layer.args["ceil_mode"]:
        args.append(("ceil_mode", True))
    if kind == "Avg" and not layer.args["count_include_pad"]:
        args.append(("count_include_pad", False))
    if symmetric:
        return Call(f"nn.{kind}Pool{rank}d", tuple(args), 1)
    args.append(("pads", _pads([(x.pad_before, x.pad_after) for x in w])))
    name = f"Padded{kind}Pool{rank}d"
    return Call(name, tuple(args), 1, (name, "trim_windows"))


def _adaptive(layer: Layer) -> Call:
    kind = "Max" if layer.op_name in ("adaptive_maxpool", "gmp") else "Avg"
    rank = _rank(layer, "adaptive pooling")
    sizes = layer.out_shape[1:] if layer.op_name.startswith("adaptive") else (1,) * rank
    return Call(f"nn.Adaptive{kind}Pool{rank}d", (("output_size", per_axis(sizes)),), 1)


def _bn(layer: Layer) -> Call:
    rank = len(layer.in_shapes[0]) - 1
    if rank > 3:
        raise ExportError(f"bn '{layer.name}': torch.nn has no batch norm over {rank} spatial axes")
    args: list[tuple[str, object]] = [("num_features", layer.in_shapes[0][0])]
    if layer.args["eps"] != 1e-5:
        args.append(("eps", layer.args["eps"]))
    return Call(f"nn.BatchNorm{max(rank, 1)}d", tuple(args), 1)


def _eps(layer: Layer, args: list[tuple[str, object]]) -> tuple[tuple[str, object], ...]:
    if layer.args["eps"] != 1e-5:
        args.append(("eps", layer.args["eps"]))
    return tuple(args)


def _layernorm(layer: Layer) -> Call:
    shape = layer.in_shapes[0]
    if layer.args["over"] == "all":
        return Call("nn.LayerNorm", _eps(layer, [("normalized_shape", list(shape))]), 1)
    if len(shape) == 1:  # a flat [C] input: the channels are the last axis already
        return Call("nn.LayerNorm", _eps(layer, [("normalized_shape", shape[0])]), 1)
    return Call("ChannelLayerNorm", _eps(layer, [("normalized_shape", shape[0])]), 1,
                ("ChannelLayerNorm",))


def _upsample(layer: Layer) -> Call:
    rank = len(layer.in_shapes[0]) - 1
    mode = layer.args["mode"]
    if mode == "linear":
        mode = {1: "linear", 2: "bilinear", 3: "trilinear"}.get(rank, "")
        if not mode:
            raise ExportError(f"upsample '{layer.name}': PyTorch interpolates linearly over 1, 2 "
                              f"or 3 spatial axes, not {rank}")
    scales = tuple(float(s) for s in layer.attrs)
    args: list[tuple[str, object]] = [("scale_factor", per_axis(scales)), ("mode", mode)]  # type: ignore[arg-type]
    if layer.args["align_corners"]:
        args.append(("align_corners", True))
    return Call("nn.Upsample", tuple(args))


def _slice(layer: Layer) -> Call:
    a = layer.attrs
    args: list[tuple[str, object]] = [("dim", a.axis + 1), ("start", a.start), ("stop", a.stop)]
    if a.step != 1:
        args.append(("step", a.step))
    return Call("Slice", tuple(args), len(args), ("Slice",))


def _plain(func: str, *keys: str, positional: int = 1) -> Callable[[Layer], Call]:
    """A module whose arguments are the layer's own, in this order."""
    def make(layer: Layer) -> Call:
        return Call(func, tuple((key, layer.args[key]) for key in keys), positional)
    return make


def _leaky(layer: Layer) -> Call:
    slope = layer.args["slope"]
    return Call("nn.LeakyReLU", (("negative_slope", slope),) if slope != 0.01 else (), 1)


def _axis_call(func: str, helper: bool) -> Callable[[Layer], Call]:
    def make(layer: Layer) -> Call:
        return Call(func, (("dim", layer.attrs + 1),), 0, (func,) if helper else ())
    return make


def _pad(layer: Layer) -> Call:
    rank = _rank(layer, "padding")
    return Call(f"nn.ZeroPad{rank}d", (("padding", _pads(layer.attrs)),), 1)


def _simple(func: str, helper: bool = False) -> Callable[[Layer], Call]:
    return lambda layer: Call(func, (), 0, (func,) if helper else ())


MODULES: dict[str, Callable[[Layer], Call]] = {
    "conv": _conv,
    "deconv": _deconv,
    "dense": lambda layer: Call("nn.Linear", (
        ("in_features", layer.in_shapes[0][0]), ("out_features", layer.args["units"]),
        *((("bias", False),) if not layer.args["bias"] else ())), 2),
    "maxpool": _pool,
    "avgpool": _pool,
    "adaptive_avgpool": _adaptive,
    "adaptive_maxpool": _adaptive,
    "gap": _adaptive,
    "gmp": _adaptive,
    "bn": _bn,
    "layernorm": _layernorm,
    "groupnorm": lambda layer: Call("nn.GroupNorm", _eps(layer, [
        ("num_groups", layer.args["groups"]), ("num_channels", layer.in_shapes[0][0])]), 2),
    "lrn": _plain("nn.LocalResponseNorm", "size", "alpha", "beta", "k", positional=4),
    "relu": _simple("nn.ReLU"),
    "relu6": _simple("nn.ReLU6"),
    "leaky_relu": _leaky,
    "sigmoid": _simple("nn.Sigmoid"),
    "tanh": _simple("nn.Tanh"),
    "gelu": _simple("nn.GELU"),
    "silu": _simple("nn.SiLU"),
    "hardswish": _simple("nn.Hardswish"),
    "hardsigmoid": _simple("nn.Hardsigmoid"),
    "identity": _simple("nn.Identity"),
    "dropout": _plain("nn.Dropout", "rate"),
    "softmax": _axis_call("nn.Softmax", False),
    "flatten": _simple("nn.Flatten"),
    "concat": _axis_call("Concat", True),
    "add": _simple("Add", True),
    "multiply": _simple("Multiply", True),
    "slice": _slice,
    "pad": _pad,
    "upsample": _upsample,
    "channel_shuffle": lambda layer: Call("ChannelShuffle", (("groups", layer.args["groups"]),), 1,
                                          ("ChannelShuffle",)),
    "scale": lambda layer: Call("Scale", (("channels", layer.in_shapes[0][0]),
                                          ("init", layer.args["init"])), 1, ("Scale",)),
    "drop_path": lambda layer: Call("DropPath", (("rate", layer.args["rate"]),
                                                 ("mode", layer.args["mode"])), 0, ("DropPath",)),
    "channel_pad": lambda layer: Call("ChannelPad", (("before", layer.args["before"]),
                                                     ("after", layer.args["after"])), 2, ("ChannelPad",)),
    "channel_dense": lambda layer: Call("ChannelDense", (
        ("in_features", layer.in_shapes[0][0]), ("out_features", layer.args["units"]),
        *((("bias", False),) if not layer.args["bias"] else ())), 2, ("ChannelDense",)),
}


def module_call(layer: Layer) -> Call:
    """The constructor call of the module computing `layer` (ExportError naming the layer if
    the exporter cannot write its op)."""
    make = MODULES.get(layer.op_name)
    if make is None:
        raise ExportError(f"{layer.op_name} '{layer.name}': the PyTorch exporter has no module "
                          f"for op '{layer.op_name}'", layer.loc)
    try:
        return make(layer)
    except ExportError as exc:
        raise ExportError(str(exc), layer.loc) from None
