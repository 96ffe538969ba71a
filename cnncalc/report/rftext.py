"""Writing exact receptive-field numbers: ints as ints, halves as decimals, thirds as p/q."""
from __future__ import annotations

from fractions import Fraction

Num = int | Fraction


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
