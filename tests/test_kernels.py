"""Tests of the NumPy compute kernels (``cnncalc/backend/kernels/``).

Two independent oracles:

* plain loop implementations written below from the definitions (always run, so the suite
  means something without torch), also driven by hypothesis over random small parameters;
* ``torch.nn.functional`` (``@pytest.mark.torch``; skipped only when torch is absent).

Error bounds: float64 results must match to ``1e-10 * max(1, max|ref|)`` (absolute), float32
results to ``1e-4 * max(1, max|ref|)``; the dtype must be preserved.
"""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cnncalc.backend import kernels as K
from cnncalc.backend.kernels import counter
from cnncalc.backend.kernels.args import as_tuple

TOL = {np.float32: 1e-4, np.float64: 1e-10}
HSET = settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def check(got: np.ndarray, ref: np.ndarray, dtype: type = np.float64) -> None:
    """Shape, dtype and the documented error bound."""
    ref = np.asarray(ref)
    assert got.shape == ref.shape, (got.shape, ref.shape)
    assert got.dtype == np.dtype(dtype), (got.dtype, dtype)
    scale = max(1.0, float(np.max(np.abs(ref)))) if ref.size else 1.0
    err = float(np.max(np.abs(got.astype(np.float64) - ref.astype(np.float64)))) if ref.size else 0.0
    assert err <= TOL[dtype] * scale, f"max abs err {err:.3g} > {TOL[dtype] * scale:.3g}"


def rnd(rng: np.random.Generator, *shape: int, dtype: type = np.float64) -> np.ndarray:
    return rng.standard_normal(shape).astype(dtype)


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(1234)


@pytest.fixture
def tF():
    torch = pytest.importorskip("torch")
    import torch.nn.functional as F

    return torch, F


def T(a: np.ndarray):
    import torch

    return torch.from_numpy(np.ascontiguousarray(a))


# ============================================================================ naive oracles


def naive_out(n: int, k: int, s: int, pb: int, pa: int, d: int, ceil: bool) -> int:
    """PyTorch's output-size rule, written from its documentation."""
    span = n + pb + pa - d * (k - 1) - 1
    o = (math.ceil(span / s) if ceil else math.floor(span / s)) + 1
    if ceil and (o - 1) * s >= n + pb:  # last window must start inside input or left pad
        o -= 1
    return o


def naive_conv(x, w, b, stride, pads, dil, groups):
    n_b, cin = x.shape[:2]
    d = x.ndim - 2
    cout, cig = w.shape[:2]
    cog = cout // groups
    k = w.shape[2:]
    sp = x.shape[2:]
    outs = [(sp[i] + pads[i][0] + pads[i][1] - dil[i] * (k[i] - 1) - 1) // stride[i] + 1 for i in range(d)]
    y = np.zeros((n_b, cout, *outs))
    for n in range(n_b):
        for g in range(groups):
            ci, co = slice(g * cig, (g + 1) * cig), slice(g * cog, (g + 1) * cog)
            for o in np.ndindex(*outs):
                acc = np.zeros(cog)
                for kk in np.ndindex(*k):
                    pos = [o[i] * stride[i] + kk[i] * dil[i] - pads[i][0] for i in range(d)]
                    if all(0 <= pos[i] < sp[i] for i in range(d)):
                        acc += w[(co, slice(None)) + kk] @ x[(n, ci) + tuple(pos)]
                y[(n, co) + o] = acc
    if b is not None:
        y += np.reshape(b, (-1,) + (1,) * d)
    return y


def naive_conv_transpose(x, w, b, stride, pads, opad, dil, groups):
    n_b, cin = x.shape[:2]
    d = x.ndim - 2
    cig = cin // groups
    cog = w.shape[1]
    k = w.shape[2:]
    sp = x.shape[2:]
    outs = [
        (sp[i] - 1) * stride[i] - pads[i][0] - pads[i][1] + dil[i] * (k[i] - 1) + opad[i] + 1
        for i in range(d)
    ]
    y = np.zeros((n_b, cog * groups, *outs))
    for n in range(n_b):
        for g in range(groups):
            ci, co = slice(g * cig, (g + 1) * cig), slice(g * cog, (g + 1) * cog)
            for i in np.ndindex(*sp):
                for kk in np.ndindex(*k):
                    pos = [i[a] * stride[a] + kk[a] * dil[a] - pads[a][0] for a in range(d)]
                    if all(0 <= pos[a] < outs[a] for a in range(d)):
                        y[(n, co) + tuple(pos)] += w[(ci, slice(None)) + kk].T @ x[(n, ci) + i]
    if b is not None:
        y += np.reshape(b, (-1,) + (1,) * d)
    return y


def naive_pool(x, k, s, pads, dil, ceil, kind, count_include_pad=True):
    d = x.ndim - 2
    sp = x.shape[2:]
    outs = [naive_out(sp[i], k[i], s[i], pads[i][0], pads[i][1], dil[i], ceil) for i in range(d)]
    y = np.zeros(x.shape[:2] + tuple(outs))
    for nc in np.ndindex(*x.shape[:2]):
        for o in np.ndindex(*outs):
            vals, in_padded = [], 0
            for kk in np.ndindex(*k):
                pos = [o[i] * s[i] + kk[i] * dil[i] - pads[i][0] for i in range(d)]
                if all(-pads[i][0] <= pos[i] < sp[i] + pads[i][1] for i in range(d)):
                    in_padded += 1  # inside the padded input (ceil overhang excluded)
                if all(0 <= pos[i] < sp[i] for i in range(d)):
                    vals.append(x[nc + tuple(pos)])
            if kind == "max":
                y[nc + o] = max(vals)
            else:
                div = in_padded if count_include_pad else len(vals)
                y[nc + o] = sum(vals) / div if vals else 0.0
    return y


def naive_adaptive(x, outs, kind):
    d = x.ndim - 2
    sp = x.shape[2:]
    y = np.zeros(x.shape[:2] + tuple(outs))
    for nc in np.ndindex(*x.shape[:2]):
        for o in np.ndindex(*outs):
            sl = tuple(
                slice(math.floor(o[i] * sp[i] / outs[i]), math.ceil((o[i] + 1) * sp[i] / outs[i]))
                for i in range(d)
            )
            blk = x[nc + sl]
            y[nc + o] = blk.max() if kind == "max" else blk.mean()
    return y


def naive_linear_resize(x, outs, align_corners):
    """Multilinear resize by output size, summing all 2^d corners (not separable)."""
    d = x.ndim - 2
    sp = x.shape[2:]
    y = np.zeros(x.shape[:2] + tuple(outs))
    for o in np.ndindex(*outs):
        corners = []
        for a in range(d):
            n, m = sp[a], outs[a]
            if align_corners:
                src = o[a] * (n - 1) / (m - 1) if m > 1 else 0.0
            else:
                src = max((o[a] + 0.5) * n / m - 0.5, 0.0)
            i0 = min(int(math.floor(src)), n - 1)
            lam = min(max(src - i0, 0.0), 1.0)
            i1 = min(i0 + 1, n - 1)
            corners.append(((i0, 1 - lam), (i1, lam)))
        for combo in itertools.product(*corners):
            wgt = math.prod(c[1] for c in combo)
            y[(slice(None), slice(None)) + o] += (
                wgt * x[(slice(None), slice(None)) + tuple(c[0] for c in combo)]
            )
    return y


def naive_lrn(x, size, alpha, beta, k):
    c = x.shape[1]
    y = np.empty_like(x)
    for ch in range(c):
        lo, hi = max(0, ch - size // 2), min(c, ch + (size - 1) // 2 + 1)
        s = np.sum(x[:, lo:hi] ** 2, axis=1)
        y[:, ch] = x[:, ch] / (k + alpha * s / size) ** beta
    return y


# ============================================================================ windows / padding


def test_windows_is_a_view_with_expected_values(rng):
    x = rnd(rng, 2, 3, 9, 8)
    v = K.windows(x, (3, 2), (2, 3), (2, 1))
    assert v.shape == (2, 3, 3, 3, 3, 2)
    assert np.shares_memory(v, x)
    for oh, ow, kh, kw in itertools.product(range(3), range(3), range(3), range(2)):
        np.testing.assert_array_equal(v[:, :, oh, ow, kh, kw], x[:, :, oh * 2 + kh * 2, ow * 3 + kw])


@pytest.mark.parametrize("d", [1, 2, 3])
def test_windows_any_rank(rng, d):
    x = rnd(rng, 1, 2, *([5] * d))
    v = K.windows(x, 2, 1, 2)
    assert v.shape == (1, 2) + (3,) * d + (2,) * d
    with pytest.raises(ValueError):
        K.windows(x, 4, 1, 2)  # dilated kernel 7 > 5


def test_pad_zeros_no_copy_when_zero(rng):
    x = rnd(rng, 1, 2, 4)
    assert K.pad_zeros(x, ((0, 0),)) is x


def test_pad_zeros_and_crop(rng):
    x = rnd(rng, 1, 2, 4, 5)
    y = K.pad_zeros(x, ((1, 2), (0, 3)))
    assert y.shape == (1, 2, 7, 8)
    np.testing.assert_array_equal(y[:, :, 1:5, 0:5], x)
    assert y.sum() == pytest.approx(x.sum())
    c = K.pad_zeros(x, ((-1, 2), (1, -2)))
    assert c.shape == (1, 2, 5, 4)
    np.testing.assert_array_equal(c[:, :, 0:3, 1:4], x[:, :, 1:4, 0:3])


@pytest.mark.torch
@pytest.mark.parametrize("pads", [((1, 2),), ((-1, 2), (2, -3)), ((0, 1), (-1, 0), (2, 2))])
def test_pad_zeros_vs_torch(tF, rng, pads):
    torch, F = tF
    d = len(pads)
    x = rnd(rng, 2, 3, *([6] * d))
    flat = [v for b, a in reversed(pads) for v in (b, a)]
    check(K.pad_zeros(x, pads), F.pad(T(x), flat).numpy())


def test_out_size_rules():
    assert K.out_size(5, 2, 2, 0, 0, 1, True) == 3  # ceil: last window starts inside
    assert K.out_size(5, 2, 2, 1, 1, 1, True) == 3  # 4th window would start in right pad
    assert K.out_size(4, 2, 2, 1, 1, 1, False) == 3
    assert K.out_size(6, 3, 2, 1, 1, 1, True) == 4
    assert K.out_size(7, 3, 1, 0, 0, 2, False) == 3
    for n, k, s, p, d, c in itertools.product(
        range(3, 9), (1, 2, 3), (1, 2, 3), (0, 1), (1, 2), (False, True)
    ):
        if d * (k - 1) + 1 <= n + 2 * p:
            assert K.out_size(n, k, s, p, p, d, c) == naive_out(n, k, s, p, p, d, c)


# ============================================================================ convolution


def _conv_case(rng, d, n, cin, cout, k, groups, dtype=np.float64, bias=True):
    x = rnd(rng, n, cin, *([7, 6, 5][:d]), dtype=dtype)
    w = rnd(rng, cout, cin // groups, *([k] * d if isinstance(k, int) else k), dtype=dtype)
    b = rnd(rng, cout, dtype=dtype) if bias else None
    return x, w, b


CONV_CASES = [
    # d, stride, pads, dilation, groups, cin, cout, k
    (1, 1, ((1, 1),), 1, 1, 3, 4, 3),
    (1, 2, ((2, 0),), 2, 3, 6, 3, 3),
    (2, 1, ((1, 1), (1, 1)), 1, 1, 4, 5, 3),
    (2, (2, 1), ((0, 2), (1, 0)), (1, 2), 2, 4, 6, (3, 2)),
    (2, 1, ((0, 0), (0, 0)), 1, 1, 4, 5, 1),  # 1x1 single matmul
    (2, 2, ((1, 0), (0, 1)), 1, 2, 4, 6, 1),  # strided, padded, grouped 1x1
    (2, 2, ((1, 1), (1, 1)), 1, 4, 4, 4, 3),  # depthwise
    (2, 1, ((2, 2), (2, 2)), 2, 4, 4, 8, 3),  # depthwise multiplier 2, dilated
    (3, 1, ((1, 1), (1, 1), (1, 1)), 1, 1, 2, 3, 3),
    (3, (1, 2, 2), ((0, 1), (1, 1), (2, 0)), (2, 1, 1), 2, 4, 2, (2, 3, 2)),
    (3, 1, ((1, 1),) * 3, 1, 3, 3, 3, 3),  # depthwise 3-D
]


@pytest.mark.parametrize("case", CONV_CASES)
def test_conv_vs_naive(rng, case):
    d, s, pads, dil, g, cin, cout, k = case
    x, w, b = _conv_case(rng, d, 2, cin, cout, k, g)
    st_, dl = as_tuple(s, d, "s"), as_tuple(dil, d, "d")
    check(K.conv(x, w, b, s, pads, dil, g), naive_conv(x, w, b, st_, pads, dl, g))


@pytest.mark.torch
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("case", CONV_CASES)
def test_conv_vs_torch(tF, rng, case, dtype):
    torch, F = tF
    d, s, pads, dil, g, cin, cout, k = case
    x, w, b = _conv_case(rng, d, 2, cin, cout, k, g, dtype)
    flat = [v for bb, a in reversed(pads) for v in (bb, a)]  # asymmetric: pad first
    fn = [F.conv1d, F.conv2d, F.conv3d][d - 1]
    ref = fn(F.pad(T(x), flat), T(w), T(b), s, 0, dil, g).numpy()
    check(K.conv(x, w, b, s, pads, dil, g), ref, dtype)


@pytest.mark.torch
def test_conv_resnet_like_float32(tF, rng):
    torch, F = tF
    x = rnd(rng, 2, 16, 14, 14, dtype=np.float32)
    for w, s, p in [
        (rnd(rng, 32, 16, 3, 3, dtype=np.float32), 2, 1),
        (rnd(rng, 8, 16, 1, 1, dtype=np.float32), 2, 0),
        (rnd(rng, 8, 16, 7, 7, dtype=np.float32), 2, 3),
    ]:
        ref = F.conv2d(T(x), T(w), None, s, p).numpy()
        check(K.conv(x, w, None, s, p), ref, np.float32)


def test_conv_float32_weights_cast_to_input_dtype(rng):
    x = rnd(rng, 1, 2, 5, 5, dtype=np.float32)
    w = rnd(rng, 3, 2, 3, 3)  # float64 weights
    y = K.conv(x, w, rnd(rng, 3), 1, 1)
    assert y.dtype == np.float32


def test_conv_rejects_bad_groups(rng):
    x = rnd(rng, 1, 4, 5, 5)
    with pytest.raises(ValueError):
        K.conv(x, rnd(rng, 3, 2, 3, 3), None, 1, 0, 1, 2)


CONVT_CASES = [
    # d, stride, pads, output_padding, dilation, groups, cin, cout, k
    (1, 2, ((1, 1),), 1, 1, 1, 3, 2, 3),
    (1, 3, ((0, 2),), 0, 2, 2, 4, 4, 2),
    (2, 2, ((1, 1), (1, 1)), (1, 0), 1, 1, 3, 4, 3),
    (2, (2, 3), ((1, 0), (0, 2)), (1, 2), (1, 2), 2, 4, 6, (3, 4)),
    (2, 2, ((0, 0), (0, 0)), 0, 1, 1, 4, 3, 2),  # non-overlapping upsampling
    (2, 1, ((0, 0), (0, 0)), 0, 1, 1, 4, 3, 1),  # 1x1
    (2, 2, ((1, 1), (1, 1)), 1, 1, 4, 4, 4, 3),  # depthwise
    (3, 2, ((1, 1),) * 3, (1, 0, 1), 1, 1, 2, 3, 3),
    (3, (1, 2, 2), ((0, 1), (1, 0), (0, 0)), 0, (2, 1, 1), 2, 2, 4, 2),
]


def _convt_case(rng, d, cin, cout, k, g, dtype=np.float64):
    x = rnd(rng, 2, cin, *([4, 3, 3][:d]), dtype=dtype)
    w = rnd(rng, cin, cout // g, *([k] * d if isinstance(k, int) else k), dtype=dtype)
    return x, w, rnd(rng, cout, dtype=dtype)


@pytest.mark.parametrize("case", CONVT_CASES)
def test_conv_transpose_vs_naive(rng, case):
    d, s, pads, op, dil, g, cin, cout, k = case
    x, w, b = _convt_case(rng, d, cin, cout, k, g)
    ref = naive_conv_transpose(x, w, b, as_tuple(s, d, ""), pads, as_tuple(op, d, ""),
                               as_tuple(dil, d, ""), g)
    check(K.conv_transpose(x, w, b, s, pads, op, dil, g), ref)


@pytest.mark.torch
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("case", CONVT_CASES)
def test_conv_transpose_vs_torch(tF, rng, case, dtype):
    torch, F = tF
    d, s, pads, op, dil, g, cin, cout, k = case
    x, w, b = _convt_case(rng, d, cin, cout, k, g, dtype)
    fn = [F.conv_transpose1d, F.conv_transpose2d, F.conv_transpose3d][d - 1]
    # torch padding is symmetric: run unpadded, then crop (before, after) ourselves.
    full = fn(T(x), T(w), T(b), s, 0, op, g, dil).numpy()
    crop = tuple(slice(pb, full.shape[2 + i] - pa) for i, (pb, pa) in enumerate(pads))
    ref = full[(slice(None), slice(None)) + crop]
    check(K.conv_transpose(x, w, b, s, pads, op, dil, g), ref, dtype)
    if all(pb == pa for pb, pa in pads):
        sym = fn(T(x), T(w), T(b), s, tuple(p for p, _ in pads), op, g, dil).numpy()
        check(K.conv_transpose(x, w, b, s, pads, op, dil, g), sym, dtype)


def test_dense(rng):
    x, w, b = rnd(rng, 3, 5), rnd(rng, 4, 5), rnd(rng, 4)
    check(K.dense(x, w, b), x @ w.T + b)
    check(K.dense(x.astype(np.float32), w, b), x @ w.T + b, np.float32)


# ============================================================================ pooling

POOL_CASES = [
    # d, kernel, stride, pads, dilation, ceil_mode
    (1, 3, 2, ((1, 1),), 1, True),
    (1, 2, 2, ((0, 0),), 1, True),
    (1, 3, 3, ((1, 1),), 2, False),
    (2, 3, 2, ((1, 1), (1, 1)), 1, False),  # ResNet stem pool
    (2, 3, 2, ((1, 1), (1, 1)), 1, True),
    (2, (2, 3), (2, 2), ((1, 1), (0, 0)), (1, 1), True),
    (2, 2, 2, ((1, 1), (1, 1)), 1, True),  # last window would start in right padding
    (2, 3, (3, 2), ((1, 1), (1, 1)), (2, 1), True),
    (3, 2, 2, ((0, 0), (1, 1), (1, 1)), 1, True),
    (3, 3, (1, 2, 2), ((1, 1),) * 3, 1, False),
]


def _pool_x(rng, d, dtype=np.float64, n=2, c=3):
    return rnd(rng, n, c, *([7, 8, 6][:d]), dtype=dtype)


@pytest.mark.parametrize("case", POOL_CASES)
def test_max_pool_vs_naive(rng, case):
    d, k, s, pads, dil, ceil = case
    x = _pool_x(rng, d)
    ref = naive_pool(x, as_tuple(k, d, ""), as_tuple(s, d, ""), pads, as_tuple(dil, d, ""), ceil, "max")
    check(K.max_pool(x, k, s, pads, dil, ceil), ref)


@pytest.mark.parametrize("cip", [True, False])
@pytest.mark.parametrize("case", POOL_CASES)
def test_avg_pool_vs_naive(rng, case, cip):
    d, k, s, pads, dil, ceil = case
    x = _pool_x(rng, d)
    ref = naive_pool(x, as_tuple(k, d, ""), as_tuple(s, d, ""), pads, (1,) * d, ceil, "avg", cip)
    check(K.avg_pool(x, k, s, pads, ceil, cip), ref)


@pytest.mark.torch
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("case", POOL_CASES)
def test_max_pool_vs_torch(tF, rng, case, dtype):
    torch, F = tF
    d, k, s, pads, dil, ceil = case
    x = _pool_x(rng, d, dtype)
    fn = [F.max_pool1d, F.max_pool2d, F.max_pool3d][d - 1]
    ref = fn(T(x), k, s, tuple(p for p, _ in pads), dil, ceil).numpy()
    check(K.max_pool(x, k, s, pads, dil, ceil), ref, dtype)


@pytest.mark.torch
@pytest.mark.parametrize("cip", [True, False])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("case", POOL_CASES)
def test_avg_pool_vs_torch(tF, rng, case, dtype, cip):
    torch, F = tF
    d, k, s, pads, dil, ceil = case
    x = _pool_x(rng, d, dtype)
    fn = [F.avg_pool1d, F.avg_pool2d, F.avg_pool3d][d - 1]
    ref = fn(T(x), k, s, tuple(p for p, _ in pads), ceil, cip).numpy()
    check(K.avg_pool(x, k, s, pads, ceil, cip), ref, dtype)


def test_max_pool_asymmetric_and_nan(rng):
    x = _pool_x(rng, 2)
    pads = ((0, 2), (1, 0))
    ref = naive_pool(x, (3, 2), (2, 2), pads, (1, 1), True, "max")
    check(K.max_pool(x, (3, 2), 2, pads, 1, True), ref)
    x[0, 0, 0, 0] = np.nan
    assert np.isnan(K.max_pool(x, 2, 2)[0, 0, 0, 0])


def test_avg_pool_asymmetric(rng):
    x = _pool_x(rng, 2)
    pads = ((2, 0), (0, 1))
    for cip in (True, False):
        ref = naive_pool(x, (3, 3), (2, 1), pads, (1, 1), True, "avg", cip)
        check(K.avg_pool(x, 3, (2, 1), pads, True, cip), ref)


@pytest.mark.torch
def test_avg_pool_divisor_override(tF, rng):
    torch, F = tF
    x = _pool_x(rng, 2)
    ref = F.avg_pool2d(T(x), 3, 2, 1, True, True, divisor_override=5).numpy()
    check(K.avg_pool(x, 3, 2, 1, True, True, divisor_override=5), ref)


ADAPT_CASES = [
    ((9,), (4,)),
    ((8,), (4,)),
    ((7, 10), (3, 4)),
    ((6, 6), (1, 1)),
    ((5, 7), (7, 9)),
    ((6, 5, 7), (2, 3, 4)),
    ((4, 4, 4), (2, 2, 2)),
]


@pytest.mark.parametrize("kind", ["avg", "max"])
@pytest.mark.parametrize("sp,out", ADAPT_CASES)
def test_adaptive_vs_naive(rng, sp, out, kind):
    x = rnd(rng, 2, 3, *sp)
    fn = K.adaptive_avg_pool if kind == "avg" else K.adaptive_max_pool
    check(fn(x, out), naive_adaptive(x, out, kind))


@pytest.mark.torch
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("kind", ["avg", "max"])
@pytest.mark.parametrize("sp,out", ADAPT_CASES)
def test_adaptive_vs_torch(tF, rng, sp, out, kind, dtype):
    torch, F = tF
    x = rnd(rng, 2, 3, *sp, dtype=dtype)
    d = len(sp)
    if kind == "avg":
        ref = [F.adaptive_avg_pool1d, F.adaptive_avg_pool2d, F.adaptive_avg_pool3d][d - 1](T(x), out)
        got = K.adaptive_avg_pool(x, out)
    else:
        ref = [F.adaptive_max_pool1d, F.adaptive_max_pool2d, F.adaptive_max_pool3d][d - 1](T(x), out)
        got = K.adaptive_max_pool(x, out)
    check(got, ref.numpy(), dtype)


# ============================================================================ resampling


@pytest.mark.parametrize("align", [False, True])
@pytest.mark.parametrize(
    "sp,out", [((5,), (9,)), ((4, 6), (8, 9)), ((6, 5), (3, 11)), ((3, 4, 2), (6, 5, 4))]
)
def test_linear_resize_vs_naive(rng, sp, out, align):
    x = rnd(rng, 2, 2, *sp)
    check(K.upsample(x, None, "linear", align, size=out), naive_linear_resize(x, out, align))


def test_nearest_integer_scale_vs_repeat(rng):
    x = rnd(rng, 1, 2, 3, 4, 2)
    ref = x.repeat(2, axis=2).repeat(3, axis=3).repeat(1, axis=4)
    check(K.upsample(x, (2, 3, 1), "nearest"), ref)


UP_CASES = [
    ((7,), 2),
    ((7,), 3),
    ((7,), 1.5),
    ((9,), 0.5),
    ((6, 7), (2, 3)),
    ((6, 7), (1.7, 2.3)),
    ((13, 11), (0.7, 1.3)),
    ((5, 6), 2.5),
    ((3, 4, 5), 2),
    ((3, 4, 5), (1.5, 2, 0.8)),
    # float32 index arithmetic picks a different source than float64 would here
    ((11,), 3.7),
    ((12, 5), (4.9, 2.3)),
]


@pytest.mark.torch
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("mode,align", [("nearest", None), ("linear", False), ("linear", True)])
@pytest.mark.parametrize("sp,scale", UP_CASES)
def test_upsample_scale_vs_torch(tF, rng, sp, scale, mode, align, dtype):
    torch, F = tF
    d = len(sp)
    x = rnd(rng, 2, 3, *sp, dtype=dtype)
    tmode = mode if mode == "nearest" else ["linear", "bilinear", "trilinear"][d - 1]
    sf = scale if isinstance(scale, tuple) else (scale,) * d
    ref = F.interpolate(T(x), scale_factor=sf, mode=tmode, align_corners=align).numpy()
    check(K.upsample(x, scale, tmode, align), ref, dtype)


@pytest.mark.torch
@pytest.mark.parametrize("mode,align", [("nearest", None), ("linear", False), ("linear", True)])
def test_upsample_output_is_c_contiguous_even_from_a_view(tF, rng, mode, align):
    # A later flatten must not copy it (the memory model counts the output once), and a
    # strided input (a crop) gives the same values as its contiguous copy.
    torch, F = tF
    x = rnd(rng, 3, 4, 7, 10, 5)[:, :, 1:-1, ::2]
    tmode = "nearest" if mode == "nearest" else "trilinear"
    ref = F.interpolate(T(np.ascontiguousarray(x)), scale_factor=(2, 1.5, 1), mode=tmode,
                        align_corners=align).numpy()
    got = K.upsample(x, (2, 1.5, 1), mode, align)
    assert got.flags.c_contiguous and got.base is None
    check(got, ref)


@pytest.mark.torch
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("mode,align", [("nearest", None), ("linear", False), ("linear", True)])
@pytest.mark.parametrize("sp,size", [((7,), (12,)), ((6, 7), (11, 5)), ((4, 3, 5), (7, 7, 2))])
def test_upsample_size_vs_torch(tF, rng, sp, size, mode, align, dtype):
    torch, F = tF
    d = len(sp)
    x = rnd(rng, 1, 2, *sp, dtype=dtype)
    tmode = mode if mode == "nearest" else ["linear", "bilinear", "trilinear"][d - 1]
    ref = F.interpolate(T(x), size=size, mode=tmode, align_corners=align).numpy()
    check(K.upsample(x, None, mode, align, size=size), ref, dtype)


# ============================================================================ normalisation


@pytest.mark.parametrize("size", [1, 2, 3, 5])
def test_lrn_vs_naive(rng, size):
    x = rnd(rng, 2, 6, 3, 4)
    check(K.lrn(x, size, 1e-2, 0.75, 2.0), naive_lrn(x, size, 1e-2, 0.75, 2.0))


@pytest.mark.torch
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("d", [1, 2, 3])
def test_lrn_vs_torch(tF, rng, d, dtype):
    torch, F = tF
    x = rnd(rng, 2, 7, *([4] * d), dtype=dtype)
    for size in (2, 5):
        ref = F.local_response_norm(T(x), size, 1e-3, 0.75, 1.5).numpy()
        check(K.lrn(x, size, 1e-3, 0.75, 1.5), ref, dtype)


def _norm_params(rng, c, dtype):
    return (
        rnd(rng, c, dtype=dtype),
        np.abs(rnd(rng, c, dtype=dtype)) + 0.1,
        rnd(rng, c, dtype=dtype),
        rnd(rng, c, dtype=dtype),
    )


def test_batch_norm_vs_formula(rng):
    x = rnd(rng, 2, 3, 4, 5)
    m, v, g, b = _norm_params(rng, 3, np.float64)
    sh = (3, 1, 1)
    ref = (x - m.reshape(sh)) / np.sqrt(v.reshape(sh) + 1e-5) * g.reshape(sh) + b.reshape(sh)
    check(K.batch_norm_inference(x, m, v, g, b, 1e-5), ref)
    y = x.copy()
    out = K.batch_norm_inference(y, m, v, g, b, 1e-5, out=y)
    assert out is y
    check(y, ref)


@pytest.mark.torch
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("d", [1, 2, 3])
def test_norms_vs_torch(tF, rng, d, dtype):
    torch, F = tF
    c = 6
    x = rnd(rng, 2, c, *([4, 3, 5][:d]), dtype=dtype) * 3 + 1
    m, v, g, b = _norm_params(rng, c, dtype)
    ref = F.batch_norm(T(x), T(m), T(v), T(g), T(b), False, 0.0, 1e-5).numpy()
    check(K.batch_norm_inference(x, m, v, g, b, 1e-5), ref, dtype)
    check(
        K.batch_norm_inference(x, m, v, None, None, 1e-3),
        F.batch_norm(T(x), T(m), T(v), None, None, False, 0.0, 1e-3).numpy(),
        dtype,
    )
    ref = F.group_norm(T(x), 3, T(g), T(b), 1e-5).numpy()
    check(K.group_norm(x, 3, g, b, 1e-5), ref, dtype)
    gs, bs = rnd(rng, *x.shape[1:], dtype=dtype), rnd(rng, *x.shape[1:], dtype=dtype)
    ref = F.layer_norm(T(x), x.shape[1:], T(gs), T(bs), 1e-5).numpy()
    check(K.layer_norm(x, gs, bs, 1e-5, "all"), ref, dtype)
    xl = np.moveaxis(x, 1, -1)  # channels-last for torch's per-position layer norm
    ref = np.moveaxis(F.layer_norm(T(xl), (c,), T(g), T(b), 1e-5).numpy(), -1, 1)
    check(K.layer_norm(x, g, b, 1e-5, "channels"), ref, dtype)


def test_layer_and_group_norm_vs_formula(rng):
    x = rnd(rng, 2, 4, 3, 3)
    mu = x.mean(axis=1, keepdims=True)
    sd = np.sqrt(x.var(axis=1, keepdims=True) + 1e-5)
    check(K.layer_norm(x, None, None, 1e-5, "channels"), (x - mu) / sd)
    xg = x.reshape(2, 2, -1)
    ref = ((xg - xg.mean(-1, keepdims=True)) / np.sqrt(xg.var(-1, keepdims=True) + 1e-5)).reshape(x.shape)
    check(K.group_norm(x, 2, None, None, 1e-5), ref)
    with pytest.raises(ValueError):
        K.group_norm(x, 3)


# ============================================================================ activations

ACTS = ["relu", "relu6", "leaky_relu", "sigmoid", "tanh", "gelu", "silu", "hardswish", "hardsigmoid"]


def _act_ref(name: str, v: float) -> float:
    """Scalar definitions from the math module."""
    if name == "relu":
        return max(v, 0.0)
    if name == "relu6":
        return min(max(v, 0.0), 6.0)
    if name == "leaky_relu":
        return v if v > 0 else 0.1 * v
    if name == "sigmoid":
        return 1 / (1 + math.exp(-v)) if v >= 0 else math.exp(v) / (1 + math.exp(v))
    if name == "tanh":
        return math.tanh(v)
    if name == "gelu":
        return 0.5 * v * math.erfc(-v / math.sqrt(2))
    if name == "silu":
        return v * _act_ref("sigmoid", v)
    if name == "hardswish":
        return v * min(max(v + 3, 0.0), 6.0) / 6
    return min(max(v + 3, 0.0), 6.0) / 6  # hardsigmoid


def _act(name: str, x: np.ndarray) -> np.ndarray:
    return K.leaky_relu(x, 0.1) if name == "leaky_relu" else getattr(K, name)(x)


GRID = np.concatenate([np.linspace(-12, 12, 481), [-800.0, -50.0, -3.0, 3.0, 50.0, 800.0, 0.0, 1e-9]])


@pytest.mark.parametrize("name", ACTS)
def test_activation_vs_math(name):
    ref = np.array([_act_ref(name, float(v)) for v in GRID])
    with np.errstate(over="raise", invalid="raise", divide="raise"):  # stable forms
        got = _act(name, GRID.reshape(1, 1, -1))
    check(got.ravel(), ref)
    check(_act(name, GRID.astype(np.float32)), ref, np.float32)


@pytest.mark.torch
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("name", ACTS)
def test_activation_vs_torch(tF, name, dtype):
    torch, F = tF
    x = GRID.astype(dtype).reshape(1, 1, -1)
    fns = {
        "relu": F.relu,
        "relu6": F.relu6,
        "leaky_relu": lambda t: F.leaky_relu(t, 0.1),
        "sigmoid": torch.sigmoid,
        "tanh": torch.tanh,
        "gelu": F.gelu,
        "silu": F.silu,
        "hardswish": F.hardswish,
        "hardsigmoid": F.hardsigmoid,
    }
    check(_act(name, x), fns[name](T(x)).numpy(), dtype)


@pytest.mark.torch
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("slope", [0.0, 0.01, 1.0, 3.0, -0.5])
def test_leaky_relu_any_slope_vs_torch(tF, slope, dtype):
    # The kernel takes max(x, slope*x), or min for slope > 1; in place through out= too.
    torch, F = tF
    x = GRID.astype(dtype).reshape(1, 1, -1)
    ref = F.leaky_relu(T(x), slope).numpy()
    check(K.leaky_relu(x, slope), ref, dtype)
    y = x.copy()
    assert K.leaky_relu(y, slope, out=y) is y
    check(y, ref, dtype)


def test_erf_accuracy():
    z = np.concatenate([np.linspace(-7, 7, 2801), np.logspace(-12, 1, 400), -np.logspace(-12, 1, 400)])
    ref = np.array([math.erf(v) for v in z])
    refc = np.array([math.erfc(v) for v in z])
    assert np.max(np.abs(K.erf(z) - ref)) < 1e-15
    tiny = (np.abs(z) < 1e-3) & (z != 0)  # relative accuracy near 0 (no 1 - erfc cancellation)
    assert np.max(np.abs(K.erf(z[tiny]) / ref[tiny] - 1)) < 1e-14
    assert np.max(np.abs(K.erfc(z) - refc) / refc) < 1e-13
    z32 = z.astype(np.float32)
    assert K.erf(z32).dtype == np.float32
    assert np.max(np.abs(K.erf(z32) - np.array([math.erf(float(v)) for v in z32]))) < 5e-7


@pytest.mark.torch
def test_erf_vs_torch(tF):
    torch, F = tF
    z = np.linspace(-6, 6, 1001)
    check(K.erf(z), torch.erf(T(z)).numpy())


@pytest.mark.parametrize("axis", [1, -1, 0])
def test_softmax(rng, axis):
    x = rnd(rng, 2, 3, 4) * 50
    e = np.exp(x - x.max(axis=axis, keepdims=True))
    check(K.softmax(x, axis), e / e.sum(axis=axis, keepdims=True))
    big = np.array([[1000.0, 1000.0, -1000.0]])
    check(K.softmax(big, 1), np.array([[0.5, 0.5, 0.0]]))


@pytest.mark.torch
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_softmax_shuffle_vs_torch(tF, rng, dtype):
    torch, F = tF
    x = rnd(rng, 2, 6, 3, 4, dtype=dtype) * 10
    for ax in (1, -1):
        check(K.softmax(x, ax), torch.softmax(T(x), ax).numpy(), dtype)
    ref = torch.nn.ChannelShuffle(3)(T(x)).numpy()
    check(K.channel_shuffle(x, 3), ref, dtype)


def test_channel_shuffle(rng):
    x = np.arange(6, dtype=np.float64).reshape(1, 6, 1)
    np.testing.assert_array_equal(K.channel_shuffle(x, 2).ravel(), [0, 3, 1, 4, 2, 5])


# ============================================================================ MAC counting


def test_mac_counter_conventions(rng):
    x = rnd(rng, 2, 4, 9, 8, dtype=np.float32)
    with K.count_macs() as c:
        y = K.conv(x, rnd(rng, 6, 2, 3, 3), None, 2, 1, 1, 2, label="g")  # grouped 3x3
        K.conv(x, rnd(rng, 4, 1, 3, 3), None, 1, 1, 1, 4, label="dw")  # depthwise
        K.conv(x, rnd(rng, 5, 4, 1, 1), None, 2, 0, label="pw")  # strided 1x1
        K.conv_transpose(x, rnd(rng, 4, 3, 2, 2), None, 2, 0, label="up")
        K.dense(rnd(rng, 2, 7), rnd(rng, 3, 7), rnd(rng, 3), label="fc")
    labels = c.by_label()
    assert labels["g"] == 2 * y[0, 0].size * 6 * 2 * 9
    assert labels["dw"] == 2 * 72 * 4 * 1 * 9
    assert labels["pw"] == 2 * (5 * 4) * 5 * 4
    assert labels["up"] == 2 * 72 * 4 * 3 * 4  # input elements x Cout/groups x kvol
    assert labels["fc"] == 2 * 7 * 3
    assert c.total == sum(labels.values())
    assert c.per_sample == pytest.approx(c.total / 2)
    assert all(r.batch == 2 for r in c.records)
    assert [r.op for r in c.records] == ["conv", "conv", "conv", "conv_transpose", "dense"]
    assert not counter.ACTIVE  # instrumentation off again


def test_mac_counter_inactive_and_nested(rng):
    x = rnd(rng, 1, 2, 5)
    w = rnd(rng, 3, 2, 3)
    K.conv(x, w)  # nothing active: nothing recorded anywhere
    with K.count_macs() as outer:
        K.conv(x, w)
        with K.count_macs() as inner:
            K.conv(x, w, None, 1, 1)
        K.conv(x, w)
    assert inner.total == 5 * 3 * 2 * 3
    assert outer.total == 2 * (3 * 3 * 2 * 3) + inner.total
    assert len(outer.records) == 3
    assert not counter.ACTIVE


# ============================================================================ hypothesis vs naive


@st.composite
def conv_params(draw):
    d = draw(st.integers(1, 3))
    g = draw(st.integers(1, 3))
    cig, cog = draw(st.integers(1, 2)), draw(st.integers(1, 2))
    lim = 5 if d < 3 else 4
    k = tuple(draw(st.integers(1, 3)) for _ in range(d))
    s = tuple(draw(st.integers(1, 3)) for _ in range(d))
    dl = tuple(draw(st.integers(1, 2)) for _ in range(d))
    pads = tuple((draw(st.integers(0, 2)), draw(st.integers(0, 2))) for _ in range(d))
    sp = []
    for i in range(d):
        need = dl[i] * (k[i] - 1) + 1 - pads[i][0] - pads[i][1]
        sp.append(draw(st.integers(max(1, need), max(1, need) + lim)))
    return d, g, cig, cog, k, s, dl, pads, tuple(sp), draw(st.integers(0, 2**31 - 1))


@HSET
@given(conv_params())
def test_conv_property(p):
    d, g, cig, cog, k, s, dl, pads, sp, seed = p
    r = np.random.default_rng(seed)
    x = r.standard_normal((2, g * cig) + sp)
    w = r.standard_normal((g * cog, cig) + k)
    b = r.standard_normal(g * cog)
    with K.count_macs() as c:
        y = K.conv(x, w, b, s, pads, dl, g)
    check(y, naive_conv(x, w, b, s, pads, dl, g))
    assert c.total == y.size * cig * math.prod(k)


@HSET
@given(conv_params(), st.data())
def test_conv_transpose_property(p, data):
    d, g, cig, cog, k, s, dl, pads, sp, seed = p
    r = np.random.default_rng(seed)
    sp = tuple(min(n, 3) for n in sp)
    op = tuple(data.draw(st.integers(0, max(s[i], dl[i]) - 1)) for i in range(d))
    full = [(sp[i] - 1) * s[i] + dl[i] * (k[i] - 1) + 1 + op[i] for i in range(d)]
    pads = tuple((min(pb, (f - 1) // 2), min(pa, (f - 1) // 2)) for (pb, pa), f in zip(pads, full))
    x = r.standard_normal((2, g * cig) + sp)
    w = r.standard_normal((g * cig, cog) + k)
    with K.count_macs() as c:
        y = K.conv_transpose(x, w, None, s, pads, op, dl, g)
    check(y, naive_conv_transpose(x, w, None, s, pads, op, dl, g))
    assert c.total == x.size * cog * math.prod(k)


@st.composite
def pool_params(draw):
    d = draw(st.integers(1, 3))
    k = tuple(draw(st.integers(1, 3)) for _ in range(d))
    s = tuple(draw(st.integers(1, 3)) for _ in range(d))
    dl = tuple(draw(st.integers(1, 2)) for _ in range(d))
    # PyTorch's constraint pad <= kernel/2 keeps every window on real data.
    pads = tuple((draw(st.integers(0, k[i] // 2)), draw(st.integers(0, k[i] // 2))) for i in range(d))
    lim = 6 if d < 3 else 4
    sp = tuple(draw(st.integers(dl[i] * (k[i] - 1) + 1, dl[i] * (k[i] - 1) + lim)) for i in range(d))
    return d, k, s, dl, pads, sp, draw(st.booleans()), draw(st.booleans()), draw(st.integers(0, 2**31 - 1))


@HSET
@given(pool_params())
def test_pool_property(p):
    d, k, s, dl, pads, sp, ceil, cip, seed = p
    x = np.random.default_rng(seed).standard_normal((1, 2) + sp)
    check(K.max_pool(x, k, s, pads, dl, ceil), naive_pool(x, k, s, pads, dl, ceil, "max"))
    check(K.avg_pool(x, k, s, pads, ceil, cip), naive_pool(x, k, s, pads, (1,) * d, ceil, "avg", cip))


@HSET
@given(
    st.lists(st.tuples(st.integers(1, 9), st.integers(1, 9)), min_size=1, max_size=3),
    st.integers(0, 2**31 - 1),
)
def test_adaptive_property(dims, seed):
    sp, out = tuple(a for a, _ in dims), tuple(b for _, b in dims)
    x = np.random.default_rng(seed).standard_normal((1, 2) + sp)
    check(K.adaptive_avg_pool(x, out), naive_adaptive(x, out, "avg"))
    check(K.adaptive_max_pool(x, out), naive_adaptive(x, out, "max"))


# ============================================================================ dtype preservation


def test_float32_preserved_everywhere(rng):
    x = rnd(rng, 1, 4, 6, 6, dtype=np.float32)
    outs = [
        K.pad_zeros(x, 1),
        K.conv(x, rnd(rng, 2, 4, 3, 3), rnd(rng, 2), 1, 1),
        K.conv(x, rnd(rng, 4, 1, 3, 3), None, 1, 1, 1, 4),
        K.conv_transpose(x, rnd(rng, 4, 2, 3, 3), rnd(rng, 2), 2, 1, 1),
        K.max_pool(x, 3, 2, 1, 1, True),
        K.avg_pool(x, 3, 2, 1, True, False),
        K.adaptive_avg_pool(x, 4),
        K.adaptive_max_pool(x, 4),
        K.adaptive_avg_pool(x, 3),
        K.upsample(x, 2, "nearest"),
        K.upsample(x, 1.5, "bilinear", False),
        K.lrn(x, 3),
        K.batch_norm_inference(x, *_norm_params(rng, 4, np.float64)),
        K.layer_norm(x, rnd(rng, 4), rnd(rng, 4)),
        K.group_norm(x, 2, rnd(rng, 4), rnd(rng, 4)),
        K.channel_shuffle(x, 2),
        K.softmax(x, 1),
        K.dense(x.reshape(1, -1), rnd(rng, 3, 144)),
    ] + [_act(n, x) for n in ACTS]
    for o in outs:
        assert o.dtype == np.float32


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("name", ["sigmoid", "silu"])
def test_logistic_tails_are_exact_limits_without_warnings(name: str, dtype: type) -> None:
    # exp(-x) overflows for very negative x: the result must still be the limit (0, -0),
    # never NaN, and NumPy must not warn; the in-place form (out=x) agrees.
    x = np.array([-1e30, -1e4, -800, -100, -88.8, -20, -1, 0, 1, 20, 88.8, 100, 800, 1e4, 1e30], dtype)
    with np.errstate(all="raise"):
        got = getattr(K, name)(x)
        inplace = getattr(K, name)(x.copy(), out=(buf := x.copy()))
    limit = {"sigmoid": lambda v: float(v > 0), "silu": lambda v: max(v, 0.0)}[name]
    ref = np.array([_act_ref(name, float(v)) if abs(v) < 700 else limit(float(v)) for v in x])
    assert got.dtype == dtype and inplace is buf
    check(got, ref.astype(dtype), dtype)
    np.testing.assert_array_equal(got, inplace)


@pytest.mark.parametrize("d, size, k, s, dil, pads", [
    (1, (40,), 3, 1, 1, ((1, 1),)),
    (2, (7, 7), 3, 1, 1, ((1, 1), (1, 1))),
    (2, (9, 8), (3, 5), 2, 1, ((1, 2), (2, 2))),
    (2, (8, 8), 3, 1, 2, ((0, 1), (2, 0))),
    (3, (4, 5, 3), 3, 1, 1, ((1, 1), (1, 1), (1, 1))),
    (2, (14, 14), 3, 1, 1, ((1, 1), (1, 1))),  # 196 positions: the GEMM path
])
def test_depthwise_paths_vs_naive_and_their_macs(rng, d, size, k, s, dil, pads):
    # Depthwise convolutions with few output positions run per tap, channels last; the
    # result and the MACs recorded must be those of the definition either way.
    c = 6
    x = rnd(rng, 2, c, *size)
    w = rnd(rng, c, 1, *as_tuple(k, d, "k"))
    b = rnd(rng, c)
    with K.count_macs() as counter_:
        got = K.conv(x, w, b, s, pads, dil, c, label="dw")
    ref = naive_conv(x, w, b, as_tuple(s, d, ""), pads, as_tuple(dil, d, ""), c)
    check(got, ref)
    assert got.flags.c_contiguous
    assert counter_.total == 2 * c * math.prod(w.shape[2:]) * math.prod(ref.shape[2:])
