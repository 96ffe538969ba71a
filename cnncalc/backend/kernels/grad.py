"""Backward kernels of the window ops: convolution, transposed convolution, dense, pooling.

The same windowing primitive as the forward (`window.windows`) does all of it: `im2col`
lays the windows out as GEMM columns, `col2im` scatters columns back through a writable
window view. The input gradient of a convolution is a transposed convolution (W^T @ dY,
then col2im) and the input gradient of a transposed convolution is a convolution (im2col of
dY, then W @ cols); each weight gradient is one more GEMM against the columns. Pooling's
backward scatters through the same window view, one kernel offset at a time.

Every GEMM records its multiply-accumulates with the kernels' MAC counter (op names
`conv_grad_input`, `conv_grad_weight`, `deconv_grad_input`, `deconv_grad_weight`,
`dense_grad_input`, `dense_grad_weight`), so a backward pass can be counted like a forward.
"""

from __future__ import annotations

import itertools
import math

import numpy as np

from cnncalc.backend.kernels import counter
from cnncalc.backend.kernels.args import IntOrSeq, PadSpec, as_tuple, pad_pairs, spatial_dims
from cnncalc.backend.kernels.window import pad_zeros, pool_pads, windows

Grads = tuple["np.ndarray | None", "np.ndarray | None", "np.ndarray | None"]


def _offsets(k: tuple[int, ...]) -> itertools.product[tuple[int, ...]]:
    return itertools.product(*(range(kk) for kk in k))


def im2col(xp: np.ndarray, k: tuple[int, ...], s: tuple[int, ...], dl: tuple[int, ...],
           groups: int) -> tuple[np.ndarray, tuple[int, ...]]:
    """GEMM columns (N, G, C/G * kvol, L) of the padded `xp` (rows in (C, *k) order, as the
    weights are laid out) and the output sizes; a plain 1x1 window reshapes without a copy."""
    n, c = xp.shape[:2]
    d = len(k)
    kvol = math.prod(k)
    if kvol == 1:
        if any(ss != 1 for ss in s):
            xp = xp[(slice(None), slice(None)) + tuple(slice(None, None, ss) for ss in s)]
        out = tuple(xp.shape[2:])
        return xp.reshape(n, groups, c // groups, math.prod(out)), out
    win = windows(xp, k, s, dl)  # (N, C, *out, *k)
    out = tuple(win.shape[2 : 2 + d])
    perm = (0, 1) + tuple(range(2 + d, 2 + 2 * d)) + tuple(range(2, 2 + d))
    cols = np.ascontiguousarray(win.transpose(perm)).reshape(n, groups, c // groups * kvol, math.prod(out))
    return cols, out


def col2im(cols: np.ndarray, padded: tuple[int, ...], k: tuple[int, ...], s: tuple[int, ...],
           dl: tuple[int, ...]) -> np.ndarray:
    """The transpose of `im2col`: columns (N, C * kvol, L) summed back into a zero buffer of
    the padded input's shape (N, C, *padded), one kernel offset at a time (no aliasing)."""
    n, c = padded[:2]
    kvol = math.prod(k)
    buf = np.zeros(padded, cols.dtype)
    win = windows(buf, k, s, dl, writeable=True)  # (N, C, *out, *k)
    out = win.shape[2 : 2 + len(k)]
    cols = cols.reshape((n, c, kvol) + tuple(out))
    for j, off in enumerate(_offsets(k)):
        win[(Ellipsis,) + off] += cols[:, :, j]
    return buf


def _crop(buf: np.ndarray, pp: tuple[tuple[int, int], ...], sizes: tuple[int, ...]) -> np.ndarray:
    """The unpadded part of a padded gradient buffer, as a new contiguous array."""
    if not any(b or a for b, a in pp) and buf.shape[2:] == sizes:
        return buf
    return np.ascontiguousarray(buf[(slice(None), slice(None))
                                    + tuple(slice(b, b + m) for (b, _), m in zip(pp, sizes))])


def _bias_grad(gy: np.ndarray) -> np.ndarray:
    return gy.sum(axis=(0, *range(2, gy.ndim)))


def _weight_gemm(a: np.ndarray, b: np.ndarray, op: str, label: str | None) -> np.ndarray:
    """sum over the batch of a @ b^T: a (N, G, M, L), b (N, G, K, L) -> (G, M, K)."""
    bt = b.transpose(0, 1, 3, 2)
    if counter.ACTIVE:
        counter.record(op, label, counter.matmul_macs(a.shape, bt.shape), a.shape[0])
    if a.shape[0] == 1:
        out: np.ndarray = np.matmul(a[0], bt[0])
        return out
    return np.matmul(a, bt).sum(axis=0)


def conv_grads(x: np.ndarray, w: np.ndarray, gy: np.ndarray, stride: IntOrSeq = 1, pads: PadSpec = 0,
               dilation: IntOrSeq = 1, groups: int = 1, *, bias: bool = True, need_input: bool = True,
               need_weight: bool = True, label: str | None = None) -> Grads:
    """Gradients (input, weight, bias) of `kernels.conv` given the output gradient `gy`.
    Input: W^T @ dY then col2im (a transposed convolution); weight: dY @ im2col(x)^T."""
    d = spatial_dims(x, "conv_grads")
    nb, cin = x.shape[:2]
    cout, cig = w.shape[:2]
    k = tuple(w.shape[2:])
    g = int(groups)
    cog = cout // g
    s, dl = as_tuple(stride, d, "stride"), as_tuple(dilation, d, "dilation")
    pp = pad_pairs(pads, d)
    w = w.astype(gy.dtype, copy=False)
    ell = math.prod(gy.shape[2:])
    gym = gy.reshape(nb, g, cog, ell)
    gw = gx = None
    if need_weight:
        cols, _ = im2col(pad_zeros(x.astype(gy.dtype, copy=False), pp), k, s, dl, g)
        gw = _weight_gemm(gym, cols, "conv_grad_weight", label).reshape(w.shape)
        del cols
    if need_input:
        wt = w.reshape(g, cog, cig * math.prod(k)).transpose(0, 2, 1)
        gcols = np.matmul(wt, gym)  # (N, G, Cin/G * kvol, L)
        if counter.ACTIVE:
            counter.record("conv_grad_input", label, counter.matmul_macs(wt.shape, gym.shape), nb)
        padded = (nb, cin) + tuple(m + b + a for m, (b, a) in zip(x.shape[2:], pp))
        if math.prod(k) == 1 and all(ss == 1 for ss in s) and padded == x.shape:
            gx = gcols.reshape(x.shape)
        else:
            gx = _crop(col2im(gcols, padded, k, s, dl), pp, tuple(x.shape[2:]))
    return gx, gw, _bias_grad(gy) if bias else None


def conv_transpose_grads(x: np.ndarray, w: np.ndarray, gy: np.ndarray, stride: IntOrSeq = 1,
                         pads: PadSpec = 0, dilation: IntOrSeq = 1, groups: int = 1, *,
                         bias: bool = True, need_input: bool = True, need_weight: bool = True,
                         label: str | None = None) -> Grads:
    """Gradients of `kernels.conv_transpose`: the output gradient, placed back in the
    uncropped output (zeros where `pads` cropped, output_padding dropped), is convolved:
    input = W @ im2col(dY_full), weight = x @ im2col(dY_full)^T (one im2col serves both)."""
    d = spatial_dims(x, "conv_transpose_grads")
    nb, cin = x.shape[:2]
    k = tuple(w.shape[2:])
    g = int(groups)
    cig = cin // g
    cog = w.shape[1]
    s, dl = as_tuple(stride, d, "stride"), as_tuple(dilation, d, "dilation")
    pp = pad_pairs(pads, d)
    w = w.astype(gy.dtype, copy=False)
    full = tuple((m - 1) * ss + dd * (kk - 1) + 1 for m, ss, dd, kk in zip(x.shape[2:], s, dl, k))
    gfull = pad_zeros(gy, tuple((b, f - b - o) for (b, _), f, o in zip(pp, full, gy.shape[2:])))
    cols, _ = im2col(gfull, k, s, dl, g)  # (N, G, Cout/G * kvol, L_in)
    ell = math.prod(x.shape[2:])
    gx = gw = None
    if need_input:
        wm = w.reshape(g, cig, cog * math.prod(k))
        gx = np.matmul(wm, cols).reshape(x.shape)
        if counter.ACTIVE:
            counter.record("deconv_grad_input", label, counter.matmul_macs(wm.shape, cols.shape), nb)
    if need_weight:
        xm = x.astype(gy.dtype, copy=False).reshape(nb, g, cig, ell)
        gw = _weight_gemm(xm, cols, "deconv_grad_weight", label).reshape(w.shape)
    return gx, gw, _bias_grad(gy) if bias else None


def dense_grads(x: np.ndarray, w: np.ndarray, gy: np.ndarray, *, bias: bool = True,
                need_input: bool = True, need_weight: bool = True, label: str | None = None) -> Grads:
    """Gradients of `kernels.dense` (y = x @ W^T + b): dX = dY @ W, dW = dY^T @ X."""
    w = w.astype(gy.dtype, copy=False)
    gx = gw = None
    if need_input:
        gx = np.matmul(gy, w)
        if counter.ACTIVE:
            counter.record("dense_grad_input", label, counter.matmul_macs(gy.shape, w.shape), gy.shape[0])
    if need_weight:
        xt = x.astype(gy.dtype, copy=False)
        gw = np.matmul(gy.T, xt)
        if counter.ACTIVE:
            counter.record("dense_grad_weight", label, counter.matmul_macs(gy.T.shape, xt.shape), gy.shape[0])
    return gx, gw, gy.sum(axis=0) if bias else None


def max_pool_grad(x: np.ndarray, gy: np.ndarray, kernel: IntOrSeq, stride: IntOrSeq | None = None,
                  pads: PadSpec = 0, dilation: IntOrSeq = 1, ceil_mode: bool = False) -> np.ndarray:
    """Gradient of `kernels.max_pool`: each output's gradient goes to the first maximum of its
    window in scan order (PyTorch's choice on ties); padding never wins."""
    d = spatial_dims(x, "max_pool_grad")
    k = as_tuple(kernel, d, "kernel")
    s = k if stride is None else as_tuple(stride, d, "stride")
    dl = as_tuple(dilation, d, "dilation")
    pp = pad_pairs(pads, d)
    _, eff = pool_pads(x.shape[2:], k, s, pp, dl, ceil_mode)
    low = -np.inf if np.issubdtype(x.dtype, np.floating) else np.iinfo(x.dtype).min
    xp = pad_zeros(x, eff, value=low)
    win = windows(xp, k, s, dl)  # (N, C, *out, *k)
    # Running first-maximum over the offsets: no (out x kvol) copy of the windows.
    best = np.array(win[(Ellipsis,) + (0,) * d])
    arg = np.zeros(best.shape, np.int16 if math.prod(k) < 2**15 else np.int64)
    for j, off in enumerate(_offsets(k)):
        if j:
            tap = win[(Ellipsis,) + off]
            better = tap > best
            np.copyto(best, tap, where=better)
            arg[better] = j
    del best
    buf = np.zeros(xp.shape, gy.dtype)
    gwin = windows(buf, k, s, dl, writeable=True)
    for j, off in enumerate(_offsets(k)):
        gwin[(Ellipsis,) + off] += np.where(arg == j, gy, 0)
    return _crop(buf, tuple((b, a) for b, a in pp), tuple(x.shape[2:]))


def pool_divisor(shape: tuple[int, ...], k: tuple[int, ...], s: tuple[int, ...],
                 pp: tuple[tuple[int, int], ...], outs: tuple[int, ...],
                 count_include_pad: bool) -> np.ndarray:
    """avg_pool's divisor per output position (PyTorch's rule, as the forward kernel)."""
    d = len(shape)
    div = np.ones((1, 1) + outs, dtype=np.int64)
    for ax, (n, kk, ss, (pb, pa), o) in enumerate(zip(shape, k, s, pp, outs)):
        start = np.arange(o) * ss - pb
        end = np.minimum(start + kk, n + pa)
        cnt = end - start if count_include_pad else np.minimum(end, n) - np.maximum(start, 0)
        view = [1] * (2 + d)
        view[2 + ax] = o
        div = div * np.maximum(cnt, 1).reshape(view)
    return div


def avg_pool_grad(x_shape: tuple[int, ...], gy: np.ndarray, kernel: IntOrSeq,
                  stride: IntOrSeq | None = None, pads: PadSpec = 0, ceil_mode: bool = False,
                  count_include_pad: bool = True) -> np.ndarray:
    """Gradient of `kernels.avg_pool`: dY / divisor scattered to every tap of each window."""
    d = len(x_shape) - 2
    k = as_tuple(kernel, d, "kernel")
    s = k if stride is None else as_tuple(stride, d, "stride")
    pp = pad_pairs(pads, d)
    ones = (1,) * d
    outs, eff = pool_pads(tuple(x_shape[2:]), k, s, pp, ones, ceil_mode)
    share = gy / pool_divisor(tuple(x_shape[2:]), k, s, pp, outs, count_include_pad).astype(gy.dtype)
    padded = tuple(x_shape[:2]) + tuple(n + b + a for n, (b, a) in zip(x_shape[2:], eff))
    buf = np.zeros(padded, gy.dtype)
    gwin = windows(buf, k, s, ones, writeable=True)
    for off in _offsets(k):
        gwin[(Ellipsis,) + off] += share
    return _crop(buf, pp, tuple(x_shape[2:]))


def _bin_matrix(n: int, o: int, dtype: np.dtype) -> np.ndarray:
    """(o, n): row i averages adaptive bin i, [floor(i n / o), ceil((i + 1) n / o))."""
    i = np.arange(o)
    start, end = (i * n) // o, -((-(i + 1) * n) // o)
    j = np.arange(n)
    inside = (j[None, :] >= start[:, None]) & (j[None, :] < end[:, None])
    return (inside / (end - start)[:, None]).astype(dtype)


def along(g: np.ndarray, matrices: list[np.ndarray]) -> np.ndarray:
    """Apply a linear map (o, n) along each spatial axis transposed: g (.., o, ..) -> (.., n, ..).
    The backward of every separable resampling (adaptive average bins, upsampling)."""
    for ax, m in enumerate(matrices):
        axis = 2 + ax
        g = np.moveaxis(np.tensordot(g, m.astype(g.dtype, copy=False), axes=([axis], [0])), -1, axis)
    return np.ascontiguousarray(g)


def adaptive_avg_pool_grad(x_shape: tuple[int, ...], gy: np.ndarray) -> np.ndarray:
    """Gradient of `kernels.adaptive_avg_pool` (output sizes from `gy`)."""
    if all(o == 1 for o in gy.shape[2:]):  # global average: a broadcast
        out = np.empty(x_shape, gy.dtype)
        out[...] = gy / gy.dtype.type(math.prod(x_shape[2:]))
        return out
    return along(gy, [_bin_matrix(n, o, gy.dtype) for n, o in zip(x_shape[2:], gy.shape[2:])])


def adaptive_max_pool_grad(x: np.ndarray, gy: np.ndarray) -> np.ndarray:
    """Gradient of `kernels.adaptive_max_pool`: each bin's first maximum (in scan order)."""
    d = x.ndim - 2
    n, c = x.shape[:2]
    gx = np.zeros(x.shape, gy.dtype)
    bins = []
    for m, o in zip(x.shape[2:], gy.shape[2:]):
        i = np.arange(o)
        bins.append(list(zip(((i * m) // o).tolist(), (-((-(i + 1) * m) // o)).tolist())))
    flat_x = x.reshape(n, c, -1)
    flat_g = gx.reshape(n, c, -1)
    rows = np.arange(n)[:, None]
    chans = np.arange(c)[None, :]
    strides = np.cumprod((1,) + tuple(x.shape[2:][::-1]))[:-1][::-1]
    for pos in itertools.product(*(range(o) for o in gy.shape[2:])):
        ranges = [np.arange(*bins[a][p]) for a, p in enumerate(pos)]
        idx = np.zeros((1,), np.int64)
        for a, r in enumerate(ranges):
            idx = (idx[:, None] + r[None, :] * strides[a]).reshape(-1)
        vals = flat_x[:, :, idx]
        best = idx[np.argmax(vals, axis=2)]  # argmax: the first maximum
        flat_g[rows, chans, best] += gy[(slice(None), slice(None)) + pos]
    del d
    return gx
