"""Argument normalisation shared by the kernels (ints or sequences -> per-axis tuples) and
two small NumPy helpers (per-channel broadcast speed, the padding value of a max)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

IntOrSeq = int | Sequence[int]
PadSpec = int | Sequence[int] | Sequence[Sequence[int]] | None


def as_tuple(v: IntOrSeq, d: int, name: str) -> tuple[int, ...]:
    if isinstance(v, (int, np.integer)):
        return (int(v),) * d
    t = tuple(int(a) for a in v)
    if len(t) == 1 and d != 1:
        t = t * d
    if len(t) != d:
        raise ValueError(f"{name} needs {d} values, got {v!r}")
    return t


def pad_pairs(p: PadSpec, d: int) -> tuple[tuple[int, int], ...]:
    """Normalise a padding spec to ((before, after), ...) with one pair per spatial axis."""
    if p is None:
        return ((0, 0),) * d
    if isinstance(p, (int, np.integer)):
        return ((int(p), int(p)),) * d
    items: list[Any] = list(p)
    if all(isinstance(e, (int, np.integer)) for e in items):
        if len(items) == 1:
            items = items * d
        if len(items) != d:
            raise ValueError(f"padding needs {d} values, got {p!r}")
        return tuple((int(e), int(e)) for e in items)
    pairs = tuple((int(b), int(a)) for b, a in items)
    if len(pairs) == 1 and d != 1:
        pairs = pairs * d
    if len(pairs) != d:
        raise ValueError(f"padding needs {d} (before, after) pairs, got {p!r}")
    return pairs


def spatial_dims(x: np.ndarray, what: str) -> int:
    if x.ndim < 3:
        raise ValueError(f"{what} expects (N, C, *spatial) with 1-3 spatial axes, got {x.shape}")
    return x.ndim - 2


class RowBroadcast:
    """Context for ``x (N, C, *sp) op per-channel (C, 1, ...)`` ufunc calls.

    With the default 8192-element iterator buffer NumPy coalesces several short rows per
    inner-loop call and therefore materialises the stride-0 per-channel operand into a
    buffer, which makes such broadcasts ~2x slower than a plain scalar multiply. A buffer
    smaller than a row makes it hand each row straight to the SIMD scalar loop. Only worth
    it for rows of >= 128 elements; for shorter rows coalescing wins. (NumPy keeps the
    buffer size in a context variable, so this is thread/context safe.)
    """

    __slots__ = ("row", "old")

    def __init__(self, row: int) -> None:
        self.row = row
        self.old = 0

    def __enter__(self) -> None:
        if self.row >= 128:
            self.old = np.setbufsize(16)

    def __exit__(self, *exc: object) -> None:
        if self.old:
            np.setbufsize(self.old)


def lowest(dtype: np.dtype) -> Any:
    """Padding value that never wins a max: -inf for floats, the minimum for integers."""
    if np.issubdtype(dtype, np.floating):
        return -np.inf
    return np.iinfo(dtype).min
