"""Constant side graphs: what exporters compute from shapes (Shape -> Gather -> Unsqueeze ->
Concat -> Reshape) is evaluated here with NumPy, once every shape is known; it produces no
layer. `Shape` of a layer's output is known exactly because cnncalc computed that shape."""
from __future__ import annotations

from typing import Any

import numpy as np

from cnncalc.imports.onnx_values import Act, Context, Refuse


def _constant(ctx: Context) -> Any:
    for key in ("value", "value_float", "value_floats", "value_int", "value_ints"):
        found = ctx.attr(key)
        if found is not None:
            if key == "value":
                from onnx import numpy_helper  # only ever loaded with the ONNX importer

                return numpy_helper.to_array(found)
            return np.array(found, dtype=np.float32 if "float" in key else np.int64)
    raise Refuse("a Constant without a numeric value (sparse or string constants are not read)")


def _axes(ctx: Context, args: list[Any], index: int) -> list[int]:
    """`axes` as an attribute (older opsets) or as input `index`."""
    found = ctx.attr("axes")
    if found is None and len(args) > index and args[index] is not None:
        found = args[index]
    return [int(a) for a in (found if found is not None else [])]


def _divide(a: Any, b: Any) -> Any:
    if np.issubdtype(np.asarray(a).dtype, np.integer) and np.issubdtype(np.asarray(b).dtype, np.integer):
        return np.trunc(np.true_divide(a, b)).astype(np.result_type(a, b))  # ONNX truncates
    return np.true_divide(a, b)


def _slice(ctx: Context, args: list[Any]) -> Any:
    data = args[0]
    if ctx.state.opset < 10:
        starts, ends = ctx.attr("starts"), ctx.attr("ends")
    else:
        starts, ends = args[1], args[2]
    axes = _axes(ctx, args, 3) or list(range(len(starts)))
    steps = args[4] if len(args) > 4 and args[4] is not None else [1] * len(starts)
    index = [slice(None)] * data.ndim
    for axis, start, end, step in zip(axes, starts, ends, steps):
        index[int(axis)] = slice(int(start), int(end), int(step))
    return data[tuple(index)]


def _reshape(ctx: Context, args: list[Any]) -> Any:
    data, shape = args[0], [int(d) for d in args[1]]
    if not ctx.attr("allowzero", 0):
        shape = [data.shape[i] if d == 0 else d for i, d in enumerate(shape)]
    return data.reshape(shape)


def _unsqueeze(ctx: Context, args: list[Any]) -> Any:
    out = args[0]
    axes = _axes(ctx, args, 1)
    rank = out.ndim + len(axes)
    for axis in sorted(a % rank for a in axes):
        out = np.expand_dims(out, axis)
    return out


def _squeeze(ctx: Context, args: list[Any]) -> Any:
    axes = _axes(ctx, args, 1)
    return np.squeeze(args[0], axis=tuple(axes) if axes else None)


def _cast(ctx: Context, args: list[Any]) -> Any:
    from onnx import helper  # only ever loaded with the ONNX importer

    return args[0].astype(helper.tensor_dtype_to_np_dtype(ctx.attr("to")))


def _constant_of_shape(ctx: Context, args: list[Any]) -> Any:
    value = ctx.attr("value")
    fill = np.zeros(1, np.float32)
    if value is not None:
        from onnx import numpy_helper  # only ever loaded with the ONNX importer

        fill = numpy_helper.to_array(value)
    return np.full([int(d) for d in args[0]], fill.reshape(-1)[0], dtype=fill.dtype)


def _reduce(fn: Any) -> Any:
    def run(ctx: Context, args: list[Any]) -> Any:
        axes = _axes(ctx, args, 1)
        return fn(args[0], axis=tuple(axes) if axes else None, keepdims=bool(ctx.attr("keepdims", 1)))
    return run


FOLD: dict[str, Any] = {
    "Identity": lambda ctx, a: a[0],
    "Gather": lambda ctx, a: np.take(a[0], a[1].astype(np.int64), axis=ctx.attr("axis", 0)),
    "Unsqueeze": _unsqueeze,
    "Squeeze": _squeeze,
    "Concat": lambda ctx, a: np.concatenate([np.atleast_1d(x) for x in a], axis=ctx.attr("axis")),
    "Add": lambda ctx, a: np.add(a[0], a[1]),
    "Sub": lambda ctx, a: np.subtract(a[0], a[1]),
    "Mul": lambda ctx, a: np.multiply(a[0], a[1]),
    "Div": lambda ctx, a: _divide(a[0], a[1]),
    "Mod": lambda ctx, a: np.fmod(a[0], a[1]) if ctx.attr("fmod", 0) else np.mod(a[0], a[1]),
    "Pow": lambda ctx, a: np.power(a[0], a[1]),
    "Neg": lambda ctx, a: np.negative(a[0]),
    "Abs": lambda ctx, a: np.abs(a[0]),
    "Sqrt": lambda ctx, a: np.sqrt(a[0]),
    "Floor": lambda ctx, a: np.floor(a[0]),
    "Ceil": lambda ctx, a: np.ceil(a[0]),
    "Min": lambda ctx, a: np.minimum.reduce(a),
    "Max": lambda ctx, a: np.maximum.reduce(a),
    "Equal": lambda ctx, a: np.equal(a[0], a[1]),
    "Less": lambda ctx, a: np.less(a[0], a[1]),
    "Greater": lambda ctx, a: np.greater(a[0], a[1]),
    "Not": lambda ctx, a: np.logical_not(a[0]),
    "Where": lambda ctx, a: np.where(a[0], a[1], a[2]),
    "Cast": _cast,
    "Slice": _slice,
    "Reshape": _reshape,
    "Transpose": lambda ctx, a: np.transpose(a[0], ctx.attr("perm")),
    "Expand": lambda ctx, a: a[0] * np.ones([int(d) for d in a[1]], dtype=a[0].dtype),
    "ConstantOfShape": _constant_of_shape,
    "Range": lambda ctx, a: np.arange(a[0], a[1], a[2]),
    "ReduceProd": _reduce(np.prod),
    "ReduceSum": _reduce(np.sum),
    "ReduceMax": _reduce(np.max),
    "ReduceMin": _reduce(np.min),
    "Size": lambda ctx, a: np.array(a[0].size, dtype=np.int64),
    "Shape": lambda ctx, a: _shape(ctx, a[0].shape),
}


def _shape(ctx: Context, shape: tuple[int, ...]) -> Any:
    start, end = ctx.attr("start", 0), ctx.attr("end")
    return np.array(shape[start:end], dtype=np.int64)


def fold(ctx: Context) -> bool:
    """Evaluate the node if it only computes on constants (or on shapes); True if it did."""
    node = ctx.node
    if node.op_type == "Constant":
        ctx.state.consts[node.output[0]] = _constant(ctx)
        return True
    if node.op_type == "Shape" and isinstance(ctx.state.values.get(ctx.input(0)), Act):
        ctx.state.consts[node.output[0]] = _shape(ctx, ctx.state.values[ctx.input(0)].onnx_shape)
        return True
    if node.op_type not in FOLD or not node.input:
        return False
    names = list(node.input)
    if not all(ctx.is_const(n) for n in names if n):
        return False
    args = [ctx.const(n) if n else None for n in names]
    try:
        result = FOLD[node.op_type](ctx, args)
    except (ValueError, TypeError, IndexError) as exc:
        raise Refuse(f"its constant inputs cannot be evaluated: {exc}") from None
    ctx.state.consts[node.output[0]] = np.asarray(result)
    return True
