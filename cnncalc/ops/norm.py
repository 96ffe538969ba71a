"""Normalisation layers: batch norm, layer norm, group norm, local response norm."""
from __future__ import annotations

from math import prod
from typing import TYPE_CHECKING, Any, Sequence

from cnncalc.ops.base import (Arg, Choice, Float, Int, Op, OpError, Saved, Shape, Tensor, fmt_int,
                              per_value, saved_input)
from cnncalc.ops import rfmap
from cnncalc.ops.registry import register

if TYPE_CHECKING:
    from cnncalc.graph import Layer
    from cnncalc.ops.rfmap import Read

_EPS = Arg("eps", Float(0, above=True), 1e-5, "added to the variance")


def _same_shape(inputs: Sequence[Shape]) -> tuple[Shape, Any]:
    return inputs[0], None


class _Normalise:
    """Cost and memory rules of layer norm and group norm (a mixin; `_groups` differs): statistics
    over groups of values, then an affine scale and shift per value."""

    flops_rule = ("7 per value (subtract the mean, square, sum for mean and variance, normalise, "
                  "scale, shift) + 4 per normalised group (2 divisions, + eps, 1/sqrt)")
    saves_rule = "input, + mean and 1/std per normalised group"

    def _groups(self, layer: Layer) -> int:
        """How many groups of values are normalised together, per sample."""
        raise NotImplementedError

    def flops(self, layer: Layer) -> tuple[int, str]:
        values, groups = prod(layer.out_shape), self._groups(layer)
        total = 7 * values + 4 * groups
        return total, (f"7 x {fmt_int(values)} values + 4 x {fmt_int(groups)} groups = "
                       f"{fmt_int(total)}")

    def saved_for_backward(self, layer: Layer) -> list[Saved]:
        return [saved_input(layer), Saved("extra", 2 * self._groups(layer), "mean, 1/std")]


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

    flops_rule = "2 per value (running statistics folded into one scale and one shift)"
    saves_rule = "input, + batch mean and 1/std per channel"

    def flops(self, layer: Layer) -> tuple[int, str]:
        return per_value(2, prod(layer.out_shape), "scale and shift")

    def saved_for_backward(self, layer: Layer) -> list[Saved]:
        # The batch statistics are per channel, shared by the whole batch.
        c = layer.in_shapes[0][0]
        return [saved_input(layer), Saved("extra", 2 * c, "batch mean, 1/std", per_sample=False)]


@register
class LayerNorm(_Normalise, Op):
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

    def _groups(self, layer: Layer) -> int:
        # over: channels normalises the channel vector at every position.
        return 1 if layer.args["over"] == "all" else prod(layer.in_shapes[0][1:])

    def rf(self, layer: Layer) -> list[Read]:
        # over: all -> each value also depends on every position through the statistics.
        local = super().rf(layer)
        return local + [(0, rfmap.GLOBAL)] if layer.args["over"] == "all" else local


@register
class GroupNorm(_Normalise, Op):
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

    def _groups(self, layer: Layer) -> int:
        return int(layer.args["groups"])

    def rf(self, layer: Layer) -> list[Read]:
        # The value at a position, and the group's statistics over every position.
        return super().rf(layer) + [(0, rfmap.GLOBAL)]


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

    flops_rule = ("size + 5 per value (square, size - 1 adds over the channel window, / size, "
                  "x alpha, + k, ^ beta, divide)")
    saves_rule = ("input, + the padded squares, k + alpha*mean and its power (PyTorch's composite "
                  "LocalResponseNorm)")

    def flops(self, layer: Layer) -> tuple[int, str]:
        size = layer.args["size"]
        return per_value(size + 5, prod(layer.out_shape), f"size {size} + 5 per value")

    def saved_for_backward(self, layer: Layer) -> list[Saved]:
        c, spatial = layer.in_shapes[0][0], prod(layer.in_shapes[0][1:])
        padded = (c + layer.args["size"] - 1) * spatial  # channels zero-padded by size - 1
        return [saved_input(layer), Saved("extra", padded, "padded squares"),
                Saved("extra", c * spatial, "k + alpha*mean"), Saved("extra", c * spatial, "denominator")]
