"""Small formatting helpers shared by the table renderers."""
from __future__ import annotations

from collections.abc import Sequence


def shape(dims: Sequence[int], layout: str = "channels_first") -> str:
    """A batchless shape; with channels_last (as the spec's input was written) C goes last."""
    if layout == "channels_last" and len(dims) >= 2:
        dims = (*dims[1:], dims[0])
    return "[" + ", ".join(str(n) for n in dims) + "]"


def count(value: int) -> str:
    return f"{value:,}"


def short(value: float) -> str:
    """1234567 -> '1.23M' (decimal prefixes, as parameter and MAC counts are quoted)."""
    for factor, suffix in ((1e12, "T"), (1e9, "G"), (1e6, "M"), (1e3, "K")):
        if abs(value) >= factor:
            return f"{value / factor:.2f}{suffix}"
    return f"{value:g}"


def binary_bytes(value: int) -> str:
    """Bytes with binary units: 1536 -> '1.50 KiB'."""
    amount = float(value)
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if abs(amount) < 1024 or unit == "TiB":
            return f"{amount:.0f} {unit}" if unit == "B" else f"{amount:.2f} {unit}"
        amount /= 1024
    return f"{value} B"


def percent(part: int, whole: int) -> str:
    return f"{100 * part / whole:.1f}%" if whole else "-"
