"""Numbers as people write budgets: `12M`, `1.5G`, `2GB`, `512MiB`, `11,689,512`.

Counts (parameters, MACs, FLOPs, receptive fields) take decimal suffixes K M G T (x1000);
byte sizes take KB MB GB TB (x1000) and KiB MiB GiB TiB (x1024), or no suffix for bytes.
Arithmetic is exact (`Fraction`), so `1.2M` is 1,200,000 and never 1,199,999.99.
"""
from __future__ import annotations

import re
from fractions import Fraction
from typing import Any

COUNT_UNITS = {"": 1, "K": 10**3, "k": 10**3, "M": 10**6, "G": 10**9, "T": 10**12}
BYTE_UNITS = {"": 1, "B": 1, "kB": 10**3, "KB": 10**3, "MB": 10**6, "GB": 10**9, "TB": 10**12,
              "KiB": 2**10, "MiB": 2**20, "GiB": 2**30, "TiB": 2**40}
_NUMBER = re.compile(r"\s*([0-9][0-9_,]*(?:\.[0-9]*)?(?:[eE][-+]?[0-9]+)?)\s*([A-Za-z]*)\s*")


class UnitError(ValueError):
    """A value that is not a number of the expected kind; the message says what is accepted."""


def parse_count(value: Any) -> int:
    """`12M` -> 12000000; plain integers pass through. Raises UnitError."""
    return _parse(value, COUNT_UNITS, "a count like 11689512, 12M or 1.5G (K, M, G, T = x1000)")


def parse_bytes(value: Any) -> int:
    """`2GB` -> 2000000000, `2GiB` -> 2147483648, plain integers are bytes. Raises UnitError."""
    return _parse(value, BYTE_UNITS, "a size like 2GB, 512MiB or 1000000 (bytes); "
                  "KB MB GB TB are x1000, KiB MiB GiB TiB x1024")


def _parse(value: Any, units: dict[str, int], expected: str) -> int:
    if isinstance(value, bool) or value is None or isinstance(value, (list, dict)):
        raise UnitError(f"expected {expected}")
    if isinstance(value, int):
        number = Fraction(value)
    elif isinstance(value, float):
        number = Fraction(value)  # YAML `1.5e+6`; exact binary value, so 0.1 stays non-integral
    else:
        match = _NUMBER.fullmatch(str(value))
        if match is None:
            raise UnitError(f"expected {expected}, got '{value}'")
        digits, unit = match.groups()
        if unit not in units:
            hint = _wrong_kind(unit, units)
            raise UnitError(f"unknown unit '{unit}' in '{value}': expected {expected}{hint}")
        if "," in digits and not re.fullmatch(r"[0-9]{1,3}(,[0-9]{3})*(\.[0-9]*)?", digits):
            raise UnitError(f"misplaced thousands separator in '{value}'")
        mantissa, _, exponent = digits.lower().partition("e")
        if len(mantissa) > 40 or abs(int(exponent or 0)) > 30:  # exact 10**exponent would hang
            short = value if len(value) <= 24 else value[:20] + "..."
            raise UnitError(f"'{short}' is unreasonably large or precise for a budget")
        number = Fraction(digits.replace("_", "").replace(",", "")) * units[unit]
    if number < 0:
        raise UnitError(f"must not be negative, got {value}")
    if number.denominator != 1:
        raise UnitError(f"'{value}' is not a whole number")
    return int(number)


def _wrong_kind(unit: str, units: dict[str, int]) -> str:
    if units is COUNT_UNITS and unit in BYTE_UNITS:
        return " (byte units are for memory; counts take K, M, G, T)"
    if units is BYTE_UNITS and unit in COUNT_UNITS:
        return f" (for bytes write {unit}B or {unit}iB)"
    return ""
