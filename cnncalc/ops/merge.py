"""Ops that combine several inputs: element-wise add / multiply (broadcasting) and concat."""
from __future__ import annotations

from collections.abc import Sequence
from math import prod
from typing import TYPE_CHECKING, Any, ClassVar

from cnncalc.ops import base, rfmap
from cnncalc.ops.activation import normalise_axis
from cnncalc.ops.args import Arg, Axis
from cnncalc.ops.base import Grads, Op, OpError, OutputStorage, Saved, Shape, per_value, saved_input
from cnncalc.ops.registry import register
from cnncalc.text import fmt_int, fmt_shape

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping

    from numpy import ndarray

    from cnncalc.graph import Layer
    from cnncalc.ops.rfmap import Read


def broadcast(shapes: Sequence[Shape]) -> Shape:
    """NumPy broadcasting of batchless shapes; a mismatch names the axis and both sizes."""
    rank = max(len(s) for s in shapes)
    out: list[int] = []
    for axis in range(rank):
        sizes = {s[axis - rank + len(s)] for s in shapes if axis - rank + len(s) >= 0}
        big = sizes - {1}
        if len(big) > 1:
            what = "channel" if axis == 0 and all(len(s) == rank for s in shapes) else f"axis {axis}"
            raise OpError(f"{what} sizes {' vs '.join(str(n) for n in sorted(big))} do not match: "
                          f"cannot combine {' and '.join(fmt_shape(s) for s in shapes)} "
                          "(sizes must be equal or 1)", None, "mismatch")
        out.append(big.pop() if big else 1)
    return tuple(out)


class _Broadcasting(Op[None]):
    """Element-wise ops over 2+ inputs of NumPy-broadcastable shapes."""

    min_inputs, max_inputs = 2, None

    def infer(self, args: dict[str, Any], inputs: Sequence[Shape]) -> tuple[Shape, Any]:
        return broadcast(inputs), None

    def shape_formula(self, layer: Layer) -> list[str]:
        shapes = " and ".join(fmt_shape(s) for s in layer.in_shapes)
        return [f"broadcast {shapes} -> {fmt_shape(layer.out_shape)}"]

    def flops(self, layer: Layer) -> tuple[int, str]:
        k = len(layer.in_shapes)
        return per_value(k - 1, prod(layer.out_shape), f"{k} inputs: {k - 1} per output value")

    def _reductions(self, layer: Layer) -> int:
        """Adds summing the gradient of each broadcast input over its stretched axes."""
        out = prod(layer.out_shape)
        return sum(out - prod(shape) for shape in layer.in_shapes)

    ufunc: ClassVar[str]  # the NumPy ufunc combining the inputs

    def forward(self, layer: Layer, inputs: list[ndarray], weights: Mapping[str, ndarray],
                overwrite: int | None = None) -> ndarray:
        import numpy as np

        combine: Callable[..., ndarray] = getattr(np, self.ufunc)
        xs = [_batched(x, shape, layer.out_shape) for x, shape in zip(inputs, layer.in_shapes)]
        if overwrite is not None and self.storage is OutputStorage.INPLACE:
            # Accumulate into the input nobody needs any more (torchvision's `out += identity`).
            out = xs[overwrite]
            for i, x in enumerate(xs):
                if i != overwrite:
                    combine(out, x, out=out)
            return out
        out = combine(xs[0], xs[1])
        for x in xs[2:]:
            # In place unless a later input is the one that widens the result.
            out = combine(out, x, out=out if x.ndim <= out.ndim and np.broadcast_shapes(
                out.shape, x.shape) == out.shape else None)
        return out


    def backward(self, layer: Layer, inputs: list[ndarray | None], output: ndarray | None,
                 weights: Mapping[str, ndarray], grad_output: ndarray,
                 need: Sequence[bool] | None = None) -> Grads:
        # d(x1 + x2 + ...)/dxi = 1 and d(x1 x2 ...)/dxi = the product of the others; a
        # broadcast input's gradient is summed over the axes it was stretched along.
        sum_to = base.kernels.grad_values.sum_to
        grads: list[ndarray | None] = []
        for i, shape in enumerate(layer.in_shapes):
            if need is not None and not need[i]:
                grads.append(None)
                continue
            g = grad_output
            if self.ufunc == "multiply":
                for j, (x, other) in enumerate(zip(inputs, layer.in_shapes)):
                    if j != i:
                        assert x is not None
                        g = g * _batched(x, other, layer.out_shape)
            grads.append(sum_to(g, (grad_output.shape[0], *_lifted(shape, layer.out_shape))
                                ).reshape((grad_output.shape[0], *shape)))
        return grads, {}


def _lifted(shape: Shape, out: Shape) -> Shape:
    """A lower-rank shape with leading 1s up to the output's rank (as `_batched` lays it out)."""
    return (1,) * (len(out) - len(shape)) + tuple(shape)


def _batched(x: ndarray, shape: Shape, out: Shape) -> ndarray:
    """A batch of a lower-rank input, shaped to broadcast as its batchless shape does (NumPy
    aligns batchless shapes at their last axes; the batch axis stays in front)."""
    if len(shape) == len(out):
        return x
    return x.reshape((x.shape[0],) + (1,) * (len(out) - len(shape)) + tuple(shape))


@register
class Add(_Broadcasting):
    name = "add"
    aliases = ("Sum", "residual")
    summary = "element-wise sum of 2+ inputs (NumPy broadcasting)"
    notes = "Shapes broadcast as in NumPy on the batchless shapes (an axis of size 1 stretches)."
    ufunc = "add"
    flops_rule = "inputs - 1 adds per output value"
    backward_flops_rule = ("0 (every input gets the gradient), + output values - input values "
                           "adds for a broadcast input")

    def backward_flops(self, layer: Layer) -> tuple[int, str]:
        sums = self._reductions(layer)
        return (sums, f"broadcast sums: {fmt_int(sums)}") if sums else (0, "passes the gradient on")
    storage = OutputStorage.INPLACE  # torchvision's `out += identity`

    def gradient_views(self, layer: Layer) -> tuple[int, ...]:
        # The sum's gradient is every input's; a broadcast input gets a reduced copy instead.
        return tuple(i for i, shape in enumerate(layer.in_shapes) if shape == layer.out_shape)


@register
class Multiply(_Broadcasting):
    name = "multiply"
    aliases = ("Mul", "prod")
    summary = "element-wise product of 2+ inputs (e.g. a squeeze-excite gate)"
    notes = "Shapes broadcast as in NumPy: [C, H, W] times [C, 1, 1] is a squeeze-excite gate."
    ufunc = "multiply"
    flops_rule = "inputs - 1 multiplies per output value"
    backward_flops_rule = ("inputs x (inputs - 1) multiplies per output value (the gradient "
                           "times the other inputs), + output values - input values adds for a "
                           "broadcast input")

    def backward_flops(self, layer: Layer) -> tuple[int, str]:
        k, out, sums = len(layer.in_shapes), prod(layer.out_shape), self._reductions(layer)
        total = k * (k - 1) * out + sums
        return total, f"{k} x {k - 1} x {fmt_int(out)} + {fmt_int(sums)} broadcast sums = {fmt_int(total)}"
    saves_rule = "every input (each one's gradient needs the others)"

    def saved_for_backward(self, layer: Layer) -> list[Saved]:
        return [saved_input(layer, i) for i in range(len(layer.inputs))]


@register
class Concat(Op[int]):
    name = "concat"
    aliases = ("Concatenate", "cat")
    summary = "join 2+ inputs along one axis"
    notes = "Every other axis must agree."
    arguments = (Arg("axis", Axis(), "channels", "axis joined (channels = 0)", ("dim",)),)
    min_inputs, max_inputs = 2, None

    def infer(self, args: dict[str, Any], inputs: Sequence[Shape]) -> tuple[Shape, Any]:
        first = inputs[0]
        axis = normalise_axis(args["axis"], first)
        for other in inputs[1:]:
            if len(other) != len(first):
                raise OpError(f"cannot concat {fmt_shape(first)} and {fmt_shape(other)}: different ranks",
                              None, "mismatch")
            for i, (a, b) in enumerate(zip(first, other)):
                if i != axis and a != b:
                    kind = "channel" if i == 0 else f"spatial axis {i}"
                    raise OpError(f"cannot concat {fmt_shape(first)} and {fmt_shape(other)} along axis "
                                  f"{axis}: {kind} sizes {a} vs {b} differ", None, "mismatch")
        out = list(first)
        out[axis] = sum(s[axis] for s in inputs)
        return tuple(out), axis

    def gradient_views(self, layer: Layer) -> tuple[int, ...]:
        return tuple(range(len(layer.inputs)))  # each input's gradient is a slice of the output's

    def shape_formula(self, layer: Layer) -> list[str]:
        axis = self.attrs(layer)
        parts = " + ".join(str(s[axis]) for s in layer.in_shapes)
        return [f"axis {axis}: {parts} = {layer.out_shape[axis]}; other axes unchanged"]

    def forward(self, layer: Layer, inputs: list[ndarray], weights: Mapping[str, ndarray],
                overwrite: int | None = None) -> ndarray:
        import numpy as np

        return np.concatenate(inputs, axis=self.attrs(layer) + 1)  # attrs: the batchless axis

    def backward(self, layer: Layer, inputs: list[ndarray | None], output: ndarray | None,
                 weights: Mapping[str, ndarray], grad_output: ndarray,
                 need: Sequence[bool] | None = None) -> Grads:
        # Each input's gradient is its slice of the output's (a view, no copy).
        axis = self.attrs(layer) + 1
        grads: list[ndarray | None] = []
        start = 0
        for shape in layer.in_shapes:
            stop = start + shape[axis - 1]
            grads.append(grad_output[(slice(None),) * axis + (slice(start, stop),)])
            start = stop
        return grads, {}

    def reach(self, layer: Layer, inputs: list[ndarray]) -> ndarray:
        # Across channels the output position depends on every input there; along a spatial
        # axis the masks are joined like the values.
        import numpy as np

        if self.attrs(layer) == 0:
            return super().reach(layer, inputs)
        return np.concatenate(inputs, axis=self.attrs(layer) + 1)

    def rf(self, layer: Layer) -> list[Read]:
        # Along a spatial concat axis each input fills its own range of output units.
        axis = self.attrs(layer)
        if axis == 0:
            return super().rf(layer)
        total, offset = layer.out_shape[axis], 0
        reads: list[Read] = []
        for index, shape in enumerate(layer.in_shapes):
            maps = tuple(rfmap.piece(offset, shape[axis], total) if a == axis else rfmap.IDENTITY
                         for a in range(1, len(shape)))
            reads.append((index, maps))
            offset += shape[axis]
        return reads
