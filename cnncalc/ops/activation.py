"""Element-wise activations, softmax and dropout: shape in = shape out, no parameters."""
from __future__ import annotations

from collections.abc import Sequence
from functools import cache
from math import prod
from typing import TYPE_CHECKING, Any, ClassVar

from cnncalc.ops import base, rfmap
from cnncalc.ops.args import Arg, Axis, Choice, Float
from cnncalc.ops.base import (
    Op,
    OpError,
    OutputStorage,
    Saved,
    SavedKind,
    Shape,
    per_value,
    saved_input,
    saved_output,
)
from cnncalc.ops.registry import register
from cnncalc.text import fmt_shape

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping

    from numpy import ndarray

    from cnncalc.graph import Layer
    from cnncalc.ops.rfmap import Read


class Elementwise(Op[None]):
    """An op applied to every value independently."""

    flops_per_value: ClassVar[int] = 0
    keeps: ClassVar[SavedKind | None] = None  # what backward needs: the input, the output or nothing

    def infer(self, args: dict[str, Any], inputs: Sequence[Shape]) -> tuple[Shape, Any]:
        return inputs[0], None

    def flops(self, layer: Layer) -> tuple[int, str]:
        per = self.flops_per_value
        return per_value(per, prod(layer.out_shape), f"{per} per value") if per else (0, "none")

    def saved_for_backward(self, layer: Layer) -> list[Saved]:
        if self.keeps is SavedKind.INPUT:
            return [saved_input(layer)]
        return [saved_output(layer)] if self.keeps is SavedKind.OUTPUT else []

    def forward(self, layer: Layer, inputs: list[ndarray], weights: Mapping[str, ndarray],
                overwrite: int | None = None) -> ndarray:
        # Each activation's NumPy kernel carries the op's name (kernels.relu, kernels.gelu, ...)
        # and takes the op's arguments by name (leaky_relu's slope).
        kernels = base.kernels
        x = inputs[0]
        if self.storage is OutputStorage.VIEW:  # identity, and dropout at inference: the input itself
            return x
        fn: Callable[..., ndarray] = getattr(kernels, self.name)
        kwargs = {arg.name: layer.args[arg.name] for arg in self.arguments}
        if overwrite != 0 or self.storage is not OutputStorage.INPLACE:
            return fn(x, **kwargs)
        if _writes_out(fn):
            return fn(x, out=x, **kwargs)
        x[...] = fn(x, **kwargs)  # in place as the memory model has it; the temporary is workspace
        return x

    def workspace(self, layer: Layer) -> int:
        return _TEMPORARIES.get(self.name, 2) * prod(layer.out_shape)


class _Dropout(Elementwise):
    """Identity at inference (a view); in training a new tensor and a 1-byte mask per value."""

    saves_rule = "the mask (1 byte per value, CUDA's bool mask); in training the output is new"

    def output_storage(self, layer: Layer, training: bool) -> OutputStorage:
        return OutputStorage.NEW if training else self.storage

    def saved_for_backward(self, layer: Layer) -> list[Saved]:
        return [Saved(SavedKind.EXTRA, prod(layer.out_shape), "mask", dtype="bool")]


class _DropPath(Elementwise):
    """Stochastic depth: identity at inference (a view). In training, with a rate above 0, a new
    tensor and the scaled keep mask, one value per sample (`row`) or one for the batch, as
    torchvision's stochastic_depth and timm's drop_path (both return the input itself when
    not training or the rate is 0)."""

    saves_rule = ("in training (rate > 0) the scaled keep mask, 1 value per sample (row) or per "
                  "batch, in the activation dtype; the output is new")

    def _active(self, layer: Layer) -> bool:
        return bool(layer.args["rate"] > 0)

    def output_storage(self, layer: Layer, training: bool) -> OutputStorage:
        return OutputStorage.NEW if training and self._active(layer) else self.storage

    def saved_for_backward(self, layer: Layer) -> list[Saved]:
        if not self._active(layer):
            return []
        return [Saved(SavedKind.EXTRA, 1, "keep mask", per_sample=layer.args["mode"] == "row")]


def _activation(op_name: str, text: str, args: tuple[Arg, ...] = (), *, flops: int = 0,
                how: str = "", keeps: str = "", storage: str = "new", aliases: tuple[str, ...] = (),
                base: type[Elementwise] = Elementwise) -> type[Elementwise]:
    """Declare an element-wise op: `flops` per value (`how` says which), what backward `keeps`,
    and whether it may run in place (`storage`, see Op.storage)."""
    rules = {"flops_per_value": flops, "keeps": SavedKind(keeps) if keeps else None,
             "storage": OutputStorage(storage),
             "flops_rule": f"{flops} per value ({how})" if flops else f"0 ({how})"}
    if keeps:
        rules["saves_rule"] = keeps
    cls = type(op_name.title().replace("_", ""), (base,),
               {"name": op_name, "summary": text, "arguments": args, "aliases": aliases,
                "__module__": __name__, **rules})
    return register(cls)


# FLOPs: every elementary operation counts 1, a transcendental function (exp, erf, tanh) too.
# `keeps` is what PyTorch's autograd saves; storage="inplace" marks the ops torch.nn offers
# in place (`inplace=True`), which the memory analysis assumes a runtime uses.
Relu = _activation("relu", "max(x, 0)", flops=1, how="compare", keeps="output", storage="inplace",
                   aliases=("ReLU",))
Relu6 = _activation("relu6", "min(max(x, 0), 6)", flops=2, how="2 compares", keeps="output",
                    storage="inplace", aliases=("ReLU6",))
LeakyRelu = _activation("leaky_relu", "x if x > 0 else slope*x",
                        (Arg("slope", Float(), 0.01, "slope for negative inputs",
                             ("negative_slope", "alpha")),),
                        flops=2, how="compare, multiply", keeps="output", storage="inplace",
                        aliases=("LeakyReLU", "lrelu"))
Sigmoid = _activation("sigmoid", "1 / (1 + exp(-x))", flops=4, how="negate, exp, add, divide",
                      keeps="output", aliases=("logistic",))
Tanh = _activation("tanh", "hyperbolic tangent", flops=1, how="tanh", keeps="output")
Gelu = _activation("gelu", "x * Phi(x) (exact erf form, PyTorch default)", flops=5,
                   how="scale, erf, add, halve, multiply", keeps="input")
Silu = _activation("silu", "x * sigmoid(x) (swish)", flops=5, how="sigmoid, multiply",
                   keeps="input", storage="inplace", aliases=("swish",))
Hardswish = _activation("hardswish", "x * relu6(x + 3) / 6", flops=5,
                        how="add, 2 compares, multiply, divide", keeps="input", storage="inplace",
                        aliases=("h_swish",))
Hardsigmoid = _activation("hardsigmoid", "relu6(x + 3) / 6", flops=4,
                          how="add, 2 compares, divide", keeps="input", storage="inplace",
                          aliases=("h_sigmoid",))
Identity = _activation("identity", "passes its input through", how="passes its input through",
                       storage="view", aliases=("noop",))
Dropout = _activation("dropout", "random zeroing while training; no effect on shapes or inference",
                      (Arg("rate", Float(0, 1), 0.5, "fraction of values dropped while training",
                           ("p", "drop_rate", "ratio")),),
                      how="identity at inference", storage="view", base=_Dropout,
                      aliases=("SpatialDropout2D", "AlphaDropout"))
DropPath = _activation("drop_path", "stochastic depth: drops whole samples while training; "
                       "no effect on shapes or inference",
                       (Arg("rate", Float(0, 1), 0.0, "probability that a sample's branch is dropped "
                            "while training", ("p", "drop_prob", "drop_path_rate")),
                        Arg("mode", Choice("row", "batch"), "row",
                            "row: drop each sample on its own; batch: the whole batch at once")),
                       how="identity at inference", storage="view", base=_DropPath,
                       aliases=("DropPath", "StochasticDepth"))


def normalise_axis(axis: int, shape: Shape) -> int:
    """A batchless axis (negative counts from the end) as a non-negative index."""
    rank = len(shape)
    if not -rank <= axis < rank:
        raise OpError(f"axis {axis} is out of range for shape {fmt_shape(shape)} "
                      f"(valid: {-rank}..{rank - 1}, without the batch)", "axis")
    return axis % rank


@register
class Softmax(Op[int]):
    name = "softmax"
    aliases = ("Softmax", "softmax2d")
    summary = "softmax along one axis"
    arguments = (Arg("axis", Axis(), "channels", "axis normalised (channels = 0)", ("dim",)),)

    def infer(self, args: dict[str, Any], inputs: Sequence[Shape]) -> tuple[Shape, Any]:
        return inputs[0], normalise_axis(args["axis"], inputs[0])

    def rf(self, layer: Layer) -> list[Read]:
        # Along a spatial softmax axis every unit reads the whole axis (exact, not global:
        # the other axes stay local).
        axis = self.attrs(layer)
        shape = layer.in_shapes[0]
        return [(0, tuple(rfmap.whole_axis(shape[a]) if a == axis else rfmap.IDENTITY
                          for a in range(1, len(shape))))]

    flops_rule = "5 per value (max, subtract, exp, sum, divide: the stable form)"
    saves_rule = "output"

    def flops(self, layer: Layer) -> tuple[int, str]:
        return per_value(5, prod(layer.out_shape), "5 per value")

    def saved_for_backward(self, layer: Layer) -> list[Saved]:
        return [saved_output(layer)]

    def forward(self, layer: Layer, inputs: list[ndarray], weights: Mapping[str, ndarray],
                overwrite: int | None = None) -> ndarray:
        kernels = base.kernels
        return kernels.softmax(inputs[0], axis=self.attrs(layer) + 1)  # attrs: the batchless axis

    def reach(self, layer: Layer, inputs: list[ndarray]) -> ndarray:
        # Along a spatial axis every value depends on the whole axis; across channels the
        # collapsed mask is already the union.
        import numpy as np

        axis = self.attrs(layer)
        if axis == 0:
            return inputs[0]
        mask = inputs[0]
        return np.broadcast_to(mask.max(axis=axis + 1, keepdims=True), mask.shape)

    def workspace(self, layer: Layer) -> int:
        return 3 * prod(layer.out_shape)


# Output-sized temporaries of the NumPy kernels beyond the default two (gelu's erfc series).
_TEMPORARIES = {"gelu": 12, "silu": 6, "sigmoid": 5, "hardswish": 5, "hardsigmoid": 4, "tanh": 2}


@cache
def _writes_out(fn: Any) -> bool:
    """Whether a kernel can write its result into a given array (`out=`); cached, as
    inspect.signature costs more than a small ReLU."""
    import inspect

    return "out" in inspect.signature(fn).parameters
