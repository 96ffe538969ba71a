"""Declared op arguments: each argument's type checks and normalises what the user wrote.

The graph builder validates every layer's arguments generically from `Op.arguments`, so an
op never parses its own YAML. Each numeric type carries its domain (the range PyTorch itself
enforces, written once here and shown in the op reference), so validation, documentation and
the table-driven domain tests all read the same declaration.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from cnncalc.problems import did_you_mean
from cnncalc.text import shown

REQUIRED: Any = object()  # sentinel default: the argument must be given

# Sizes, strides and indices are int64 in PyTorch (and in NumPy's shapes): a larger value
# cannot describe a real tensor and would only make later arithmetic huge.
INT64_MAX = 2**63 - 1
INT64_MIN = -(2**63)


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _type_name(value: Any) -> str:
    if isinstance(value, bool):
        return f"boolean {str(value).lower()}"
    if isinstance(value, int) and value.bit_length() > 64:
        return f"an integer of {len(str(abs(value))):,} digits"  # never print 4,000 digits
    if isinstance(value, (int, float)):
        return f"number {value}"
    if isinstance(value, str):
        return f"string {value[:40]!r}"
    return shown(value) if isinstance(value, (list, dict)) or value is None else type(value).__name__


def _num(x: float) -> str:
    if x == INT64_MAX:
        return "2^63-1"
    if x == INT64_MIN:
        return "-2^63"
    return str(x)


@dataclass(frozen=True)
class Range:
    """A numeric domain: lo/hi bounds (None: unbounded), each closed unless marked open."""

    lo: float | None = None
    hi: float | None = None
    lo_open: bool = False
    hi_open: bool = False

    def contains(self, x: float) -> bool:
        if self.lo is not None and (x <= self.lo if self.lo_open else x < self.lo):
            return False
        return self.hi is None or (x < self.hi if self.hi_open else x <= self.hi)

    def text(self) -> str:
        """'>= 1', '0 .. 1', '> 0', '1 .. 2^63-1' ('' when unbounded)."""
        lo, hi = self.lo, self.hi
        if lo is not None and hi is not None:
            if self.lo_open or self.hi_open:
                return (f"{_num(lo)} {'<' if self.lo_open else '<='} x "
                        f"{'<' if self.hi_open else '<='} {_num(hi)}")
            return f"{_num(lo)} .. {_num(hi)}"
        if lo is not None:
            return f"{'>' if self.lo_open else '>='} {_num(lo)}"
        if hi is not None:
            return f"{'<' if self.hi_open else '<='} {_num(hi)}"
        return ""

    def outside(self, integral: bool) -> list[float]:
        """Values just outside the domain (for the generated domain tests)."""
        step = 1 if integral else 0.5
        out: list[float] = []
        if self.lo is not None:
            out.append(self.lo if self.lo_open else self.lo - step)
        if self.hi is not None:
            out.append(self.hi if self.hi_open else self.hi + step)
        return out


class ArgType:
    """How one argument's value is checked. `check` returns the normalised value."""

    doc: str = "value"

    def check(self, value: Any) -> Any:
        raise NotImplementedError

    def invalid(self) -> list[Any]:
        """Values this type refuses (each test of the domain tries every one of them)."""
        return [[1, [2]], {"a": 1}]


class Int(ArgType):
    """An integer in `lo .. hi` (int64 by default)."""

    def __init__(self, lo: int | None = INT64_MIN, hi: int | None = INT64_MAX):
        self.range = Range(lo, hi)
        self.doc = f"int {self.range.text()}" if lo not in (None, INT64_MIN) else "int (int64)"

    def check(self, value: Any) -> int:
        if not _is_int(value):
            raise ValueError(f"expected an integer, got {_type_name(value)}")
        if not self.range.contains(value):
            shown = _num(value) if abs(value) < 10**30 else _type_name(value)
            raise ValueError(f"must be {self.range.text()}, got {shown}")
        return int(value)

    def invalid(self) -> list[Any]:
        return [*(int(v) for v in self.range.outside(True)), 2.5, float("nan"), "two", True]


class Float(ArgType):
    """A finite number in a range: `.nan` and `.inf` are never meaningful arguments."""

    def __init__(self, lo: float | None = None, hi: float | None = None, *,
                 lo_open: bool = False, hi_open: bool = False):
        self.range = Range(lo, hi, lo_open, hi_open)
        bounds = self.range.text()
        self.doc = f"number {bounds}" if bounds else "number"

    def check(self, value: Any) -> float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ValueError(f"expected a number, got {_type_name(value)}")
        try:
            number = float(value)
        except OverflowError:  # an integer beyond float's range
            raise ValueError(f"must be a finite number, got {_type_name(value)}") from None
        if not math.isfinite(number):
            raise ValueError(f"must be a finite number, got {value}")
        if not self.range.contains(number):
            raise ValueError(f"must be {self.range.text()}, got {value}")
        return number

    def invalid(self) -> list[Any]:
        return [*self.range.outside(False), float("nan"), float("inf"), float("-inf"), 10**400,
                "half", False]


class Bool(ArgType):
    doc = "true/false"

    def check(self, value: Any) -> bool:
        if not isinstance(value, bool):
            raise ValueError(f"expected true or false, got {_type_name(value)}")
        return value

    def invalid(self) -> list[Any]:
        return [1, "yes please", None]


class Choice(ArgType):
    def __init__(self, *options: str):
        self.options = options
        self.doc = " | ".join(options)

    def check(self, value: Any) -> str:
        if not isinstance(value, str) or value not in self.options:
            hint = did_you_mean(value, self.options) if isinstance(value, str) else ""
            raise ValueError(f"expected one of {', '.join(self.options)}, got {_type_name(value)}{hint}")
        return value

    def invalid(self) -> list[Any]:
        return ["no-such-choice", 1, [self.options[0]]]


class PerAxis(ArgType):
    """An int for every spatial axis, or a list with one int per axis (checked against rank later)."""

    def __init__(self, lo: int = 1):
        self.one = Int(lo)
        self.doc = f"{self.one.doc}, or one per axis"

    def check(self, value: Any) -> int | tuple[int, ...]:
        if _is_int(value):
            return self.one.check(value)
        if isinstance(value, list) and value:
            return tuple(self.one.check(v) for v in value)
        raise ValueError(f"expected an integer or a list of integers, got {_type_name(value)}")

    def invalid(self) -> list[Any]:
        bad = self.one.invalid()
        return [*bad, [], [bad[0]], "same"]


class Scale(ArgType):
    """A positive finite scale factor (int or float) for every axis, or one per axis."""

    def __init__(self) -> None:
        self.one = Float(0, lo_open=True)
        self.doc = f"{self.one.doc}, or one per axis"

    def check(self, value: Any) -> float | tuple[float, ...]:
        if isinstance(value, list) and value:
            return tuple(_intlike(self.one.check(v)) for v in value)
        return _intlike(self.one.check(value))

    def invalid(self) -> list[Any]:
        return [*self.one.invalid(), [], [0]]


def _intlike(value: float) -> float:
    return int(value) if float(value).is_integer() else value


class Padding(ArgType):
    """int | per-axis list | per-side pairs [[before, after], ...] | 'same' | 'valid'."""

    def __init__(self) -> None:
        self.one = Int(0)
        self.doc = f"{self.one.doc}, one per axis, [[before, after], ...], same or valid"

    def check(self, value: Any) -> Any:
        if value in ("same", "valid"):
            return value
        if _is_int(value):
            return self.one.check(value)
        if isinstance(value, list) and value:
            if all(isinstance(v, list) for v in value):
                pairs = []
                for pair in value:
                    if len(pair) != 2:
                        raise ValueError("each per-side padding must be a pair [before, after]")
                    pairs.append((self.one.check(pair[0]), self.one.check(pair[1])))
                return tuple(pairs)
            return tuple(self.one.check(v) for v in value)
        raise ValueError(f"expected an integer, a list, 'same' or 'valid', got {_type_name(value)}")

    def invalid(self) -> list[Any]:
        return [*self.one.invalid(), [], [[1, 2, 3]], [[-1, 0]], "full"]


class Groups(ArgType):
    def __init__(self) -> None:
        self.one = Int(1)
        self.doc = f"{self.one.doc} or depthwise"

    def check(self, value: Any) -> int | str:
        if value == "depthwise":
            return "depthwise"
        if not _is_int(value):
            raise ValueError(f"expected an integer or 'depthwise', got {_type_name(value)}")
        return self.one.check(value)

    def invalid(self) -> list[Any]:
        return [*self.one.invalid(), "pointwise"]


class Axis(ArgType):
    """An axis without the batch (negative counts from the end; the rank is checked later)."""

    doc = "int (-rank .. rank-1) or channels"

    def check(self, value: Any) -> int:
        if value == "channels":
            return 0
        if not _is_int(value):
            raise ValueError(f"expected an integer axis or 'channels', got {_type_name(value)}")
        return Int().check(value)

    def invalid(self) -> list[Any]:
        return [INT64_MAX + 1, 1.0, "width", None]


class OptionalInt(ArgType):
    """An int (int64), or null for 'the end' (used by slice's stop)."""

    doc = "int (int64) or null"

    def check(self, value: Any) -> int | None:
        if value is None:
            return None
        return Int().check(value)

    def invalid(self) -> list[Any]:
        return [INT64_MIN - 1, INT64_MAX + 1, 1.5, "end"]


class AdaptiveOutput(ArgType):
    """Output size per axis: int, or a list of ints (null keeps that axis' size, as in PyTorch)."""

    def __init__(self) -> None:
        self.one = Int(1)
        self.doc = f"{self.one.doc}, or one per axis (null keeps an axis)"

    def check(self, value: Any) -> Any:
        if _is_int(value):
            return self.one.check(value)
        if isinstance(value, list) and value:
            return tuple(None if v is None else self.one.check(v) for v in value)
        raise ValueError(f"expected an integer or a list of integers, got {_type_name(value)}")

    def invalid(self) -> list[Any]:
        return [*self.one.invalid(), [], [0], None]


@dataclass(frozen=True)
class Arg:
    name: str
    type: ArgType
    default: Any = REQUIRED
    doc: str = ""
    aliases: tuple[str, ...] = ()  # other frameworks' words for it (PyTorch, Keras, ONNX, Caffe)

    @property
    def required(self) -> bool:
        return self.default is REQUIRED
