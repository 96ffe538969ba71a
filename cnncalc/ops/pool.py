"""Pooling: windowed max/average, global and adaptive (PyTorch semantics)."""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from math import gcd, prod
from typing import TYPE_CHECKING, Any

from cnncalc.ops import base, rfmap
from cnncalc.ops.args import AdaptiveOutput, Arg, Bool, Padding, PerAxis
from cnncalc.ops.base import (
    Grads,
    Op,
    OpError,
    Saved,
    SavedKind,
    Shape,
    batch_shape,
    per_axis,
    per_value,
    saved_input,
    spatial_rank,
)
from cnncalc.ops.registry import register
from cnncalc.ops.window import AxisWindow, check_out_sizes, window_attrs
from cnncalc.text import fmt_int, fmt_shape

if TYPE_CHECKING:
    from collections.abc import Mapping

    from numpy import ndarray

    from cnncalc.graph import Layer
    from cnncalc.ops.rfmap import Read


@dataclass(frozen=True)
class PoolAttrs:
    windows: tuple[AxisWindow, ...]


class _WindowPool(Op[PoolAttrs]):
    """maxpool / avgpool: a window slid over every spatial axis, channels untouched."""

    def infer(self, args: dict[str, Any], inputs: Sequence[Shape]) -> tuple[Shape, Any]:
        shape = inputs[0]
        spatial_rank(shape, self.name)
        stride = args["stride"] if args["stride"] is not None else args["kernel"]
        windows = window_attrs(args, shape[1:], kernel=args["kernel"], stride=stride,
                               dilation=args.get("dilation", 1), ceil_mode=args["ceil_mode"])
        if args["padding"] != "same":
            for w in windows:
                if max(w.pad_before, w.pad_after) > w.kernel // 2:
                    raise OpError(f"padding {max(w.pad_before, w.pad_after)} is more than half the "
                                  f"kernel ({w.kernel}); PyTorch refuses this", "padding")
        sizes = check_out_sizes(windows, self.name)
        return (shape[0], *sizes), PoolAttrs(windows)

    def shape_formula(self, layer: Layer) -> list[str]:
        windows = self.attrs(layer).windows
        return [f"channels: unchanged = {layer.out_shape[0]}",
                *(f"spatial axis {i}: {w.formula()}" for i, w in enumerate(windows, start=1))]

    def rf(self, layer: Layer) -> list[Read]:
        # ceil_mode adds a last window but changes no window's position.
        return [(0, tuple(rfmap.window(w) for w in self.attrs(layer).windows))]

    def reach(self, layer: Layer, inputs: list[ndarray]) -> ndarray:
        # On 0/1 masks a max is exactly "any tap marked" and an average (positive weights)
        # is positive exactly then too: the op itself is its dependency probe.
        return self.forward(layer, inputs, {})

    def workspace(self, layer: Layer) -> int:
        # The padded copy, and one axis-reduced intermediate no larger than it.
        windows: tuple[AxisWindow, ...] = self.attrs(layer).windows
        padded = layer.in_shapes[0][0] * prod(w.size + w.pad_before + w.pad_after + w.stride
                                               for w in windows)
        return 2 * padded + prod(layer.out_shape)


_POOL_ARGS = (
    Arg("kernel", PerAxis(1), doc="window size", aliases=("kernel_size", "pool_size", "kernel_shape")),
    Arg("stride", PerAxis(1), None, "step between windows (default: the kernel)", ("strides",)),
    Arg("padding", Padding(), 0,
        "implicit padding (same forms as conv); at most kernel // 2 per side, as in PyTorch",
        ("pad", "pads")),
    Arg("ceil_mode", Bool(), False, "round the output size up (PyTorch rule)"),
)


@register
class MaxPool(_WindowPool):
    name = "maxpool"
    aliases = ("MaxPool2d", "MaxPooling2D", "max_pool", "MaxPool")
    summary = "max pooling (padding counts as -inf)"
    notes = "PyTorch semantics; `stride` defaults to the kernel; `padding` takes conv's forms, `same` too."
    arguments = (*_POOL_ARGS, Arg("dilation", PerAxis(1), 1, "spacing between window taps", ("dilations",)))

    flops_rule = "kernel volume - 1 compares per output value"
    saves_rule = "input, + the argmax indices (int64 per output value)"

    def flops(self, layer: Layer) -> tuple[int, str]:
        kvol = prod(w.kernel for w in self.attrs(layer).windows)
        return per_value(kvol - 1, prod(layer.out_shape), f"{kvol} - 1 compares per output")

    backward_flops_rule = "1 add per output value (its gradient added at the argmax)"

    def backward_flops(self, layer: Layer) -> tuple[int, str]:
        return per_value(1, prod(layer.out_shape), "1 add per output")

    def saved_for_backward(self, layer: Layer) -> list[Saved]:
        # PyTorch keeps the input (for its shape) and where each maximum came from.
        return [saved_input(layer), Saved(SavedKind.EXTRA, prod(layer.out_shape), "indices", dtype="int64")]

    def forward(self, layer: Layer, inputs: list[ndarray], weights: Mapping[str, ndarray],
                overwrite: int | None = None) -> ndarray:
        kernels = base.kernels
        w: tuple[AxisWindow, ...] = self.attrs(layer).windows
        return kernels.max_pool(inputs[0], [a.kernel for a in w], [a.stride for a in w],
                                [(a.pad_before, a.pad_after) for a in w], [a.dilation for a in w],
                                w[0].ceil_mode)

    def backward(self, layer: Layer, inputs: list[ndarray | None], output: ndarray | None,
                 weights: Mapping[str, ndarray], grad_output: ndarray,
                 need: Sequence[bool] | None = None) -> Grads:
        # Each output's gradient to its window's first maximum, found again in the saved input
        # (PyTorch keeps the indices instead; the memory model counts those).
        grad = base.kernels.grad
        w: tuple[AxisWindow, ...] = self.attrs(layer).windows
        x = inputs[0]
        assert x is not None
        return [grad.max_pool_grad(x, grad_output, [a.kernel for a in w], [a.stride for a in w],
                                   [(a.pad_before, a.pad_after) for a in w],
                                   [a.dilation for a in w], w[0].ceil_mode)], {}


@register
class AvgPool(_WindowPool):
    name = "avgpool"
    aliases = ("AvgPool2d", "AveragePooling2D", "avg_pool", "AveragePool")
    summary = "average pooling"
    notes = "PyTorch semantics; `stride` defaults to the kernel; `padding` takes conv's forms, `same` too."
    arguments = (*_POOL_ARGS,
                 Arg("count_include_pad", Bool(), True, "divide by the window size incl. padding"))

    flops_rule = "kernel volume per output value (kernel volume - 1 adds, 1 divide)"
    saves_rule = "input (PyTorch keeps it for its shape)"

    def flops(self, layer: Layer) -> tuple[int, str]:
        kvol = prod(w.kernel for w in self.attrs(layer).windows)
        return per_value(kvol, prod(layer.out_shape), f"{kvol} per output")

    backward_flops_rule = "kernel volume + 1 per output value (1 divide, kernel volume adds)"

    def backward_flops(self, layer: Layer) -> tuple[int, str]:
        kvol = prod(w.kernel for w in self.attrs(layer).windows)
        return per_value(kvol + 1, prod(layer.out_shape), f"{kvol} + 1 per output")

    def saved_for_backward(self, layer: Layer) -> list[Saved]:
        return [saved_input(layer)]

    def forward(self, layer: Layer, inputs: list[ndarray], weights: Mapping[str, ndarray],
                overwrite: int | None = None) -> ndarray:
        kernels = base.kernels
        w: tuple[AxisWindow, ...] = self.attrs(layer).windows
        return kernels.avg_pool(inputs[0], [a.kernel for a in w], [a.stride for a in w],
                                [(a.pad_before, a.pad_after) for a in w], w[0].ceil_mode,
                                layer.args["count_include_pad"])

    def backward(self, layer: Layer, inputs: list[ndarray | None], output: ndarray | None,
                 weights: Mapping[str, ndarray], grad_output: ndarray,
                 need: Sequence[bool] | None = None) -> Grads:
        # dY / divisor to every tap of its window: only the input's shape is needed.
        grad = base.kernels.grad
        w: tuple[AxisWindow, ...] = self.attrs(layer).windows
        return [grad.avg_pool_grad(batch_shape(layer, grad_output), grad_output,
                                   [a.kernel for a in w], [a.stride for a in w],
                                   [(a.pad_before, a.pad_after) for a in w], w[0].ceil_mode,
                                   layer.args["count_include_pad"])], {}


class _GlobalPool(Op[None]):
    def infer(self, args: dict[str, Any], inputs: Sequence[Shape]) -> tuple[Shape, Any]:
        rank = spatial_rank(inputs[0], self.name)
        return (inputs[0][0],) + (1,) * rank, None

    def shape_formula(self, layer: Layer) -> list[str]:
        return [f"every spatial axis becomes 1: {fmt_shape(layer.in_shapes[0])} -> "
                f"{fmt_shape(layer.out_shape)}"]

    def rf(self, layer: Layer) -> list[Read]:
        return [(0, rfmap.GLOBAL)]

    def reach(self, layer: Layer, inputs: list[ndarray]) -> ndarray:
        everywhere = base.kernels.masks.everywhere
        return everywhere(inputs[0], layer.out_shape)


@register
class GlobalAvgPool(_GlobalPool):
    name = "gap"
    aliases = ("GlobalAveragePooling2D", "GlobalAveragePool", "global_avg_pool", "GlobalAvgPool2d")
    summary = "global average pooling: every spatial axis becomes 1"
    notes = "[C, H, W] -> [C, 1, 1]; [C, L] -> [C, 1]."
    flops_rule = "1 per input value (adds, and 1 divide per channel)"
    # PyTorch computes a pooling to size 1 as a mean, whose backward keeps only the shape.
    saves_rule = "nothing (PyTorch's mean keeps only the input's shape)"

    def flops(self, layer: Layer) -> tuple[int, str]:
        return per_value(1, prod(layer.in_shapes[0]), "1 per input value")

    backward_flops_rule = "1 divide per channel (the broadcast back is a copy)"

    def backward_flops(self, layer: Layer) -> tuple[int, str]:
        return per_value(1, layer.out_shape[0], "1 divide per channel")

    def forward(self, layer: Layer, inputs: list[ndarray], weights: Mapping[str, ndarray],
                overwrite: int | None = None) -> ndarray:
        kernels = base.kernels
        return kernels.adaptive_avg_pool(inputs[0], 1)

    def backward(self, layer: Layer, inputs: list[ndarray | None], output: ndarray | None,
                 weights: Mapping[str, ndarray], grad_output: ndarray,
                 need: Sequence[bool] | None = None) -> Grads:
        grad = base.kernels.grad
        return [grad.adaptive_avg_pool_grad(batch_shape(layer, grad_output), grad_output)], {}


@register
class GlobalMaxPool(_GlobalPool):
    name = "gmp"
    aliases = ("GlobalMaxPooling2D", "GlobalMaxPool", "global_max_pool")
    summary = "global max pooling: every spatial axis becomes 1"
    notes = "[C, H, W] -> [C, 1, 1]; [C, L] -> [C, 1]."
    flops_rule = "1 compare per input value, less 1 per channel"
    saves_rule = "input, + the argmax indices (int64 per channel)"

    def flops(self, layer: Layer) -> tuple[int, str]:
        values, channels = prod(layer.in_shapes[0]), layer.in_shapes[0][0]
        return values - channels, f"{fmt_int(values)} inputs - {channels} channels"

    backward_flops_rule = "0 (the gradient is written at the argmax)"

    def saved_for_backward(self, layer: Layer) -> list[Saved]:
        return [saved_input(layer), Saved(SavedKind.EXTRA, layer.out_shape[0], "indices", dtype="int64")]

    def forward(self, layer: Layer, inputs: list[ndarray], weights: Mapping[str, ndarray],
                overwrite: int | None = None) -> ndarray:
        kernels = base.kernels
        return kernels.adaptive_max_pool(inputs[0], 1)

    def backward(self, layer: Layer, inputs: list[ndarray | None], output: ndarray | None,
                 weights: Mapping[str, ndarray], grad_output: ndarray,
                 need: Sequence[bool] | None = None) -> Grads:
        grad = base.kernels.grad
        x = inputs[0]
        assert x is not None
        return [grad.adaptive_max_pool_grad(x, grad_output)], {}


def bin_lengths(n: int, o: int) -> int:
    """The summed lengths of o adaptive bins over n inputs, sum of ceil((i+1)n/o) - floor(in/o):
    n + o - gcd(n, o) in closed form (the ceilings exceed the floors of the next bin except where
    o divides i*n, which happens gcd(n, o) times), so a huge output size costs nothing."""
    return n + o - gcd(n, o)


@dataclass(frozen=True)
class AdaptiveAttrs:
    in_sizes: tuple[int, ...]
    out_sizes: tuple[int, ...]


class _AdaptivePool(Op[AdaptiveAttrs]):
    arguments = (Arg("output", AdaptiveOutput(), doc="output size per spatial axis",
                     aliases=("output_size",)),)

    def _window_values(self, layer: Layer) -> int:
        """Input values read over all output bins, per channel. Bins are separable, so this is
        the product over axes of the summed bin lengths (bins overlap when n % o != 0)."""
        a = self.attrs(layer)
        return prod(bin_lengths(n, o) for n, o in zip(a.in_sizes, a.out_sizes))

    def infer(self, args: dict[str, Any], inputs: Sequence[Shape]) -> tuple[Shape, Any]:
        shape = inputs[0]
        rank = spatial_rank(shape, self.name)
        wanted = per_axis(args["output"], rank, "output")
        sizes = tuple(n if o is None else o for n, o in zip(shape[1:], wanted))
        return (shape[0], *sizes), AdaptiveAttrs(tuple(shape[1:]), sizes)

    def shape_formula(self, layer: Layer) -> list[str]:
        a = self.attrs(layer)
        return [f"spatial axis {i}: {n} -> {o} (bin i covers [floor(i*{n}/{o}), ceil((i+1)*{n}/{o})))"
                for i, (n, o) in enumerate(zip(a.in_sizes, a.out_sizes), start=1)]

    def rf(self, layer: Layer) -> list[Read]:
        # Output 1 everywhere is global pooling; otherwise the bins are an exact periodic map
        # (identity when the sizes agree, as torchvision's 7x7 pool after VGG's 7x7 features).
        a = self.attrs(layer)
        if all(o == 1 for o in a.out_sizes):
            return [(0, rfmap.GLOBAL)]
        return [(0, tuple(rfmap.bins(n, o) for n, o in zip(a.in_sizes, a.out_sizes)))]

    def reach(self, layer: Layer, inputs: list[ndarray]) -> ndarray:
        # The max over each bin of a 0/1 mask: "some position of the bin is marked".
        kernels = base.kernels
        return kernels.adaptive_max_pool(inputs[0], self.attrs(layer).out_sizes)

    def backward(self, layer: Layer, inputs: list[ndarray | None], output: ndarray | None,
                 weights: Mapping[str, ndarray], grad_output: ndarray,
                 need: Sequence[bool] | None = None) -> Grads:
        grad = base.kernels.grad
        x = inputs[0]
        assert x is not None
        return [grad.adaptive_max_pool_grad(x, grad_output)], {}

    def workspace(self, layer: Layer) -> int:
        # Uneven bins gather a window of the largest bin length at every bin start.
        a = self.attrs(layer)
        longest = prod(-(-n // o) + 1 for n, o in zip(a.in_sizes, a.out_sizes))
        return 3 * layer.out_shape[0] * longest * prod(a.out_sizes) + 2 * prod(layer.in_shapes[0])


@register
class AdaptiveAvgPool(_AdaptivePool):
    name = "adaptive_avgpool"
    aliases = ("AdaptiveAvgPool2d", "adaptive_avg_pool")
    summary = "adaptive average pooling to a fixed output size (PyTorch bins)"
    notes = "Bin o of n inputs over m outputs covers [floor(o*n/m), ceil((o+1)*n/m)), as PyTorch."
    flops_rule = "bin volume per output value (adds and 1 divide)"
    saves_rule = "input (PyTorch keeps it for its shape); nothing for output size 1 (a mean)"

    def flops(self, layer: Layer) -> tuple[int, str]:
        values = layer.out_shape[0] * self._window_values(layer)
        return values, f"{layer.out_shape[0]} channels x {fmt_int(self._window_values(layer))} binned values"

    backward_flops_rule = "bin volume + 1 per output value (1 divide, bin volume adds)"

    def backward_flops(self, layer: Layer) -> tuple[int, str]:
        values = layer.out_shape[0] * self._window_values(layer) + prod(layer.out_shape)
        return values, (f"{layer.out_shape[0]} channels x {fmt_int(self._window_values(layer))} "
                        f"binned values + {fmt_int(prod(layer.out_shape))} divides")

    def saved_for_backward(self, layer: Layer) -> list[Saved]:
        # PyTorch's adaptive_avg_pool to size 1 is a mean, whose backward keeps only the shape.
        return [] if set(layer.out_shape[1:]) == {1} else [saved_input(layer)]

    def forward(self, layer: Layer, inputs: list[ndarray], weights: Mapping[str, ndarray],
                overwrite: int | None = None) -> ndarray:
        kernels = base.kernels
        # Uneven bins come back from the kernel in channels-last memory order; PyTorch's
        # result is contiguous (and a following flatten is then a view).
        return kernels.adaptive_avg_pool(inputs[0], self.attrs(layer).out_sizes)

    def backward(self, layer: Layer, inputs: list[ndarray | None], output: ndarray | None,
                 weights: Mapping[str, ndarray], grad_output: ndarray,
                 need: Sequence[bool] | None = None) -> Grads:
        # The bins are separable: the transposed per-axis bin matrices.
        grad = base.kernels.grad
        return [grad.adaptive_avg_pool_grad(batch_shape(layer, grad_output), grad_output)], {}


@register
class AdaptiveMaxPool(_AdaptivePool):
    name = "adaptive_maxpool"
    aliases = ("AdaptiveMaxPool2d", "adaptive_max_pool")
    summary = "adaptive max pooling to a fixed output size (PyTorch bins)"
    notes = "Bin o of n inputs over m outputs covers [floor(o*n/m), ceil((o+1)*n/m)), as PyTorch."
    flops_rule = "bin volume - 1 compares per output value"
    saves_rule = "input, + the argmax indices (int64 per output value)"

    def flops(self, layer: Layer) -> tuple[int, str]:
        binned, outputs = layer.out_shape[0] * self._window_values(layer), prod(layer.out_shape)
        return binned - outputs, f"{fmt_int(binned)} binned values - {fmt_int(outputs)} outputs"

    backward_flops_rule = "1 add per output value (its gradient added at the argmax)"

    def backward_flops(self, layer: Layer) -> tuple[int, str]:
        return per_value(1, prod(layer.out_shape), "1 add per output")

    def saved_for_backward(self, layer: Layer) -> list[Saved]:
        return [saved_input(layer), Saved(SavedKind.EXTRA, prod(layer.out_shape), "indices", dtype="int64")]

    def forward(self, layer: Layer, inputs: list[ndarray], weights: Mapping[str, ndarray],
                overwrite: int | None = None) -> ndarray:
        kernels = base.kernels
        # Uneven bins come back from the kernel in channels-last memory order; PyTorch's
        # result is contiguous (and a following flatten is then a view).
        return kernels.adaptive_max_pool(inputs[0], self.attrs(layer).out_sizes)
