"""The GEMM kernels: convolution (im2col), transposed convolution (GEMM + col2im) and dense."""

from __future__ import annotations

import itertools
import math

import numpy as np

from cnncalc.backend.kernels import counter
from cnncalc.backend.kernels.args import IntOrSeq, PadSpec, RowBroadcast, as_tuple, pad_pairs, spatial_dims
from cnncalc.backend.kernels.window import pad_zeros, windows


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
    d = spatial_dims(x, "conv")
    n_batch, cin = x.shape[:2]
    cout, cig = w.shape[:2]
    k = tuple(w.shape[2:])
    if len(k) != d:
        raise ValueError(f"weight {w.shape} has {len(k)} spatial axes, input has {d}")
    g = int(groups)
    if g < 1 or cin % g or cout % g or cig != cin // g:
        raise ValueError(f"conv: input channels {cin}, weight {w.shape}, groups {g} mismatch")
    cog = cout // g
    s = as_tuple(stride, d, "stride")
    dl = as_tuple(dilation, d, "dilation")
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
        if counter.ACTIVE:
            counter.record("conv", label, counter.matmul_macs(wm.shape, cols.shape), n_batch)
    elif cig == 1 and cog == 1 and kvol >= 3 and _small_output(xp.shape[2:], k, s, dl):
        y, out_sp = _depthwise_channels_last(xp, w, k, s, dl)
        if counter.ACTIVE:  # one multiply-add per (sample, channel, position, tap), as the GEMM
            counter.record("conv", label, n_batch * cout * kvol * math.prod(out_sp), n_batch)
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
        if counter.ACTIVE:
            counter.record("conv", label, counter.matmul_macs(wm.shape, cols.shape), n_batch)

    y = y.reshape((n_batch, cout) + tuple(out_sp))
    if b is not None:
        with RowBroadcast(math.prod(out_sp)):
            y += np.asarray(b, dtype=x.dtype).reshape((cout,) + (1,) * d)
    return y


# Depthwise layers with at most this many output positions run per tap, channels last: with
# few positions per channel the batched GEMMs' per-call overhead dominates (measured on
# 960 x 7 x 7: 4.5x faster at batch 1, ~2x at batch 8; at 14 x 14 the GEMMs win again).
_DEPTHWISE_DIRECT_MAX = 64


def _out_sizes(sp: tuple[int, ...], k: tuple[int, ...], s: tuple[int, ...],
               dl: tuple[int, ...]) -> tuple[int, ...]:
    """Output positions per axis of a window over the padded sizes `sp`."""
    return tuple((n - dd * (kk - 1) - 1) // ss + 1 for n, kk, ss, dd in zip(sp, k, s, dl))


def _small_output(sp: tuple[int, ...], k: tuple[int, ...], s: tuple[int, ...], dl: tuple[int, ...]) -> bool:
    outs = _out_sizes(sp, k, s, dl)
    return min(outs) >= 1 and math.prod(outs) <= _DEPTHWISE_DIRECT_MAX


def _depthwise_channels_last(xp: np.ndarray, w: np.ndarray, k: tuple[int, ...], s: tuple[int, ...],
                             dl: tuple[int, ...]) -> tuple[np.ndarray, tuple[int, ...]]:
    """Depthwise convolution (one filter per channel) of the padded ``xp`` as a sum over the
    kernel taps of (tap view x per-channel weight), channels last so that the weight is a
    contiguous trailing vector: no im2col and no per-channel GEMM calls."""
    c = xp.shape[1]
    xl = np.ascontiguousarray(np.moveaxis(xp, 1, -1))  # (N, *padded, C)
    outs = _out_sizes(xp.shape[2:], k, s, dl)
    wk = np.ascontiguousarray(w.reshape(c, -1).T)  # (kvol, C), taps in C order like w
    acc = tmp = None
    for j, off in enumerate(itertools.product(*(range(kk) for kk in k))):
        tap = xl[(slice(None),) + tuple(slice(o * dd, o * dd + ss * (n - 1) + 1, ss)
                                        for o, dd, ss, n in zip(off, dl, s, outs))]
        if acc is None:
            acc = np.multiply(tap, wk[j])
            tmp = np.empty_like(acc)
        else:
            np.multiply(tap, wk[j], out=tmp)
            acc += tmp
    del xl, tmp
    assert acc is not None
    return np.ascontiguousarray(np.moveaxis(acc, -1, 1)), outs


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
    d = spatial_dims(x, "conv_transpose")
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
    s = as_tuple(stride, d, "stride")
    dl = as_tuple(dilation, d, "dilation")
    op = as_tuple(output_padding, d, "output_padding")
    pp = pad_pairs(pads, d)
    kvol = math.prod(k)
    in_sp = x.shape[2:]
    ell = math.prod(in_sp)
    w = w.astype(x.dtype, copy=False)

    # GEMM: per group (Cout/G*kvol x Cin/G) @ (Cin/G x L_in) -> every input pixel's contribution
    # to every kernel offset of the output.
    wm = w.reshape(g, cig, cog * kvol).transpose(0, 2, 1)
    xm = x.reshape(n_batch, g, cig, ell)
    cols = np.matmul(wm, xm)  # (N, G, Cout/G*kvol, L_in)
    if counter.ACTIVE:
        counter.record("conv_transpose", label, counter.matmul_macs(wm.shape, xm.shape), n_batch)
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
        # A copy, even when the crop is contiguous already (ascontiguousarray would return the
        # view, which keeps the whole uncropped buffer alive): PyTorch holds only the output.
        y = y.copy()
    if b is not None:
        with RowBroadcast(math.prod(out_len)):
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
    if counter.ACTIVE:
        counter.record("dense", label, counter.matmul_macs(x2.shape, wt.shape), x2.shape[0])
    if b is not None:
        y += np.asarray(b, dtype=x.dtype)
    return y.reshape(x.shape[:-1] + (w.shape[0],))
