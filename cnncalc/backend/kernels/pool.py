"""Max, average and adaptive pooling (``F.*_pool{1,2,3}d``)."""

from __future__ import annotations

import numpy as np

from cnncalc.backend.kernels.args import IntOrSeq, PadSpec, as_tuple, lowest, pad_pairs, spatial_dims
from cnncalc.backend.kernels.window import pad_zeros, pool_pads, windows


def _window_reduce(
    xp: np.ndarray,
    k: tuple[int, ...],
    s: tuple[int, ...],
    dl: tuple[int, ...],
    op: np.ufunc,
) -> np.ndarray:
    """Reduce every (strided, dilated) window of the padded ``xp`` with a binary ufunc.

    Max and sum over a box are separable, so this runs one spatial axis at a time, each as
    a 1-D ``windows`` view whose taps are combined pairwise: k0 + k1 + ... tap passes instead
    of k0 * k1 * ..., and the first (usually strided) pass shrinks the data for the rest.
    Pairwise ufunc calls on tap views also beat ``op.reduce`` over the tiny trailing kernel
    axes of the full window view by a wide margin.
    """
    d = xp.ndim - 2
    y = xp
    for ax in range(d):
        if k[ax] == 1 and s[ax] == 1:
            continue
        one = [1] * d
        kk, ss, dd = list(one), list(one), list(one)
        kk[ax], ss[ax], dd[ax] = k[ax], s[ax], dl[ax]
        win = windows(y, kk, ss, dd)  # (N, C, *out, *kk) with a single non-trivial kernel axis
        taps = [win[(Ellipsis,) + tuple(i if a == ax else 0 for a in range(d))] for i in range(k[ax])]
        if len(taps) == 1:
            r = np.array(taps[0])  # plain subsampling; always a fresh, writable copy
        else:
            r = op(taps[0], taps[1])
            for t in taps[2:]:
                op(r, t, out=r)
        y = r
    return y.copy() if y is xp else y


def max_pool(
    x: np.ndarray,
    kernel: IntOrSeq,
    stride: IntOrSeq | None = None,
    pads: PadSpec = 0,
    dilation: IntOrSeq = 1,
    ceil_mode: bool = False,
) -> np.ndarray:
    """Max pooling (``F.max_pool{1,2,3}d``); padding never wins (padded with -inf)."""
    d = spatial_dims(x, "max_pool")
    k = as_tuple(kernel, d, "kernel")
    s = k if stride is None else as_tuple(stride, d, "stride")
    dl = as_tuple(dilation, d, "dilation")
    _, eff = pool_pads(x.shape[2:], k, s, pad_pairs(pads, d), dl, ceil_mode)
    # np.maximum propagates NaN, as torch's max pooling does.
    return _window_reduce(pad_zeros(x, eff, value=lowest(x.dtype)), k, s, dl, np.maximum)


def avg_pool(
    x: np.ndarray,
    kernel: IntOrSeq,
    stride: IntOrSeq | None = None,
    pads: PadSpec = 0,
    ceil_mode: bool = False,
    count_include_pad: bool = True,
    *,
    divisor_override: int | None = None,
) -> np.ndarray:
    """Average pooling (``F.avg_pool{1,2,3}d``) with PyTorch's exact divisor rule.

    Divisor per axis: with ``count_include_pad`` the window clipped to the padded input
    (overhang beyond the right padding in ceil_mode is not counted), otherwise the number of
    real input elements. The full divisor is the product over axes.
    """
    d = spatial_dims(x, "avg_pool")
    k = as_tuple(kernel, d, "kernel")
    s = k if stride is None else as_tuple(stride, d, "stride")
    pp = pad_pairs(pads, d)
    ones = (1,) * d
    outs, eff = pool_pads(x.shape[2:], k, s, pp, ones, ceil_mode)
    y = _window_reduce(pad_zeros(x, eff), k, s, ones, np.add)
    if divisor_override:
        y /= np.asarray(divisor_override, dtype=y.dtype)
        return y
    div = np.ones((1, 1) + outs, dtype=np.int64)
    for ax, (n, kk, ss, (pb, pa), o) in enumerate(zip(x.shape[2:], k, s, pp, outs)):
        start = np.arange(o) * ss - pb
        end = np.minimum(start + kk, n + pa)
        cnt = end - start if count_include_pad else np.minimum(end, n) - np.maximum(start, 0)
        shape = [1] * (2 + d)
        shape[2 + ax] = o
        div = div * np.maximum(cnt, 1).reshape(shape)  # empty windows sum to 0 -> output 0
    y /= div.astype(y.dtype)
    return y


def _adaptive_bins(n: int, o: int) -> tuple[np.ndarray, np.ndarray]:
    i = np.arange(o)
    start = (i * n) // o
    end = -((-(i + 1) * n) // o)
    return start, end


def _adaptive(x: np.ndarray, out: IntOrSeq, kind: str) -> np.ndarray:
    d = spatial_dims(x, f"adaptive_{kind}_pool")
    o = as_tuple(out, d, "output size")
    if min(o) < 1:
        raise ValueError(f"adaptive pool output size must be >= 1, got {o}")
    sp = x.shape[2:]
    red = np.mean if kind == "avg" else np.max
    if all(n % oo == 0 for n, oo in zip(sp, o)):
        # Equal, non-overlapping bins: a reshape to (.., o, n/o, ..) and a reduction.
        shape = x.shape[:2] + tuple(v for n, oo in zip(sp, o) for v in (oo, n // oo))
        y = red(x.reshape(shape), axis=tuple(3 + 2 * i for i in range(d)))
        return np.asarray(y, dtype=x.dtype)
    # General case: windows of the largest bin length at the bin starts, masked to each bin.
    bins = [_adaptive_bins(n, oo) for n, oo in zip(sp, o)]
    lens = tuple(int((e - st).max()) for st, e in bins)
    fill = 0 if kind == "avg" else lowest(x.dtype)
    xp = pad_zeros(x, tuple((0, ln - 1) for ln in lens), value=fill)
    win = windows(xp, lens)  # (N, C, *sp, *lens): every start is a valid window
    idx = np.ix_(*[st for st, _ in bins])
    g = win[(slice(None), slice(None)) + idx]  # (N, C, *o, *lens)
    mask = np.ones((1, 1) + o + lens, dtype=bool)
    for ax, ((st, e), ln) in enumerate(zip(bins, lens)):
        mshape = [1] * (2 + 2 * d)
        mshape[2 + ax], mshape[2 + d + ax] = len(st), ln
        mask = mask & (np.arange(ln)[None, :] < (e - st)[:, None]).reshape(mshape)
    kaxes = tuple(range(2 + d, 2 + 2 * d))
    if kind == "max":
        return np.where(mask, g, fill).max(axis=kaxes)
    total = np.where(mask, g, 0).sum(axis=kaxes)
    cnt = np.ones((1, 1) + o, dtype=np.int64)
    for ax, (st, e) in enumerate(bins):
        cshape = [1] * (2 + d)
        cshape[2 + ax] = len(st)
        cnt = cnt * (e - st).reshape(cshape)
    return (total / cnt.astype(x.dtype)).astype(x.dtype, copy=False)


def adaptive_avg_pool(x: np.ndarray, out: IntOrSeq) -> np.ndarray:
    """``F.adaptive_avg_pool{1,2,3}d``: bin i spans [floor(i*n/o), ceil((i+1)*n/o))."""
    # Reductions over strided windows come back in a non-C order; a later flatten would copy.
    return np.ascontiguousarray(_adaptive(x, out, "avg"))


def adaptive_max_pool(x: np.ndarray, out: IntOrSeq) -> np.ndarray:
    """``F.adaptive_max_pool{1,2,3}d`` (values only)."""
    return np.ascontiguousarray(_adaptive(x, out, "max"))
