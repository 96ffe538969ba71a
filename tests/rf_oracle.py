"""An independent receptive-field oracle: which input positions each output unit depends on.

The network is made linear with positive weights (weights 1/fan-in, activations and batch
norm the identity, max pooling replaced by average pooling of the same geometry, multiply
linearised at a positive point: d(a*b) = b da + a db, i.e. a sum), then run on a batch of
impulses, one per input position. With no negative weight nothing cancels, so an output
unit is non-zero for impulse p exactly when it depends on p. Two backends compute the same
thing: PyTorch (torch.nn.functional) and NumPy (cnncalc.backend.kernels, itself checked
against PyTorch); neither uses cnncalc's receptive-field code, only the layers' resolved
shape attributes (windows, pads).

`gates_constant=True` replaces the outputs of ops that mix every position (gap, gmp,
flatten, the statistics of group norm...) by constants: the "local" receptive field.
`choose` keeps one input of the named merge layers (zeroing the others): one path.
"""
from __future__ import annotations

from math import prod
from typing import Any

import numpy as np

from cnncalc.graph import Graph, Layer

ELEMENTWISE = {"relu", "relu6", "leaky_relu", "sigmoid", "tanh", "gelu", "silu", "hardswish",
               "hardsigmoid", "identity", "dropout", "bn", "lrn", "channel_shuffle", "scale",
               "drop_path"}
STATISTICS = {"groupnorm"}  # local value + statistics over every position


class NumpyOps:
    def __init__(self) -> None:
        from cnncalc.backend import kernels

        self.k = kernels

    def array(self, x: np.ndarray) -> Any:
        return x

    def numpy(self, x: Any) -> np.ndarray:
        return np.asarray(x)

    def conv(self, x: Any, w: np.ndarray, stride: tuple[int, ...], pads: Any,
             dilation: tuple[int, ...], groups: int) -> Any:
        return self.k.conv(x, w, None, stride, pads, dilation, groups)

    def deconv(self, x: Any, w: np.ndarray, stride: tuple[int, ...], pads: Any, extra: tuple[int, ...],
               dilation: tuple[int, ...], groups: int) -> Any:
        return self.k.conv_transpose(x, w, None, stride, pads, extra, dilation, groups)

    def adaptive(self, x: Any, out: tuple[int, ...]) -> Any:
        return self.k.adaptive_avg_pool(x, out)

    def upsample(self, x: Any, scales: tuple[float, ...], mode: str, align: bool) -> Any:
        return self.k.upsample(x, scales, mode, align if mode == "linear" else None)

    def pad(self, x: Any, pads: Any) -> Any:
        return self.k.pad_zeros(x, pads)

    def mean(self, x: Any, axes: tuple[int, ...]) -> Any:
        return x.mean(axis=axes, keepdims=True)

    def cat(self, xs: list[Any], axis: int) -> Any:
        return np.concatenate(xs, axis=axis)

    def zeros(self, shape: tuple[int, ...]) -> Any:
        return np.zeros(shape)

    def matmul(self, x: Any, w: np.ndarray) -> Any:
        return x @ w.T


class TorchOps(NumpyOps):
    def __init__(self) -> None:
        import torch
        import torch.nn.functional as F  # noqa: N812

        self.torch, self.F = torch, F

    def array(self, x: np.ndarray) -> Any:
        return self.torch.from_numpy(np.ascontiguousarray(x)).double()

    def numpy(self, x: Any) -> np.ndarray:
        return x.detach().numpy()

    def _w(self, w: np.ndarray) -> Any:
        return self.torch.from_numpy(w).double()

    def conv(self, x: Any, w: np.ndarray, stride: tuple[int, ...], pads: Any,
             dilation: tuple[int, ...], groups: int) -> Any:
        fn = [self.F.conv1d, self.F.conv2d, self.F.conv3d][x.dim() - 3]
        return fn(self.pad(x, pads), self._w(w), None, stride, 0, dilation, groups)

    def deconv(self, x: Any, w: np.ndarray, stride: tuple[int, ...], pads: Any, extra: tuple[int, ...],
               dilation: tuple[int, ...], groups: int) -> Any:
        # PyTorch's padding is symmetric: take the full output, then crop each side and
        # append output_padding (those positions receive no tap).
        fn = [self.F.conv_transpose1d, self.F.conv_transpose2d, self.F.conv_transpose3d][x.dim() - 3]
        full = fn(x, self._w(w), None, stride, 0, 0, groups, dilation)
        return self.pad(full, [(-b, e - a) for (b, a), e in zip(pads, extra)])

    def adaptive(self, x: Any, out: tuple[int, ...]) -> Any:
        fn = [self.F.adaptive_avg_pool1d, self.F.adaptive_avg_pool2d,
              self.F.adaptive_avg_pool3d][x.dim() - 3]
        return fn(x, out)

    def upsample(self, x: Any, scales: tuple[float, ...], mode: str, align: bool) -> Any:
        if mode == "linear":
            mode = ["linear", "bilinear", "trilinear"][x.dim() - 3]
            return self.F.interpolate(x, scale_factor=scales, mode=mode, align_corners=align)
        return self.F.interpolate(x, scale_factor=scales, mode="nearest")

    def pad(self, x: Any, pads: Any) -> Any:
        flat: list[int] = []
        for before, after in reversed(list(pads)):
            flat += [before, after]
        return self.F.pad(x, flat) if any(flat) else x

    def mean(self, x: Any, axes: tuple[int, ...]) -> Any:
        return x.mean(dim=axes, keepdim=True)

    def cat(self, xs: list[Any], axis: int) -> Any:
        return self.torch.cat(xs, dim=axis)

    def zeros(self, shape: tuple[int, ...]) -> Any:
        return self.torch.zeros(shape, dtype=self.torch.float64)

    def matmul(self, x: Any, w: np.ndarray) -> Any:
        return x @ self._w(w).T


def responses(graph: Graph, ops: NumpyOps, gates_constant: bool = False,
              choose: dict[str, int] | None = None) -> dict[str, np.ndarray]:
    """Each layer's output on the impulse batch, as NumPy: shape (positions, C, *spatial)."""
    shape = graph.input_shape
    spatial = shape[1:]
    batch = prod(spatial)
    impulses = np.zeros((batch, *shape))
    for p, index in enumerate(np.ndindex(*spatial)):
        impulses[(p, slice(None)) + index] = 1.0
    values: dict[str, Any] = {"input": ops.array(impulses)}
    for layer in graph.layers:
        xs = [values[name] for name in layer.inputs]
        if choose and layer.name in choose:
            keep = choose[layer.name]
            xs = [x if i == keep else x * 0 for i, x in enumerate(xs)]
        out, mixes = _run(layer, xs, ops)
        if mixes == "all" and gates_constant:
            out = ops.zeros((batch, *layer.out_shape))
        elif mixes == "stats" and not gates_constant:
            out = out + ops.mean(out, tuple(range(2, len(layer.out_shape) + 1)))
        values[layer.name] = out
        assert tuple(out.shape[1:]) == layer.out_shape, (layer.name, out.shape, layer.out_shape)
    return {name: ops.numpy(v) for name, v in values.items()}


def _run(layer: Layer, xs: list[Any], ops: NumpyOps) -> tuple[Any, str]:
    """The linearised layer, and 'all' when its output mixes every position, 'stats' when it
    also depends on every position through statistics (added by the caller), else ''."""
    op, a, x = layer.op_name, layer.attrs, xs[0]
    spatial_axes = tuple(range(2, len(layer.in_shapes[0]) + 1))
    if op == "conv":
        w = np.ones((a.out_channels, a.in_channels // a.groups, *a.kernel))
        return ops.conv(x, w / w[0].size, _get(a, "stride"), _pads(a), _get(a, "dilation"),
                        a.groups), ""
    if op == "deconv":
        w = np.ones((a.in_channels, a.out_channels // a.groups, *a.kernel))
        return ops.deconv(x, w / w[0].size, _get(a, "stride"), _pads(a), a.output_padding,
                          _get(a, "dilation"), a.groups), ""
    if op in ("maxpool", "avgpool"):
        return _pool(x, layer, ops), ""
    if op in ("adaptive_avgpool", "adaptive_maxpool"):
        mixes = "all" if all(o == 1 for o in a.out_sizes) else ""
        return ops.adaptive(x, a.out_sizes), mixes
    if op in ("gap", "gmp"):
        return ops.mean(x, spatial_axes), "all"
    if op == "flatten":
        return x.reshape(x.shape[0], -1), "all" if len(layer.in_shapes[0]) > 1 else ""
    if op == "dense":
        w = np.ones((layer.out_shape[0], layer.in_shapes[0][0]))
        return ops.matmul(x, w / w.shape[1]), ""
    if op == "upsample":
        return ops.upsample(x, a, layer.args["mode"], layer.args["align_corners"]), ""
    if op == "pad":
        return ops.pad(x, a), ""
    if op == "slice":
        index = [slice(None)] * x.ndim
        index[a.axis + 1] = slice(a.start, a.stop, a.step)
        return x[tuple(index)], ""
    if op == "channel_pad":  # zero channels: a constant, depending on nothing
        shape = tuple(x.shape[2:])
        zeros = [ops.zeros((x.shape[0], n, *shape)) for n in (layer.args["before"], layer.args["after"])]
        return ops.cat([zeros[0], x, zeros[1]], 1), ""
    if op == "channel_dense":  # the same dense map at every position: a 1x1 conv
        rank = len(layer.in_shapes[0]) - 1
        w = np.ones((layer.out_shape[0], layer.in_shapes[0][0], *(1,) * rank))
        return ops.conv(x, w / w[0].size, (1,) * rank, [(0, 0)] * rank, (1,) * rank, 1), ""
    if op == "concat":
        return ops.cat(xs, a + 1), ""
    if op in ("add", "multiply"):
        total = xs[0]
        for other in xs[1:]:
            total = total + other
        return total, ""
    if op == "softmax":
        if a == 0:
            return x, ""
        return x + ops.mean(x, (a + 1,)), ""
    if op == "layernorm" and layer.args["over"] == "all" or op in STATISTICS:
        return x, "stats"
    if op in ELEMENTWISE or op == "layernorm":
        return x, ""
    raise NotImplementedError(f"oracle has no rule for {op}")


def _get(a: Any, key: str) -> tuple[int, ...]:
    return tuple(getattr(w, key) for w in a.windows)


def _pads(a: Any) -> list[tuple[int, int]]:
    return [(w.pad_before, w.pad_after) for w in a.windows]


def _pool(x: Any, layer: Layer, ops: NumpyOps) -> Any:
    """Max / average pooling as a depthwise conv of 1/k weights on the zero-padded input;
    ceil_mode's last partial window gets extra zeros after (they add nothing)."""
    windows = layer.attrs.windows
    pads = []
    for w, out in zip(windows, layer.out_shape[1:]):
        need = (out - 1) * w.stride + w.span - (w.size + w.pad_before + w.pad_after)
        pads.append((w.pad_before, w.pad_after + max(need, 0)))
    channels = layer.in_shapes[0][0]
    kernel = tuple(w.kernel for w in windows)
    weight = np.ones((channels, 1, *kernel)) / prod(kernel)
    out = ops.conv(x, weight, tuple(w.stride for w in windows), pads,
                   tuple(w.dilation for w in windows), channels)
    crop = (slice(None), slice(None)) + tuple(slice(0, n) for n in layer.out_shape[1:])
    return out[crop]


def dependency(graph: Graph, values: dict[str, np.ndarray], name: str) -> np.ndarray:
    """Boolean (*input spatial, *output spatial): does output unit u depend on input position p."""
    out = values[name]
    dep = (np.abs(out) > 0).any(axis=1)
    return dep.reshape(*graph.input_shape[1:], *out.shape[2:])


def boxes(graph: Graph, dep: np.ndarray) -> list[tuple[np.ndarray, np.ndarray]]:
    """Per input axis: (first, last) dependent input index for every output unit (-1: none)."""
    rank = len(graph.input_shape) - 1
    found = []
    for axis in range(rank):
        others = tuple(i for i in range(rank) if i != axis)
        proj = dep.any(axis=others) if others else dep
        n = proj.shape[0]
        has = proj.any(axis=0)
        first = np.where(has, proj.argmax(axis=0), -1)
        last = np.where(has, n - 1 - proj[::-1].argmax(axis=0), -1)
        found.append((first, last))
    return found


def sample_units(shape: tuple[int, ...]) -> list[tuple[int, ...]]:
    """Every unit along 1-D; in 2-D/3-D the borders, their neighbours and the middle lines."""
    import itertools

    if len(shape) == 1:
        return [(i,) for i in range(shape[0])]
    picks = [sorted({i for i in (0, 1, 2, n // 3, n // 2, n - 3, n - 2, n - 1) if 0 <= i < n})
             for n in shape]
    return list(itertools.product(*picks))


def projections(dep: np.ndarray, unit: tuple[int, ...], rank: int) -> list[list[int]]:
    """Per input axis, the sorted input positions unit depends on."""
    d = dep[(Ellipsis, *unit)]
    return [np.nonzero(d.any(axis=tuple(i for i in range(rank) if i != a)))[0].tolist()
            for a in range(rank)]


def check_against_oracle(graph: Graph, ops: NumpyOps) -> int:
    """Compare cnncalc's receptive fields with the oracle; returns how many unit regions were
    compared exactly (the caller asserts it is not zero). Fails with the first difference."""
    from cnncalc.analysis import rfunit
    from cnncalc.analysis.rf import analyze_rf
    from cnncalc.analysis.rfunit import unit_support

    result = analyze_rf(graph)
    local = responses(graph, ops, gates_constant=True)
    full = responses(graph, ops, gates_constant=False)
    spatial = graph.input_shape[1:]
    rank = len(spatial)
    exact = 0
    for layer in graph.layers:
        rf = result[layer.name]
        if len(layer.out_shape) == 1:
            everything = np.abs(full[layer.name]).sum(axis=1) > 0
            assert rf.is_global == bool(everything.all()), layer.name
            continue
        dep_local = dependency(graph, local, layer.name)
        dep_full = dependency(graph, full, layer.name)
        if rf.is_global:
            assert dep_full.all(), f"{layer.name}: reported global but some unit misses a position"
        else:
            assert (dep_full == dep_local).all(), f"{layer.name}: a global dependency was missed"
        if len(layer.out_shape) - 1 == rank:  # all units at once (the rf-unread warning's walk)
            anywhere = dep_local.reshape(*spatial, -1).any(axis=-1)
            seen_all = [np.nonzero(anywhere.any(axis=tuple(i for i in range(rank) if i != a)))[0]
                        .tolist() for a in range(rank)]
            spans = rfunit.support(graph, layer.name, [[(0, m - 1)] for m in layer.out_shape[1:]])
            got = [[] for _ in range(rank)] if spans is None else [rfunit.positions(s) for s in spans]
            assert seen_all == got, (layer.name, seen_all, got)
        for unit in sample_units(layer.out_shape[1:]):
            seen = projections(dep_local, unit, rank)
            support = unit_support(graph, layer.name, unit)
            expected = [[] for _ in range(rank)] if support is None else [list(s) for s in support]
            assert seen == expected, (layer.name, unit, seen, expected)
            region = rf.region(unit)
            if region is None:
                assert not any(seen), (layer.name, unit)
                continue
            for a, (positions, iv, n) in enumerate(zip(seen, region, spatial)):
                if not positions:
                    continue
                assert iv is not None and iv[0] <= positions[0] and positions[-1] <= iv[1], \
                    (layer.name, unit, a, positions, iv)
                central = all(m // 4 <= u < m - m // 4 for u, m in zip(unit, layer.out_shape[1:]))
                if central and iv[0] >= 0 and iv[1] < n:
                    assert (positions[0], positions[-1]) == tuple(iv), (layer.name, unit, a, iv)
                    gaps = rf.local[a].gaps if rf.local and rf.uniform else None
                    if gaps is not None:  # the positions inside r the unit does not read
                        assert len(positions) == iv[1] - iv[0] + 1 - gaps, (layer.name, unit, a)
                    exact += 1
        if rf.local and rf.uniform:
            for unit in sample_units(layer.out_shape[1:]):
                region = rf.region(unit)
                assert region is not None
                for axis, iv, i in zip(rf.local, region, unit):
                    lo = -axis.padding + i * axis.stride
                    assert iv == (lo, lo + axis.size - 1), (layer.name, unit, iv, axis)
    return exact


def path_extents(graph: Graph, ops: NumpyOps, name: str, phases: int = 4
                 ) -> list[tuple[list[int], list[float]]]:
    """For every path (one input kept at each merge): per axis the largest extent over the
    `phases` units from the central one on (units may differ by phase), and the central unit's
    centre. Paths that do not reach the layer are left out."""
    import itertools

    merges = [layer for layer in graph.layers if len(layer.inputs) > 1]
    target = graph.layer(name)
    middle = tuple(n // 2 for n in target.out_shape[1:])
    rank = len(graph.input_shape) - 1
    found = []
    for combo in itertools.product(*(range(len(m.inputs)) for m in merges)):
        choose = {m.name: i for m, i in zip(merges, combo)}
        dep = dependency(graph, responses(graph, ops, gates_constant=True, choose=choose),
                         target.name)
        seen = [projections(dep, tuple(u + k for u in middle), rank) for k in range(phases)]
        if all(all(axis) for axis in seen):
            extents = [max(s[a][-1] - s[a][0] + 1 for s in seen) for a in range(rank)]
            found.append((extents, [(p[0] + p[-1]) / 2 for p in seen[0]]))
    return found
