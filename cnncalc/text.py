"""Writing numbers for people: counts, shapes, bytes and exact receptive-field values, and a
value from a file quoted in a message (`shown`).

The bottom layer (docs/architecture.md): it imports nothing from cnncalc, so every other
layer (ops' formulas, analysis warnings, check messages, renderers) can use it.
"""
from __future__ import annotations

from collections.abc import Sequence
from fractions import Fraction
from typing import Any

Num = int | Fraction


def fmt_shape(shape: Sequence[int]) -> str:
    return "[" + ", ".join(str(n) for n in shape) + "]"


def fmt_int(value: int) -> str:
    return f"{value:,}"


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


# -- exact receptive-field numbers: ints as ints, halves as decimals, thirds as p/q ---------
def _terminates(value: Fraction) -> bool:
    """True when the fraction has a finite decimal expansion (denominator 2^a * 5^b)."""
    d = value.denominator
    for p in (2, 5):
        while d % p == 0:
            d //= p
    return d == 1


def number(value: Num | None) -> str:
    """15 -> '15', 31/2 -> '15.5', 1/3 -> '1/3', None -> '-'."""
    if value is None:
        return "-"
    if isinstance(value, Fraction):
        if value.denominator == 1:
            return str(value.numerator)
        if _terminates(value):
            return _decimal(value)
        return f"{value.numerator}/{value.denominator}"
    return str(value)


def _decimal(value: Fraction) -> str:
    digits = 0
    while (value * 10**digits).denominator != 1:
        digits += 1
    return f"{float(value):.{digits}f}" if digits <= 15 else str(float(value))


def json_number(value: Num | None) -> int | float | str | None:
    """For JSON: an int, a float when that float is exact, else the string 'p/q'."""
    if value is None or isinstance(value, int):
        return value
    if value.denominator == 1:
        return value.numerator
    if Fraction(float(value)) == value:
        return float(value)
    return f"{value.numerator}/{value.denominator}"


def per_axis(values: tuple[Num, ...] | None, sep: str = "x") -> str:
    """'7' when every axis agrees, else '7x5'; '-' for None."""
    if values is None:
        return "-"
    if not values:
        return "-"
    if all(v == values[0] for v in values):
        return number(values[0])
    return sep.join(number(v) for v in values)


def shown(value: Any) -> str:
    """A value for a message, with anything unprintable escaped (it came from a file)."""
    if isinstance(value, str):
        text = value if len(value) <= 40 else value[:40] + "..."
        return "'" + text.encode("unicode_escape").decode("ascii").replace("'", "\\'") + "'"
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "a mapping"
    if value is None:
        return "nothing (null)"
    return repr(value)
