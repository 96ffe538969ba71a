"""Activations applied to each value on its own, and softmax."""

from __future__ import annotations

import math

import numpy as np

from cnncalc.backend.kernels.special import erfc


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


def _one_plus_exp_neg(x: np.ndarray) -> np.ndarray:
    """1 + exp(-x) in a new array. exp overflows to inf for x below about -88 (float32) or
    -709 (float64); 1/inf and x/inf are then the correct limits 0 and -0, so the overflow
    warning is silenced rather than avoided (a branch per value cost 10x, as np.where did)."""
    t = np.negative(x)
    with np.errstate(over="ignore", under="ignore"):
        np.exp(t, out=t)
    t += x.dtype.type(1)
    return t


def sigmoid(x: np.ndarray, *, out: np.ndarray | None = None) -> np.ndarray:
    """1 / (1 + exp(-x)): 0 and 1 in the tails, no overflow warning, NaN stays NaN."""
    t = _one_plus_exp_neg(x)
    return np.divide(x.dtype.type(1), t, out=t if out is None else out)


def tanh(x: np.ndarray, *, out: np.ndarray | None = None) -> np.ndarray:
    return np.tanh(x, out=out)


def silu(x: np.ndarray, *, out: np.ndarray | None = None) -> np.ndarray:
    """x * sigmoid(x) = x / (1 + exp(-x)); one temporary. -inf gives NaN (-inf / inf), as
    PyTorch's -inf * 0 does."""
    t = _one_plus_exp_neg(x)
    with np.errstate(invalid="ignore"):
        return np.divide(x, t, out=t if out is None else out)


def hardsigmoid(x: np.ndarray, *, out: np.ndarray | None = None) -> np.ndarray:
    t = x.dtype.type
    y = np.add(x, t(3), out=out)
    np.clip(y, t(0), t(6), out=y)
    y /= t(6)
    return y


def hardswish(x: np.ndarray, *, out: np.ndarray | None = None) -> np.ndarray:
    t = x.dtype.type
    y = np.add(x, t(3))
    np.clip(y, t(0), t(6), out=y)
    r = np.multiply(x, y, out=y if out is None else out)
    r /= t(6)
    return r


def softmax(x: np.ndarray, axis: int = 1) -> np.ndarray:
    """Numerically stable softmax (max subtracted before exp)."""
    e = np.exp(x - np.max(x, axis=axis, keepdims=True))
    e /= np.sum(e, axis=axis, keepdims=True)
    return e


def gelu(x: np.ndarray) -> np.ndarray:
    """Exact GELU ``x * Phi(x) = 0.5 * x * erfc(-x / sqrt(2))`` (torch default, not tanh)."""
    t = x.dtype.type
    return t(0.5) * x * erfc(-x * t(math.sqrt(0.5)))
