"""Declared op arguments: each argument's type checks and normalises what the user wrote.

The graph builder validates every layer's arguments generically from `Op.arguments`, so an
op never parses its own YAML.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

REQUIRED: Any = object()  # sentinel default: the argument must be given


class ArgType:
    """How one argument's value is checked. `check` returns the normalised value."""

    doc: str = "value"

    def check(self, value: Any) -> Any:
        raise NotImplementedError


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _type_name(value: Any) -> str:
    if isinstance(value, bool):
        return f"boolean {str(value).lower()}"
    if isinstance(value, (int, float)):
        return f"number {value}"
    if isinstance(value, str):
        return f"string '{value}'"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "a mapping"
    if value is None:
        return "nothing (null)"
    return type(value).__name__


class Int(ArgType):
    def __init__(self, minimum: int = 1):
        self.minimum = minimum
        self.doc = "int" if minimum <= -(10**9) else f"int >= {minimum}"

    def check(self, value: Any) -> int:
        if not _is_int(value):
            raise ValueError(f"expected an integer, got {_type_name(value)}")
        if value < self.minimum:
            raise ValueError(f"must be >= {self.minimum}, got {value}")
        return int(value)


class Float(ArgType):
    def __init__(self, minimum: float | None = None, above: bool = False):
        self.minimum, self.above = minimum, above
        self.doc = "number" if minimum is None else f"number {'>' if above else '>='} {minimum}"

    def check(self, value: Any) -> float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ValueError(f"expected a number, got {_type_name(value)}")
        if self.minimum is not None and (value <= self.minimum if self.above else value < self.minimum):
            raise ValueError(f"must be {'>' if self.above else '>='} {self.minimum}, got {value}")
        return float(value)


class Bool(ArgType):
    doc = "true/false"

    def check(self, value: Any) -> bool:
        if not isinstance(value, bool):
            raise ValueError(f"expected true or false, got {_type_name(value)}")
        return value


class Choice(ArgType):
    def __init__(self, *options: str):
        self.options = options
        self.doc = " | ".join(options)

    def check(self, value: Any) -> str:
        if value not in self.options:
            from cnncalc.problems import did_you_mean

            hint = did_you_mean(str(value), self.options) if isinstance(value, str) else ""
            raise ValueError(f"expected one of {', '.join(self.options)}, got {_type_name(value)}{hint}")
        return str(value)


class PerAxis(ArgType):
    """An int for every spatial axis, or a list with one int per axis (checked against rank later)."""

    def __init__(self, minimum: int = 1):
        self.minimum = minimum
        self.doc = "int or per-axis list"

    def check(self, value: Any) -> int | tuple[int, ...]:
        if _is_int(value):
            return Int(self.minimum).check(value)
        if isinstance(value, list) and value:
            return tuple(Int(self.minimum).check(v) for v in value)
        raise ValueError(f"expected an integer or a list of integers, got {_type_name(value)}")


class Scale(ArgType):
    """A positive scale factor (int or float) for every axis, or one per axis."""

    doc = "number or per-axis list"

    def check(self, value: Any) -> float | tuple[float, ...]:
        one = Float(0, above=True)
        if isinstance(value, list) and value:
            return tuple(_intlike(one.check(v)) for v in value)
        return _intlike(one.check(value))


def _intlike(value: float) -> float:
    return int(value) if float(value).is_integer() else value


class Padding(ArgType):
    """int | per-axis list | per-side pairs [[before, after], ...] | 'same' | 'valid'."""

    doc = "int, per-axis list, [[before, after], ...], same or valid"

    def check(self, value: Any) -> Any:
        if value in ("same", "valid"):
            return value
        if _is_int(value):
            return Int(0).check(value)
        if isinstance(value, list) and value:
            if all(isinstance(v, list) for v in value):
                pairs = []
                for pair in value:
                    if len(pair) != 2:
                        raise ValueError("each per-side padding must be a pair [before, after]")
                    pairs.append((Int(0).check(pair[0]), Int(0).check(pair[1])))
                return tuple(pairs)
            return tuple(Int(0).check(v) for v in value)
        raise ValueError(f"expected an integer, a list, 'same' or 'valid', got {_type_name(value)}")


class Groups(ArgType):
    doc = "int >= 1 or depthwise"

    def check(self, value: Any) -> int | str:
        if value == "depthwise":
            return "depthwise"
        if not _is_int(value):
            raise ValueError(f"expected an integer or 'depthwise', got {_type_name(value)}")
        return Int(1).check(value)


class Axis(ArgType):
    doc = "int or channels"

    def check(self, value: Any) -> int:
        if value == "channels":
            return 0
        if not _is_int(value):
            raise ValueError(f"expected an integer axis or 'channels', got {_type_name(value)}")
        return int(value)


class OptionalInt(ArgType):
    """An int, or null for 'the end' (used by slice's stop)."""

    doc = "int or null"

    def check(self, value: Any) -> int | None:
        if value is None:
            return None
        if not _is_int(value):
            raise ValueError(f"expected an integer, got {_type_name(value)}")
        return int(value)


class AdaptiveOutput(ArgType):
    """Output size per axis: int, or a list of ints (null keeps that axis' size, as in PyTorch)."""

    doc = "int or per-axis list (null keeps an axis)"

    def check(self, value: Any) -> Any:
        if _is_int(value):
            return Int(1).check(value)
        if isinstance(value, list) and value:
            return tuple(None if v is None else Int(1).check(v) for v in value)
        raise ValueError(f"expected an integer or a list of integers, got {_type_name(value)}")


@dataclass(frozen=True)
class Arg:
    name: str
    type: ArgType
    default: Any = REQUIRED
    doc: str = ""

    @property
    def required(self) -> bool:
        return self.default is REQUIRED
