"""Ops that move values around without arithmetic: flatten, pad, channel pad, slice, channel
shuffle."""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from math import ceil, prod
from typing import TYPE_CHECKING, Any

from cnncalc.ops import base, rfmap
from cnncalc.ops.activation import normalise_axis
from cnncalc.ops.args import Arg, Axis, Int, OptionalInt, Padding
from cnncalc.ops.base import Grads, Op, OpError, OutputStorage, Shape, spatial_rank
from cnncalc.ops.registry import register
from cnncalc.ops.window import resolve_pads
from cnncalc.text import fmt_shape

if TYPE_CHECKING:
    from collections.abc import Mapping

    from numpy import ndarray

    from cnncalc.graph import Layer
    from cnncalc.ops.rfmap import Read


@register
class Flatten(Op[None]):
    name = "flatten"
    aliases = ("Flatten", "reshape_flat")
    summary = "[C, ...] -> [C*...] (channels-first order, as PyTorch)"
    storage = OutputStorage.VIEW
    view_needs_contiguous = True

    def infer(self, args: dict[str, Any], inputs: Sequence[Shape]) -> tuple[Shape, Any]:
        return (prod(inputs[0]),), None

    def shape_formula(self, layer: Layer) -> list[str]:
        shape = layer.in_shapes[0]
        return [f"{'*'.join(map(str, shape))} = {prod(shape):,}"]

    def forward(self, layer: Layer, inputs: list[ndarray], weights: Mapping[str, ndarray],
                overwrite: int | None = None) -> ndarray:
        # Channels-first order, as torch.flatten(x, 1); a view of a contiguous input.
        return inputs[0].reshape(inputs[0].shape[0], -1)

    def backward(self, layer: Layer, inputs: list[ndarray | None], output: ndarray | None,
                 weights: Mapping[str, ndarray], grad_output: ndarray,
                 need: Sequence[bool] | None = None) -> Grads:
        return [grad_output.reshape((grad_output.shape[0], *layer.in_shapes[0]))], {}


@register
class Pad(Op[tuple[tuple[int, int], ...]]):
    name = "pad"
    aliases = ("ZeroPad2d", "ZeroPadding2D", "ConstantPad2d")
    summary = "zero padding of the spatial axes"
    notes = ("The same forms as conv's `padding` (`valid` is none; `same` is refused); channels are "
             "never padded.")
    arguments = (Arg("padding", Padding(), doc="int, per axis or per side [[before, after], ...]",
                     aliases=("pad", "pads", "pad_width")),)

    def infer(self, args: dict[str, Any], inputs: Sequence[Shape]) -> tuple[Shape, Any]:
        shape = inputs[0]
        rank = spatial_rank(shape, "pad")
        if args["padding"] == "same":
            raise OpError("pad has no window, so 'same' means nothing here; give the sizes",
                          "padding")
        pads = resolve_pads(args["padding"], shape[1:], (1,) * rank, (1,) * rank, (1,) * rank)
        return (shape[0], *(n + b + a for n, (b, a) in zip(shape[1:], pads))), pads

    def shape_formula(self, layer: Layer) -> list[str]:
        return [f"spatial axis {i}: {n} + {b} + {a} = {n + b + a}"
                for i, (n, (b, a)) in enumerate(zip(layer.in_shapes[0][1:], self.attrs(layer)), start=1)]

    def rf(self, layer: Layer) -> list[Read]:
        # Output unit o is input unit o - before: the same region, shifted.
        return [(0, tuple(rfmap.shift(-before) for before, _ in self.attrs(layer)))]

    def forward(self, layer: Layer, inputs: list[ndarray], weights: Mapping[str, ndarray],
                overwrite: int | None = None) -> ndarray:
        import numpy as np

        kernels = base.kernels
        # Always a new tensor, as torch's F.pad: zero padding must not alias its input.
        y = kernels.pad_zeros(inputs[0], self.attrs(layer))
        return y.copy() if np.shares_memory(y, inputs[0]) else y

    def backward(self, layer: Layer, inputs: list[ndarray | None], output: ndarray | None,
                 weights: Mapping[str, ndarray], grad_output: ndarray,
                 need: Sequence[bool] | None = None) -> Grads:
        # The padding's gradient is dropped: the opposite padding (negative pads crop).
        import numpy as np

        kernels = base.kernels
        return [np.ascontiguousarray(kernels.pad_zeros(grad_output, tuple(
            (-b, -a) for b, a in self.attrs(layer))))], {}

    def reach(self, layer: Layer, inputs: list[ndarray]) -> ndarray:
        return self.forward(layer, inputs, {})  # zeros depend on nothing


@register
class ChannelPad(Op[None]):
    name = "channel_pad"
    aliases = ("pad_channels",)
    summary = "zero channels added before and after the channels (ResNet option-A shortcuts)"
    notes = ("`F.pad` on the channel axis: [C, ...] -> [before + C + after, ...], the new channels "
             "all zeros; at least one of `before` and `after` is above 0. Spatial axes are kept.")
    arguments = (Arg("before", Int(0), 0, "zero channels in front"),
                 Arg("after", Int(0), 0, "zero channels after the last"))

    def infer(self, args: dict[str, Any], inputs: Sequence[Shape]) -> tuple[Shape, Any]:
        if args["before"] == 0 and args["after"] == 0:
            raise OpError("channel_pad adds no channel: give `before` or `after` above 0", "after",
                          "non-positive")
        shape = inputs[0]
        return (args["before"] + shape[0] + args["after"], *shape[1:]), None

    def shape_formula(self, layer: Layer) -> list[str]:
        a, c = layer.args, layer.in_shapes[0][0]
        return [f"channels: {a['before']} + {c} + {a['after']} = {layer.out_shape[0]}; "
                "spatial axes unchanged"]

    def forward(self, layer: Layer, inputs: list[ndarray], weights: Mapping[str, ndarray],
                overwrite: int | None = None) -> ndarray:
        import numpy as np

        x = inputs[0]
        pads = [(0, 0)] * x.ndim
        pads[1] = (layer.args["before"], layer.args["after"])
        return np.pad(x, pads)  # always a new tensor, as F.pad

    def workspace(self, layer: Layer) -> int:
        return 0  # np.pad writes the output directly

    def backward(self, layer: Layer, inputs: list[ndarray | None], output: ndarray | None,
                 weights: Mapping[str, ndarray], grad_output: ndarray,
                 need: Sequence[bool] | None = None) -> Grads:
        # The padded channels read nothing: the input's gradient is the middle channels (a copy,
        # as F.pad's backward slices into a new tensor).
        before, c = layer.args["before"], layer.in_shapes[0][0]
        return [grad_output[:, before:before + c].copy()], {}


@register
class ChannelShuffle(Op[None]):
    name = "channel_shuffle"
    aliases = ("ChannelShuffle", "shuffle")
    summary = "interleave channel groups (ShuffleNet)"
    arguments = (Arg("groups", Int(1), doc="number of channel groups (dividing the channels)"),)

    def infer(self, args: dict[str, Any], inputs: Sequence[Shape]) -> tuple[Shape, Any]:
        if inputs[0][0] % args["groups"]:
            raise OpError(f"groups={args['groups']} does not divide the {inputs[0][0]} channels",
                          "groups", "groups")
        return inputs[0], None

    def forward(self, layer: Layer, inputs: list[ndarray], weights: Mapping[str, ndarray],
                overwrite: int | None = None) -> ndarray:
        import numpy as np

        kernels = base.kernels
        # A new tensor even when the shuffle moves nothing (groups: 1), as in PyTorch.
        y = kernels.channel_shuffle(inputs[0], layer.args["groups"])
        return y.copy() if np.shares_memory(y, inputs[0]) else y

    def backward(self, layer: Layer, inputs: list[ndarray | None], output: ndarray | None,
                 weights: Mapping[str, ndarray], grad_output: ndarray,
                 need: Sequence[bool] | None = None) -> Grads:
        # The inverse permutation is the shuffle with the other factor of the channels.
        kernels = base.kernels
        groups: int = layer.args["groups"]
        return [kernels.channel_shuffle(grad_output, layer.in_shapes[0][0] // groups)], {}


@dataclass(frozen=True)
class SliceAttrs:
    axis: int
    start: int
    stop: int
    step: int = 1

    @property
    def size(self) -> int:
        return ceil((self.stop - self.start) / self.step)


@register
class Slice(Op[SliceAttrs]):
    name = "slice"
    aliases = ("narrow", "Slice", "crop")
    summary = "a part of one axis, every `step`-th index (channel split, spatial crop, subsampling)"
    notes = ("`stop` is exclusive; negative indices count from the end. `start` must lie in the axis "
             "and `stop` after it, at most the axis size (an empty or out-of-range slice is an error). "
             "`step` takes every step-th index from `start` (PyTorch's `x[:, :, ::2]`): "
             "ceil((stop - start) / step) indices. Two slices express a channel split, spatial slices "
             "a crop; a spatial step subsamples (ResNet option-A shortcuts), a stride for the "
             "receptive field.")
    storage = OutputStorage.VIEW  # PyTorch's narrow, strided indexing and NumPy slicing share the buffer

    def view_is_contiguous(self, layer: Layer, batch: int) -> bool:
        # What a view op (flatten: (N, C*H*W)) needs is each sample's values in one run; the
        # batch axis is never merged, so its stride does not matter (as on main since 4a0a37e).
        # shape[start:stop:step, ...] is such a run only when the slice takes the whole axis,
        # or every axis before the sliced one has size 1 and the indices taken are adjacent
        # (step 1, or a single index).
        a = self.attrs(layer)
        whole = a.step == 1 and a.stop - a.start == layer.in_shapes[0][a.axis]
        adjacent = a.step == 1 or a.size == 1
        return whole or (adjacent and prod(layer.in_shapes[0][: a.axis]) == 1)
    arguments = (
        Arg("start", Int(), 0, "first index (negative counts from the end)", ("begin", "starts")),
        Arg("stop", OptionalInt(), None, "end index, exclusive (default: the end)", ("end", "ends")),
        Arg("axis", Axis(), "channels", "axis sliced (channels = 0)", ("dim", "axes")),
        Arg("step", Int(1), 1, "take every step-th index from start", ("steps", "stride")),
    )

    def infer(self, args: dict[str, Any], inputs: Sequence[Shape]) -> tuple[Shape, Any]:
        shape = inputs[0]
        axis = normalise_axis(args["axis"], shape)
        n = shape[axis]
        start = args["start"] + n if args["start"] < 0 else args["start"]
        stop = n if args["stop"] is None else args["stop"] + n if args["stop"] < 0 else args["stop"]
        if not 0 <= start < n:
            raise OpError(f"start {args['start']} is outside axis {axis} of {fmt_shape(shape)} "
                          f"(size {n})", "start")
        if not start < stop <= n:
            raise OpError(f"stop {args['stop']} gives an empty or out-of-range slice of axis {axis} "
                          f"(size {n}, start {start})", "stop", "non-positive")
        attrs = SliceAttrs(axis, start, stop, args["step"])
        out = list(shape)
        out[axis] = attrs.size
        return tuple(out), attrs

    def shape_formula(self, layer: Layer) -> list[str]:
        a = self.attrs(layer)
        if a.step == 1:
            return [f"axis {a.axis}: [{a.start}:{a.stop}] -> {a.size}; other axes unchanged"]
        return [f"axis {a.axis}: [{a.start}:{a.stop}:{a.step}] -> ceil(({a.stop} - {a.start}) / "
                f"{a.step}) = {a.size}; other axes unchanged"]

    def rf(self, layer: Layer) -> list[Read]:
        # Along a spatial sliced axis output unit o is input unit start + o*step: a shift, and
        # with a step a stride.
        a = self.attrs(layer)
        if a.axis == 0:
            return super().rf(layer)
        along = rfmap.AxisMap(a.step, 1, ((a.start,),)) if a.step > 1 else rfmap.shift(a.start)
        return [(0, tuple(along if axis == a.axis else rfmap.IDENTITY
                          for axis in range(1, len(layer.out_shape))))]

    def forward(self, layer: Layer, inputs: list[ndarray], weights: Mapping[str, ndarray],
                overwrite: int | None = None) -> ndarray:
        a = self.attrs(layer)
        return inputs[0][(slice(None),) * (a.axis + 1) + (slice(a.start, a.stop, a.step),)]  # a view

    def backward(self, layer: Layer, inputs: list[ndarray | None], output: ndarray | None,
                 weights: Mapping[str, ndarray], grad_output: ndarray,
                 need: Sequence[bool] | None = None) -> Grads:
        import numpy as np

        a = self.attrs(layer)
        g = np.zeros((grad_output.shape[0], *layer.in_shapes[0]), grad_output.dtype)
        g[(slice(None),) * (a.axis + 1) + (slice(a.start, a.stop, a.step),)] = grad_output
        return [g], {}

    def reach(self, layer: Layer, inputs: list[ndarray]) -> ndarray:
        a = self.attrs(layer)
        return inputs[0] if a.axis == 0 else self.forward(layer, inputs, {})
