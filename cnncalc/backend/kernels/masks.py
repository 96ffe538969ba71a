"""Helpers for the ops' `reach` rules: dependency masks with the channel axis collapsed.

A mask of a tensor of batchless shape `[C, *spatial]` is an array `(N, 1, *spatial)` (a flat
`[N]` tensor: `(N, 1)`): positive where the tensor depends on a marked input position through
any channel. Collapsing the channels is what makes the receptive-field probe cheap (a
ResNet-50 probe costs about what one single-channel image does) and matches the definition
of analysis/rf.py, where a tensor's receptive field is the union over its channels.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from cnncalc.graph import Layer
    from cnncalc.ops.base import Shape


def mask_shape(batch: int, shape: Shape) -> tuple[int, ...]:
    """The mask array shape of a tensor of batchless `shape`."""
    return (batch, 1, *shape[1:])


def everywhere(mask: np.ndarray, shape: Shape) -> np.ndarray:
    """Every position of a tensor of batchless `shape` depends on every marked position of
    `mask` (global pooling, flatten, dense, statistics over the whole tensor)."""
    n = mask.shape[0]
    hit = mask.reshape(n, -1).max(axis=1)
    return np.broadcast_to(hit.reshape((n,) + (1,) * len(shape)), mask_shape(n, shape))


def aligned(mask: np.ndarray, shape: Shape, out: Shape) -> np.ndarray:
    """`mask` of an input of batchless `shape`, broadcastable against the output's mask.

    NumPy broadcasting aligns the batchless shapes at their last axes, so an input of lower
    rank is placed on the output's trailing axes. Its channel axis then lands on a spatial
    axis of the output, where its collapsed channel (size 1) simply broadcasts."""
    if len(shape) == len(out):
        return mask
    lead = len(out) - len(shape)
    return mask.reshape((mask.shape[0],) + (1,) * lead + mask.shape[1:])


def same_position(layer: Layer, inputs: list[np.ndarray]) -> np.ndarray:
    """Each output position depends on every input at its own position (size-1 axes
    broadcast): the union (max) of the aligned input masks. Flatten uses this too."""
    out = layer.out_shape
    if len(inputs) == 1 and inputs[0].shape == mask_shape(inputs[0].shape[0], out):
        return inputs[0]  # one input of the output's positions: its own mask (the probe copies)
    result = np.zeros(mask_shape(inputs[0].shape[0], out), dtype=inputs[0].dtype)
    for mask, shape in zip(inputs, layer.in_shapes):
        # An input of higher rank (flatten's) has no place on the output's axes: all of it counts.
        wide = len(shape) > len(out)
        np.maximum(result, everywhere(mask, out) if wide else aligned(mask, shape, out), out=result)
    return result
