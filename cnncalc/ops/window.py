"""Sliding-window geometry shared by convolution, pooling and padding.

One `AxisWindow` describes what a window op does along one spatial axis; its `out_size`
is the one output-size formula of SPEC.md, so every op that slides a window agrees.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from cnncalc.ops.base import OpError, per_axis


@dataclass(frozen=True)
class AxisWindow:
    size: int  # input size along this axis
    kernel: int
    stride: int = 1
    dilation: int = 1
    pad_before: int = 0
    pad_after: int = 0
    ceil_mode: bool = False

    @property
    def span(self) -> int:
        """How many input positions one window covers: dilation*(kernel-1)+1."""
        return self.dilation * (self.kernel - 1) + 1

    @property
    def out_size(self) -> int:
        room = self.size + self.pad_before + self.pad_after - self.span
        if not self.ceil_mode:
            return max(room // self.stride + 1, 0)
        # Rounding up admits one partial window, even when the window overhangs the padded
        # input (room < 0 but > -stride), exactly as PyTorch computes it.
        out = max(-(-room // self.stride) + 1, 0)
        # PyTorch: the last window must start inside the input or the left padding.
        if (out - 1) * self.stride >= self.size + self.pad_before:
            out -= 1
        return out

    def formula(self) -> str:
        """The output-size formula with this axis' numbers plugged in."""
        rounding = "ceil" if self.ceil_mode else "floor"
        pads = (f"2*{self.pad_before}" if self.pad_before == self.pad_after
                else f"{self.pad_before} + {self.pad_after}")
        window = (f"{self.kernel}" if self.dilation == 1
                  else f"{self.dilation}*({self.kernel}-1) - 1")
        text = f"{rounding}(({self.size} + {pads} - {window}) / {self.stride}) + 1 = {self.out_size}"
        room = self.size + self.pad_before + self.pad_after - self.span
        if self.ceil_mode and self.out_size < -(-room // self.stride) + 1:
            text += " (a last window starting in the right padding is dropped, as in PyTorch)"
        return text


def same_pads(size: int, kernel: int, stride: int, dilation: int) -> tuple[int, int]:
    """TF/Keras 'same': output = ceil(size/stride); the odd extra pixel goes after."""
    out = -(-size // stride)
    total = max((out - 1) * stride + dilation * (kernel - 1) + 1 - size, 0)
    return total // 2, total - total // 2


def resolve_pads(padding: Any, sizes: Sequence[int], kernels: Sequence[int],
                 strides: Sequence[int], dilations: Sequence[int]) -> tuple[tuple[int, int], ...]:
    """Turn any accepted `padding` form into (before, after) pairs, one per spatial axis."""
    rank = len(sizes)
    if padding == "valid":
        return ((0, 0),) * rank
    if padding == "same":
        return tuple(same_pads(n, k, s, d) for n, k, s, d in zip(sizes, kernels, strides, dilations))
    if isinstance(padding, tuple) and padding and isinstance(padding[0], tuple):
        if len(padding) != rank:
            raise OpError(f"'padding' has {len(padding)} pairs but the input has {rank} spatial axes",
                          "padding")
        return tuple(padding)
    return tuple((p, p) for p in per_axis(padding, rank, "padding"))


def window_attrs(args: dict[str, Any], spatial: Sequence[int], *, kernel: Any, stride: Any,
                 dilation: Any = 1, ceil_mode: bool = False) -> tuple[AxisWindow, ...]:
    """Per-axis windows from a layer's (already validated) kernel/stride/padding arguments."""
    rank = len(spatial)
    kernels = per_axis(kernel, rank, "kernel")
    strides = per_axis(stride, rank, "stride")
    dilations = per_axis(dilation, rank, "dilation")
    pads = resolve_pads(args.get("padding", 0), spatial, kernels, strides, dilations)
    return tuple(AxisWindow(n, k, s, d, pb, pa, ceil_mode)
                 for n, k, s, d, (pb, pa) in zip(spatial, kernels, strides, dilations, pads))


def check_out_sizes(windows: Sequence[AxisWindow], what: str) -> tuple[int, ...]:
    """The output size per axis; a non-positive one is an error naming the axis."""
    sizes = tuple(w.out_size for w in windows)
    for axis, (w, out) in enumerate(zip(windows, sizes), start=1):
        if out <= 0:
            raise OpError(
                f"{what} output size along spatial axis {axis} would be {out}: the window spans "
                f"{w.span} but the padded input is only {w.size + w.pad_before + w.pad_after}",
                "kernel", "non-positive")
    return sizes
