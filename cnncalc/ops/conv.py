"""Convolution and transposed convolution (any number of spatial axes, PyTorch semantics)."""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from math import prod
from typing import TYPE_CHECKING, Any

from cnncalc.ops import base, rfmap
from cnncalc.ops.args import Arg, Bool, Groups, Int, Padding, PerAxis
from cnncalc.ops.base import Op, OpError, Saved, Shape, Tensor, per_axis, per_value, saved_input, spatial_rank
from cnncalc.ops.registry import register
from cnncalc.ops.window import AxisWindow, check_out_sizes, resolve_pads, window_attrs
from cnncalc.text import fmt_int

if TYPE_CHECKING:
    from collections.abc import Mapping

    from numpy import ndarray

    from cnncalc.graph import Layer
    from cnncalc.ops.rfmap import Read


@dataclass(frozen=True)
class ConvAttrs:
    in_channels: int
    out_channels: int
    groups: int
    windows: tuple[AxisWindow, ...]  # for deconv: pads are PyTorch's `padding` (a crop)
    output_padding: tuple[int, ...] = ()

    @property
    def kernel(self) -> tuple[int, ...]:
        return tuple(w.kernel for w in self.windows)


def _channels(args: dict[str, Any], in_channels: int, what: str) -> tuple[int, int]:
    """Resolve `groups` (incl. depthwise) and `filters`, checking divisibility."""
    groups = in_channels if args["groups"] == "depthwise" else args["groups"]
    filters = args["filters"]
    if filters is None:
        if args["groups"] != "depthwise":
            raise OpError(f"{what} needs 'filters' (it may be left out only with groups: depthwise)",
                          None, "missing-arg")
        filters = in_channels
    if in_channels % groups:
        raise OpError(f"groups={groups} does not divide the {in_channels} input channels", "groups",
                      "groups")
    if filters % groups:
        raise OpError(f"groups={groups} does not divide filters={filters}", "groups", "groups")
    return filters, groups


def _param_formula(kernel: Sequence[int], per_group_in: int, filters: int, bias: bool) -> str:
    weights = prod(kernel) * per_group_in * filters
    text = f"({'*'.join(map(str, kernel))}*{per_group_in})*{filters}"
    if bias:
        return f"{text} + {filters} = {fmt_int(weights + filters)}"
    return f"{text} = {fmt_int(weights)} (no bias)"


class _ConvBase(Op[ConvAttrs]):
    """What conv and deconv share: weights, parameter formula, cost, memory and calibration.
    They differ in the weight layout (`_weight_shape`) and in what MACs count (`_mac_terms`)."""

    flops_rule = "2 x MACs, + 1 add per output value with bias"
    saves_rule = "input (for the weight gradient)"

    def _mac_terms(self, layer: Layer) -> tuple[list[int], int, list[int]]:
        """(positions, channels per group, kernel): MACs = prod(positions) * channels * prod(kernel)."""
        raise NotImplementedError

    def _weight_shape(self, a: ConvAttrs) -> Shape:
        raise NotImplementedError

    def tensors(self, layer: Layer) -> list[Tensor]:
        weight = Tensor("weight", self._weight_shape(self.attrs(layer)))
        return [weight, Tensor("bias", (self.attrs(layer).out_channels,))] if layer.args["bias"] else [weight]

    def param_formula(self, layer: Layer) -> str:
        a = self.attrs(layer)
        return _param_formula(a.kernel, a.in_channels // a.groups, a.out_channels, layer.args["bias"])

    def calibrate(self, layer: Layer, inputs: list[ndarray], output: ndarray,
                  weights: Mapping[str, ndarray]) -> dict[str, ndarray]:
        unit_output = base.kernels.unit_output
        return unit_output(weights, output)

    def macs(self, layer: Layer) -> int:
        positions, channels, kernel = self._mac_terms(layer)
        return prod(positions) * channels * prod(kernel)

    def macs_formula(self, layer: Layer) -> str:
        positions, channels, kernel = self._mac_terms(layer)
        return (f"({'*'.join(map(str, positions))})*({channels}*{'*'.join(map(str, kernel))})"
                f" = {fmt_int(self.macs(layer))}")

    def flops(self, layer: Layer) -> tuple[int, str]:
        if not layer.args["bias"]:
            return 0, "no bias"
        return per_value(1, prod(layer.out_shape), "bias")

    def saved_for_backward(self, layer: Layer) -> list[Saved]:
        return [saved_input(layer)]

    # Backward: grad input is the transposed operation (a conv's is a deconv and vice versa)
    # over the same weights, and grad weights correlates the input with the output gradient:
    # each is one product per (output position, input channel, tap, filter) pair, as forward.
    backward_macs_rule = "2 x MACs (grad input: the transposed op, grad weights: the same again)"
    backward_flops_rule = "1 add per output value with bias (the bias gradient sums the output gradient)"

    def backward_macs(self, layer: Layer) -> int:
        return 2 * self.macs(layer)

    def weight_grad_macs(self, layer: Layer) -> int:
        return self.macs(layer)

    def backward_macs_formula(self, layer: Layer) -> str:
        macs = self.macs(layer)
        return f"grad input {fmt_int(macs)} + grad weights {fmt_int(macs)} = {fmt_int(2 * macs)}"

    def backward_flops(self, layer: Layer) -> tuple[int, str]:
        if not layer.args["bias"]:
            return 0, "no bias"
        return per_value(1, prod(layer.out_shape), "bias gradient")

    def weight_grad_flops(self, layer: Layer) -> int:
        return prod(layer.out_shape) if layer.args["bias"] else 0


_FILTERS = ("out_channels", "num_output", "units", "features")
_KERNEL = ("kernel_size", "kernel_shape")
_DILATION = ("dilation_rate", "dilations")

_COMMON = (
    Arg("stride", PerAxis(1), 1, "step between windows", ("strides", "subsample")),
    Arg("padding", Padding(), 0, "zero padding: int, per axis, per side, same or valid", ("pad", "pads")),
)


@register
class Conv(_ConvBase):
    name = "conv"
    aliases = ("Conv2d", "Convolution", "DepthwiseConv2D")
    summary = "convolution (cross-correlation, as in every framework)"
    notes = ("Weights [filters, in_channels / groups, *kernel], plus a bias per filter. `groups: depthwise` "
             "means one group per input channel, and `filters` then defaults to the input channels. "
             "`padding: same` follows TF/Keras (output = ceil(n / stride), the odd extra pixel after).")
    arguments = (
        Arg("filters", Int(1), None, "output channels (required unless groups: depthwise)", _FILTERS),
        Arg("kernel", PerAxis(1), doc="window size", aliases=_KERNEL),
        *_COMMON,
        Arg("dilation", PerAxis(1), 1, "spacing between kernel taps", _DILATION),
        Arg("groups", Groups(), 1,
            "channel groups (dividing the input channels and filters); depthwise = one per input channel",
            ("group",)),
        Arg("bias", Bool(), True, "add a learned bias per filter", ("use_bias",)),
    )

    def infer(self, args: dict[str, Any], inputs: Sequence[Shape]) -> tuple[Shape, Any]:
        shape = inputs[0]
        spatial_rank(shape, "conv")
        filters, groups = _channels(args, shape[0], "conv")
        windows = window_attrs(args, shape[1:], kernel=args["kernel"], stride=args["stride"],
                               dilation=args["dilation"])
        sizes = check_out_sizes(windows, "conv")
        return (filters, *sizes), ConvAttrs(shape[0], filters, groups, windows)

    def shape_formula(self, layer: Layer) -> list[str]:
        attrs = self.attrs(layer)
        lines = [f"spatial axis {i}: {w.formula()}" for i, w in enumerate(attrs.windows, start=1)]
        return [f"channels: filters = {attrs.out_channels}", *lines]

    def _weight_shape(self, a: ConvAttrs) -> Shape:
        return (a.out_channels, a.in_channels // a.groups, *a.kernel)

    macs_rule = "output values x input channels/groups x kernel volume"

    def _mac_terms(self, layer: Layer) -> tuple[list[int], int, list[int]]:
        # Every output value is one dot product over its group's input channels x the kernel.
        a = self.attrs(layer)
        return list(layer.out_shape), a.in_channels // a.groups, list(a.kernel)

    def rf(self, layer: Layer) -> list[Read]:
        # Groups and depthwise only split channels: every axis reads the same window.
        return [(0, tuple(rfmap.window(w) for w in self.attrs(layer).windows))]

    def forward(self, layer: Layer, inputs: list[ndarray], weights: Mapping[str, ndarray],
                overwrite: int | None = None) -> ndarray:
        kernels = base.kernels
        a = self.attrs(layer)
        strides, pads, dilations = _geometry(a)
        return kernels.conv(inputs[0], weights["weight"], weights.get("bias"), strides, pads,
                            dilations, a.groups, label=layer.name)

    def backward(self, layer: Layer, inputs: list[ndarray | None], output: ndarray | None,
                 weights: Mapping[str, ndarray], grad_output: ndarray,
                 need: Sequence[bool] | None = None) -> tuple[list[ndarray | None], dict[str, ndarray]]:
        # Input: a transposed convolution of the output gradient; weight: dY @ im2col(x)^T.
        grad = base.kernels.grad
        a = self.attrs(layer)
        strides, pads, dilations = _geometry(a)
        x = inputs[0]
        assert x is not None
        gx, gw, gb = grad.conv_grads(x, weights["weight"], grad_output, strides, pads, dilations,
                                     a.groups, bias=layer.args["bias"],
                                     need_input=need is None or need[0], label=layer.name)
        return [gx], _weight_grads(gw, gb)

    def reach(self, layer: Layer, inputs: list[ndarray]) -> ndarray:
        # A unit depends on a position when some tap of its window lands there: the max of
        # the 0/1 mask over the same window (strides, pads, dilation; padding never counts).
        # Max pooling reduces the window axis by axis, far cheaper than an im2col.
        kernels = base.kernels
        a = self.attrs(layer)
        strides, pads, dilations = _geometry(a)
        return kernels.max_pool(inputs[0], a.kernel, strides, pads, dilations)

    def workspace(self, layer: Layer) -> int:
        # The zero-padded copy of the input and the im2col columns (input channels x kernel
        # volume x output positions; a strided 1x1 conv copies the sampled positions).
        a = self.attrs(layer)
        padded = 0
        if any(w.pad_before or w.pad_after for w in a.windows):
            padded = a.in_channels * prod(w.size + w.pad_before + w.pad_after for w in a.windows)
        cols = a.in_channels * prod(a.kernel) * prod(layer.out_shape[1:])
        if prod(a.kernel) == 1 and all(w.stride == 1 for w in a.windows):
            cols = 0  # a plain 1x1 conv multiplies the input as it is
        return padded + cols


@register
class Deconv(_ConvBase):
    name = "deconv"
    aliases = ("ConvTranspose2d", "Conv2DTranspose", "Deconvolution", "conv_transpose", "transposed_conv")
    summary = "transposed convolution (PyTorch ConvTranspose semantics)"
    notes = ("Output per axis: (n - 1)*stride - pad_before - pad_after + dilation*(kernel - 1) + "
             "output_padding + 1, as PyTorch (its `padding` crops the output). `padding: same` gives "
             "output = n x stride (Keras). Weights [in_channels, filters / groups, *kernel].")
    arguments = (
        Arg("filters", Int(1), None, "output channels (required unless groups: depthwise)", _FILTERS),
        Arg("kernel", PerAxis(1), doc="window size", aliases=_KERNEL),
        Arg("stride", PerAxis(1), 1, "upsampling factor", ("strides",)),
        Arg("padding", Padding(), 0,
            "PyTorch padding (cropped from the output); same gives output = input x stride", ("pad",)),
        Arg("output_padding", PerAxis(0), 0,
            "extra size added at the end of each axis; < max(stride, dilation) as in PyTorch"),
        Arg("dilation", PerAxis(1), 1, "spacing between kernel taps", _DILATION),
        Arg("groups", Groups(), 1, "channel groups (dividing the input channels and filters)", ("group",)),
        Arg("bias", Bool(), True, "add a learned bias per filter", ("use_bias",)),
    )

    def infer(self, args: dict[str, Any], inputs: Sequence[Shape]) -> tuple[Shape, Any]:
        shape = inputs[0]
        rank = spatial_rank(shape, "deconv")
        filters, groups = _channels(args, shape[0], "deconv")
        kernels = per_axis(args["kernel"], rank, "kernel")
        strides = per_axis(args["stride"], rank, "stride")
        dilations = per_axis(args["dilation"], rank, "dilation")
        extra = per_axis(args["output_padding"], rank, "output_padding")
        same = args["padding"] == "same"
        pads = ((0, 0),) * rank if same else resolve_pads(args["padding"], shape[1:], kernels,
                                                            strides, dilations)
        windows, extras = [], []
        for n, k, s, d, op, (pb, pa) in zip(shape[1:], kernels, strides, dilations, extra, pads):
            if op >= max(s, d):
                raise OpError(f"output_padding {op} must be smaller than stride or dilation "
                              f"(max({s}, {d})), as in PyTorch", "output_padding")
            if same:
                # Keras: output = n*s. Crop the surplus d*(k-1)+1-s, or add it when negative.
                surplus = d * (k - 1) + 1 - s
                pb, pa = (surplus // 2, surplus - surplus // 2) if surplus >= 0 else (0, 0)
                op = op + max(-surplus, 0)
            windows.append(AxisWindow(n, k, s, d, pb, pa))
            extras.append(op)
        sizes = tuple(deconv_size(w, op) for w, op in zip(windows, extras))
        for axis, out in enumerate(sizes, start=1):
            if out <= 0:
                raise OpError(f"deconv output size along spatial axis {axis} would be {out}: the "
                              "padding crops more than the output has", "padding", "non-positive")
        return (filters, *sizes), ConvAttrs(shape[0], filters, groups, tuple(windows), tuple(extras))

    def shape_formula(self, layer: Layer) -> list[str]:
        a = self.attrs(layer)
        lines = [f"channels: filters = {a.out_channels}"]
        for i, (w, op) in enumerate(zip(a.windows, a.output_padding), start=1):
            span = f"{w.kernel}" if w.dilation == 1 else f"{w.dilation}*({w.kernel}-1) + 1"
            lines.append(f"spatial axis {i}: ({w.size}-1)*{w.stride} - {w.pad_before} - {w.pad_after}"
                         f" + {span} + {op} = {deconv_size(w, op)}")
        return lines

    def _weight_shape(self, a: ConvAttrs) -> Shape:
        # PyTorch's ConvTranspose layout: input channels first.
        return (a.in_channels, a.out_channels // a.groups, *a.kernel)

    macs_rule = "input values x output channels/groups x kernel volume"

    def _mac_terms(self, layer: Layer) -> tuple[list[int], int, list[int]]:
        # Every input value is scattered into its group's output channels x the kernel (the
        # taps cropped by `padding` are still computed, as PyTorch and torchvision count them).
        a = self.attrs(layer)
        return list(layer.in_shapes[0]), a.out_channels // a.groups, list(a.kernel)

    def rf(self, layer: Layer) -> list[Read]:
        # output_padding only appends output units; their taps follow the same pattern.
        return [(0, tuple(rfmap.transposed(w) for w in self.attrs(layer).windows))]

    def forward(self, layer: Layer, inputs: list[ndarray], weights: Mapping[str, ndarray],
                overwrite: int | None = None) -> ndarray:
        kernels = base.kernels
        a = self.attrs(layer)
        strides, pads, dilations = _geometry(a)
        return kernels.conv_transpose(inputs[0], weights["weight"], weights.get("bias"), strides,
                                      pads, a.output_padding, dilations, a.groups,
                                      label=layer.name)

    def backward(self, layer: Layer, inputs: list[ndarray | None], output: ndarray | None,
                 weights: Mapping[str, ndarray], grad_output: ndarray,
                 need: Sequence[bool] | None = None) -> tuple[list[ndarray | None], dict[str, ndarray]]:
        # Input: a convolution of the output gradient (output_padding and the crop undone);
        # weight: x @ im2col(dY)^T, sharing that im2col.
        grad = base.kernels.grad
        a = self.attrs(layer)
        strides, pads, dilations = _geometry(a)
        x = inputs[0]
        assert x is not None
        gx, gw, gb = grad.conv_transpose_grads(x, weights["weight"], grad_output, strides, pads,
                                               dilations, a.groups, bias=layer.args["bias"],
                                               need_input=need is None or need[0], label=layer.name)
        return [gx], _weight_grads(gw, gb)

    def reach(self, layer: Layer, inputs: list[ndarray]) -> ndarray:
        import numpy as np

        kernels = base.kernels
        a = self.attrs(layer)
        strides, pads, dilations = _geometry(a)
        ones = np.ones((1, 1, *a.kernel), inputs[0].dtype)
        return kernels.conv_transpose(inputs[0], ones, None, strides, pads, a.output_padding,
                                      dilations)

    def workspace(self, layer: Layer) -> int:
        # GEMM columns (every input position x output channels x kernel volume) and the
        # uncropped col2im buffer (at most the full output plus the cropped border).
        a = self.attrs(layer)
        cols = a.out_channels * prod(a.kernel) * prod(layer.in_shapes[0][1:])
        full = prod((w.size - 1) * w.stride + w.span + w.pad_before + w.pad_after + extra
                    for w, extra in zip(a.windows, a.output_padding))
        return cols + a.out_channels * full + prod(layer.out_shape)


def _weight_grads(weight: ndarray | None, bias: ndarray | None) -> dict[str, ndarray]:
    grads = {} if weight is None else {"weight": weight}
    return grads if bias is None else {**grads, "bias": bias}


def _geometry(a: ConvAttrs) -> tuple[list[int], list[tuple[int, int]], list[int]]:
    """Per-axis strides, (before, after) pads and dilations, as the NumPy kernels take them."""
    return ([w.stride for w in a.windows], [(w.pad_before, w.pad_after) for w in a.windows],
            [w.dilation for w in a.windows])


def deconv_size(w: AxisWindow, output_padding: int) -> int:
    return (w.size - 1) * w.stride - w.pad_before - w.pad_after + w.span + output_padding
