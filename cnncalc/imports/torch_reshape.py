"""Shape and layout nodes: flatten, view/reshape, permute, transpose, chunk/split, indexing,
and the `x.size()` side computations (answered from the propagated shapes, no layer).

Only reshapes cnncalc can say in its own words are accepted: to flat (`flatten`), the
view-transpose-view of a channel shuffle (`channel_shuffle`), and the permutes around
ConvNeXt's channels-last LayerNorm/Linear (no layer: the tensor is marked channels-last
until it is permuted back).
"""
from __future__ import annotations

import builtins
import math
import operator
from typing import TYPE_CHECKING, Any

import torch

from cnncalc.imports import torch_modules as mods
from cnncalc.imports.torch_functions import get, handles
from cnncalc.imports.torch_values import CHANNELS_FIRST, CHANNELS_LAST, Piece, Tensor, Unsupported

if TYPE_CHECKING:
    from torch import fx

    from cnncalc.imports.torch_convert import Converter

HANDLED = True


@handles((torch.flatten,), ("flatten",))
def _flatten(conv: Converter, node: fx.Node, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    x = conv.tensor(args[0])
    return mods.flatten(conv, x, int(get(args, kwargs, 1, "start_dim", 0)),
                        int(get(args, kwargs, 2, "end_dim", -1)))


@handles((torch.reshape,), ("view", "reshape"))
def _view(conv: Converter, node: fx.Node, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    x = args[0]
    if isinstance(x, Piece):
        x = conv.tensor(x)
    if not isinstance(x, Tensor):
        raise Unsupported("a reshape of something that is not a tensor of the network")
    out = conv.shape(node)
    n = x.shape[0]
    if x.shuffle is not None:
        kind, groups = x.shuffle
        if kind == "swapped" and out == (n, x.shape[1] * x.shape[2], *x.shape[3:]):
            return conv.emit("channel_shuffle", {"groups": groups}, [x], base="channel_shuffle")
        raise Unsupported(f"a reshape to {list(out)} in the middle of a channel shuffle")
    if out == x.shape:
        return x
    if x.layout == CHANNELS_FIRST:
        if out == (n, math.prod(x.shape[1:])):
            return mods.flatten(conv, x, 1, -1)
        if len(out) == x.rank + 1 and out[0] == n and out[1] * out[2] == x.shape[1] \
                and out[3:] == x.shape[2:]:
            return Tensor(x.layer, out, x.layout, ("grouped", out[1]))
    raise Unsupported(f"a reshape of {list(x.shape)} to {list(out)}: cnncalc reshapes only to "
                      "flat or as a channel shuffle")


@handles((torch.transpose,), ("transpose",))
def _transpose(conv: Converter, node: fx.Node, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    x = args[0]
    dims = {int(get(args, kwargs, 1, "dim0", 0)) % len(x.shape),
            int(get(args, kwargs, 2, "dim1", 0)) % len(x.shape)} if isinstance(x, Tensor) else set()
    if isinstance(x, Tensor) and x.shuffle is not None and x.shuffle[0] == "grouped" and dims == {1, 2}:
        return Tensor(x.layer, conv.shape(node), x.layout, ("swapped", x.shuffle[1]))
    raise Unsupported("a transpose that is not part of a channel shuffle")


@handles((torch.permute,), ("permute",))
def _permute(conv: Converter, node: fx.Node, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    x = conv.tensor(args[0])
    rest = args[1:] or (kwargs.get("dims"),)
    dims = list(rest[0]) if len(rest) == 1 and isinstance(rest[0], (tuple, list)) else list(rest)
    dims = [int(d) % x.rank for d in dims]
    last = [0, *range(2, x.rank), 1]          # channels-first -> channels-last
    first = [0, x.rank - 1, *range(1, x.rank - 1)]
    if dims == list(range(x.rank)):
        return x
    if x.layout == CHANNELS_FIRST and dims == last:
        return Tensor(x.layer, conv.shape(node), CHANNELS_LAST)
    if x.layout == CHANNELS_LAST and dims == first:
        return Tensor(x.layer, conv.shape(node), CHANNELS_FIRST)
    raise Unsupported(f"permute{tuple(dims)}: cnncalc follows only the channels-last round trip "
                      "(0, 2, ..., 1) and back")


@handles((), ("contiguous", "clone", "detach"))
def _same(conv: Converter, node: fx.Node, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    x = args[0]
    if isinstance(x, Piece):
        return conv.tensor(x)
    return x


@handles((torch.chunk,), ("chunk",))
def _chunk(conv: Converter, node: fx.Node, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    x = conv.tensor(args[0])
    chunks, dim = int(get(args, kwargs, 1, "chunks", 1)), int(get(args, kwargs, 2, "dim", 0))
    size = -(-x.shape[dim] // chunks)
    return _pieces(x, dim, [min(size, x.shape[dim] - start) for start in range(0, x.shape[dim], size)])


@handles((torch.split,), ("split",))
def _split(conv: Converter, node: fx.Node, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    x = conv.tensor(args[0])
    sizes = get(args, kwargs, 1, "split_size_or_sections", kwargs.get("split_size"))
    dim = int(get(args, kwargs, 2, "dim", 0))
    if isinstance(sizes, int):
        sizes = [min(sizes, x.shape[dim] - start) for start in range(0, x.shape[dim], sizes)]
    return _pieces(x, dim, [int(s) for s in sizes])


def _pieces(x: Tensor, dim: int, sizes: list[int]) -> tuple[Piece, ...]:
    x.axis(dim)  # refuses the batch axis
    dim %= x.rank
    starts = [sum(sizes[:i]) for i in range(len(sizes))]
    return tuple(Piece(x, dim, start, start + size) for start, size in zip(starts, sizes))


@handles((operator.getitem,))
def _getitem(conv: Converter, node: fx.Node, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    value, index = args
    if isinstance(value, (tuple, list)):
        item = value[index]
        return conv.tensor(item) if isinstance(item, Piece) else item
    x = conv.tensor(value)
    index = index if isinstance(index, tuple) else (index,)
    if builtins.sum(1 for i in index if i is Ellipsis) > 1:
        raise Unsupported("more than one ... in an index")
    if Ellipsis in index:
        at = index.index(Ellipsis)
        index = index[:at] + (slice(None),) * (x.rank - len(index) + 1) + index[at + 1:]
    if len(index) > x.rank or not all(isinstance(i, slice) for i in index):
        raise Unsupported(f"indexing with {index!r}: cnncalc slices ranges of an axis only")
    if index and index[0] != slice(None):
        raise Unsupported("slicing the batch axis")
    shape = list(x.shape)
    for dim, part in enumerate(index):
        start, stop, step = part.indices(shape[dim])
        if (start, stop, step) == (0, shape[dim], 1):
            continue
        if step < 0:
            raise Unsupported("a negative step (reversing an axis)")
        args_: dict[str, Any] = {"start": start} if start else {}
        if stop != shape[dim]:
            args_["stop"] = stop
        if step != 1:
            args_["step"] = step
        axis = x.axis(dim)
        if axis:
            args_["axis"] = axis
        shape[dim] = len(range(start, stop, step))
        x = conv.emit("slice", args_, [x], base="slice", shape=tuple(shape))
    return x


@handles((), ("size",))
def _size(conv: Converter, node: fx.Node, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    shape = torch.Size(_tensor_shape(args[0]))
    dim = get(args, kwargs, 1, "dim", None)
    return shape if dim is None else shape[dim]


@handles((), ("dim",))
def _dim(conv: Converter, node: fx.Node, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    return len(_tensor_shape(args[0]))


@handles((builtins.getattr,))
def _getattr(conv: Converter, node: fx.Node, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    name = args[1]
    shape = _tensor_shape(args[0])
    if name == "shape":
        return torch.Size(shape)
    if name == "ndim":
        return len(shape)
    raise Unsupported(f"reading the tensor attribute .{name}")


def _tensor_shape(value: Any) -> tuple[int, ...]:
    if isinstance(value, Tensor):
        return value.shape
    if isinstance(value, Piece):
        shape = list(value.source.shape)
        shape[value.dim] = value.stop - value.start
        return tuple(shape)
    raise Unsupported("the shape of something that is not a tensor of the network")

