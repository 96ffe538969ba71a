"""Upsampling by a scale factor (PyTorch `interpolate` with scale_factor)."""
from __future__ import annotations

from collections.abc import Sequence
from fractions import Fraction
from math import floor, prod
from typing import TYPE_CHECKING, Any

from cnncalc.ops import rfmap
from cnncalc.ops.args import Arg, Bool, Choice, Scale
from cnncalc.ops.base import Op, OpError, Shape, per_value, spatial_rank
from cnncalc.ops.registry import register

if TYPE_CHECKING:
    from collections.abc import Mapping

    from numpy import ndarray

    from cnncalc.graph import Layer
    from cnncalc.ops.rfmap import Read


@register
class Upsample(Op):
    name = "upsample"
    summary = "nearest or (bi/tri)linear upsampling by a scale factor"
    arguments = (
        Arg("scale", Scale(), doc="factor per spatial axis (int or float)"),
        Arg("mode", Choice("nearest", "linear"), "nearest", "linear = bilinear / trilinear by rank"),
        Arg("align_corners", Bool(), False, "linear only: align the corner pixels (PyTorch)"),
    )

    def infer(self, args: dict[str, Any], inputs: Sequence[Shape]) -> tuple[Shape, Any]:
        shape = inputs[0]
        rank = spatial_rank(shape, "upsample")
        scale = args["scale"]
        scales = scale if isinstance(scale, tuple) else (scale,) * rank
        if len(scales) != rank:
            raise OpError(f"'scale' has {len(scales)} values but the input has {rank} spatial axes",
                          "scale")
        if args["align_corners"] and args["mode"] == "nearest":
            raise OpError("align_corners only applies to mode: linear (PyTorch refuses it for nearest)",
                          "align_corners")
        sizes = tuple(floor(n * s) for n, s in zip(shape[1:], scales))
        if min(sizes) <= 0:
            raise OpError(f"scale {scale} makes an axis empty", "scale", "non-positive")
        return (shape[0], *sizes), tuple(scales)

    flops_rule = ("nearest: 0 (copies); linear: 3 x (2^axes - 1) per output value "
                  "(one lerp a + w*(b - a) per pair of neighbours)")

    def flops(self, layer: Layer) -> tuple[int, str]:
        if layer.args["mode"] == "nearest":
            return 0, "nearest: copies"
        lerps = 2 ** (len(layer.out_shape) - 1) - 1
        return per_value(3 * lerps, prod(layer.out_shape), f"{lerps} lerps of 3 per output")

    def shape_formula(self, layer: Layer) -> list[str]:
        return [f"spatial axis {i}: floor({n} * {s}) = {o}"
                for i, (n, s, o) in enumerate(zip(layer.in_shapes[0][1:], layer.attrs,
                                                  layer.out_shape[1:]), start=1)]

    def rf(self, layer: Layer) -> list[Read]:
        # Exact rational scales (1.5 -> 3/2), so the fractional effective stride is exact too.
        maps = []
        for n_in, scale, n_out in zip(layer.in_shapes[0][1:], layer.attrs, layer.out_shape[1:]):
            exact = Fraction(str(scale))
            if layer.args["mode"] == "nearest":
                maps.append(rfmap.nearest(exact))
            else:
                maps.append(rfmap.linear(None if layer.args["align_corners"] else exact, n_in, n_out))
        return [(0, tuple(maps))]

    def forward(self, layer: Layer, inputs: list[ndarray], weights: Mapping[str, ndarray],
                overwrite: int | None = None) -> ndarray:
        from cnncalc.backend import kernels

        linear = layer.args["mode"] == "linear"
        return kernels.upsample(inputs[0], layer.attrs, layer.args["mode"],
                                layer.args["align_corners"] if linear else None)

    def reach(self, layer: Layer, inputs: list[ndarray]) -> ndarray:
        # Nearest copies a marked value; linear mixes its two neighbours with weights that are
        # positive unless the sample falls exactly on one of them: the op is its own probe.
        return self.forward(layer, inputs, {})

    def workspace(self, layer: Layer) -> int:
        # The kernel gathers one axis at a time (nearest skips axes it keeps, linear gathers
        # every one): while axis k is gathered, the result of axis k-1 is still held (scratch
        # unless it is the input), and the new array is scratch unless it is the output;
        # linear also gathers the second neighbours (one more array of the new size), and
        # weighting by a broadcast array makes NumPy buffer up to 8192 values (np.getbufsize()).
        linear = layer.args["mode"] == "linear"
        sizes = [prod(layer.in_shapes[0])]  # per sample, after each gathered axis
        current = list(layer.in_shapes[0])
        for axis, size in enumerate(layer.out_shape[1:], start=1):
            if linear or size != current[axis]:
                current[axis] = size
                sizes.append(prod(current))
        last = len(sizes) - 1
        return max(((sizes[k - 1] if k > 1 else 0) + (sizes[k] if k < last else 0)
                    + (sizes[k] + 8192 if linear else 0) for k in range(1, last + 1)), default=0)
