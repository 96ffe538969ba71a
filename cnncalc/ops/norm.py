"""Normalisation layers: batch norm, layer norm, group norm, local response norm."""
from __future__ import annotations

from collections.abc import Sequence
from math import prod
from typing import TYPE_CHECKING, Any

from cnncalc.ops import base, rfmap
from cnncalc.ops.args import Arg, Choice, Float, Int
from cnncalc.ops.base import Grads, Op, OpError, Saved, SavedKind, Shape, Tensor, per_value, saved_input
from cnncalc.ops.registry import register
from cnncalc.text import fmt_int

if TYPE_CHECKING:
    from collections.abc import Mapping

    from numpy import ndarray

    from cnncalc.graph import Layer
    from cnncalc.ops.rfmap import Read

_EPS = Arg("eps", Float(0, lo_open=True), 1e-5, "added to the variance", ("epsilon",))


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

    # Backward with the batch's own statistics (a training step): grad weights sums g x-hat
    # and g over the other axes; grad input is 1/std (w g - mean(w g) - x-hat mean(w g x-hat)).
    backward_flops_rule = ("12 per value: grad weights 5 (x-hat: subtract, multiply; g x-hat; "
                           "2 sums), grad input 7 (g x weight, 2 sums over the group, x-hat x "
                           "mean, 2 subtracts, x 1/std)")

    def backward_flops(self, layer: Layer) -> tuple[int, str]:
        return per_value(12, prod(layer.out_shape), "5 grad weights + 7 grad input per value")

    def weight_grad_flops(self, layer: Layer) -> int:
        return 5 * prod(layer.out_shape)

    def saved_for_backward(self, layer: Layer) -> list[Saved]:
        return [saved_input(layer), Saved(SavedKind.EXTRA, 2 * self._groups(layer), "mean, 1/std")]

    def initial_weights(self, layer: Layer, rng: Any) -> dict[str, ndarray]:
        return _affine_weights(rng, self._affine_shape(layer))  # type: ignore[attr-defined]

    def workspace(self, layer: Layer) -> int:
        # The centred copy, its square and the broadcast statistics.
        return 4 * prod(layer.out_shape)


def _affine_weights(rng: Any, shape: Shape) -> dict[str, ndarray]:
    """A normalisation's scale near 1 and shift near 0, random so that a swapped scale and
    shift, or a channel permutation, would show in a comparison."""
    return {"weight": rng.uniform(0.5, 1.5, shape).astype("float32"),
            "bias": rng.normal(0.0, 0.1, shape).astype("float32")}


@register
class BatchNorm(Op[None]):
    name = "bn"
    aliases = ("BatchNorm2d", "BatchNormalization", "batch_norm", "SyncBatchNorm")
    summary = "batch normalisation (inference uses the running statistics)"
    notes = "2C parameters (scale, shift) and 2C buffers (running mean and variance)."
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

    # Backward in training mode (batch statistics, as a training step uses them).
    backward_flops_rule = ("9 per value with batch statistics: grad weights 5 (x-hat: subtract, "
                           "multiply; g x-hat; sums of g and g x-hat), grad input 4 (x-hat x "
                           "mean, 2 subtracts, x scale/std)")

    def backward_flops(self, layer: Layer) -> tuple[int, str]:
        return per_value(9, prod(layer.out_shape), "5 grad weights + 4 grad input per value")

    def weight_grad_flops(self, layer: Layer) -> int:
        return 5 * prod(layer.out_shape)

    def saved_for_backward(self, layer: Layer) -> list[Saved]:
        # The batch statistics are per channel, shared by the whole batch.
        c = layer.in_shapes[0][0]
        return [saved_input(layer), Saved(SavedKind.EXTRA, 2 * c, "batch mean, 1/std", per_sample=False)]

    def forward(self, layer: Layer, inputs: list[ndarray], weights: Mapping[str, ndarray],
                overwrite: int | None = None) -> ndarray:
        kernels = base.kernels
        return kernels.batch_norm_inference(inputs[0], weights["running_mean"],
                                            weights["running_var"], weights["weight"],
                                            weights["bias"], layer.args["eps"])

    def backward(self, layer: Layer, inputs: list[ndarray | None], output: ndarray | None,
                 weights: Mapping[str, ndarray], grad_output: ndarray,
                 need: Sequence[bool] | None = None) -> Grads:
        # Inference mode, as the forward: the running statistics are constants, so the input
        # gradient is dY times the folded scale. (Training mode would differentiate through
        # the batch mean and variance: dX = gamma rstd (dY - mean(dY) - xhat mean(dY xhat)).)
        grad_values = base.kernels.grad_values
        x = inputs[0]
        assert x is not None
        gx, gw, gb = grad_values.batch_norm_inference_grad(
            x, grad_output, weights["running_mean"], weights["running_var"], weights["weight"],
            layer.args["eps"])
        return [gx], {"weight": gw, "bias": gb}

    def initial_weights(self, layer: Layer, rng: Any) -> dict[str, ndarray]:
        c = layer.in_shapes[0][0]
        return {**_affine_weights(rng, (c,)),
                "running_mean": rng.normal(0.0, 0.1, c).astype("float32"),
                "running_var": rng.uniform(0.5, 1.5, c).astype("float32")}

    def calibrate(self, layer: Layer, inputs: list[ndarray], output: ndarray,
                  weights: Mapping[str, ndarray]) -> dict[str, ndarray]:
        # Running statistics as training would leave them (the statistics of what reaches the
        # layer), so every batch norm really normalises: residual sums then grow linearly
        # with depth instead of doubling per block. A small floor keeps a constant channel
        # from being amplified by 1/sqrt(eps) on another input.
        import numpy as np

        x = inputs[0]
        axes = (0, *range(2, x.ndim))
        mean = x.mean(axis=axes, dtype=np.float64)
        var = x.var(axis=axes, dtype=np.float64)
        var = var + 0.01 * float(var.mean()) + 1e-6
        dtype = weights["running_mean"].dtype
        return {"running_mean": mean.astype(dtype), "running_var": var.astype(dtype)}


@register
class LayerNorm(_Normalise, Op[None]):
    name = "layernorm"
    aliases = ("LayerNormalization", "layer_norm")
    summary = "layer normalisation over the channels at each position, or over the whole sample"
    notes = ("`over: channels` normalises the channel vector at each position (2C parameters); "
             "`over: all` the whole [C, ...] tensor (2 x its size).")
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

    def forward(self, layer: Layer, inputs: list[ndarray], weights: Mapping[str, ndarray],
                overwrite: int | None = None) -> ndarray:
        kernels = base.kernels
        return kernels.layer_norm(inputs[0], weights["weight"], weights["bias"], layer.args["eps"],
                                  layer.args["over"])

    def backward(self, layer: Layer, inputs: list[ndarray | None], output: ndarray | None,
                 weights: Mapping[str, ndarray], grad_output: ndarray,
                 need: Sequence[bool] | None = None) -> Grads:
        grad_values = base.kernels.grad_values
        x = inputs[0]
        assert x is not None
        gx, gw, gb = grad_values.layer_norm_grad(x, grad_output, weights["weight"], layer.args["eps"],
                                                 layer.args["over"])
        return [gx], {"weight": gw, "bias": gb}

    def reach(self, layer: Layer, inputs: list[ndarray]) -> ndarray:
        # over: all normalises with statistics of the whole sample, so every position counts.
        everywhere = base.kernels.masks.everywhere
        if layer.args["over"] == "all":
            return everywhere(inputs[0], layer.out_shape)
        return super().reach(layer, inputs)


@register
class GroupNorm(_Normalise, Op[None]):
    name = "groupnorm"
    aliases = ("GroupNormalization", "group_norm")
    summary = "group normalisation"
    notes = "2C parameters; `groups` must divide the channels."
    arguments = (Arg("groups", Int(1), doc="channel groups normalised together (dividing the channels)",
                     aliases=("num_groups",)),
                 _EPS)

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

    def _affine_shape(self, layer: Layer) -> Shape:
        return (layer.in_shapes[0][0],)

    def forward(self, layer: Layer, inputs: list[ndarray], weights: Mapping[str, ndarray],
                overwrite: int | None = None) -> ndarray:
        kernels = base.kernels
        return kernels.group_norm(inputs[0], layer.args["groups"], weights["weight"],
                                  weights["bias"], layer.args["eps"])

    def backward(self, layer: Layer, inputs: list[ndarray | None], output: ndarray | None,
                 weights: Mapping[str, ndarray], grad_output: ndarray,
                 need: Sequence[bool] | None = None) -> Grads:
        grad_values = base.kernels.grad_values
        x = inputs[0]
        assert x is not None
        gx, gw, gb = grad_values.group_norm_grad(x, grad_output, layer.args["groups"],
                                                 weights["weight"], layer.args["eps"])
        return [gx], {"weight": gw, "bias": gb}

    def reach(self, layer: Layer, inputs: list[ndarray]) -> ndarray:
        # Each group's statistics span every position: all positions count.
        everywhere = base.kernels.masks.everywhere
        return everywhere(inputs[0], layer.out_shape)


@register
class LocalResponseNorm(Op[None]):
    name = "lrn"
    aliases = ("LocalResponseNorm", "LocalResponseNormalization", "local_response_norm")
    summary = "local response normalisation across channels (PyTorch LocalResponseNorm)"
    notes = "x / (k + alpha * mean of x^2 over `size` neighbouring channels) ^ beta, as PyTorch."
    arguments = (
        Arg("size", Int(1), doc="neighbouring channels used", aliases=("local_size",)),
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

    backward_flops_rule = ("2 x (size + 5) per value (each forward step's derivative, "
                           "PyTorch's composite backward)")

    def backward_flops(self, layer: Layer) -> tuple[int, str]:
        size = layer.args["size"]
        return per_value(2 * (size + 5), prod(layer.out_shape), f"2 x (size {size} + 5) per value")

    def saved_for_backward(self, layer: Layer) -> list[Saved]:
        c, spatial = layer.in_shapes[0][0], prod(layer.in_shapes[0][1:])
        padded = (c + layer.args["size"] - 1) * spatial  # channels zero-padded by size - 1
        return [saved_input(layer), Saved(SavedKind.EXTRA, padded, "padded squares"),
                Saved(SavedKind.EXTRA, c * spatial, "k + alpha*mean"),
                Saved(SavedKind.EXTRA, c * spatial, "denominator")]

    def forward(self, layer: Layer, inputs: list[ndarray], weights: Mapping[str, ndarray],
                overwrite: int | None = None) -> ndarray:
        kernels = base.kernels
        a = layer.args
        return kernels.lrn(inputs[0], a["size"], a["alpha"], a["beta"], a["k"])

    def backward(self, layer: Layer, inputs: list[ndarray | None], output: ndarray | None,
                 weights: Mapping[str, ndarray], grad_output: ndarray,
                 need: Sequence[bool] | None = None) -> Grads:
        # The window sums are recomputed from the saved input (PyTorch keeps them).
        grad_values = base.kernels.grad_values
        a = layer.args
        x = inputs[0]
        assert x is not None
        return [grad_values.lrn_grad(x, grad_output, a["size"], a["alpha"], a["beta"], a["k"])], {}

    def workspace(self, layer: Layer) -> int:
        # Squares, their channel-padded copy, the window sum and the denominator.
        c, spatial = layer.in_shapes[0][0], prod(layer.in_shapes[0][1:])
        size: int = layer.args["size"]
        return (c + size) * spatial + 4 * c * spatial
