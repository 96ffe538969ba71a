"""Pure-NumPy compute kernels with PyTorch semantics, one module per family.

Conventions
-----------
* Arrays are batch-first, channels-first: ``x`` has shape ``(N, C, *spatial)`` with one, two
  or three spatial axes. Every kernel works for any number of spatial axes.
* Padding is a tuple of ``(before, after)`` pairs, one per spatial axis, already resolved by
  the caller (it may be asymmetric). For convenience an int or a flat sequence of ints is
  accepted too and means symmetric padding.
* The input dtype is kept: float32 stays float32 (weights are cast to the input dtype), so
  BLAS runs ``sgemm`` for float32 networks.
* :func:`windows` (in ``window``) is the single windowing primitive: convolution (im2col),
  transposed convolution (col2im scatter), max/avg pooling and adaptive pooling are built on it.

Modules: ``counter`` (MAC instrumentation), ``args`` (argument normalisation), ``window``
(padding, window views), ``conv`` (conv, conv_transpose, dense), ``pool``, ``upsample``,
``norm``, ``activation``, ``special`` (erf, erfc), ``reshape`` (channel shuffle), ``resample``
(interpolation), ``grad`` and ``grad_values`` (backward kernels),
``masks`` (the ops' `reach` dependency masks), ``init`` (weight initialisation
and calibration rules). Callers use the names re-exported here.

This package is a leaf: it imports NumPy and nothing from cnncalc outside it, so ops reach it
through `ops.base.kernels` (imported on first use) without a cycle (docs/architecture.md).
"""

from __future__ import annotations

from cnncalc.backend.kernels import grad, grad_values, masks, resample
from cnncalc.backend.kernels.activation import (
    gelu,
    hardsigmoid,
    hardswish,
    leaky_relu,
    relu,
    relu6,
    sigmoid,
    silu,
    softmax,
    tanh,
)
from cnncalc.backend.kernels.conv import conv, conv_transpose, dense
from cnncalc.backend.kernels.counter import MacCounter, MacRecord, count_macs
from cnncalc.backend.kernels.init import Calibrated, he_uniform, small_uniform, unit_output
from cnncalc.backend.kernels.norm import batch_norm_inference, group_norm, layer_norm, lrn
from cnncalc.backend.kernels.pool import adaptive_avg_pool, adaptive_max_pool, avg_pool, max_pool
from cnncalc.backend.kernels.reshape import channel_shuffle
from cnncalc.backend.kernels.special import erf, erfc
from cnncalc.backend.kernels.upsample import upsample
from cnncalc.backend.kernels.window import out_size, pad_zeros, windows

__all__ = [
    "grad",
    "grad_values",
    "masks",
    "resample",
    "Calibrated",
    "he_uniform",
    "small_uniform",
    "unit_output",
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
