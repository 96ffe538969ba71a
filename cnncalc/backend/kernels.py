"""Pure-NumPy compute kernels with PyTorch semantics.

Conventions
-----------
* Arrays are batch-first, channels-first: ``x`` has shape ``(N, C, *spatial)`` with one, two
  or three spatial axes. Every kernel works for any number of spatial axes.
* Padding is a tuple of ``(before, after)`` pairs, one per spatial axis, already resolved by
  the caller (it may be asymmetric). For convenience an int or a flat sequence of ints is
  accepted too and means symmetric padding.
* The input dtype is kept: float32 stays float32 (weights are cast to the input dtype), so
  BLAS runs ``sgemm`` for float32 networks.
* :func:`windows` is the single windowing primitive: convolution (im2col), transposed
  convolution (col2im scatter), max/avg pooling and adaptive pooling are all built on it.

MAC instrumentation
-------------------
``with count_macs() as c: ...`` records, per call of :func:`conv`, :func:`conv_transpose` and
:func:`dense`, the multiply-accumulates the matrix products really perform, derived from the
operand shapes handed to ``np.matmul`` (bias excluded). When no counter is active the cost is
a single truthiness test of a module-level list.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.lib.stride_tricks import as_strided

__all__ = [
    "MacCounter",
    "MacRecord",
    "count_macs",
    "pad_zeros",
    "windows",
    "out_size",
    "conv",
    "conv_transpose",
    "dense",
    "max_pool",
    "avg_pool",
    "adaptive_avg_pool",
    "adaptive_max_pool",
    "upsample",
    "lrn",
    "batch_norm_inference",
    "layer_norm",
    "group_norm",
    "relu",
    "relu6",
    "leaky_relu",
    "sigmoid",
    "tanh",
    "gelu",
    "erf",
    "erfc",
    "silu",
    "hardswish",
    "hardsigmoid",
    "softmax",
    "channel_shuffle",
]

IntOrSeq = int | Sequence[int]
PadSpec = int | Sequence[int] | Sequence[Sequence[int]] | None

# ----------------------------------------------------------------------------- MAC counting


@dataclass(frozen=True)
class MacRecord:
    """One instrumented call: ``macs`` is the total over the whole batch of ``batch`` samples."""

    op: str
    label: str | None
    macs: int
    batch: int

    @property
    def per_sample(self) -> float:
        return self.macs / self.batch if self.batch else float(self.macs)


@dataclass
class MacCounter:
    """Context manager collecting the MACs performed by the GEMMs of conv/deconv/dense.

    Counters may be nested; every active counter sees every record.
    """

    records: list[MacRecord] = field(default_factory=list)

    def __enter__(self) -> MacCounter:
        _ACTIVE.append(self)
        return self

    def __exit__(self, *exc: object) -> None:
        # Remove this exact counter (identity, not equality: two empty counters compare equal).
        for i in range(len(_ACTIVE) - 1, -1, -1):
            if _ACTIVE[i] is self:
                del _ACTIVE[i]
                break

    @property
    def total(self) -> int:
        """MACs over all records, summed over the batch."""
        return sum(r.macs for r in self.records)

    @property
    def per_sample(self) -> float:
        """MACs per sample (each record divided by its own batch size)."""
        return sum(r.per_sample for r in self.records)

    def by_label(self) -> dict[str | None, int]:
        """Total MACs per label, in first-seen order."""
        out: dict[str | None, int] = {}
        for r in self.records:
            out[r.label] = out.get(r.label, 0) + r.macs
        return out

    def reset(self) -> None:
        self.records.clear()


# The single global checked by the kernels; empty list => instrumentation off.
_ACTIVE: list[MacCounter] = []


def count_macs() -> MacCounter:
    """``with count_macs() as c: ...`` then read ``c.total`` / ``c.records``."""
    return MacCounter()


def _record(op: str, label: str | None, macs: int, batch: int) -> None:
    rec = MacRecord(op, label, int(macs), int(batch))
    for c in _ACTIVE:
        c.records.append(rec)


def _matmul_macs(a_shape: tuple[int, ...], b_shape: tuple[int, ...]) -> int:
    """MACs of ``np.matmul(a, b)`` for the shapes really passed: batch x M x K x N."""
    batch = np.broadcast_shapes(a_shape[:-2], b_shape[:-2])
    m, k = a_shape[-2:]
    n = b_shape[-1]
    return math.prod(batch) * m * k * n


# ----------------------------------------------------------------------------- argument helpers


def _tup(v: IntOrSeq, d: int, name: str) -> tuple[int, ...]:
    if isinstance(v, (int, np.integer)):
        return (int(v),) * d
    t = tuple(int(a) for a in v)
    if len(t) == 1 and d != 1:
        t = t * d
    if len(t) != d:
        raise ValueError(f"{name} needs {d} values, got {v!r}")
    return t


def _pads(p: PadSpec, d: int) -> tuple[tuple[int, int], ...]:
    """Normalise a padding spec to ((before, after), ...) with one pair per spatial axis."""
    if p is None:
        return ((0, 0),) * d
    if isinstance(p, (int, np.integer)):
        return ((int(p), int(p)),) * d
    items: list[Any] = list(p)
    if all(isinstance(e, (int, np.integer)) for e in items):
        if len(items) == 1:
            items = items * d
        if len(items) != d:
            raise ValueError(f"padding needs {d} values, got {p!r}")
        return tuple((int(e), int(e)) for e in items)
    pairs = tuple((int(b), int(a)) for b, a in items)
    if len(pairs) == 1 and d != 1:
        pairs = pairs * d
    if len(pairs) != d:
        raise ValueError(f"padding needs {d} (before, after) pairs, got {p!r}")
    return pairs


def _spatial(x: np.ndarray, what: str) -> int:
    if x.ndim < 3:
        raise ValueError(f"{what} expects (N, C, *spatial) with 1-3 spatial axes, got {x.shape}")
    return x.ndim - 2


class _RowBroadcast:
    """Context for ``x (N, C, *sp) op per-channel (C, 1, ...)`` ufunc calls.

    With the default 8192-element iterator buffer NumPy coalesces several short rows per
    inner-loop call and therefore materialises the stride-0 per-channel operand into a
    buffer, which makes such broadcasts ~2x slower than a plain scalar multiply. A buffer
    smaller than a row makes it hand each row straight to the SIMD scalar loop. Only worth
    it for rows of >= 128 elements; for shorter rows coalescing wins. (NumPy keeps the
    buffer size in a context variable, so this is thread/context safe.)
    """

    __slots__ = ("row", "old")

    def __init__(self, row: int) -> None:
        self.row = row
        self.old = 0

    def __enter__(self) -> None:
        if self.row >= 128:
            self.old = np.setbufsize(16)

    def __exit__(self, *exc: object) -> None:
        if self.old:
            np.setbufsize(self.old)


def _lowest(dtype: np.dtype) -> Any:
    """Padding value that never wins a max: -inf for floats, the minimum for integers."""
    if np.issubdtype(dtype, np.floating):
        return -np.inf
    return np.iinfo(dtype).min


# ----------------------------------------------------------------------------- padding / windows


def pad_zeros(x: np.ndarray, pads: PadSpec, *, value: float = 0.0) -> np.ndarray:
    """Constant padding of the spatial axes (F.pad semantics: negative pads crop).

    Returns ``x`` itself (no copy) when every pad is zero.
    """
    d = _spatial(x, "pad_zeros")
    pp = _pads(pads, d)
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
    d = _spatial(x, "windows")
    k = _tup(kernel, d, "kernel")
    s = _tup(stride, d, "stride")
    dl = _tup(dilation, d, "dilation")
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


def _pool_pads(
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


# ----------------------------------------------------------------------------- convolution


def conv(
    x: np.ndarray,
    w: np.ndarray,
    b: np.ndarray | None = None,
    stride: IntOrSeq = 1,
    pads: PadSpec = 0,
    dilation: IntOrSeq = 1,
    groups: int = 1,
    *,
    label: str | None = None,
) -> np.ndarray:
    """N-d convolution (cross-correlation, like ``F.conv{1,2,3}d``).

    ``w``: ``(Cout, Cin/groups, *k)``; ``b``: ``None`` or ``(Cout,)``.
    """
    d = _spatial(x, "conv")
    n_batch, cin = x.shape[:2]
    cout, cig = w.shape[:2]
    k = tuple(w.shape[2:])
    if len(k) != d:
        raise ValueError(f"weight {w.shape} has {len(k)} spatial axes, input has {d}")
    g = int(groups)
    if g < 1 or cin % g or cout % g or cig != cin // g:
        raise ValueError(f"conv: input channels {cin}, weight {w.shape}, groups {g} mismatch")
    cog = cout // g
    s = _tup(stride, d, "stride")
    dl = _tup(dilation, d, "dilation")
    w = w.astype(x.dtype, copy=False)
    xp = pad_zeros(x, pads)
    kvol = math.prod(k)

    if kvol == 1:
        # 1x1 conv: no im2col, strided slicing selects the sampled positions (dilation is moot).
        out_sp = tuple((n - 1) // ss + 1 for n, ss in zip(xp.shape[2:], s))
        if any(ss != 1 for ss in s):
            xp = xp[(slice(None), slice(None)) + tuple(slice(None, None, ss) for ss in s)]
        ell = math.prod(out_sp)
        cols = xp.reshape(n_batch, g, cig, ell)  # copies only if strided/non-contiguous
        wm = w.reshape(g, cog, cig)
        y = np.matmul(wm, cols)
        if _ACTIVE:
            _record("conv", label, _matmul_macs(wm.shape, cols.shape), n_batch)
    else:
        win = windows(xp, k, s, dl)  # (N, C, *out, *k)
        out_sp = win.shape[2 : 2 + d]
        ell = math.prod(out_sp)
        # im2col in (C, *k, *out) order so (Cout x K) @ (K x L) lands directly as (Cout, L).
        perm = (0, 1) + tuple(range(2 + d, 2 + 2 * d)) + tuple(range(2, 2 + d))
        cols = np.ascontiguousarray(win.transpose(perm)).reshape(n_batch, g, cig * kvol, ell)
        wm = w.reshape(g, cog, cig * kvol)
        # (N, G, Cout/G, L): one GEMM per (sample, group) inside np.matmul's batch loop.
        # Depthwise (Cin/G == 1) goes through here too: the batched (mult x kvol) @ (kvol x L)
        # products measured ~2.5x faster than per-offset broadcast multiply-accumulate.
        y = np.matmul(wm, cols)
        if _ACTIVE:
            _record("conv", label, _matmul_macs(wm.shape, cols.shape), n_batch)

    y = y.reshape((n_batch, cout) + tuple(out_sp))
    if b is not None:
        with _RowBroadcast(math.prod(out_sp)):
            y += np.asarray(b, dtype=x.dtype).reshape((cout,) + (1,) * d)
    return y


def conv_transpose(
    x: np.ndarray,
    w: np.ndarray,
    b: np.ndarray | None = None,
    stride: IntOrSeq = 1,
    pads: PadSpec = 0,
    output_padding: IntOrSeq = 0,
    dilation: IntOrSeq = 1,
    groups: int = 1,
    *,
    label: str | None = None,
) -> np.ndarray:
    """N-d transposed convolution (``F.conv_transpose{1,2,3}d``) as GEMM + col2im.

    ``w``: ``(Cin, Cout/groups, *k)``. ``pads`` are (before, after) pairs of PyTorch's
    ``padding`` (the full output is cropped by them); ``output_padding`` adds size at the end.
    Output length per axis: ``(n-1)*stride - pb - pa + dilation*(k-1) + output_padding + 1``.
    """
    d = _spatial(x, "conv_transpose")
    n_batch, cin = x.shape[:2]
    g = int(groups)
    if w.shape[0] != cin or g < 1 or cin % g:
        raise ValueError(f"conv_transpose: input channels {cin}, weight {w.shape}, groups {g}")
    cig = cin // g
    cog = w.shape[1]
    cout = cog * g
    k = tuple(w.shape[2:])
    if len(k) != d:
        raise ValueError(f"weight {w.shape} has {len(k)} spatial axes, input has {d}")
    s = _tup(stride, d, "stride")
    dl = _tup(dilation, d, "dilation")
    op = _tup(output_padding, d, "output_padding")
    pp = _pads(pads, d)
    kvol = math.prod(k)
    in_sp = x.shape[2:]
    ell = math.prod(in_sp)
    w = w.astype(x.dtype, copy=False)

    # GEMM: per group (Cout/G*kvol x Cin/G) @ (Cin/G x L_in) -> every input pixel's contribution
    # to every kernel offset of the output.
    wm = w.reshape(g, cig, cog * kvol).transpose(0, 2, 1)
    xm = x.reshape(n_batch, g, cig, ell)
    cols = np.matmul(wm, xm)  # (N, G, Cout/G*kvol, L_in)
    if _ACTIVE:
        _record("conv_transpose", label, _matmul_macs(wm.shape, xm.shape), n_batch)
    cols = cols.reshape((n_batch, cout, kvol) + tuple(in_sp))

    full = tuple((n - 1) * ss + dd * (kk - 1) + 1 for n, ss, dd, kk in zip(in_sp, s, dl, k))
    out_len = tuple(f - pb - pa + o for f, (pb, pa), o in zip(full, pp, op))
    if min(out_len) < 1:
        raise ValueError(f"conv_transpose output size {out_len} is not positive")
    # Buffer covering both the uncropped result and the requested output range.
    front = tuple(max(0, -pb) for pb, _ in pp)
    blen = tuple(fr + max(f, pb + ol) for fr, f, (pb, _), ol in zip(front, full, pp, out_len))
    buf = np.zeros((n_batch, cout) + blen, x.dtype)
    inner = buf[(slice(None), slice(None)) + tuple(slice(fr, fr + f) for fr, f in zip(front, full))]
    # col2im: the writable window view of the output maps (input pixel, offset) -> output pixel;
    # one offset at a time never aliases, so the += is a plain strided scatter-add.
    win = windows(inner, k, s, dl, writeable=True)  # (N, Cout, *in, *k)
    for j, off in enumerate(itertools.product(*(range(kk) for kk in k))):
        win[(Ellipsis,) + off] += cols[:, :, j]
    crop = tuple(slice(fr + pb, fr + pb + ol) for fr, (pb, _), ol in zip(front, pp, out_len))
    y = buf[(slice(None), slice(None)) + crop]
    if y.shape != buf.shape:
        y = np.ascontiguousarray(y)
    if b is not None:
        with _RowBroadcast(math.prod(out_len)):
            y += np.asarray(b, dtype=x.dtype).reshape((cout,) + (1,) * d)
    return y


def dense(
    x: np.ndarray, w: np.ndarray, b: np.ndarray | None = None, *, label: str | None = None
) -> np.ndarray:
    """Fully connected layer ``x @ w.T + b``; ``x``: ``(N, in)``, ``w``: ``(out, in)``."""
    w = w.astype(x.dtype, copy=False)
    x2 = x.reshape(1, -1) if x.ndim == 1 else x.reshape(-1, x.shape[-1])
    wt = w.T  # numpy hands the transposed view to BLAS with a trans flag, no copy
    y = np.matmul(x2, wt)
    if _ACTIVE:
        _record("dense", label, _matmul_macs(x2.shape, wt.shape), x2.shape[0])
    if b is not None:
        y += np.asarray(b, dtype=x.dtype)
    return y.reshape(x.shape[:-1] + (w.shape[0],))


# ----------------------------------------------------------------------------- pooling


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
    d = _spatial(x, "max_pool")
    k = _tup(kernel, d, "kernel")
    s = k if stride is None else _tup(stride, d, "stride")
    dl = _tup(dilation, d, "dilation")
    _, eff = _pool_pads(x.shape[2:], k, s, _pads(pads, d), dl, ceil_mode)
    # np.maximum propagates NaN, as torch's max pooling does.
    return _window_reduce(pad_zeros(x, eff, value=_lowest(x.dtype)), k, s, dl, np.maximum)


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
    d = _spatial(x, "avg_pool")
    k = _tup(kernel, d, "kernel")
    s = k if stride is None else _tup(stride, d, "stride")
    pp = _pads(pads, d)
    ones = (1,) * d
    outs, eff = _pool_pads(x.shape[2:], k, s, pp, ones, ceil_mode)
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
    d = _spatial(x, f"adaptive_{kind}_pool")
    o = _tup(out, d, "output size")
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
    fill = 0 if kind == "avg" else _lowest(x.dtype)
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


# ----------------------------------------------------------------------------- resampling


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
    d = _spatial(x, "upsample")
    sp = x.shape[2:]
    if size is not None:
        outs = _tup(size, d, "size")
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


# ----------------------------------------------------------------------------- normalisation


def lrn(x: np.ndarray, size: int, alpha: float = 1e-4, beta: float = 0.75, k: float = 1.0) -> np.ndarray:
    """``torch.nn.LocalResponseNorm``: x / (k + alpha * mean_window(x^2)) ** beta.

    The channel window is [c - size//2, c + (size-1)//2], zero padded, divided by ``size``.
    """
    _spatial(x, "lrn")
    c = x.shape[1]
    sq = x * x
    lo, hi = size // 2, (size - 1) // 2
    pad = np.zeros((x.shape[0], c + lo + hi) + x.shape[2:], x.dtype)
    pad[:, lo : lo + c] = sq
    acc = pad[:, 0:c].copy()
    for j in range(1, size):
        acc += pad[:, j : j + c]
    dt = x.dtype.type
    div = acc / dt(size) * dt(alpha) + dt(k)
    return x / div ** dt(beta)


def _bcast(p: np.ndarray | None, shape: tuple[int, ...], dtype: np.dtype) -> np.ndarray | None:
    return None if p is None else np.asarray(p, dtype=dtype).reshape(shape)


def batch_norm_inference(
    x: np.ndarray,
    mean: np.ndarray,
    var: np.ndarray,
    gamma: np.ndarray | None = None,
    beta: np.ndarray | None = None,
    eps: float = 1e-5,
    *,
    out: np.ndarray | None = None,
) -> np.ndarray:
    """Eval-mode batch norm: folded to one scale and one shift per channel.

    ``out=x`` normalises in place (saves an allocation and a memory pass).
    """
    d = x.ndim - 2
    # Fold in float64 (tiny per-channel vectors), then apply in the input dtype.
    scale = 1.0 / np.sqrt(np.asarray(var, np.float64) + eps)
    if gamma is not None:
        scale = scale * np.asarray(gamma, np.float64)
    shift = -np.asarray(mean, np.float64) * scale
    if beta is not None:
        shift = shift + np.asarray(beta, np.float64)
    shape = (x.shape[1],) + (1,) * d
    with _RowBroadcast(math.prod(x.shape[2:])):
        y = np.multiply(x, scale.astype(x.dtype).reshape(shape), out=out)
        y += shift.astype(x.dtype).reshape(shape)
    return y


def _normalise(x: np.ndarray, axes: tuple[int, ...], eps: float) -> np.ndarray:
    mu = x.mean(axis=axes, keepdims=True)
    xc = x - mu
    var = np.mean(xc * xc, axis=axes, keepdims=True)  # biased, as in torch
    xc *= 1.0 / np.sqrt(var + x.dtype.type(eps))
    return xc


def layer_norm(
    x: np.ndarray,
    gamma: np.ndarray | None = None,
    beta: np.ndarray | None = None,
    eps: float = 1e-5,
    over: str = "channels",
) -> np.ndarray:
    """Layer norm over the C values at each position (``over='channels'``, gamma/beta
    ``(C,)``) or over the whole ``[C, *spatial]`` sample (``over='all'``, gamma/beta of that
    shape, like ``F.layer_norm(x, x.shape[1:])``)."""
    d = x.ndim - 2
    if over == "channels":
        y = _normalise(x, (1,), eps)
        pshape: tuple[int, ...] = (x.shape[1],) + (1,) * d
    elif over == "all":
        y = _normalise(x, tuple(range(1, x.ndim)), eps)
        pshape = x.shape[1:]
    else:
        raise ValueError(f"layer_norm over must be 'channels' or 'all', got {over!r}")
    gm = _bcast(gamma, pshape, x.dtype)
    bt = _bcast(beta, pshape, x.dtype)
    if gm is not None:
        y *= gm
    if bt is not None:
        y += bt
    return y


def group_norm(
    x: np.ndarray,
    groups: int,
    gamma: np.ndarray | None = None,
    beta: np.ndarray | None = None,
    eps: float = 1e-5,
) -> np.ndarray:
    """``F.group_norm``: statistics over each group of C/groups channels and all positions."""
    n, c = x.shape[:2]
    if c % groups:
        raise ValueError(f"group_norm: {c} channels not divisible by {groups} groups")
    y = _normalise(x.reshape(n, groups, -1), (2,), eps).reshape(x.shape)
    pshape = (c,) + (1,) * (x.ndim - 2)
    gm = _bcast(gamma, pshape, x.dtype)
    bt = _bcast(beta, pshape, x.dtype)
    if gm is not None:
        y *= gm
    if bt is not None:
        y += bt
    return y


# ----------------------------------------------------------------------------- activations


def relu(x: np.ndarray, *, out: np.ndarray | None = None) -> np.ndarray:
    """max(x, 0); ``out=x`` gives the in-place variant (like ``inplace=True``)."""
    return np.maximum(x, x.dtype.type(0), out=out)


def relu6(x: np.ndarray, *, out: np.ndarray | None = None) -> np.ndarray:
    return np.clip(x, x.dtype.type(0), x.dtype.type(6), out=out)


def leaky_relu(x: np.ndarray, slope: float = 0.01, out: np.ndarray | None = None) -> np.ndarray:
    # x if x > 0 else slope*x is the larger of x and slope*x (the smaller when slope > 1): one
    # output-sized temporary and no boolean mask (np.where needed both).
    s = x.dtype.type(slope)
    scaled = x * s
    pick = np.maximum if s <= 1 else np.minimum
    return pick(x, scaled, out=scaled if out is None else out)


def sigmoid(x: np.ndarray) -> np.ndarray:
    """Logistic function without overflow: exp only ever sees -|x|."""
    e = np.exp(-np.abs(x))
    one = x.dtype.type(1)
    return np.where(x >= 0, one / (one + e), e / (one + e))


def tanh(x: np.ndarray) -> np.ndarray:
    return np.tanh(x)


def silu(x: np.ndarray) -> np.ndarray:
    return x * sigmoid(x)


def hardsigmoid(x: np.ndarray) -> np.ndarray:
    t = x.dtype.type
    return np.clip(x + t(3), t(0), t(6)) / t(6)


def hardswish(x: np.ndarray) -> np.ndarray:
    t = x.dtype.type
    return x * np.clip(x + t(3), t(0), t(6)) / t(6)


def softmax(x: np.ndarray, axis: int = 1) -> np.ndarray:
    """Numerically stable softmax (max subtracted before exp)."""
    e = np.exp(x - np.max(x, axis=axis, keepdims=True))
    e /= np.sum(e, axis=axis, keepdims=True)
    return e


# erf / erfc. NumPy has neither, so:
#   |z| < 1 : erf(z) = 2/sqrt(pi) * sum_n (-1)^n z^(2n+1) / (n! (2n+1)), 18 terms (< 1e-16)
#   |z| >= 1: erfc(|z|) = exp(-z^2) * t * G(t),  t = 2 / (2 + |z|) in (0, 2/3]
# G(t) = erfcx(x)/t is smooth on [0, 2/3] (G(0) = 1/(2 sqrt(pi))); its Chebyshev series
# below was computed for this module by interpolation at 23 Chebyshev nodes with mpmath at
# 40 digits; max relative error over the interval is ~2e-16.
_ERF_TAYLOR = np.array(
    [2.0 / math.sqrt(math.pi) * (-1) ** n / (math.factorial(n) * (2 * n + 1)) for n in range(18)]
)
_ERFC_CHEB = np.array(
    [
        0.43645785270859866,
        0.17777556529020944,
        0.025368743291002742,
        0.0018983124584858347,
        -9.114875514598765e-05,
        -3.4231442013063065e-05,
        -3.903404090096349e-07,
        6.552494838249473e-07,
        2.1491725090828276e-08,
        -1.5768303155349188e-08,
        -3.8736238378756304e-10,
        4.5595689169552e-10,
        -5.613203353952973e-12,
        -1.4324542177850913e-11,
        1.0697250760057445e-12,
        4.307007984805138e-13,
        -7.513986282027347e-14,
        -9.720972188651433e-15,
        4.000482688747483e-15,
        -3.61393684285142e-17,
        -1.6773555097972506e-16,
        2.2764160354599925e-17,
        4.561251614967591e-18,
    ]
)


def _float_in(x: np.ndarray) -> np.ndarray:
    x = np.asarray(x)
    return x if np.issubdtype(x.dtype, np.floating) else x.astype(np.float64)


def _erf_small(z: np.ndarray) -> np.ndarray:
    """erf on |z| <= 1 (Horner in z^2)."""
    t = z.dtype.type
    z2 = z * z
    acc = np.full_like(z, t(_ERF_TAYLOR[-1]))
    for c in _ERF_TAYLOR[-2::-1]:
        acc *= z2
        acc += t(c)
    return acc * z


def _erfc_pos(a: np.ndarray) -> np.ndarray:
    """erfc(a) for a >= 1 (also fine, just less accurate, below 1)."""
    t = a.dtype.type
    tt = t(2) / (t(2) + a)
    u = tt * t(3) - t(1)  # map t in [0, 2/3] onto the Chebyshev interval [-1, 1]
    # Clenshaw recurrence.
    b1 = np.zeros_like(a)
    b2 = np.zeros_like(a)
    u2 = u * t(2)
    for c in _ERFC_CHEB[:0:-1]:
        b1, b2 = u2 * b1 - b2 + t(c), b1
    g = u * b1 - b2 + t(_ERFC_CHEB[0])
    with np.errstate(under="ignore"):
        return np.exp(-(a * a)) * tt * g


def erf(x: np.ndarray) -> np.ndarray:
    """Vectorised error function (~1e-16 relative in float64), same dtype as the input."""
    z = _float_in(x)
    a = np.abs(z)
    small = _erf_small(np.minimum(a, z.dtype.type(1))) * np.sign(z)
    big = np.copysign(1 - _erfc_pos(np.maximum(a, z.dtype.type(1))), z)
    return np.where(a < 1, small, big)


def erfc(x: np.ndarray) -> np.ndarray:
    """Complementary error function, accurate in the far tail (no 1 - erf cancellation)."""
    z = _float_in(x)
    a = np.abs(z)
    one = z.dtype.type(1)
    tail = _erfc_pos(np.maximum(a, one))
    small = one - _erf_small(np.minimum(a, one)) * np.sign(z)
    return np.where(a < 1, small, np.where(z > 0, tail, 2 - tail))


def gelu(x: np.ndarray) -> np.ndarray:
    """Exact GELU ``x * Phi(x) = 0.5 * x * erfc(-x / sqrt(2))`` (torch default, not tanh)."""
    t = x.dtype.type
    return t(0.5) * x * erfc(-x * t(math.sqrt(0.5)))


# ----------------------------------------------------------------------------- misc


def channel_shuffle(x: np.ndarray, groups: int) -> np.ndarray:
    """ShuffleNet channel shuffle: (N, G, C/G, ...) -> transpose -> (N, C, ...)."""
    n, c = x.shape[:2]
    if c % groups:
        raise ValueError(f"channel_shuffle: {c} channels not divisible by {groups} groups")
    y = x.reshape((n, groups, c // groups) + x.shape[2:]).swapaxes(1, 2)
    return np.ascontiguousarray(y).reshape(x.shape)
