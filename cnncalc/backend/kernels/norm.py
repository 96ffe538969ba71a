"""Normalisation: local response, batch (inference), layer and group norm."""

from __future__ import annotations

import math

import numpy as np

from cnncalc.backend.kernels.args import RowBroadcast, spatial_dims


def lrn(x: np.ndarray, size: int, alpha: float = 1e-4, beta: float = 0.75, k: float = 1.0) -> np.ndarray:
    """``torch.nn.LocalResponseNorm``: x / (k + alpha * mean_window(x^2)) ** beta.

    The channel window is [c - size//2, c + (size-1)//2], zero padded, divided by ``size``.
    """
    spatial_dims(x, "lrn")
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
    with RowBroadcast(math.prod(x.shape[2:])):
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
    return _affine(y, gamma, beta, pshape)


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
    return _affine(y, gamma, beta, pshape)


def _affine(y: np.ndarray, gamma: np.ndarray | None, beta: np.ndarray | None,
            pshape: tuple[int, ...]) -> np.ndarray:
    """The learned scale and shift of a normalisation, in place, broadcast over `pshape`."""
    gm = _bcast(gamma, pshape, y.dtype)
    bt = _bcast(beta, pshape, y.dtype)
    if gm is not None:
        y *= gm
    if bt is not None:
        y += bt
    return y
