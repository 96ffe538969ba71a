"""Linear maps: the fully connected layer, its per-position form over the channels of a
spatial input (channel_dense), and the per-channel learnable scale."""
from __future__ import annotations

from collections.abc import Sequence
from math import prod
from typing import TYPE_CHECKING, Any

from cnncalc.ops import base
from cnncalc.ops.args import Arg, Bool, Float, Int
from cnncalc.ops.base import Op, OpError, Saved, Shape, Tensor, per_value, saved_input
from cnncalc.ops.registry import register
from cnncalc.text import fmt_int, fmt_shape

if TYPE_CHECKING:
    from collections.abc import Mapping

    from numpy import ndarray

    from cnncalc.graph import Layer


@register
class Dense(Op[None]):
    name = "dense"
    aliases = ("Linear", "fc", "FullyConnected", "InnerProduct", "Gemm")
    summary = "fully connected layer on a flat [N] input"
    notes = ("Needs a flat [N] input: any other shape, even [C, 1, 1], is an error that suggests "
             "`flatten`. Weights [units, N] plus a bias per unit.")
    arguments = (
        Arg("units", Int(1), doc="output features",
            aliases=("out_features", "num_output", "output_dim", "filters", "out_channels")),
        Arg("bias", Bool(), True, "add a learned bias per unit", ("use_bias",)),
    )

    def infer(self, args: dict[str, Any], inputs: Sequence[Shape]) -> tuple[Shape, Any]:
        shape = inputs[0]
        if len(shape) != 1:
            flat = 1
            for n in shape:
                flat *= n
            raise OpError(f"dense needs a flat [N] input but gets {fmt_shape(shape)}; add `- flatten` "
                          f"before it (giving [{flat}])", None, "needs-flatten")
        return (args["units"],), None

    def shape_formula(self, layer: Layer) -> list[str]:
        return [f"features: units = {layer.args['units']}"]

    def tensors(self, layer: Layer) -> list[Tensor]:
        units, inputs = layer.args["units"], layer.in_shapes[0][0]
        weight = Tensor("weight", (units, inputs))
        return [weight, Tensor("bias", (units,))] if layer.args["bias"] else [weight]

    def param_formula(self, layer: Layer) -> str:
        units, inputs = layer.args["units"], layer.in_shapes[0][0]
        if layer.args["bias"]:
            return f"{inputs}*{units} + {units} = {fmt_int(inputs * units + units)}"
        return f"{inputs}*{units} = {fmt_int(inputs * units)} (no bias)"

    flops_rule = "2 x MACs, + 1 add per unit with bias"
    macs_rule = "inputs x units"
    saves_rule = "input (for the weight gradient)"

    def macs(self, layer: Layer) -> int:
        units: int = layer.args["units"]
        return layer.in_shapes[0][0] * units

    def macs_formula(self, layer: Layer) -> str:
        return f"{layer.in_shapes[0][0]}*{layer.args['units']} = {fmt_int(self.macs(layer))}"

    def flops(self, layer: Layer) -> tuple[int, str]:
        if not layer.args["bias"]:
            return 0, "no bias"
        return per_value(1, layer.args["units"], "bias")

    def saved_for_backward(self, layer: Layer) -> list[Saved]:
        return [saved_input(layer)]

    # Backward: grad input = W^T x grad (inputs x units), grad weights = grad x input^T (the same).
    backward_macs_rule = "2 x MACs (grad input W^T g, grad weights g x^T)"
    backward_flops_rule = "1 add per unit with bias (the bias gradient)"

    def backward_macs(self, layer: Layer) -> int:
        return 2 * self.macs(layer)

    def weight_grad_macs(self, layer: Layer) -> int:
        return self.macs(layer)

    def backward_macs_formula(self, layer: Layer) -> str:
        macs = self.macs(layer)
        return f"grad input {fmt_int(macs)} + grad weights {fmt_int(macs)} = {fmt_int(2 * macs)}"

    def backward_flops(self, layer: Layer) -> tuple[int, str]:
        if not layer.args["bias"]:
            return 0, "no bias"
        return per_value(1, layer.args["units"], "bias gradient")

    def weight_grad_flops(self, layer: Layer) -> int:
        return int(layer.args["units"]) if layer.args["bias"] else 0

    def forward(self, layer: Layer, inputs: list[ndarray], weights: Mapping[str, ndarray],
                overwrite: int | None = None) -> ndarray:
        kernels = base.kernels
        return kernels.dense(inputs[0], weights["weight"], weights.get("bias"), label=layer.name)

    def backward(self, layer: Layer, inputs: list[ndarray | None], output: ndarray | None,
                 weights: Mapping[str, ndarray], grad_output: ndarray,
                 need: Sequence[bool] | None = None) -> tuple[list[ndarray | None], dict[str, ndarray]]:
        grad = base.kernels.grad
        x = inputs[0]
        assert x is not None
        gx, gw, gb = grad.dense_grads(x, weights["weight"], grad_output, bias=layer.args["bias"],
                                      need_input=need is None or need[0], label=layer.name)
        assert gw is not None
        return [gx], {"weight": gw} if gb is None else {"weight": gw, "bias": gb}

    def calibrate(self, layer: Layer, inputs: list[ndarray], output: ndarray,
                  weights: Mapping[str, ndarray]) -> dict[str, ndarray]:
        unit_output = base.kernels.unit_output
        return unit_output(weights, output, channel_axis=-1)


@register
class ChannelDense(Op[None]):
    name = "channel_dense"
    aliases = ("pointwise_linear",)
    summary = "a dense layer over the channels at every position: [C, ...] -> [units, ...]"
    notes = ("PyTorch's `nn.Linear` on a channels-last tensor (ConvNeXt's pwconv) or Keras' `Dense` on "
             "a spatial input: the same weights [units, C] (PyTorch Linear layout) and bias at every "
             "position, so a 1x1 conv in all but its weight layout. Needs a spatial input; a flat "
             "[N] input takes `dense`.")
    arguments = (
        Arg("units", Int(1), doc="output channels",
            aliases=("out_features", "output_dim", "filters", "out_channels")),
        Arg("bias", Bool(), True, "add a learned bias per unit", ("use_bias",)),
    )

    def infer(self, args: dict[str, Any], inputs: Sequence[Shape]) -> tuple[Shape, Any]:
        shape = inputs[0]
        if len(shape) < 2:
            raise OpError(f"channel_dense needs a spatial input [C, ...] but gets {fmt_shape(shape)}; "
                          "a flat input takes `dense`", None, "needs-spatial")
        return (args["units"], *shape[1:]), None

    def shape_formula(self, layer: Layer) -> list[str]:
        return [f"channels: units = {layer.args['units']}; spatial axes unchanged"]

    def tensors(self, layer: Layer) -> list[Tensor]:
        units, c = layer.args["units"], layer.in_shapes[0][0]
        weight = Tensor("weight", (units, c))
        return [weight, Tensor("bias", (units,))] if layer.args["bias"] else [weight]

    def param_formula(self, layer: Layer) -> str:
        units, c = layer.args["units"], layer.in_shapes[0][0]
        if layer.args["bias"]:
            return f"{c}*{units} + {units} = {fmt_int(c * units + units)}"
        return f"{c}*{units} = {fmt_int(c * units)} (no bias)"

    flops_rule = "2 x MACs, + 1 add per output value with bias"
    macs_rule = "positions x channels x units"
    saves_rule = "input (for the weight gradient)"

    def macs(self, layer: Layer) -> int:
        c, *spatial = layer.in_shapes[0]
        return prod(spatial) * c * int(layer.args["units"])

    def macs_formula(self, layer: Layer) -> str:
        c, *spatial = layer.in_shapes[0]
        return (f"({'*'.join(map(str, spatial))})*{c}*{layer.args['units']} = "
                f"{fmt_int(self.macs(layer))}")

    def flops(self, layer: Layer) -> tuple[int, str]:
        if not layer.args["bias"]:
            return 0, "no bias"
        return per_value(1, prod(layer.out_shape), "bias")

    def saved_for_backward(self, layer: Layer) -> list[Saved]:
        return [saved_input(layer)]

    def forward(self, layer: Layer, inputs: list[ndarray], weights: Mapping[str, ndarray],
                overwrite: int | None = None) -> ndarray:
        import numpy as np

        kernels = base.kernels
        # Channels last, one GEMM over every position, channels first again (a contiguous
        # buffer, as the layers after it expect).
        y = kernels.dense(np.moveaxis(inputs[0], 1, -1), weights["weight"], weights.get("bias"),
                          label=layer.name)
        return np.ascontiguousarray(np.moveaxis(y, -1, 1))

    def workspace(self, layer: Layer) -> int:
        # The channels-last copy of the input and the channels-last result.
        return prod(layer.in_shapes[0]) + prod(layer.out_shape)

    # Backward: as dense's, at every position: grad input = g W, grad weights = g^T x.
    backward_macs_rule = "2 x MACs (grad input g W, grad weights g^T x over every position)"
    backward_flops_rule = "1 add per output value with bias (the bias gradient)"

    def backward_macs(self, layer: Layer) -> int:
        return 2 * self.macs(layer)

    def weight_grad_macs(self, layer: Layer) -> int:
        return self.macs(layer)

    def backward_macs_formula(self, layer: Layer) -> str:
        macs = self.macs(layer)
        return f"grad input {fmt_int(macs)} + grad weights {fmt_int(macs)} = {fmt_int(2 * macs)}"

    def backward_flops(self, layer: Layer) -> tuple[int, str]:
        if not layer.args["bias"]:
            return 0, "no bias"
        return per_value(1, prod(layer.out_shape), "bias gradient")

    def weight_grad_flops(self, layer: Layer) -> int:
        return prod(layer.out_shape) if layer.args["bias"] else 0

    def backward(self, layer: Layer, inputs: list[ndarray | None], output: ndarray | None,
                 weights: Mapping[str, ndarray], grad_output: ndarray,
                 need: Sequence[bool] | None = None) -> tuple[list[ndarray | None], dict[str, ndarray]]:
        import numpy as np

        x = inputs[0]
        assert x is not None
        c, units = x.shape[1], grad_output.shape[1]
        # Every position is a row of one dense layer: channels last, flattened, dense's grads.
        rows = np.moveaxis(x, 1, -1).reshape(-1, c)
        grows = np.moveaxis(grad_output, 1, -1).reshape(-1, units)
        gx, gw, gb = base.kernels.grad.dense_grads(rows, weights["weight"], grows,
                                                   bias=layer.args["bias"],
                                                   need_input=need is None or need[0],
                                                   label=layer.name)
        assert gw is not None
        gin = None
        if gx is not None:
            gin = np.ascontiguousarray(np.moveaxis(gx.reshape(*x.shape[:1], *x.shape[2:], c), -1, 1))
        return [gin], {"weight": gw} if gb is None else {"weight": gw, "bias": gb}

    def calibrate(self, layer: Layer, inputs: list[ndarray], output: ndarray,
                  weights: Mapping[str, ndarray]) -> dict[str, ndarray]:
        unit_output = base.kernels.unit_output
        return unit_output(weights, output, channel_axis=1)


@register
class Scale(Op[None]):
    name = "scale"
    aliases = ("LayerScale", "layer_scale")
    summary = "a learnable multiplier per channel: y[c, ...] = gamma[c] * x[c, ...]"
    notes = ("ConvNeXt's layer scale, CaiT's LayerScale: C parameters (`weight`, one gamma per "
             "channel, the first axis; a flat [N] input has N). `init` is gamma's initial value "
             "(ConvNeXt: 1e-6); cnncalc's random weights draw each gamma from init x U(0.5, 1.5), "
             "so that a channel permutation would show in a comparison.")
    arguments = (Arg("init", Float(), 1.0, "initial value of every gamma",
                     ("layer_scale_init_value", "init_values")),)

    def infer(self, args: dict[str, Any], inputs: Sequence[Shape]) -> tuple[Shape, Any]:
        return inputs[0], None

    def tensors(self, layer: Layer) -> list[Tensor]:
        return [Tensor("weight", (layer.in_shapes[0][0],))]

    def param_formula(self, layer: Layer) -> str:
        c = layer.in_shapes[0][0]
        return f"{c} = {fmt_int(c)} (one gamma per channel)"

    flops_rule = "1 per value (multiply)"
    saves_rule = "input (for gamma's gradient)"

    def flops(self, layer: Layer) -> tuple[int, str]:
        return per_value(1, prod(layer.out_shape), "multiply")

    def saved_for_backward(self, layer: Layer) -> list[Saved]:
        return [saved_input(layer)]

    def forward(self, layer: Layer, inputs: list[ndarray], weights: Mapping[str, ndarray],
                overwrite: int | None = None) -> ndarray:
        x = inputs[0]
        gamma = weights["weight"].astype(x.dtype, copy=False)
        y: ndarray = x * gamma.reshape((1, -1) + (1,) * (x.ndim - 2))
        return y

    def workspace(self, layer: Layer) -> int:
        return prod(layer.out_shape)

    # Backward: grad input = g * gamma (1 multiply per value); grad gamma = sum of g * x over
    # everything but the channel (1 multiply and 1 add per value).
    backward_flops_rule = "3 per value: grad input 1 multiply, grad gamma 1 multiply + 1 add"

    def backward_flops(self, layer: Layer) -> tuple[int, str]:
        return per_value(3, prod(layer.out_shape), "1 grad input + 2 grad gamma per value")

    def weight_grad_flops(self, layer: Layer) -> int:
        return 2 * prod(layer.out_shape)

    def backward(self, layer: Layer, inputs: list[ndarray | None], output: ndarray | None,
                 weights: Mapping[str, ndarray], grad_output: ndarray,
                 need: Sequence[bool] | None = None) -> tuple[list[ndarray | None], dict[str, ndarray]]:
        x = inputs[0]
        assert x is not None
        g = grad_output
        gamma = weights["weight"].astype(g.dtype, copy=False).reshape((1, -1) + (1,) * (g.ndim - 2))
        axes = (0, *range(2, g.ndim))
        gw = (g * x.astype(g.dtype, copy=False)).sum(axis=axes)
        gx = g * gamma if need is None or need[0] else None
        return [gx], {"weight": gw}

    def initial_weights(self, layer: Layer, rng: Any) -> dict[str, ndarray]:
        c = layer.in_shapes[0][0]
        return {"weight": (layer.args["init"] * rng.uniform(0.5, 1.5, c)).astype("float32")}
