"""Element-wise activations, softmax and dropout: shape in = shape out, no parameters."""
from __future__ import annotations

from typing import Any, Sequence

from cnncalc.ops.base import Arg, Axis, Float, Op, OpError, Shape, fmt_shape
from cnncalc.ops.registry import register


class Elementwise(Op):
    """An op applied to every value independently."""

    def infer(self, args: dict[str, Any], inputs: Sequence[Shape]) -> tuple[Shape, Any]:
        return inputs[0], None


def _activation(op_name: str, text: str, args: tuple[Arg, ...] = ()) -> type[Elementwise]:
    cls = type(op_name.title().replace("_", ""), (Elementwise,),
               {"name": op_name, "summary": text, "arguments": args, "__module__": __name__})
    return register(cls)


Relu = _activation("relu", "max(x, 0)")
Relu6 = _activation("relu6", "min(max(x, 0), 6)")
LeakyRelu = _activation("leaky_relu", "x if x > 0 else slope*x",
                        (Arg("slope", Float(), 0.01, "slope for negative inputs"),))
Sigmoid = _activation("sigmoid", "1 / (1 + exp(-x))")
Tanh = _activation("tanh", "hyperbolic tangent")
Gelu = _activation("gelu", "x * Phi(x) (exact erf form, PyTorch default)")
Silu = _activation("silu", "x * sigmoid(x) (swish)")
Hardswish = _activation("hardswish", "x * relu6(x + 3) / 6")
Hardsigmoid = _activation("hardsigmoid", "relu6(x + 3) / 6")
Identity = _activation("identity", "passes its input through")
Dropout = _activation("dropout", "random zeroing while training; no effect on shapes or inference",
                      (Arg("rate", Float(0), 0.5, "fraction of values dropped while training"),))


def normalise_axis(axis: int, shape: Shape) -> int:
    """A batchless axis (negative counts from the end) as a non-negative index."""
    rank = len(shape)
    if not -rank <= axis < rank:
        raise OpError(f"axis {axis} is out of range for shape {fmt_shape(shape)} "
                      f"(valid: {-rank}..{rank - 1}, without the batch)", "axis")
    return axis % rank


@register
class Softmax(Op):
    name = "softmax"
    summary = "softmax along one axis"
    arguments = (Arg("axis", Axis(), "channels", "axis normalised (channels = 0)"),)

    def infer(self, args: dict[str, Any], inputs: Sequence[Shape]) -> tuple[Shape, Any]:
        return inputs[0], normalise_axis(args["axis"], inputs[0])
