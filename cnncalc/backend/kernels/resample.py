"""NumPy kernels for the upsample modes PyTorch added after nearest and linear:
`nearest-exact` (any rank) and `bicubic` (2-D), as `F.interpolate(x, scale_factor=...)`.

Both work one axis at a time (each is separable: PyTorch's bicubic clamps each coordinate
on its own), so the result is a new C-contiguous array and the scratch memory is a few
arrays of the size reached so far (ops/upsample.py states the bound).
"""
from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

A = -0.75  # PyTorch's (and OpenCV's) cubic convolution coefficient


def out_size(n: int, scale: float) -> int:
    return int(math.floor(n * scale))


def _gather(y: np.ndarray, index: np.ndarray, axis: int) -> np.ndarray:
    """`np.take(y, index, axis)` as a new C-contiguous array, reading a strided `y` slice by
    slice (np.take would copy all of it first)."""
    if y.flags.c_contiguous:
        return np.take(y, index, axis=axis)
    out = np.empty(y.shape[:axis] + (len(index),) + y.shape[axis + 1:], y.dtype)
    lead = (slice(None),) * axis
    for j, i in enumerate(index.tolist()):
        out[lead + (j,)] = y[lead + (i,)]
    return out


def nearest_exact_index(n: int, o: int, scale: float) -> np.ndarray:
    """Output j reads floor((j + 0.5) / scale), clamped; PyTorch keeps 1/scale in float32 and
    rounds the product to float32 before the floor (`floorf((j + 0.5) * scale)`)."""
    r = np.float64(np.float32(1.0 / scale))
    src = np.floor(((np.arange(o) + 0.5) * r).astype(np.float32)).astype(np.int64)
    index: np.ndarray = np.minimum(src, n - 1)
    return index


def nearest_exact(x: np.ndarray, scales: Sequence[float]) -> np.ndarray:
    y = x
    for ax, (n, s) in enumerate(zip(x.shape[2:], scales)):
        o = out_size(n, s)
        if o != n or s != 1:
            y = _gather(y, nearest_exact_index(n, o, s), 2 + ax)
    return y if y is not x else x.copy()


def cubic_weights(n: int, o: int, scale: float, align_corners: bool,
                  dt: np.dtype) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """The 4 clamped source indices and 4 weights of every output position along one axis.

    PyTorch (upsample_bicubic2d): source x = o*(n-1)/(out-1) with align_corners, else
    (o + 0.5)/scale - 0.5 (not clamped, unlike linear); taps floor(x)-1 .. floor(x)+2, each
    index clamped into the input; Keys' cubic convolution with A = -0.75 on t = x - floor(x).
    Coordinates in the input's float type, as PyTorch's opmath type for float32/float64."""
    one = dt.type(1)
    if align_corners:
        r = dt.type(n - 1) / dt.type(o - 1) if o > 1 else dt.type(0)
        src = r * np.arange(o, dtype=dt)
    else:
        r = dt.type(1.0 / scale)
        src = r * (np.arange(o, dtype=dt) + dt.type(0.5)) - dt.type(0.5)
    base = np.floor(src)
    t = (src - base).astype(dt, copy=False)
    a = dt.type(A)

    def near(v: np.ndarray) -> np.ndarray:  # |v| <= 1
        w: np.ndarray = ((a + 2) * v - (a + 3)) * v * v + one
        return w

    def far(v: np.ndarray) -> np.ndarray:  # 1 < |v| < 2
        w: np.ndarray = ((a * v - 5 * a) * v + 8 * a) * v - 4 * a
        return w

    weights = [far(t + one), near(t), near(one - t), far(dt.type(2) - t)]
    first = base.astype(np.int64) - 1
    index = [np.clip(first + k, 0, n - 1) for k in range(4)]
    return index, weights


def bicubic(x: np.ndarray, scales: Sequence[float], align_corners: bool,
            magnitude: bool = False) -> np.ndarray:
    """`F.interpolate(mode='bicubic')` on (N, C, H, W). `magnitude` uses |weights| (the
    dependency probe: positive exactly where a tap with a nonzero weight is marked, which
    the signed cubic lobes could cancel)."""
    if x.ndim != 4:
        raise ValueError(f"bicubic upsampling needs (N, C, H, W), got {x.ndim} axes")
    if not np.issubdtype(x.dtype, np.floating):
        raise TypeError("bicubic upsampling needs a floating-point input")
    y = x
    for ax, (n, s) in enumerate(zip(x.shape[2:], scales)):
        o = out_size(n, s)
        index, weights = cubic_weights(n, o, s, align_corners, x.dtype)
        shape = [1] * x.ndim
        shape[2 + ax] = o
        out = None
        for i, w in zip(index, weights):
            w = (np.abs(w) if magnitude else w).reshape(shape)
            g = _gather(y, i, 2 + ax)
            g *= w
            if out is None:
                out = g
            else:
                out += g
            del g  # not held while the next tap gathers
        assert out is not None
        y = out
    return y
