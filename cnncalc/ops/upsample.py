"""Upsampling by a scale factor (PyTorch `interpolate` with scale_factor).

Modes take PyTorch's words: nearest, nearest-exact, linear (cnncalc's: interpolating along
every spatial axis, whatever the rank), bilinear (2-D) and trilinear (3-D) — the same rule as
linear with PyTorch's rank check —, and bicubic (2-D only, as in PyTorch).
"""
from __future__ import annotations

from collections.abc import Sequence
from fractions import Fraction
from math import floor, prod
from typing import TYPE_CHECKING, Any

from cnncalc.ops import base, rfmap
from cnncalc.ops.args import Arg, Bool, Choice, Scale
from cnncalc.ops.base import Grads, Op, OpError, Shape, batch_shape, per_value, spatial_rank
from cnncalc.ops.registry import register

if TYPE_CHECKING:
    from collections.abc import Mapping

    from numpy import ndarray

    from cnncalc.graph import Layer
    from cnncalc.ops.rfmap import Read

MODES = ("nearest", "nearest-exact", "linear", "bilinear", "trilinear", "bicubic")
# The spatial rank PyTorch requires of a mode (linear is cnncalc's any-rank word).
_RANK = {"bilinear": 2, "trilinear": 3, "bicubic": 2}
_LINEAR = ("linear", "bilinear", "trilinear")
_NEAREST = ("nearest", "nearest-exact")


def _kind(layer: Layer) -> str:
    """nearest, nearest-exact, linear or bicubic: what the kernel, FLOPs and RF rules follow."""
    mode: str = layer.args["mode"]
    return "linear" if mode in _LINEAR else mode


def _out_size(n: int, s: float, scale: Any) -> int:
    """floor(n * scale) in double precision as PyTorch computes it (an exact fraction would
    round 10 * 0.7 down to 6); a size beyond int64 is refused, as PyTorch cannot hold it."""
    try:
        size = n * s
        if size < 2**63:
            return floor(size)
    except OverflowError:  # n too large for a float
        pass
    raise OpError(f"scale {scale} makes an axis longer than 2^63-1 (PyTorch's int64 sizes)",
                  "scale", "too-large")


@register
class Upsample(Op[tuple[float, ...]]):
    name = "upsample"
    aliases = ("Upsample", "UpSampling2D", "interpolate", "Resize", "UpsamplingNearest2d",
               "UpsamplingBilinear2d")
    summary = "nearest, nearest-exact, (bi/tri)linear or bicubic upsampling by a scale factor"
    notes = ("Output per axis: floor(n * scale), computed in double precision as PyTorch. "
             "`nearest` reads floor(o / scale), `nearest-exact` floor((o + 0.5) / scale); `linear` "
             "interpolates along every spatial axis (PyTorch's linear, bilinear or trilinear by rank); "
             "`bilinear` and `trilinear` are the same rule for 2 and 3 spatial axes only, `bicubic` "
             "(Keys' cubic, a = -0.75, edges clamped) for 2 only, as in PyTorch. `align_corners` "
             "applies to the interpolating modes and is refused for the nearest ones.")
    arguments = (
        Arg("scale", Scale(),
            doc="factor per spatial axis (int or float); output floor(n * scale), at most 2^63-1",
            aliases=("scale_factor", "scales")),
        Arg("mode", Choice(*MODES), "nearest",
            "PyTorch's modes; linear = bilinear / trilinear by rank; bicubic is 2-D only",
            ("interpolation",)),
        Arg("align_corners", Bool(), False, "interpolating modes only: align the corner pixels (PyTorch)"),
    )

    def infer(self, args: dict[str, Any], inputs: Sequence[Shape]) -> tuple[Shape, Any]:
        shape = inputs[0]
        rank = spatial_rank(shape, "upsample")
        scale = args["scale"]
        scales = scale if isinstance(scale, tuple) else (scale,) * rank
        if len(scales) != rank:
            raise OpError(f"'scale' has {len(scales)} values but the input has {rank} spatial axes",
                          "scale")
        mode = args["mode"]
        if mode in _RANK and rank != _RANK[mode]:
            raise OpError(f"mode {mode} needs {_RANK[mode]} spatial axes (as in PyTorch), the input "
                          f"has {rank}" + ("; use linear" if mode in _LINEAR else ""), "mode", "rank")
        if args["align_corners"] and mode in _NEAREST:
            raise OpError(f"align_corners only applies to the interpolating modes (PyTorch refuses it "
                          f"for {mode})", "align_corners")
        sizes = tuple(_out_size(n, s, scale) for n, s in zip(shape[1:], scales))
        if min(sizes) <= 0:
            raise OpError(f"scale {scale} makes an axis empty", "scale", "non-positive")
        return (shape[0], *sizes), tuple(scales)

    flops_rule = ("nearest, nearest-exact: 0 (copies); linear: 3 x (2^axes - 1) per output value "
                  "(one lerp a + w*(b - a) per pair of neighbours); bicubic: 35 per output value "
                  "(4 cubic interpolations along a row and 1 down the column, each 4 multiplies "
                  "and 3 adds)")

    def flops(self, layer: Layer) -> tuple[int, str]:
        kind = _kind(layer)
        if kind in _NEAREST:
            return 0, f"{kind}: copies"
        if kind == "bicubic":
            return per_value(35, prod(layer.out_shape), "5 cubic interpolations of 7 per output")
        lerps = 2 ** (len(layer.out_shape) - 1) - 1
        return per_value(3 * lerps, prod(layer.out_shape), f"{lerps} lerps of 3 per output")

    # Backward scatters each output's gradient back onto the inputs it was made from.
    backward_flops_rule = ("nearest, nearest-exact: 1 add per output value (into its source); "
                           "linear: 4 x (2^axes - 1) per output value (a lerp's adjoint adds "
                           "(1 - w) g and w g: 2 multiplies, 2 adds); bicubic: 40 per output "
                           "value (5 adjoint cubics of 4 multiplies and 4 adds)")

    def backward_flops(self, layer: Layer) -> tuple[int, str]:
        kind, values = _kind(layer), prod(layer.out_shape)
        if kind in _NEAREST:
            return per_value(1, values, f"{kind}: 1 add per output")
        if kind == "bicubic":
            return per_value(40, values, "5 adjoint cubics of 8 per output")
        lerps = 2 ** (len(layer.out_shape) - 1) - 1
        return per_value(4 * lerps, values, f"{lerps} lerp adjoints of 4 per output")

    def shape_formula(self, layer: Layer) -> list[str]:
        return [f"spatial axis {i}: floor({n} * {s}) = {o}"
                for i, (n, s, o) in enumerate(zip(layer.in_shapes[0][1:], self.attrs(layer),
                                                  layer.out_shape[1:]), start=1)]

    def rf(self, layer: Layer) -> list[Read]:
        # Exact rational scales (1.5 -> 3/2), so the fractional effective stride is exact too.
        kind, align = _kind(layer), layer.args["align_corners"]
        maps = []
        for n_in, scale, n_out in zip(layer.in_shapes[0][1:], self.attrs(layer), layer.out_shape[1:]):
            exact = Fraction(str(scale))
            if kind == "nearest":
                maps.append(rfmap.nearest(exact))
            elif kind == "nearest-exact":
                maps.append(rfmap.nearest_exact(exact))
            elif kind == "bicubic":
                maps.append(rfmap.cubic(None if align else exact, n_in, n_out))
            else:
                maps.append(rfmap.linear(None if align else exact, n_in, n_out))
        return [(0, tuple(maps))]

    def forward(self, layer: Layer, inputs: list[ndarray], weights: Mapping[str, ndarray],
                overwrite: int | None = None) -> ndarray:
        return self._run(layer, inputs[0], magnitude=False)

    def backward(self, layer: Layer, inputs: list[ndarray | None], output: ndarray | None,
                 weights: Mapping[str, ndarray], grad_output: ndarray,
                 need: Sequence[bool] | None = None) -> Grads:
        # Every mode is a linear map per axis: its transpose, from the same indices and weights.
        grad_values = base.kernels.grad_values
        return [grad_values.upsample_grad(batch_shape(layer, grad_output), grad_output,
                                          self.attrs(layer), _kind(layer),
                                          layer.args["align_corners"])], {}

    def _run(self, layer: Layer, x: ndarray, magnitude: bool) -> ndarray:
        kind = _kind(layer)
        if kind == "nearest-exact":
            resample = base.kernels.resample
            return resample.nearest_exact(x, self.attrs(layer))
        if kind == "bicubic":
            resample = base.kernels.resample
            return resample.bicubic(x, self.attrs(layer), layer.args["align_corners"], magnitude)
        kernels = base.kernels
        return kernels.upsample(x, self.attrs(layer), kind,
                                layer.args["align_corners"] if kind == "linear" else None)

    def reach(self, layer: Layer, inputs: list[ndarray]) -> ndarray:
        # Nearest copies a marked value; linear mixes its two neighbours with weights that are
        # positive unless the sample falls exactly on one of them: the op is its own probe.
        # Bicubic's outer weights are negative, so its probe weighs by their magnitudes.
        return self._run(layer, inputs[0], magnitude=True)

    def workspace(self, layer: Layer) -> int:
        # The kernels gather one axis at a time (nearest skips axes it keeps, the others gather
        # every one): while axis k is gathered, the result of axis k-1 is still held (scratch
        # unless it is the input), and the new array is scratch unless it is the output;
        # linear also gathers the second neighbours and bicubic one tap at a time (one more
        # array of the new size), and weighting by a broadcast array makes NumPy buffer up to
        # 8192 values (np.getbufsize()); bicubic's per-axis indices and weights (int64 and
        # float, ~24 values per output position along the axis) are counted as well.
        kind = _kind(layer)
        every, weighted = kind != "nearest", kind in ("linear", "bicubic")
        sizes = [prod(layer.in_shapes[0])]  # per sample, after each gathered axis
        current = list(layer.in_shapes[0])
        lengths = [0]
        for axis, size in enumerate(layer.out_shape[1:], start=1):
            if every or size != current[axis]:
                current[axis] = size
                sizes.append(prod(current))
                lengths.append(size)
        last = len(sizes) - 1
        return max(((sizes[k - 1] if k > 1 else 0) + (sizes[k] if k < last else 0)
                    + (sizes[k] + 8192 if weighted else 0)
                    + (24 * lengths[k] if kind == "bicubic" else 0)
                    for k in range(1, last + 1)), default=0)
