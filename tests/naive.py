"""Loop implementations of every op, written from the definitions (PyTorch's documentation)
to test the NumPy forward pass on tiny inputs. Slow on purpose: one output value at a time,
no windowing tricks, nothing shared with cnncalc.backend.

Arrays are (N, C, *spatial) float64; pads are (before, after) pairs per spatial axis.
"""
from __future__ import annotations

import itertools
import math

import numpy as np


def _positions(shape: tuple[int, ...]) -> itertools.product:
    return itertools.product(*(range(n) for n in shape))


def conv(x, w, b, stride, pads, dilation, groups):
    n, cin = x.shape[:2]
    cout, cig = w.shape[:2]
    k = w.shape[2:]
    sp = x.shape[2:]
    out = [(s + pb + pa - d * (kk - 1) - 1) // st + 1
           for s, (pb, pa), d, kk, st in zip(sp, pads, dilation, k, stride)]
    cog = cout // groups
    y = np.zeros((n, cout, *out))
    for i, o, pos in itertools.product(range(n), range(cout), _positions(tuple(out))):
        g = o // cog
        acc = 0.0 if b is None else b[o]
        for c in range(cig):
            for tap in _positions(k):
                idx = [p * st - pb + t * d for p, st, (pb, _), t, d in zip(pos, stride, pads, tap, dilation)]
                if all(0 <= v < s for v, s in zip(idx, sp)):
                    acc += w[(o, c, *tap)] * x[(i, g * cig + c, *idx)]
        y[(i, o, *pos)] = acc
    return y


def deconv(x, w, b, stride, pads, output_padding, dilation, groups):
    """Scatter every input value through the kernel; `pads` crop the full result."""
    n, cin = x.shape[:2]
    cog = w.shape[1]
    k = w.shape[2:]
    sp = x.shape[2:]
    cig = cin // groups
    out = [(s - 1) * st - pb - pa + d * (kk - 1) + op + 1
           for s, st, (pb, pa), d, kk, op in zip(sp, stride, pads, dilation, k, output_padding)]
    y = np.zeros((n, cog * groups, *out))
    for i, c, pos in itertools.product(range(n), range(cin), _positions(sp)):
        g = c // cig
        for oc in range(cog):
            for tap in _positions(k):
                idx = [p * st - pb + t * d for p, st, (pb, _), t, d in zip(pos, stride, pads, tap, dilation)]
                if all(0 <= v < s for v, s in zip(idx, out)):
                    y[(i, g * cog + oc, *idx)] += x[(i, c, *pos)] * w[(c, oc, *tap)]
    if b is not None:
        y += b.reshape((1, -1) + (1,) * len(sp))
    return y


def _pool_out(n, k, s, pb, pa, d, ceil_mode):
    span = n + pb + pa - d * (k - 1) - 1
    o = (math.ceil(span / s) if ceil_mode else span // s) + 1
    if ceil_mode and (o - 1) * s >= n + pb:
        o -= 1
    return o


def pool(x, kind, kernel, stride, pads, dilation, ceil_mode, count_include_pad=True):
    sp = x.shape[2:]
    out = [_pool_out(n, k, s, pb, pa, d, ceil_mode)
           for n, k, s, (pb, pa), d in zip(sp, kernel, stride, pads, dilation)]
    y = np.zeros((*x.shape[:2], *out))
    for i, c, pos in itertools.product(range(x.shape[0]), range(x.shape[1]), _positions(tuple(out))):
        vals, divisor = [], 1
        for tap in _positions(tuple(kernel)):
            idx = [p * s - pb + t * d for p, s, (pb, _), t, d in zip(pos, stride, pads, tap, dilation)]
            if all(0 <= v < n for v, n in zip(idx, sp)):
                vals.append(x[(i, c, *idx)])
        if kind == "max":
            y[(i, c, *pos)] = max(vals)
            continue
        for p, s, k, (pb, pa), n in zip(pos, stride, kernel, pads, sp):
            start = p * s - pb
            end = min(start + k, n + pa)  # the window clipped to the padded input
            divisor *= (end - start) if count_include_pad else (min(end, n) - max(start, 0))
        y[(i, c, *pos)] = sum(vals) / divisor
    return y


def adaptive(x, kind, out):
    sp = x.shape[2:]
    y = np.zeros((*x.shape[:2], *out))
    for i, c, pos in itertools.product(range(x.shape[0]), range(x.shape[1]), _positions(tuple(out))):
        ranges = [range(p * n // o, -(-(p + 1) * n // o)) for p, n, o in zip(pos, sp, out)]
        vals = [x[(i, c, *idx)] for idx in itertools.product(*ranges)]
        y[(i, c, *pos)] = max(vals) if kind == "max" else sum(vals) / len(vals)
    return y


def dense(x, w, b):
    y = np.zeros((x.shape[0], w.shape[0]))
    for i, o in itertools.product(range(x.shape[0]), range(w.shape[0])):
        y[i, o] = sum(w[o, j] * x[i, j] for j in range(x.shape[1])) + (0.0 if b is None else b[o])
    return y


def batch_norm(x, mean, var, weight, bias, eps):
    y = np.empty_like(x)
    for c in range(x.shape[1]):
        y[:, c] = (x[:, c] - mean[c]) / math.sqrt(var[c] + eps) * weight[c] + bias[c]
    return y


def _normalise(values, eps):
    mu = sum(values) / len(values)
    var = sum((v - mu) ** 2 for v in values) / len(values)
    return [(v - mu) / math.sqrt(var + eps) for v in values]


def layer_norm_channels(x, weight, bias, eps):
    y = np.empty_like(x)
    for i, pos in itertools.product(range(x.shape[0]), _positions(x.shape[2:])):
        normed = _normalise([x[(i, c, *pos)] for c in range(x.shape[1])], eps)
        for c, v in enumerate(normed):
            y[(i, c, *pos)] = v * weight[c] + bias[c]
    return y


def layer_norm_all(x, weight, bias, eps):
    y = np.empty_like(x)
    for i in range(x.shape[0]):
        flat = _normalise(list(x[i].ravel()), eps)
        y[i] = np.array(flat).reshape(x.shape[1:]) * weight + bias
    return y


def group_norm(x, groups, weight, bias, eps):
    y = np.empty_like(x)
    per = x.shape[1] // groups
    for i, g in itertools.product(range(x.shape[0]), range(groups)):
        block = x[i, g * per:(g + 1) * per]
        y[i, g * per:(g + 1) * per] = np.array(_normalise(list(block.ravel()), eps)).reshape(block.shape)
    return y * weight.reshape((1, -1) + (1,) * (x.ndim - 2)) + bias.reshape((1, -1) + (1,) * (x.ndim - 2))


def lrn(x, size, alpha, beta, k):
    y = np.empty_like(x)
    channels = x.shape[1]
    for c in range(channels):
        window = range(max(c - size // 2, 0), min(c + (size - 1) // 2 + 1, channels))
        total = sum(x[:, j] ** 2 for j in window)
        y[:, c] = x[:, c] / (k + alpha / size * total) ** beta
    return y


def softmax(x, axis):
    y = np.empty_like(x)
    moved = np.moveaxis(x, axis, -1)
    out = np.moveaxis(y, axis, -1)
    for idx in _positions(moved.shape[:-1]):
        row = [float(v) for v in moved[idx]]
        top = max(row)
        exps = [math.exp(v - top) for v in row]
        out[idx] = [e / sum(exps) for e in exps]
    return y


ACTIVATIONS = {
    "relu": lambda v: max(v, 0.0),
    "relu6": lambda v: min(max(v, 0.0), 6.0),
    "leaky_relu": lambda v: v if v > 0 else 0.01 * v,
    "sigmoid": lambda v: 1 / (1 + math.exp(-v)),
    "tanh": math.tanh,
    "gelu": lambda v: 0.5 * v * (1 + math.erf(v / math.sqrt(2))),
    "silu": lambda v: v / (1 + math.exp(-v)),
    "hardswish": lambda v: v * min(max(v + 3, 0.0), 6.0) / 6,
    "hardsigmoid": lambda v: min(max(v + 3, 0.0), 6.0) / 6,
    "identity": lambda v: v,
    "dropout": lambda v: v,
}


def activation(x, name):
    f = ACTIVATIONS[name]
    return np.vectorize(lambda v: f(float(v)))(x)


def upsample_nearest(x, scales):
    """Integer scales: output o reads input floor(o / scale)."""
    y = x
    for axis, s in enumerate(scales, start=2):
        n = y.shape[axis]
        index = [min(o // s, n - 1) for o in range(n * s)]
        y = np.take(y, index, axis=axis)
    return y


def upsample_linear(x, scales, align_corners):
    y = x
    for axis, s in enumerate(scales, start=2):
        n = y.shape[axis]
        o = int(math.floor(n * s))
        rows = []
        for j in range(o):
            if align_corners:
                src = j * (n - 1) / (o - 1) if o > 1 else 0.0
            else:
                src = max((j + 0.5) / s - 0.5, 0.0)
            i0 = min(int(math.floor(src)), n - 1)
            i1 = min(i0 + 1, n - 1)
            lam = src - i0
            rows.append(np.take(y, i0, axis=axis) * (1 - lam) + np.take(y, i1, axis=axis) * lam)
        y = np.stack(rows, axis=axis)
    return y


def upsample_nearest_exact(x, scales):
    """Output o reads input floor((o + 0.5) / scale), written with exact fractions."""
    from fractions import Fraction

    y = x
    for axis, s in enumerate(scales, start=2):
        n = y.shape[axis]
        o = int(math.floor(n * s))
        index = [min(int((j + Fraction(1, 2)) / Fraction(s)), n - 1) for j in range(o)]
        y = np.take(y, index, axis=axis)
    return y


def _cubic(d):
    """Keys' cubic convolution kernel with a = -0.75 (PyTorch, OpenCV), at distance d."""
    a, d = -0.75, abs(d)
    if d <= 1:
        return (a + 2) * d**3 - (a + 3) * d**2 + 1
    if d < 2:
        return a * d**3 - 5 * a * d**2 + 8 * a * d - 4 * a
    return 0.0


def upsample_bicubic(x, scales, align_corners):
    """Every output position: sum over the 4 x 4 input neighbours (indices clamped to the
    edge) of kernel(dy) * kernel(dx) * value, from the definition rather than per axis."""
    n_h, n_w = x.shape[2:]
    o_h, o_w = int(math.floor(n_h * scales[0])), int(math.floor(n_w * scales[1]))

    def source(j, n, o, s):
        if align_corners:
            return j * (n - 1) / (o - 1) if o > 1 else 0.0
        return (j + 0.5) / s - 0.5

    y = np.zeros((*x.shape[:2], o_h, o_w))
    for i in range(o_h):
        sy = source(i, n_h, o_h, scales[0])
        for j in range(o_w):
            sx = source(j, n_w, o_w, scales[1])
            for u in range(math.floor(sy) - 1, math.floor(sy) + 3):
                for v in range(math.floor(sx) - 1, math.floor(sx) + 3):
                    w = _cubic(sy - u) * _cubic(sx - v)
                    y[:, :, i, j] += w * x[:, :, min(max(u, 0), n_h - 1), min(max(v, 0), n_w - 1)]
    return y


def pad(x, pads):
    y = np.zeros((*x.shape[:2], *(n + b + a for n, (b, a) in zip(x.shape[2:], pads))))
    for idx in _positions(x.shape):
        y[(idx[0], idx[1], *(v + b for v, (b, _) in zip(idx[2:], pads)))] = x[idx]
    return y


def channel_shuffle(x, groups):
    channels = x.shape[1]
    per = channels // groups
    y = np.empty_like(x)
    for c in range(channels):  # output channel c comes from group c % groups, member c // groups
        y[:, c] = x[:, (c % groups) * per + c // groups]
    return y


def channel_pad(x, before, after):
    y = np.zeros((x.shape[0], before + x.shape[1] + after, *x.shape[2:]))
    for idx in _positions(x.shape):
        y[(idx[0], idx[1] + before, *idx[2:])] = x[idx]
    return y


def channel_dense(x, w, b):
    """The dense layer at every position: y[n, o, pos] = sum_c w[o, c] x[n, c, pos] + b[o]."""
    y = np.zeros((x.shape[0], w.shape[0], *x.shape[2:]))
    for i, o, pos in itertools.product(range(x.shape[0]), range(w.shape[0]), _positions(x.shape[2:])):
        y[(i, o, *pos)] = (sum(w[o, c] * x[(i, c, *pos)] for c in range(x.shape[1]))
                           + (0.0 if b is None else b[o]))
    return y


def scale(x, gamma):
    y = np.empty_like(x)
    for idx in _positions(x.shape):
        y[idx] = gamma[idx[1]] * x[idx]
    return y


def strided_slice(x, axis, start, stop, step):
    """Indices start, start + step, ... < stop along batchless `axis`, one at a time."""
    taken = list(range(start, stop, step))
    shape = list(x.shape)
    shape[axis + 1] = len(taken)
    y = np.empty(shape)
    for idx in _positions(tuple(shape)):
        src = list(idx)
        src[axis + 1] = taken[idx[axis + 1]]
        y[idx] = x[tuple(src)]
    return y
