"""Fully connected layer."""
from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from cnncalc.ops import base
from cnncalc.ops.args import Arg, Bool, Int
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
