"""MAC instrumentation: ``with count_macs() as c: ...`` records, per call of the GEMM kernels
(conv, conv_transpose, dense), the multiply-accumulates the matrix products really perform,
derived from the operand shapes handed to ``np.matmul`` (bias excluded). When no counter is
active the cost is one truthiness test of the module-level list ``ACTIVE``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np


@dataclass(frozen=True)
class MacRecord:
    """One instrumented call: ``macs`` is the total over the whole batch of ``batch`` samples."""

    op: str
    label: str | None
    macs: int
    batch: int

    @property
    def per_sample(self) -> float:
        return self.macs / self.batch if self.batch else float(self.macs)


@dataclass
class MacCounter:
    """Context manager collecting the MACs performed by the GEMMs of conv/deconv/dense.

    Counters may be nested; every active counter sees every record.
    """

    records: list[MacRecord] = field(default_factory=list)

    def __enter__(self) -> MacCounter:
        ACTIVE.append(self)
        return self

    def __exit__(self, *exc: object) -> None:
        # Remove this exact counter (identity, not equality: two empty counters compare equal).
        for i in range(len(ACTIVE) - 1, -1, -1):
            if ACTIVE[i] is self:
                del ACTIVE[i]
                break

    @property
    def total(self) -> int:
        """MACs over all records, summed over the batch."""
        return sum(r.macs for r in self.records)

    @property
    def per_sample(self) -> float:
        """MACs per sample (each record divided by its own batch size)."""
        return sum(r.per_sample for r in self.records)

    def by_label(self) -> dict[str | None, int]:
        """Total MACs per label, in first-seen order."""
        out: dict[str | None, int] = {}
        for r in self.records:
            out[r.label] = out.get(r.label, 0) + r.macs
        return out

# The single global checked by the kernels; empty list => instrumentation off.
ACTIVE: list[MacCounter] = []


def count_macs() -> MacCounter:
    """``with count_macs() as c: ...`` then read ``c.total`` / ``c.records``."""
    return MacCounter()


def record(op: str, label: str | None, macs: int, batch: int) -> None:
    rec = MacRecord(op, label, int(macs), int(batch))
    for c in ACTIVE:
        c.records.append(rec)


def matmul_macs(a_shape: tuple[int, ...], b_shape: tuple[int, ...]) -> int:
    """MACs of ``np.matmul(a, b)`` for the shapes really passed: batch x M x K x N."""
    batch = np.broadcast_shapes(a_shape[:-2], b_shape[:-2])
    m, k = a_shape[-2:]
    n = b_shape[-1]
    return math.prod(batch) * m * k * n
