"""ONNX activations, arithmetic and normalisations -> cnncalc, with the patterns exporters
write out node by node: x * sigmoid(x) (SiLU), x * hardsigmoid(x) (hard swish), GELU's Erf
form, layer norm as ReduceMean-Sub-Pow-ReduceMean-Add-Sqrt-Div-Mul-Add, and PyTorch's group
norm as Reshape-InstanceNormalization-Reshape-Mul-Add. A pattern's steps are `Pending`
values; only the finished pattern becomes a layer."""
from __future__ import annotations

from math import prod, sqrt
from typing import Any

import numpy as np

from cnncalc.imports.onnx_shapes import add_bias, flatten_act
from cnncalc.imports.onnx_values import Act, Context, Pending, Refuse


def f32(value: Any) -> float:
    """A float32 attribute as the decimal it was written as (1e-05, not 9.99999974738e-06)."""
    return float(str(np.float32(value)))


def _near(value: Any, target: float) -> bool:
    return value is not None and np.size(value) == 1 and abs(float(np.asarray(value).reshape(-1)[0])
                                                              - target) <= 1e-6 * max(1.0, abs(target))


def unary(op: str, **fixed: Any) -> Any:
    def run(ctx: Context) -> None:
        x = ctx.act(0)
        ctx.put(ctx.emit(op, dict(fixed), [x]).with_axes(x.axes))
    return run


def leaky_relu(ctx: Context) -> None:
    x = ctx.act(0)
    slope = f32(ctx.attr("alpha", 0.01))
    ctx.put(ctx.emit("leaky_relu", {} if slope == 0.01 else {"slope": slope}, [x]).with_axes(x.axes))


def hard_sigmoid(ctx: Context) -> None:
    x = ctx.act(0)
    alpha, beta = float(ctx.attr("alpha", 0.2)), float(ctx.attr("beta", 0.5))
    if np.float32(alpha) != np.float32(1 / 6) or beta != 0.5:
        raise Refuse(f"alpha {f32(alpha)} and beta {f32(beta)} (cnncalc's hardsigmoid is "
                     "relu6(x + 3) / 6: alpha 1/6, beta 0.5)")
    ctx.put(ctx.emit("hardsigmoid", {}, [x]).with_axes(x.axes))


def clip(ctx: Context) -> None:
    x = ctx.act(0)
    if ctx.state.opset < 11:
        low, high = ctx.attr("min"), ctx.attr("max")
    else:
        low = ctx.const(ctx.input(1)) if ctx.input(1) else None
        high = ctx.const(ctx.input(2)) if ctx.input(2) else None
        if (ctx.input(1) and low is None) or (ctx.input(2) and high is None):
            raise Refuse("its min / max are computed from the data")
    unbounded = high is None or float(np.asarray(high).reshape(-1)[0]) >= 3.4e38
    if _near(low, 0.0) and _near(high, 6.0):
        op = "relu6"
    elif _near(low, 0.0) and unbounded:
        op = "relu"
    else:
        raise Refuse("only Clip(0, 6) (relu6) and Clip(0, inf) (relu) have cnncalc forms")
    ctx.put(ctx.emit(op, {}, [x]).with_axes(x.axes))


def gelu(ctx: Context) -> None:
    x = ctx.act(0)
    if ctx.attr("approximate", "none") != "none":
        raise Refuse("the tanh approximation (cnncalc's gelu is the exact erf form)")
    ctx.put(ctx.emit("gelu", {}, [x]).with_axes(x.axes))


def softmax(ctx: Context) -> None:
    x = ctx.act(0)
    rank = len(x.axes)
    onnx_axis = int(ctx.attr("axis", 1 if ctx.state.opset < 13 else -1)) % rank
    if ctx.state.opset < 13 and prod(x.onnx_shape[onnx_axis + 1:]) != 1:
        raise Refuse("before opset 13 Softmax normalises everything from its axis on")
    axis = x.axis(onnx_axis)
    ctx.put(ctx.emit("softmax", {} if axis == 0 else {"axis": axis}, [x]).with_axes(x.axes))


def lrn(ctx: Context) -> None:
    x = ctx.act(0)
    size = int(ctx.attr("size"))
    if size % 2 == 0:
        raise Refuse("an even size: ONNX and PyTorch centre its window differently")
    args: dict[str, object] = {"size": size, "alpha": f32(ctx.attr("alpha", 1e-4)),
                               "beta": f32(ctx.attr("beta", 0.75)), "k": f32(ctx.attr("bias", 1.0))}
    ctx.put(ctx.emit("lrn", args, [x]))


def batch_norm(ctx: Context) -> None:
    if any(name and ctx.state.consumers.get(name) for name in ctx.node.output[1:]):
        raise Refuse("its training outputs (running statistics) are used")
    x = ctx.act(0)
    if not x.channels_first:
        raise Refuse("its input is channels-last here")
    eps = f32(ctx.attr("epsilon", 1e-5))
    ctx.put(ctx.emit("bn", {} if eps == 1e-5 else {"eps": eps}, [x]))


def _eps(args: dict[str, object], eps: float) -> dict[str, object]:
    if eps != 1e-5:
        args["eps"] = eps
    return args


def instance_norm(ctx: Context) -> None:
    value = ctx.value(0)
    eps = f32(ctx.attr("epsilon", 1e-5))
    if isinstance(value, Pending) and value.kind == "group/reshape":
        scale, shift = ctx.const(ctx.input(1)), ctx.const(ctx.input(2))
        if scale is None or shift is None or np.any(scale != 1) or np.any(shift != 0):
            raise Refuse("a group norm with a learned scale per group (cnncalc's is per channel)")
        ctx.put(value.then("group/normed", eps=eps))
        return
    x = ctx.act(0)
    if not x.channels_first or len(x.shape) < 2:
        raise Refuse("its input is not a channels-first spatial tensor")
    ctx.put(ctx.emit("groupnorm", _eps({"groups": x.shape[0]}, eps), [x]))


def group_norm(ctx: Context) -> None:
    x = ctx.act(0)
    groups = int(ctx.attr("num_groups"))
    if ctx.weight_shape(ctx.input(1)) != (x.shape[0],) and groups != x.shape[0]:
        raise Refuse("a scale per group (opset 18's GroupNormalization); cnncalc's is per channel")
    ctx.put(ctx.emit("groupnorm", _eps({"groups": groups}, f32(ctx.attr("epsilon", 1e-5))), [x]))


def layer_norm(ctx: Context) -> None:
    x = ctx.act(0)
    rank = len(x.axes)
    first = int(ctx.attr("axis", -1)) % rank
    axes = {x.axis(a) for a in range(first, rank)}
    if not ctx.input(2):
        raise Refuse("no bias B (cnncalc's layernorm always has one)")
    _emit_norm(ctx, x, axes, f32(ctx.attr("epsilon", 1e-5)), ctx.weight_shape(ctx.input(1)),
               ctx.weight_shape(ctx.input(2)))


def _emit_norm(ctx: Context, x: Act, axes: set[int], eps: float, scale: tuple[int, ...],
               shift: tuple[int, ...]) -> None:
    """A normalisation over cnncalc `axes` with a learned scale and shift of these shapes."""
    rank = len(x.shape)
    every = set(range(rank))
    if axes == {0}:
        per = x.shape[0]
        args = _eps({}, eps)
        op = "layernorm"
    elif axes == every:
        per = prod(x.shape)
        args = _eps({"over": "all"}, eps)
        op = "layernorm"
    elif axes == every - {0} and rank > 1:
        per = x.shape[0]
        args = _eps({"groups": x.shape[0]}, eps)
        op = "groupnorm"
    else:
        raise Refuse(f"it normalises over axes {sorted(axes)} of {list(x.shape)} (cnncalc: the "
                     "channels, everything, or each channel's positions)")
    if prod(scale) != per or prod(shift) != per:
        raise Refuse(f"a scale {list(scale)} / shift {list(shift)} that is not one value per "
                     "normalised element")
    ctx.put(ctx.emit(op, args, [x]).with_axes(x.axes))


def _fused(ctx: Context, acts: list[Act], names: tuple[str, ...], into: str) -> bool:
    """x * f(x) with f's layer read only here: that layer becomes `into` (SiLU, hard swish)."""
    for i, j in ((0, 1), (1, 0)):
        draft = ctx.draft(acts[j])
        if draft is not None and draft.layer.op in names and draft.layer.inputs == [acts[i].layer] \
                and ctx.readers(j) == 1:
            draft.layer.op = into
            draft.suffix = ctx.word
            ctx.put(acts[j])
            return True
    return False


def _scalar(value: Any) -> float | None:
    return float(np.asarray(value).reshape(-1)[0]) if value is not None and np.size(value) == 1 else None


def mul(ctx: Context) -> None:
    a, b = ctx.value(0), ctx.value(1)
    if isinstance(b, Pending) and (not isinstance(a, Pending) or a.kind == "gelu/half"):
        a, b = b, a
    if isinstance(a, Pending):
        _pattern_mul(ctx, a, b)
        return
    if isinstance(a, Act) and isinstance(b, Act):
        if _fused(ctx, [a, b], ("sigmoid",), "silu") or _fused(ctx, [a, b], ("hardsigmoid",), "hardswish"):
            return
        if a.axes != b.axes:
            raise Refuse("its inputs are in different layouts")
        ctx.put(ctx.emit("multiply", {}, [a, b]).with_axes(a.axes))
        return
    x, c = (a, b) if isinstance(a, Act) else (b, a)
    if not isinstance(x, Act):
        raise Refuse("it multiplies two constants")
    if _near(c, 0.5):
        ctx.put(Pending("gelu/half", x, ctx.node))
    elif _near(c, 1 / sqrt(2)):
        ctx.put(Pending("gelu/div", x, ctx.node))
    else:
        ctx.put(_scale(ctx, x, c))


def _scale(ctx: Context, x: Act, c: Any) -> Act:
    """x times a constant with one value per channel (layer scale) -> cnncalc's scale."""
    shape = list(np.shape(c))
    onnx = x.onnx_shape
    ranked = [1] * (len(onnx) - len(shape)) + shape
    channel = x.axes.index(1)
    if len(ranked) != len(onnx) or ranked[channel] != onnx[channel] or prod(ranked) != onnx[channel]:
        raise Refuse(f"it multiplies by a constant of shape {shape}, not one value per channel")
    values = np.asarray(c).reshape(-1)
    args: dict[str, object] = {}
    if np.all(values == values[0]) and f32(values[0]) != 1.0:
        args["init"] = f32(values[0])
    return ctx.emit("scale", args, [x]).with_axes(x.axes)


def _pattern_mul(ctx: Context, p: Pending, other: Any) -> None:
    if p.kind == "gelu/add" and isinstance(other, Act) and other == p.source:
        ctx.put(p.then("gelu/mul"))
    elif (p.kind == "gelu/add" and isinstance(other, Pending) and other.kind == "gelu/half"
          and other.source == p.source) or (p.kind == "gelu/mul" and _near(other, 0.5)):
        ctx.put(ctx.emit("gelu", {}, [p.source]).with_axes(p.source.axes))
    elif p.kind == "norm/centered" and isinstance(other, Pending) and other is p:
        ctx.put(p.then("norm/square"))
    elif p.kind in ("norm/normed", "group/back") and other is not None and not isinstance(other, Act):
        ctx.put(p.then(p.kind.split("/")[0] + "/scaled", scale=tuple(np.shape(other))))
    else:
        raise Refuse(f"it multiplies a partial {p.kind} pattern")


def add(ctx: Context) -> None:
    a, b = ctx.value(0), ctx.value(1)
    index = 0
    if not isinstance(a, (Act, Pending)):
        a, b, index = b, a, 1
    if isinstance(a, Pending):
        if a.kind == "gelu/erf" and _near(b, 1.0):
            ctx.put(a.then("gelu/add"))
        elif a.kind == "norm/var" and _scalar(b) is not None:
            ctx.put(a.then("norm/var_eps", eps=f32(_scalar(b))))
        elif a.kind in ("norm/scaled", "group/scaled") and not isinstance(b, (Act, Pending)):
            x, scale = a.source, a.get("scale")
            if a.kind == "group/scaled":
                _group_norm(ctx, a, scale, np.shape(b))
            else:
                _emit_norm(ctx, x, a.get("axes"), a.get("eps"), scale, np.shape(b))
        else:
            raise Refuse(f"it adds to a partial {a.kind} pattern")
        return
    if not isinstance(a, Act):
        raise Refuse("it adds two constants")
    if isinstance(b, Act):
        if a.axes != b.axes:
            raise Refuse("its inputs are in different layouts")
        ctx.put(ctx.emit("add", {}, [a, b]).with_axes(a.axes))
    elif not add_bias(ctx, a, b, index):
        raise Refuse("it adds a constant tensor (cnncalc adds biases only inside conv / dense)")


def _group_norm(ctx: Context, p: Pending, scale: Any, shift: Any) -> None:
    x = p.source
    if prod(scale) != x.shape[0] or prod(shift) != x.shape[0]:
        raise Refuse("a group norm whose scale / shift is not one value per channel")
    ctx.put(ctx.emit("groupnorm", _eps({"groups": p.get("groups")}, p.get("eps")), [x]))


def div(ctx: Context) -> None:
    a, b = ctx.value(0), ctx.value(1)
    if isinstance(a, Act) and _near(b, sqrt(2)):
        ctx.put(Pending("gelu/div", a, ctx.node))
    elif isinstance(a, Pending) and a.kind == "norm/centered" and isinstance(b, Pending) \
            and b.kind == "norm/std" and b.source == a.source:
        ctx.put(b.then("norm/normed"))
    else:
        raise Refuse("a division (only GELU's x / sqrt(2) and a written-out normalisation's "
                     "division by the deviation have cnncalc forms)")


def _step(kind: str, then: str) -> Any:
    def run(ctx: Context) -> None:
        value = ctx.value(0)
        if not (isinstance(value, Pending) and value.kind == kind):
            raise Refuse(f"{ctx.node.op_type} has no cnncalc form outside a written-out GELU or norm")
        ctx.put(value.then(then))
    return run


def pow_(ctx: Context) -> None:
    value = ctx.value(0)
    if isinstance(value, Pending) and value.kind == "norm/centered" and _near(ctx.value(1), 2.0):
        ctx.put(value.then("norm/square"))
    else:
        raise Refuse("Pow has no cnncalc form outside a written-out normalisation")


def sub(ctx: Context) -> None:
    a, b = ctx.value(0), ctx.value(1)
    if isinstance(a, Act) and isinstance(b, Pending) and b.kind == "norm/mean" and b.source == a:
        ctx.put(b.then("norm/centered"))
    else:
        raise Refuse("a subtraction (only a written-out normalisation's x - mean has a cnncalc form)")


def reduce(ctx: Context) -> None:
    value = ctx.value(0)
    keep = bool(ctx.attr("keepdims", 1))
    given = ctx.attr("axes")
    if given is None and ctx.input(1):
        given = ctx.const(ctx.input(1))
    if given is None:
        raise Refuse("no axes given (a reduction over everything, batch included)")
    source = value.source if isinstance(value, Pending) else ctx.act(0)
    axes = {source.axis(int(a)) for a in given}
    mean = ctx.node.op_type == "ReduceMean"
    if isinstance(value, Pending):
        if value.kind == "norm/square" and axes == value.get("axes") and keep:
            ctx.put(value.then("norm/var"))
            return
        raise Refuse(f"it reduces a partial {value.kind} pattern")
    x = source
    subtracted = "Sub" in ctx.state.reader_ops.get(ctx.node.output[0], set())
    if mean and keep and subtracted:  # x - mean(x): a written-out norm (instance norm: spatial axes)
        ctx.put(Pending("norm/mean", x, ctx.node, (("axes", axes),)))
    elif axes == set(range(1, len(x.shape))) and axes:
        out = ctx.emit("gap" if mean else "gmp", {}, [x]).with_axes(x.axes)
        ctx.put(out if keep else flatten_act(ctx, out))
    else:
        raise Refuse(f"it reduces axes {sorted(axes)} of {list(x.shape)}; only every spatial axis "
                     "(global pooling) has a cnncalc form")


NODES = {
    "Relu": unary("relu"), "Sigmoid": unary("sigmoid"), "Tanh": unary("tanh"),
    "HardSwish": unary("hardswish"), "LeakyRelu": leaky_relu, "HardSigmoid": hard_sigmoid,
    "Clip": clip, "Gelu": gelu, "Softmax": softmax, "LRN": lrn, "BatchNormalization": batch_norm,
    "InstanceNormalization": instance_norm, "GroupNormalization": group_norm,
    "LayerNormalization": layer_norm, "Mul": mul, "Add": add, "Sub": sub, "Div": div, "Pow": pow_,
    "Erf": _step("gelu/div", "gelu/erf"), "Sqrt": _step("norm/var_eps", "norm/std"),
    "ReduceMean": reduce, "ReduceMax": reduce,
}
