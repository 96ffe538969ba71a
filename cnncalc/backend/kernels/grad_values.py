"""Backward kernels of the value-wise ops: activations, softmax, normalisations, resampling
and broadcasting. Each takes what the forward kept (its input `x` or its output `y`) and the
output gradient `gy`, and returns the input gradient (plus the affine weights' gradients for
the normalisations), in `gy`'s dtype.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from cnncalc.backend.kernels.grad import along
from cnncalc.backend.kernels.resample import cubic_weights, nearest_exact_index
from cnncalc.backend.kernels.special import erfc
from cnncalc.backend.kernels.upsample import _linear_weights, _nearest_index


# -- activations (y: the output, x: the input; torch saves the same one) ------------------
def relu_grad(y: np.ndarray, gy: np.ndarray) -> np.ndarray:
    return np.where(y > 0, gy, gy.dtype.type(0))


def relu6_grad(y: np.ndarray, gy: np.ndarray) -> np.ndarray:
    return np.where((y > 0) & (y < 6), gy, gy.dtype.type(0))


def leaky_relu_grad(y: np.ndarray, gy: np.ndarray, slope: float = 0.01) -> np.ndarray:
    # y > 0 exactly where x > 0 for a positive slope (torch tests the saved result too).
    return np.where(y > 0, gy, gy * gy.dtype.type(slope))


def sigmoid_grad(y: np.ndarray, gy: np.ndarray) -> np.ndarray:
    return gy * y * (1 - y)


def tanh_grad(y: np.ndarray, gy: np.ndarray) -> np.ndarray:
    return gy * (1 - y * y)


def gelu_grad(x: np.ndarray, gy: np.ndarray) -> np.ndarray:
    """d/dx x Phi(x) = Phi(x) + x phi(x)."""
    t = x.dtype.type
    cdf = t(0.5) * erfc(-x * t(math.sqrt(0.5)))
    pdf = np.exp(-t(0.5) * x * x) * t(1 / math.sqrt(2 * math.pi))
    return gy * (cdf + x * pdf)


def silu_grad(x: np.ndarray, gy: np.ndarray) -> np.ndarray:
    """d/dx x s(x) = s (1 + x (1 - s)), s = sigmoid(x)."""
    with np.errstate(over="ignore"):
        s = 1 / (1 + np.exp(-x))
    return gy * s * (1 + x * (1 - s))


def hardswish_grad(x: np.ndarray, gy: np.ndarray) -> np.ndarray:
    """torch: 0 below -3, dY (x / 3 + 1/2) on [-3, 3], dY above."""
    t = x.dtype.type
    mid = gy * (x / t(3) + t(0.5))
    return np.where(x < -3, t(0), np.where(x <= 3, mid, gy))


def hardsigmoid_grad(x: np.ndarray, gy: np.ndarray) -> np.ndarray:
    """torch: dY / 6 strictly inside (-3, 3), else 0."""
    return np.where((x > -3) & (x < 3), gy / gy.dtype.type(6), gy.dtype.type(0))


def softmax_grad(y: np.ndarray, gy: np.ndarray, axis: int) -> np.ndarray:
    """y (dY - sum(dY y)) along the softmax axis."""
    return y * (gy - np.sum(gy * y, axis=axis, keepdims=True))


# -- normalisation ----------------------------------------------------------------------------
def batch_norm_inference_grad(x: np.ndarray, gy: np.ndarray, mean: np.ndarray, var: np.ndarray,
                              gamma: np.ndarray, eps: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Inference-mode batch norm (running statistics, constants): y = gamma (x - mean) / sqrt(var
    + eps) + beta, so dX = dY gamma / sqrt(var + eps), dgamma = sum dY xhat, dbeta = sum dY."""
    d = x.ndim - 2
    shape = (x.shape[1],) + (1,) * d
    rstd = 1.0 / np.sqrt(np.asarray(var, np.float64) + eps)
    scale = (rstd * np.asarray(gamma, np.float64)).astype(gy.dtype).reshape(shape)
    axes = (0, *range(2, x.ndim))
    dbeta = gy.sum(axis=axes)
    # sum dY (x - mean) rstd = (sum dY x - mean sum dY) rstd: no xhat-sized temporary.
    n, c = x.shape[:2]
    dyx = np.einsum("ncl,ncl->c", gy.reshape(n, c, -1), x.astype(gy.dtype, copy=False).reshape(n, c, -1))
    dgamma = ((dyx - np.asarray(mean, np.float64) * dbeta) * rstd).astype(gy.dtype)
    return gy * scale, dgamma, dbeta


def _norm_grad(x: np.ndarray, gy: np.ndarray, axes: tuple[int, ...], eps: float,
               gamma: np.ndarray | None, pshape: tuple[int, ...]) -> tuple[np.ndarray, np.ndarray]:
    """Input gradient of (x - mean) / sqrt(var + eps) * gamma over `axes`, and xhat."""
    mu = x.mean(axis=axes, keepdims=True)
    xc = x - mu
    var = np.mean(xc * xc, axis=axes, keepdims=True)
    rstd = 1.0 / np.sqrt(var + x.dtype.type(eps))
    xhat = xc * rstd
    g = gy if gamma is None else gy * np.asarray(gamma, gy.dtype).reshape(pshape)
    gx = rstd * (g - g.mean(axis=axes, keepdims=True) - xhat * np.mean(g * xhat, axis=axes, keepdims=True))
    return gx, xhat


def layer_norm_grad(x: np.ndarray, gy: np.ndarray, gamma: np.ndarray, eps: float = 1e-5,
                    over: str = "channels") -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Gradients (input, weight, bias) of `kernels.layer_norm`."""
    x = x.astype(gy.dtype, copy=False)
    d = x.ndim - 2
    if over == "channels":
        axes: tuple[int, ...] = (1,)
        pshape: tuple[int, ...] = (x.shape[1],) + (1,) * d
        sum_axes: tuple[int, ...] = (0, *range(2, x.ndim))
    else:
        axes = tuple(range(1, x.ndim))
        pshape = x.shape[1:]
        sum_axes = (0,)
    gx, xhat = _norm_grad(x, gy, axes, eps, gamma, pshape)
    pshape = np.shape(gamma)
    return gx, (gy * xhat).sum(axis=sum_axes).reshape(pshape), gy.sum(axis=sum_axes).reshape(pshape)


def group_norm_grad(x: np.ndarray, gy: np.ndarray, groups: int, gamma: np.ndarray,
                    eps: float = 1e-5) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Gradients (input, weight, bias) of `kernels.group_norm`."""
    x = x.astype(gy.dtype, copy=False)
    n, c = x.shape[:2]
    gam = np.asarray(gamma, gy.dtype).reshape((c,) + (1,) * (x.ndim - 2))
    g = (gy * gam).reshape(n, groups, -1)
    mu = x.reshape(n, groups, -1).mean(axis=2, keepdims=True)
    xc = x.reshape(n, groups, -1) - mu
    rstd = 1.0 / np.sqrt(np.mean(xc * xc, axis=2, keepdims=True) + x.dtype.type(eps))
    xhat = xc * rstd
    gx = rstd * (g - g.mean(axis=2, keepdims=True) - xhat * np.mean(g * xhat, axis=2, keepdims=True))
    sum_axes = (0, *range(2, x.ndim))
    return gx.reshape(x.shape), (gy * xhat.reshape(x.shape)).sum(axis=sum_axes), gy.sum(axis=sum_axes)


def _channel_window_sum(a: np.ndarray, lo: int, hi: int) -> np.ndarray:
    """out[c] = sum of a[c - lo .. c + hi] (zero outside the channels)."""
    c = a.shape[1]
    pad = np.zeros((a.shape[0], c + lo + hi) + a.shape[2:], a.dtype)
    pad[:, lo : lo + c] = a
    acc = pad[:, 0:c].copy()
    for j in range(1, lo + hi + 1):
        acc += pad[:, j : j + c]
    return acc


def lrn_grad(x: np.ndarray, gy: np.ndarray, size: int, alpha: float = 1e-4, beta: float = 0.75,
             k: float = 1.0) -> np.ndarray:
    """Gradient of `kernels.lrn`: y = x D^-beta with D = k + alpha/size * window sum of x^2;
    dX = dY D^-beta - 2 alpha beta / size * x * (transposed window sum of dY x D^(-beta-1))."""
    x = x.astype(gy.dtype, copy=False)
    t = x.dtype.type
    lo, hi = size // 2, (size - 1) // 2
    den = _channel_window_sum(x * x, lo, hi) * t(alpha / size) + t(k)
    inner = gy * x * den ** t(-beta - 1)
    back = _channel_window_sum(inner, hi, lo)  # the transposed window: [c - hi, c + lo]
    return gy * den ** t(-beta) - t(2 * alpha * beta / size) * x * back


# -- resampling and broadcasting --------------------------------------------------------------
def _matrix(index: np.ndarray, weight: np.ndarray | float, n: int, dtype: np.dtype) -> np.ndarray:
    m = np.zeros((len(index), n), dtype)
    np.add.at(m, (np.arange(len(index)), index), weight)
    return m


def upsample_matrices(in_sizes: Sequence[int], scales: Sequence[float], kind: str,
                      align_corners: bool, dtype: np.dtype) -> list[np.ndarray]:
    """Per spatial axis, the (out, in) matrix the forward kernels apply along it, built from
    the same index and weight helpers (nearest, nearest-exact, linear, bicubic)."""
    mats = []
    for n, s in zip(in_sizes, scales):
        o = int(math.floor(n * s))
        if kind == "nearest":
            mats.append(_matrix(_nearest_index(n, o, s) if o != n else np.arange(n), 1.0, n, dtype))
        elif kind == "nearest-exact":
            index = nearest_exact_index(n, o, s) if (o != n or s != 1) else np.arange(n)
            mats.append(_matrix(index, 1.0, n, dtype))
        elif kind == "linear":
            i0, i1, lam = _linear_weights(n, o, s, align_corners, dtype)
            mats.append(_matrix(i0, 1 - lam, n, dtype) + _matrix(i1, lam, n, dtype))
        elif kind == "bicubic":
            taps, weights = cubic_weights(n, o, s, align_corners, dtype)
            mats.append(sum((_matrix(i, w, n, dtype) for i, w in zip(taps, weights)),
                            np.zeros((o, n), dtype)))
        else:
            raise ValueError(f"unsupported upsample mode {kind!r}")
    return mats


def upsample_grad(x_shape: tuple[int, ...], gy: np.ndarray, scales: Sequence[float], kind: str,
                  align_corners: bool) -> np.ndarray:
    """Gradient of an upsampling: the transposed per-axis matrices applied to dY."""
    return along(gy, upsample_matrices(x_shape[2:], scales, kind, align_corners, gy.dtype))


def sum_to(g: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """Reduce a broadcast gradient back to `shape` (sum over the stretched and added axes)."""
    if g.shape == shape:
        return g
    lead = g.ndim - len(shape)
    axes = tuple(range(lead)) + tuple(lead + i for i, n in enumerate(shape)
                                      if n == 1 and g.shape[lead + i] != 1)
    return np.ascontiguousarray(g.sum(axis=axes, keepdims=True).reshape(shape))
