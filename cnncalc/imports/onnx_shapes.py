"""ONNX nodes that move values or map features -> cnncalc: Reshape, Flatten, Transpose, Concat,
Slice, Split, Identity/Dropout, Gemm and MatMul (dense / channel_dense), and the channel
shuffle exporters write as Reshape-Transpose-Reshape."""
from __future__ import annotations

from math import prod
from typing import Any

import numpy as np

from cnncalc.imports.onnx_values import Act, Context, Pending, Refuse, channels_last_axes, identity_axes

INT64_MAX = 2**63 - 1


def _target(ctx: Context, x: Act) -> list[int]:
    shape = ctx.const(ctx.input(1))
    if shape is None:
        raise Refuse("its target shape is computed from the data, not from shapes")
    given = [int(d) for d in shape]
    current = x.onnx_shape
    if not ctx.attr("allowzero", 0):
        given = [current[i] if d == 0 and i < len(current) else d for i, d in enumerate(given)]
    if given.count(-1) == 1:
        known = prod(d for d in given if d != -1)
        given[given.index(-1)] = prod(current) // known if known else 0
    if prod(given) != prod(current):
        raise Refuse(f"reshapes {list(current)} to {given}, a different number of values")
    return given


def flatten_act(ctx: Context, x: Act) -> Act:
    if len(x.shape) == 1:
        return x
    if not x.channels_first and prod(x.shape[1:]) > 1:
        raise Refuse("it flattens a channels-last tensor (cnncalc flattens channels first)")
    return ctx.emit("flatten", {}, [x])


def reshape(ctx: Context) -> None:
    value = ctx.value(0)
    if isinstance(value, Pending):
        source = value.source
        target = _target(ctx, source)
        back = tuple(target) == source.onnx_shape
        if value.kind == "shuffle/swapped" and back:
            ctx.put(ctx.emit("channel_shuffle", {"groups": value.get("groups")}, [source]))
            return
        if value.kind == "group/normed" and back:
            ctx.put(value.then("group/back"))
            return
        raise Refuse(f"it reshapes a partial {value.kind} pattern to {target}")
    x = ctx.act(0)
    target = _target(ctx, x)
    current = x.onnx_shape
    if tuple(target) == current:
        ctx.put(x)
    elif len(target) == 2 and target[0] == current[0]:
        ctx.put(flatten_act(ctx, x))
    elif x.channels_first and len(x.shape) >= 2 and len(target) == len(current) + 1 \
            and target[0] == current[0] and target[1] * target[2] == current[1] \
            and tuple(target[3:]) == current[2:]:
        ctx.put(Pending("shuffle/split", x, ctx.node, (("groups", target[1]),)))
    elif x.channels_first and len(x.shape) >= 2 and len(target) == 3 and target[0] == current[0] \
            and current[1] % target[1] == 0:
        ctx.put(Pending("group/reshape", x, ctx.node, (("groups", target[1]),)))
    else:
        raise Refuse(f"it reshapes {list(current)} to {target}: only flattening, a channel shuffle "
                     "and a group norm's reshapes have cnncalc forms")


def flatten(ctx: Context) -> None:
    x = ctx.act(0)
    axis = int(ctx.attr("axis", 1)) % len(x.axes)
    if axis != 1:
        raise Refuse(f"it flattens from axis {axis}; cnncalc's flatten keeps only the batch")
    ctx.put(flatten_act(ctx, x))


def squeeze(ctx: Context) -> None:
    """[N, C, 1, 1] -> [N, C] is a flatten; dropping other axes has no cnncalc form."""
    x = ctx.act(0)
    given = ctx.attr("axes")
    if given is None and ctx.input(1):
        given = ctx.const(ctx.input(1))
        if given is None:
            raise Refuse("its axes are computed from the data")
    rank = len(x.axes)
    axes = {int(a) % rank for a in given} if given is not None else \
        {i for i, d in enumerate(x.onnx_shape) if d == 1 and i > 0}
    kept = [d for i, d in enumerate(x.onnx_shape) if i not in axes]
    if 0 in axes or any(x.onnx_shape[a] != 1 for a in axes):
        raise Refuse(f"it squeezes axes {sorted(axes)} of {list(x.onnx_shape)}")
    if len(kept) == 2:
        ctx.put(flatten_act(ctx, x))
    elif not axes:
        ctx.put(x)
    else:
        raise Refuse(f"it squeezes {list(x.onnx_shape)} to {kept} (cnncalc flattens to [N, C] only)")


def transpose(ctx: Context) -> None:
    value = ctx.value(0)
    perm = [int(p) for p in ctx.attr("perm")]
    if isinstance(value, Pending):
        if value.kind == "shuffle/split" and perm == [0, 2, 1, *range(3, len(perm))]:
            ctx.put(value.then("shuffle/swapped"))
            return
        raise Refuse(f"it transposes a partial {value.kind} pattern")
    x = ctx.act(0)
    axes = tuple(x.axes[p] for p in perm)
    rank = len(x.shape)
    if axes not in (identity_axes(rank), channels_last_axes(rank)):
        raise Refuse(f"perm {perm} is neither channels-last <-> channels-first nor a channel shuffle")
    ctx.put(x.with_axes(axes))


def concat(ctx: Context) -> None:
    parts = [ctx.act(i) for i in range(len(ctx.node.input))]
    if len(parts) == 1:  # torch.cat([x]): nothing to join
        ctx.put(parts[0])
        return
    if any(p.axes != parts[0].axes for p in parts):
        raise Refuse("its inputs are in different layouts")
    axis = parts[0].axis(int(ctx.attr("axis")))
    args: dict[str, object] = {} if axis == 0 else {"axis": axis}
    ctx.put(ctx.emit("concat", args, parts).with_axes(parts[0].axes))


def _slice_axis(ctx: Context, x: Act, onnx_axis: int, start: int, stop: int, step: int,
                word: str = "") -> Act:
    """x sliced along one ONNX axis (ONNX's clamping), as a cnncalc slice layer."""
    size = x.onnx_shape[onnx_axis]
    if step < 1:
        raise Refuse(f"step {step} (cnncalc slices forwards)")
    start = min(max(start + size if start < 0 else start, 0), size)
    stop = min(max(stop + size if stop < 0 else stop, 0), size)
    if (start, stop, step) == (0, size, 1):
        return x
    axis = x.axis(onnx_axis)
    if stop <= start:
        raise Refuse(f"an empty slice [{start}:{stop}]")
    args: dict[str, object] = {} if axis == 0 else {"axis": axis}
    if start:
        args["start"] = start
    if stop != size:
        args["stop"] = stop
    if step != 1:
        args["step"] = step
    return ctx.emit("slice", args, [x], word).with_axes(x.axes)


def slice_(ctx: Context) -> None:
    x = ctx.act(0)
    if ctx.state.opset < 10:
        starts, ends, axes, steps = ctx.attr("starts"), ctx.attr("ends"), ctx.attr("axes"), None
    else:
        starts, ends = ctx.const(ctx.input(1)), ctx.const(ctx.input(2))
        axes = ctx.const(ctx.input(3)) if ctx.input(3) else None
        steps = ctx.const(ctx.input(4)) if ctx.input(4) else None
        if starts is None or ends is None or (ctx.input(3) and axes is None) \
                or (ctx.input(4) and steps is None):
            raise Refuse("its starts / ends / axes / steps are computed from the data")
    axes = list(range(len(starts))) if axes is None else [int(a) for a in axes]
    steps = [1] * len(starts) if steps is None else [int(s) for s in steps]
    out = x
    for axis, start, stop, step in zip(axes, starts, ends, steps):
        out = _slice_axis(ctx, out, int(axis) % len(x.axes), int(start), min(int(stop), INT64_MAX),
                          step, ctx.word if len(axes) == 1 else f"{ctx.word}_{int(axis) % len(x.axes)}")
    ctx.put(out)


def split(ctx: Context) -> None:
    x = ctx.act(0)
    onnx_axis = int(ctx.attr("axis", 0)) % len(x.axes)
    size = x.onnx_shape[onnx_axis]
    outputs = len(ctx.node.output)
    sizes = ctx.attr("split")
    if ctx.input(1):
        sizes = ctx.const(ctx.input(1))
        if sizes is None:
            raise Refuse("its split sizes are computed from the data")
    if sizes is None:
        chunk = -(-size // outputs)
        sizes = [min(chunk, size - i * chunk) for i in range(outputs)]
    sizes = [int(s) for s in sizes]
    if sum(sizes) != size or len(sizes) != outputs:
        raise Refuse(f"split sizes {sizes} do not cover an axis of {size}")
    start = 0
    for index, (name, length) in enumerate(zip(ctx.node.output, sizes)):
        if name and (ctx.state.consumers.get(name) or name in ctx.state.graph_outputs):
            ctx.put(_slice_axis(ctx, x, onnx_axis, start, start + length, 1, f"{ctx.word}_{index}"),
                    index)
        start += length


def passthrough(ctx: Context) -> None:
    """Identity, and Dropout at inference; a Dropout's mask is not a tensor cnncalc has."""
    if len(ctx.node.output) > 1 and ctx.node.output[1] and ctx.state.consumers.get(ctx.node.output[1]):
        raise Refuse("its mask output is used")
    ctx.put(ctx.value(0))


def _bias_ok(bias: Any, units: int) -> bool:
    shape = [d for d in np.shape(bias) if d != 1]
    return shape == [units] or (units == 1 and np.size(bias) == 1)


def gemm(ctx: Context) -> None:
    x = ctx.act(0)
    if ctx.attr("transA", 0) or float(ctx.attr("alpha", 1.0)) != 1.0 or \
            (ctx.input(2) and float(ctx.attr("beta", 1.0)) != 1.0):
        raise Refuse("transA, or alpha / beta other than 1 (a dense layer is y = xW^T + b)")
    if len(x.shape) != 1:
        raise Refuse(f"its input {list(x.onnx_shape)} is not flat")
    w = ctx.weight_shape(ctx.input(1))
    inputs, units = (w[1], w[0]) if ctx.attr("transB", 0) else (w[0], w[1])
    if inputs != x.shape[0]:
        raise Refuse(f"its weight {list(w)} does not take {x.shape[0]} inputs")
    args: dict[str, object] = {"units": units}
    if ctx.input(2):
        if not ctx.is_const(ctx.input(2)) or not _bias_ok(np.zeros(ctx.weight_shape(ctx.input(2))), units):
            raise Refuse("its C input is not a bias of one value per unit")
    else:
        args["bias"] = False
    ctx.put(ctx.emit("dense", args, [x]))


def matmul(ctx: Context) -> None:
    """x @ W with a constant W: dense on a flat input, channel_dense on a channels-last one.
    The bias comes as a separate Add, which `add_bias` folds back in."""
    x = ctx.act(0)
    if not ctx.is_const(ctx.input(1)):
        raise Refuse("it multiplies two layer outputs (attention), which cnncalc cannot express")
    w = ctx.weight_shape(ctx.input(1))
    if len(w) != 2:
        raise Refuse(f"its weight has shape {list(w)}, not [in, out]")
    if len(x.shape) == 1 and x.channels_first:
        op = "dense"
    elif len(x.shape) >= 2 and x.axes[-1] == 1:
        op = "channel_dense"
    else:
        raise Refuse("it multiplies along an axis that is not the channels")
    if w[0] != x.shape[0]:
        raise Refuse(f"its weight {list(w)} does not take {x.shape[0]} channels")
    ctx.put(ctx.emit(op, {"units": w[1], "bias": False}, [x]).with_axes(x.axes))


def add_bias(ctx: Context, x: Act, bias: Any, index: int) -> bool:
    """An Add of a constant right after a bias-free MatMul is that layer's bias: fold it."""
    draft = ctx.draft(x)
    if draft is None or draft.layer.op not in ("dense", "channel_dense") \
            or draft.layer.args.get("bias", True) or ctx.readers(index) != 1:
        return False
    onnx_units = x.onnx_shape[-1]
    if not _bias_ok(bias, onnx_units) or (np.ndim(bias) > 1 and np.shape(bias)[-1] != onnx_units):
        return False
    del draft.layer.args["bias"]
    ctx.put(x)
    return True


SHAPES = {"Reshape": reshape, "Flatten": flatten, "Squeeze": squeeze, "Transpose": transpose,
          "Concat": concat, "Slice": slice_, "Split": split, "Identity": passthrough, "Dropout": passthrough,
          "Gemm": gemm, "MatMul": matmul}
