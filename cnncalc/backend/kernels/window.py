"""Padding and the sliding-window view every window kernel is built on: convolution (im2col),
transposed convolution (col2im scatter), max/avg pooling and adaptive pooling."""

from __future__ import annotations

import numpy as np
from numpy.lib.stride_tricks import as_strided

from cnncalc.backend.kernels.args import IntOrSeq, PadSpec, as_tuple, pad_pairs, spatial_dims


def pad_zeros(x: np.ndarray, pads: PadSpec, *, value: float = 0.0) -> np.ndarray:
    """Constant padding of the spatial axes (F.pad semantics: negative pads crop).

    Returns ``x`` itself (no copy) when every pad is zero.
    """
    d = spatial_dims(x, "pad_zeros")
    pp = pad_pairs(pads, d)
    if not any(b or a for b, a in pp):
        return x
    # Negative pads crop first, exactly like F.pad.
    if any(b < 0 or a < 0 for b, a in pp):
        crop = tuple(slice(max(-b, 0), n - max(-a, 0)) for (b, a), n in zip(pp, x.shape[2:]))
        if any(s.stop - s.start < 0 for s in crop):
            raise ValueError(f"negative padding {pp} crops more than the input {x.shape}")
        x = x[(slice(None), slice(None)) + crop]
        pp = tuple((max(b, 0), max(a, 0)) for b, a in pp)
        if not any(b or a for b, a in pp):
            return x
    shape = x.shape[:2] + tuple(n + b + a for n, (b, a) in zip(x.shape[2:], pp))
    # Fill only the border slabs, then copy the interior: one pass over memory instead of
    # a full fill followed by the copy.
    out = np.empty(shape, x.dtype)
    full = [slice(None)] * out.ndim
    for ax, (b, a) in enumerate(pp, start=2):
        if b:
            out[tuple(full[:ax] + [slice(0, b)] + full[ax + 1 :])] = value
        if a:
            out[tuple(full[:ax] + [slice(out.shape[ax] - a, None)] + full[ax + 1 :])] = value
    out[(slice(None), slice(None)) + tuple(slice(b, b + n) for (b, _), n in zip(pp, x.shape[2:]))] = x
    return out


def windows(
    x: np.ndarray,
    kernel: IntOrSeq,
    stride: IntOrSeq = 1,
    dilation: IntOrSeq = 1,
    *,
    writeable: bool = False,
) -> np.ndarray:
    """Sliding-window view ``(N, C, *out_spatial, *kernel)`` of an already padded ``x``.

    No data is copied. ``writeable=True`` returns a writable view whose windows alias each
    other; only write through one kernel offset at a time (as col2im does).
    """
    d = spatial_dims(x, "windows")
    k = as_tuple(kernel, d, "kernel")
    s = as_tuple(stride, d, "stride")
    dl = as_tuple(dilation, d, "dilation")
    if min(k) < 1 or min(s) < 1 or min(dl) < 1:
        raise ValueError(f"kernel/stride/dilation must be >= 1, got {k}, {s}, {dl}")
    out = tuple((n - dd * (kk - 1) - 1) // ss + 1 for n, kk, ss, dd in zip(x.shape[2:], k, s, dl))
    if min(out) < 1:
        raise ValueError(f"kernel {k} (dilation {dl}) does not fit the padded input {x.shape[2:]}")
    sp = x.strides[2:]
    shape = x.shape[:2] + out + k
    strides = x.strides[:2] + tuple(a * b for a, b in zip(sp, s)) + tuple(a * b for a, b in zip(sp, dl))
    return as_strided(x, shape=shape, strides=strides, writeable=writeable)


def out_size(n: int, k: int, s: int, pb: int = 0, pa: int = 0, d: int = 1, ceil_mode: bool = False) -> int:
    """Output length of a window op (PyTorch's pooling_output_shape with l/r padding)."""
    eff = d * (k - 1) + 1
    num = n + pb + pa - eff
    if num < 0:
        raise ValueError(f"window {eff} larger than padded input {n + pb + pa}")
    if not ceil_mode:
        return num // s + 1
    o = -(-num // s) + 1
    # PyTorch: the last window must start inside the input or the left padding.
    if (o - 1) * s >= n + pb:
        o -= 1
    return o


def pool_pads(
    shape: tuple[int, ...],
    k: tuple[int, ...],
    s: tuple[int, ...],
    pp: tuple[tuple[int, int], ...],
    dl: tuple[int, ...],
    ceil_mode: bool,
) -> tuple[tuple[int, ...], tuple[tuple[int, int], ...]]:
    """Output sizes and the padding that makes ``windows`` produce exactly them.

    With ceil_mode the last window may hang over the right padding; the extra room is added
    on the right (filled like the padding) and cut back if floor mode would overshoot.
    """
    outs, eff_pads = [], []
    for n, kk, ss, (pb, pa), dd in zip(shape, k, s, pp, dl):
        o = out_size(n, kk, ss, pb, pa, dd, ceil_mode)
        need = (o - 1) * ss + dd * (kk - 1) + 1
        extra = need - (n + pb + pa)
        outs.append(o)
        eff_pads.append((pb, pa + max(extra, 0)))
    return tuple(outs), tuple(eff_pads)
