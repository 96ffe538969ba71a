"""Small formatting helpers shared by the renderers (and the check messages)."""
from __future__ import annotations

from collections.abc import Sequence

from cnncalc.ops.base import fmt_int, fmt_shape
from cnncalc.spec.document import user_layout


def shape(dims: Sequence[int], layout: str = "channels_first") -> str:
    """A batchless shape; with channels_last (as the spec's input was written) C goes last."""
    return fmt_shape(user_layout(tuple(dims), layout))


def count(value: int) -> str:
    """11689512 -> '11,689,512'."""
    return fmt_int(value)


def short(value: float) -> str:
    """1234567 -> '1.23M' (decimal prefixes, as parameter and MAC counts are quoted)."""
    for factor, suffix in ((1e12, "T"), (1e9, "G"), (1e6, "M"), (1e3, "K")):
        if abs(value) >= factor:
            return f"{value / factor:.2f}{suffix}"
    return f"{value:g}"


def short_bytes(value: int, binary: bool = False) -> str:
    """2352000000 -> '2.35 GB' (or '2.19 GiB' with binary=True); below one unit: '512 B'."""
    base, names = (1024, ("KiB", "MiB", "GiB", "TiB")) if binary else (1000, ("KB", "MB", "GB", "TB"))
    amount, unit = float(value), "B"
    for name in names:
        if abs(amount) < base:
            break
        amount, unit = amount / base, name
    return f"{value} B" if unit == "B" else f"{amount:.2f} {unit}"


def binary_bytes(value: int) -> str:
    """Bytes with binary units, as the tables show them: 1536 -> '1.50 KiB'."""
    return short_bytes(value, binary=True)


def percent(part: int, whole: int) -> str:
    return f"{100 * part / whole:.1f}%" if whole else "-"
