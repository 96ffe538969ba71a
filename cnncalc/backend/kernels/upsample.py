"""``F.interpolate``: nearest (legacy) and (bi/tri)linear resampling."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from cnncalc.backend.kernels.args import IntOrSeq, as_tuple, spatial_dims


def _nearest_index(n: int, o: int, scale: float | None) -> np.ndarray:
    dst = np.arange(o)
    if o == n:
        return dst
    if o == 2 * n:
        return dst >> 1
    # PyTorch computes the ratio and the product in float32 whatever the tensor dtype.
    if scale is not None and scale > 0:
        r = np.float32(1.0 / scale)
    else:
        r = np.float32(n) / np.float32(o)
    src = np.floor(dst.astype(np.float32) * r).astype(np.int64)
    return np.minimum(src, n - 1)


def _linear_weights(
    n: int, o: int, scale: float | None, align_corners: bool, dt: np.dtype
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    # Coordinates in the op's math type (float32 for float32 input) so the chosen source
    # indices agree with PyTorch even on rounding-sensitive boundaries.
    if align_corners:
        r = dt.type(n - 1) / dt.type(o - 1) if o > 1 else dt.type(0)
        src = r * np.arange(o, dtype=dt)
    else:
        r = dt.type(1.0 / scale) if scale is not None and scale > 0 else dt.type(n) / dt.type(o)
        src = r * (np.arange(o, dtype=dt) + dt.type(0.5)) - dt.type(0.5)
        src = np.maximum(src, dt.type(0))
    i0 = np.minimum(np.floor(src).astype(np.int64), n - 1)
    lam = np.clip(src - i0.astype(dt), 0, 1).astype(dt, copy=False)
    i1 = i0 + (i0 < n - 1)
    return i0, i1, lam


def _gather(y: np.ndarray, index: np.ndarray, axis: int) -> np.ndarray:
    """``np.take(y, index, axis)`` as a new C-contiguous array. A strided ``y`` (a view) is
    read slice by slice: np.take would first copy all of it."""
    if y.flags.c_contiguous:
        return np.take(y, index, axis=axis)
    out = np.empty(y.shape[:axis] + (len(index),) + y.shape[axis + 1 :], y.dtype)
    lead = (slice(None),) * axis
    for j, i in enumerate(index.tolist()):
        out[lead + (j,)] = y[lead + (i,)]
    return out


def upsample(
    x: np.ndarray,
    scale: float | Sequence[float] | None,
    mode: str = "nearest",
    align_corners: bool | None = None,
    *,
    size: IntOrSeq | None = None,
) -> np.ndarray:
    """``F.interpolate`` for mode 'nearest' (legacy) and 'linear'/'bilinear'/'trilinear'.

    ``scale`` is a per-axis scale factor (output length ``floor(n*scale)``, coordinates mapped
    with ``1/scale`` as PyTorch does); pass ``size=`` instead to map with ``in/out``.
    """
    d = spatial_dims(x, "upsample")
    sp = x.shape[2:]
    if size is not None:
        outs = as_tuple(size, d, "size")
        scales: tuple[float | None, ...] = (None,) * d
    else:
        if scale is None:
            raise ValueError("upsample needs scale or size")
        if isinstance(scale, (int, float, np.number)):
            sc: tuple[float, ...] = (float(scale),) * d
        else:
            sc = tuple(float(v) for v in scale)
        if len(sc) == 1:
            sc = sc * d
        if len(sc) != d:
            raise ValueError(f"scale needs {d} values, got {scale!r}")
        scales = sc
        outs = tuple(int(math.floor(float(n) * v)) for n, v in zip(sp, sc))
    if min(outs) < 1:
        raise ValueError(f"upsample output size {outs} is not positive")
    mode = mode.lower()
    if mode == "nearest":
        # One axis at a time, so the output is a new C-contiguous array (fancy indexing over
        # several axes lays it out in another order, and NumPy's index buffers are scratch).
        y = x
        for ax, (n, o, v) in enumerate(zip(sp, outs, scales)):
            if o != n:  # the index is the identity otherwise
                y = _gather(y, _nearest_index(n, o, v), 2 + ax)
        return y if y is not x else x.copy()
    if mode not in ("linear", "bilinear", "trilinear"):
        raise ValueError(f"unsupported upsample mode {mode!r}")
    if not np.issubdtype(x.dtype, np.floating):
        raise TypeError("linear upsampling needs a floating-point input")
    # Separable: interpolate one axis at a time.
    y = x
    for ax, (n, o, v) in enumerate(zip(sp, outs, scales)):
        i0, i1, lam = _linear_weights(n, o, v, bool(align_corners), x.dtype)
        shape = [1] * (2 + d)
        shape[2 + ax] = o
        lam = lam.reshape(shape)
        a = _gather(y, i0, 2 + ax)
        bb = _gather(y, i1, 2 + ax)
        # a*(1-lam) + b*lam, written to reuse the temporaries
        a *= 1 - lam
        bb *= lam
        a += bb
        del bb  # not held while the next axis gathers
        y = a
    return y
