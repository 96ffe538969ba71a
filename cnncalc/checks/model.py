"""What a check is (a measurement plus bounds) and what running one gives (a result)."""
from __future__ import annotations

from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any

from cnncalc.problems import Loc, Problem

# The measurements that take max/min/equals bounds, as messages name them.
LABELS = {"params": "params", "macs": "MACs", "flops": "FLOPs", "memory": "memory",
          "rf": "receptive field"}


@dataclass(frozen=True)
class Bound:
    """`max: 12M`: the operator, its exact value, the text as written (for messages), where."""

    op: str  # "max", "min" or "equals"
    value: int
    text: str
    loc: Loc

    def holds(self, actual: int | Fraction) -> bool:
        if self.op == "max":
            return actual <= self.value
        if self.op == "min":
            return actual >= self.value
        return actual == self.value


@dataclass(frozen=True)
class Check:
    """One measurement of the network and what it must satisfy.

    `kind` is one of LABELS (compared with `bounds`) or "shape" (compared with
    `shape`, written in the spec's input layout). `layer` narrows the measurement to one
    layer or block; None means the whole network (for "shape": the outputs). `id` names the
    check in reports: its path in the YAML (`checks.params`) or the option that made it
    (`--max-params`).
    """

    id: str
    kind: str
    loc: Loc
    bounds: tuple[Bound, ...] = ()
    shape: tuple[int, ...] | None = None
    layer: str | None = None
    output_index: int | None = None  # for an expected output shape: which output
    options: tuple[tuple[str, Any], ...] = ()  # memory: batch, training, optimizer, dtype

    def option(self, name: str, default: Any) -> Any:
        return dict(self.options).get(name, default)


@dataclass(frozen=True)
class Result:
    """The outcome of one bound (or one shape) of one check."""

    check: Check
    passed: bool
    message: str  # says what was measured, against what, and by how much it misses
    loc: Loc  # the bound's own place, so a failure points at `max: 12M`
    actual: Any  # an int, a shape list, or None when the measurement was impossible
    expected: dict[str, Any] = field(default_factory=dict)  # {"max": 12000000} / {"shape": [..]}

    def problem(self) -> Problem:
        return Problem(self.loc, "error", self.check.id, self.message)

    def as_json(self) -> dict[str, Any]:
        return {"check": self.check.id, "kind": self.check.kind, "layer": self.check.layer,
                "passed": self.passed, "actual": self.actual, "expected": self.expected,
                "message": self.message, "file": self.loc.file, "line": self.loc.line,
                "col": self.loc.col}


def miss(actual: int | Fraction, limit: int) -> str:
    """How far `actual` is from `limit`: '+4.2%' relative to the limit, or '+1,024' when the
    limit is zero or the difference too small for a percentage to show it."""
    difference = actual - limit
    change = float(100 * difference / limit) if limit else 0.0
    if limit and abs(change) >= 0.1:
        return f"{change:+.1f}%"
    if isinstance(difference, int):
        return f"{difference:+,}"
    return f"{float(difference):+g}"  # half-unit receptive fields after upsampling
