"""Numbers that summarise an effective-receptive-field map, per spatial axis.

For axis a, the marginal p(i) is the map (normalised to sum 1) summed over every other axis,
i running over the input positions 0..n-1.

* `mean` = sum_i p(i) i and `std` = sqrt(sum_i p(i) (i - mean)^2), in input pixels;
* `r68`, `r95`: the smallest distance r from the unit's centre c (its theoretical receptive
  field's centre, a whole or half pixel) such that the positions i with |i - c| <= r hold at
  least 68% (95%) of the mass. r is a distance to a pixel, so a whole number when c is one and
  a half-integer otherwise; the window holds 2r + 1 pixels either way;
* `rf`: the theoretical receptive field of the unit along the axis (pixels, padding included),
  and `ratio` = (2 r95 + 1) / rf: the share of it that holds 95% of the gradient.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

# Cumulative masses are sums of floats: a window holding 0.95 - 1e-12 holds 95%.
_TOLERANCE = 1e-9


@dataclass(frozen=True)
class AxisStats:
    axis: int  # spatial axis, from 1
    mean: float
    std: float
    r68: float
    r95: float
    rf: int

    @property
    def ratio(self) -> float:
        return (2 * self.r95 + 1) / self.rf

    def as_json(self) -> dict[str, Any]:
        return {"axis": self.axis, "mean": self.mean, "std": self.std, "r68": self.r68,
                "r95": self.r95, "rf": self.rf, "ratio": self.ratio}


def marginal(erf_map: np.ndarray, axis: int) -> np.ndarray:
    """The map summed over every axis but `axis` (0-based)."""
    others = tuple(a for a in range(erf_map.ndim) if a != axis)
    return np.asarray(erf_map.sum(axis=others), dtype=np.float64)


def half_width(p: np.ndarray, centre: float, mass: float) -> float:
    """The smallest r with sum of p(i) over |i - centre| <= r at least `mass` (p sums to 1)."""
    distance = np.abs(np.arange(p.size) - centre)
    order = np.argsort(distance, kind="stable")
    held = np.cumsum(p[order])
    first = int(np.searchsorted(held, mass - _TOLERANCE))
    return float(distance[order[min(first, p.size - 1)]])


def axis_stats(erf_map: np.ndarray, centre: Sequence[float], rf: Sequence[int]) -> tuple[AxisStats, ...]:
    """The numbers of every spatial axis of a normalised map."""
    found = []
    for axis in range(erf_map.ndim):
        p = marginal(erf_map, axis)
        i = np.arange(p.size)
        mean = float((p * i).sum())
        std = float(np.sqrt(max((p * (i - mean) ** 2).sum(), 0.0)))
        found.append(AxisStats(axis + 1, mean, std, half_width(p, centre[axis], 0.68),
                               half_width(p, centre[axis], 0.95), rf[axis]))
    return tuple(found)
