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


def gelu(x: np.ndarray) -> np.ndarray:
    """Exact GELU ``x * Phi(x) = 0.5 * x * erfc(-x / sqrt(2))`` (torch default, not tanh)."""
    t = x.dtype.type
    return t(0.5) * x * erfc(-x * t(math.sqrt(0.5)))
