"""torch functions and Tensor methods in a traced graph -> cnncalc layers (or no layer).

Functions are recognised by identity (`torch.cat`, `operator.add`, `F.relu`), methods by name
(`x.view`, `x.chunk`), so a user's own function that happens to be called `add` is reported,
never mistaken. Layout moves (ConvNeXt's permutes, a channel shuffle's view-transpose-view)
emit nothing until the pattern completes; anything else on a moved tensor is reported.
"""
from __future__ import annotations

import operator
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import torch
import torch.nn.functional as F  # noqa: N812  (PyTorch's own spelling)

from cnncalc.imports import torch_modules as mods
from cnncalc.imports.torch_values import CHANNELS_FIRST, CHANNELS_LAST, Param, Piece, Tensor, Unsupported

if TYPE_CHECKING:
    from torch import fx

    from cnncalc.imports.torch_convert import Converter

Handler = Callable[["Converter", "fx.Node", tuple[Any, ...], dict[str, Any]], Any]
FUNCTIONS: dict[Any, Handler] = {}
METHODS: dict[str, Handler] = {}


def handles(functions: tuple[Any, ...] = (), methods: tuple[str, ...] = ()) -> Callable[[Handler], Handler]:
    def register(handler: Handler) -> Handler:
        for function in functions:
            FUNCTIONS[function] = handler
        for method in methods:
            METHODS[method] = handler
        return handler
    return register


def get(args: tuple[Any, ...], kwargs: dict[str, Any], index: int, name: str, default: Any) -> Any:
    """An argument given by position or keyword."""
    if index < len(args):
        return args[index]
    return kwargs.get(name, default)


def call(conv: Converter, node: fx.Node, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    if node.op == "call_method":
        handler = METHODS.get(str(node.target))
    else:
        handler = _function_handler(node.target)
    if handler is None:
        raise Unsupported("no cnncalc op for it")
    return handler(conv, node, args, kwargs)


def _function_handler(target: Any) -> Handler | None:
    try:
        found = FUNCTIONS.get(target)
    except TypeError:  # an unhashable callable
        return None
    if found is None and getattr(target, "__name__", "") == "stochastic_depth" and \
            str(getattr(target, "__module__", "")).startswith("torchvision."):
        return _stochastic_depth
    return found


def _same_layout(tensors: list[Tensor]) -> None:
    if len({t.layout for t in tensors}) > 1:
        raise Unsupported("it combines tensors held in different layouts")


# -- merges ------------------------------------------------------------------------------------

@handles((operator.add, operator.iadd, torch.add), ("add", "add_", "__add__", "__iadd__"))
def _add(conv: Converter, node: fx.Node, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    a, b = args[0], get(args, kwargs, 1, "other", None)
    if get(args, kwargs, 2, "alpha", 1) != 1:
        raise Unsupported("add with alpha != 1")
    if not all(isinstance(v, (Tensor, Piece)) for v in (a, b)):
        raise Unsupported("adding a constant or a parameter to a tensor: no cnncalc op does")
    tensors = [conv.tensor(a), conv.tensor(b)]
    _same_layout(tensors)
    return conv.emit("add", {}, tensors)


@handles((operator.mul, operator.imul, torch.mul), ("mul", "mul_", "__mul__", "__imul__"))
def _mul(conv: Converter, node: fx.Node, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    a, b = args[0], get(args, kwargs, 1, "other", None)
    params = [v for v in (a, b) if isinstance(v, Param)]
    others = [v for v in (a, b) if not isinstance(v, Param)]
    if len(params) == 1 and isinstance(others[0], (Tensor, Piece)):
        return _scale(conv, params[0], conv.tensor(others[0]))
    if not all(isinstance(v, (Tensor, Piece)) for v in (a, b)):
        raise Unsupported("multiplying a tensor by a constant: no cnncalc op does")
    tensors = [conv.tensor(a), conv.tensor(b)]
    _same_layout(tensors)
    return conv.emit("multiply", {}, tensors)


def _scale(conv: Converter, param: Param, x: Tensor) -> Tensor:
    """A learned per-channel factor (ConvNeXt's layer scale) -> `scale`."""
    value = param.value
    shape = tuple(value.shape)  # type: ignore[attr-defined]
    c = x.channels
    per_channel = (c,) if x.layout == CHANNELS_LAST else (c, *([1] * (x.rank - 2)))
    if shape not in {per_channel, (1, *per_channel)} or not param.trainable:
        raise Unsupported(f"multiplying by {param.target} of shape {list(shape)}: cnncalc's "
                          f"scale is one learned factor per channel ({list(per_channel)})")
    flat = value.detach().flatten()  # type: ignore[attr-defined]
    init = 1.0 if flat.is_meta or not bool((flat == flat[0]).all()) else float(flat[0])
    conv.read_params.add(param.target)
    return conv.emit("scale", {"init": init} if init != 1.0 else {}, [x], name=param.target)


@handles((torch.cat, torch.concat, torch.concatenate))
def _cat(conv: Converter, node: fx.Node, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    tensors = [conv.tensor(v) for v in args[0]]
    dim = get(args, kwargs, 1, "dim", kwargs.get("axis", 0))
    _same_layout(tensors)
    if len(tensors) == 1:
        return tensors[0]
    axis = tensors[0].axis(dim)
    return conv.emit("concat", {"axis": axis} if axis else {}, tensors)


# -- activations -------------------------------------------------------------------------------

def _elementwise(op: str) -> Handler:
    def handler(conv: Converter, node: fx.Node, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        return conv.emit(op, {}, [conv.tensor(args[0])])
    return handler


for _op, _functions, _methods in [
        ("relu", (F.relu, torch.relu, F.relu_, torch.relu_), ("relu", "relu_")),
        ("relu6", (F.relu6,), ()),
        ("silu", (F.silu,), ()),
        ("sigmoid", (torch.sigmoid, F.sigmoid), ("sigmoid", "sigmoid_")),
        ("tanh", (torch.tanh, F.tanh), ("tanh", "tanh_")),
        ("hardsigmoid", (F.hardsigmoid,), ()),
        ("hardswish", (F.hardswish,), ())]:
    handles(_functions, _methods)(_elementwise(_op))


@handles((F.hardtanh, F.hardtanh_))
def _hardtanh(conv: Converter, node: fx.Node, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    low, high = get(args, kwargs, 1, "min_val", -1.0), get(args, kwargs, 2, "max_val", 1.0)
    if (low, high) != (0.0, 6.0):
        raise Unsupported(f"hardtanh({low}, {high}): only (0, 6) is relu6")
    return conv.emit("relu6", {}, [conv.tensor(args[0])])


@handles((F.leaky_relu, F.leaky_relu_))
def _leaky(conv: Converter, node: fx.Node, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    slope = float(get(args, kwargs, 1, "negative_slope", 0.01))
    return conv.emit("leaky_relu", {} if slope == 0.01 else {"slope": slope}, [conv.tensor(args[0])])


@handles((F.gelu,))
def _gelu(conv: Converter, node: fx.Node, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    if get(args, kwargs, 1, "approximate", "none") != "none":
        raise Unsupported("the tanh approximation: cnncalc's gelu is the exact erf form")
    return conv.emit("gelu", {}, [conv.tensor(args[0])])


@handles((F.softmax, torch.softmax), ("softmax",))
def _softmax(conv: Converter, node: fx.Node, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    x = conv.tensor(args[0])
    dim = get(args, kwargs, 1, "dim", None)
    if dim is None:
        raise Unsupported("softmax without a dim")
    axis = x.axis(dim)
    return conv.emit("softmax", {"axis": axis} if axis else {}, [x])


# -- pooling, dropout, padding, resizing, normalisation ----------------------------------------

@handles((F.max_pool1d, F.max_pool2d, F.max_pool3d, torch.max_pool1d, torch.max_pool2d,
          torch.max_pool3d))
def _max_pool(conv: Converter, node: fx.Node, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    if get(args, kwargs, 6, "return_indices", False):
        raise Unsupported("return_indices=True")
    dilation = get(args, kwargs, 4, "dilation", 1)
    extra = {} if mods.is_default(dilation, 1) else {"dilation": mods.per_axis(dilation)}
    return mods.pool(conv, "maxpool", conv.tensor(args[0]), get(args, kwargs, 1, "kernel_size", None),
                     get(args, kwargs, 2, "stride", None), get(args, kwargs, 3, "padding", 0),
                     bool(get(args, kwargs, 5, "ceil_mode", False)), extra)


@handles((F.avg_pool1d, F.avg_pool2d, F.avg_pool3d))
def _avg_pool(conv: Converter, node: fx.Node, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    if get(args, kwargs, 6, "divisor_override", None) is not None:
        raise Unsupported("divisor_override: cnncalc divides by the window size")
    extra = {} if get(args, kwargs, 5, "count_include_pad", True) else {"count_include_pad": False}
    return mods.pool(conv, "avgpool", conv.tensor(args[0]), get(args, kwargs, 1, "kernel_size", None),
                     get(args, kwargs, 2, "stride", None), get(args, kwargs, 3, "padding", 0),
                     bool(get(args, kwargs, 4, "ceil_mode", False)), extra)


@handles((F.adaptive_avg_pool1d, F.adaptive_avg_pool2d, F.adaptive_avg_pool3d))
def _adaptive_avg(conv: Converter, node: fx.Node, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    return mods.adaptive(conv, "avg", conv.tensor(args[0]), get(args, kwargs, 1, "output_size", None))


@handles((F.adaptive_max_pool1d, F.adaptive_max_pool2d, F.adaptive_max_pool3d))
def _adaptive_max(conv: Converter, node: fx.Node, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    if get(args, kwargs, 2, "return_indices", False):
        raise Unsupported("return_indices=True")
    return mods.adaptive(conv, "max", conv.tensor(args[0]), get(args, kwargs, 1, "output_size", None))


@handles((F.dropout, F.dropout1d, F.dropout2d, F.dropout3d, torch.dropout))
def _dropout(conv: Converter, node: fx.Node, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    return mods.dropout(conv, conv.tensor(args[0]), float(get(args, kwargs, 1, "p", 0.5)))


def _stochastic_depth(conv: Converter, node: fx.Node, args: tuple[Any, ...],
                      kwargs: dict[str, Any]) -> Any:
    """torchvision.ops.stochastic_depth(input, p, mode, training) -> drop_path."""
    rate, mode = float(get(args, kwargs, 1, "p", 0.0)), get(args, kwargs, 2, "mode", "row")
    settings = {**({"rate": rate} if rate else {}), **({"mode": mode} if mode != "row" else {})}
    return conv.emit("drop_path", settings, [conv.tensor(args[0])])


@handles((F.pad,))
def _pad(conv: Converter, node: fx.Node, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    value = get(args, kwargs, 3, "value", None)
    return mods.pad(conv, conv.tensor(args[0]), list(get(args, kwargs, 1, "pad", [])),
                    get(args, kwargs, 2, "mode", "constant"), float(value or 0.0))


@handles((F.interpolate, F.upsample))
def _interpolate(conv: Converter, node: fx.Node, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    return mods.interpolate(conv, conv.tensor(args[0]), get(args, kwargs, 1, "size", None),
                            get(args, kwargs, 2, "scale_factor", None),
                            get(args, kwargs, 3, "mode", "nearest"),
                            get(args, kwargs, 4, "align_corners", None),
                            bool(get(args, kwargs, 6, "antialias", False)))


@handles((F.layer_norm,))
def _layer_norm(conv: Converter, node: fx.Node, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    weight, bias = get(args, kwargs, 2, "weight", None), get(args, kwargs, 3, "bias", None)
    affine = isinstance(weight, Param) and isinstance(bias, Param)
    # Named after the module owning the weight (torchvision's LayerNorm2d: `features.0.1`).
    name = weight.target.rpartition(".")[0] if isinstance(weight, Param) else None
    return mods.layer_norm(conv, conv.tensor(args[0]), get(args, kwargs, 1, "normalized_shape", ()),
                           float(get(args, kwargs, 4, "eps", 1e-5)), affine, name or None)  # type: ignore[arg-type]


@handles((F.linear,))
def _linear(conv: Converter, node: fx.Node, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    weight, bias = get(args, kwargs, 1, "weight", None), get(args, kwargs, 2, "bias", None)
    if not isinstance(weight, Param) or not (bias is None or isinstance(bias, Param)):
        raise Unsupported("a linear whose weight is not a parameter of the model")
    x = conv.tensor(args[0])
    op = "channel_dense" if x.layout == CHANNELS_LAST and x.rank >= 3 else "dense"
    if op == "dense" and x.rank != 2:
        raise Unsupported(f"a linear on the last axis of a {x.rank}-D channels-first tensor")
    args_: dict[str, Any] = {"units": int(weight.value.shape[0])}  # type: ignore[attr-defined]
    if bias is None:
        args_["bias"] = False
    return conv.emit(op, args_, [x], name=weight.target.rpartition(".")[0] or None)


@handles((torch.channel_shuffle, F.channel_shuffle) if hasattr(F, "channel_shuffle") else
         (torch.channel_shuffle,))
def _channel_shuffle(conv: Converter, node: fx.Node, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    x = conv.tensor(args[0])
    if x.layout != CHANNELS_FIRST:
        raise Unsupported("a channel shuffle of a permuted tensor")
    return conv.emit("channel_shuffle", {"groups": int(get(args, kwargs, 1, "groups", 1))}, [x])


@handles((), ("mean",))
def _mean(conv: Converter, node: fx.Node, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    """x.mean([2, 3]) over every spatial axis: gap (then flatten when the axes go)."""
    x = conv.tensor(args[0])
    dims = get(args, kwargs, 1, "dim", None)
    keep = bool(get(args, kwargs, 2, "keepdim", False))
    dims = [dims] if isinstance(dims, int) else list(dims or [])
    spatial = set(range(2, x.rank))
    if x.layout != CHANNELS_FIRST or {d % x.rank for d in dims} != spatial or not spatial:
        raise Unsupported(f"a mean over dims {dims}: cnncalc averages every spatial axis (gap)")
    if keep:
        return conv.emit("gap", {}, [x])
    pooled = conv.emit("gap", {}, [x], base="gap", shape=(*x.shape[:2], *([1] * len(spatial))))
    return conv.emit("flatten", {}, [pooled])

