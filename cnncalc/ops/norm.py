"""Normalisation layers: batch norm, layer norm, group norm, local response norm."""
from __future__ import annotations

from math import prod
from typing import TYPE_CHECKING, Any, Sequence

from cnncalc.ops.base import Arg, Choice, Float, Int, Op, OpError, Shape, Tensor, fmt_int
from cnncalc.ops.registry import register

if TYPE_CHECKING:
    from cnncalc.graph import Layer

_EPS = Arg("eps", Float(0, above=True), 1e-5, "added to the variance")


def _same_shape(inputs: Sequence[Shape]) -> tuple[Shape, Any]:
    return inputs[0], None


@register
class BatchNorm(Op):
    name = "bn"
    summary = "batch normalisation (inference uses the running statistics)"
    arguments = (_EPS,)

    def infer(self, args: dict[str, Any], inputs: Sequence[Shape]) -> tuple[Shape, Any]:
        return _same_shape(inputs)

    def tensors(self, layer: Layer) -> list[Tensor]:
        c = layer.in_shapes[0][0]
        return [Tensor("weight", (c,)), Tensor("bias", (c,)),
                Tensor("running_mean", (c,), trainable=False),
                Tensor("running_var", (c,), trainable=False)]

    def param_formula(self, layer: Layer) -> str:
        c = layer.in_shapes[0][0]
        return f"2*{c} = {fmt_int(2 * c)} (scale, shift; +{fmt_int(2 * c)} buffers: running mean, var)"


@register
class LayerNorm(Op):
    name = "layernorm"
    summary = "layer normalisation over the channels at each position, or over the whole sample"
    arguments = (_EPS, Arg("over", Choice("channels", "all"), "channels",
                           "channels: per position (2C params); all: whole tensor (2 x its size)"))

    def infer(self, args: dict[str, Any], inputs: Sequence[Shape]) -> tuple[Shape, Any]:
        return _same_shape(inputs)

    def _affine_shape(self, layer: Layer) -> Shape:
        shape = layer.in_shapes[0]
        return shape if layer.args["over"] == "all" else (shape[0],)

    def tensors(self, layer: Layer) -> list[Tensor]:
        shape = self._affine_shape(layer)
        return [Tensor("weight", shape), Tensor("bias", shape)]

    def param_formula(self, layer: Layer) -> str:
        shape = self._affine_shape(layer)
        return f"2*{'*'.join(map(str, shape))} = {fmt_int(2 * prod(shape))}"


@register
class GroupNorm(Op):
    name = "groupnorm"
    summary = "group normalisation"
    arguments = (Arg("groups", Int(1), doc="channel groups normalised together"), _EPS)

    def infer(self, args: dict[str, Any], inputs: Sequence[Shape]) -> tuple[Shape, Any]:
        if len(inputs[0]) < 2:
            raise OpError("groupnorm needs a [C, ...] input with spatial axes")
        if inputs[0][0] % args["groups"]:
            raise OpError(f"groups={args['groups']} does not divide the {inputs[0][0]} channels",
                          "groups", "groups")
        return _same_shape(inputs)

    def tensors(self, layer: Layer) -> list[Tensor]:
        c = layer.in_shapes[0][0]
        return [Tensor("weight", (c,)), Tensor("bias", (c,))]

    def param_formula(self, layer: Layer) -> str:
        c = layer.in_shapes[0][0]
        return f"2*{c} = {fmt_int(2 * c)}"


@register
class LocalResponseNorm(Op):
    name = "lrn"
    summary = "local response normalisation across channels (PyTorch LocalResponseNorm)"
    arguments = (
        Arg("size", Int(1), doc="neighbouring channels used"),
        Arg("alpha", Float(), 1e-4, "multiplicative factor"),
        Arg("beta", Float(), 0.75, "exponent"),
        Arg("k", Float(), 1.0, "additive factor"),
    )

    def infer(self, args: dict[str, Any], inputs: Sequence[Shape]) -> tuple[Shape, Any]:
        if len(inputs[0]) < 2:
            raise OpError("lrn needs a [C, ...] input with spatial axes")
        return _same_shape(inputs)
