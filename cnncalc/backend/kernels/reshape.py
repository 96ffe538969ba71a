"""Kernels that only move values: channel shuffle."""

from __future__ import annotations

import numpy as np


def channel_shuffle(x: np.ndarray, groups: int) -> np.ndarray:
    """ShuffleNet channel shuffle: (N, G, C/G, ...) -> transpose -> (N, C, ...)."""
    n, c = x.shape[:2]
    if c % groups:
        raise ValueError(f"channel_shuffle: {c} channels not divisible by {groups} groups")
    y = x.reshape((n, groups, c // groups) + x.shape[2:]).swapaxes(1, 2)
    return np.ascontiguousarray(y).reshape(x.shape)
