"""The plain data a verify run returns: one `CheckResult` per comparison."""
from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from typing import Any


@dataclass(frozen=True)
class CheckResult:
    """One comparison of a computed number with what the forward pass measured.

    `check` is one of shape, values, params, buffers, macs, memory, workspace, rf; `layer` is
    None for whole-network totals. `expected` and `measured` are JSON-ready (numbers, lists,
    strings, small dicts); `note` explains a failure or what was measured."""

    check: str
    layer: str | None
    expected: Any
    measured: Any
    ok: bool
    note: str = ""

    def as_json(self) -> dict[str, Any]:
        data = {"check": self.check, "layer": self.layer, "expected": jsonable(self.expected),
                "measured": jsonable(self.measured), "ok": self.ok}
        if self.note:
            data["note"] = self.note
        return data


def jsonable(value: Any) -> Any:
    """Fractions as "1/2" strings, tuples as lists, recursively."""
    if isinstance(value, Fraction):
        return str(value) if value.denominator != 1 else value.numerator
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    return value
