"""Checks given on the command line (`--max-params 5M --output 10 --min-rf 128`).

They behave exactly like the same checks written in the file, on top of those. A failure
points at the top of the file (line 1, column 1: there is no line to blame) and is named by
the option, e.g. `[--max-params]`.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from cnncalc.checks.model import Bound, Check
from cnncalc.problems import Loc, Problem, did_you_mean

if TYPE_CHECKING:
    from cnncalc.graph import Graph

# option (as typed) -> (what it measures, which bound)
BOUND_OPTIONS = {
    "--max-params": ("params", "max"), "--min-params": ("params", "min"),
    "--params": ("params", "equals"),
    "--max-macs": ("macs", "max"), "--min-macs": ("macs", "min"), "--macs": ("macs", "equals"),
    "--max-flops": ("flops", "max"), "--min-flops": ("flops", "min"),
    "--flops": ("flops", "equals"),
    "--max-memory": ("memory", "max"),
    "--min-rf": ("rf", "min"), "--max-rf": ("rf", "max"),
}


@dataclass
class OptionChecks:
    """What the command line asked for, values already parsed (units applied)."""

    bounds: list[tuple[str, int, str]] = field(default_factory=list)  # (option, value, as typed)
    output: tuple[int, ...] | None = None
    shapes: list[tuple[str, tuple[int, ...]]] = field(default_factory=list)  # --shape LAYER=S
    rf_layer: str | None = None
    memory: dict[str, Any] = field(default_factory=dict)  # batch, training, optimizer, dtype

    def __bool__(self) -> bool:
        return bool(self.bounds or self.output or self.shapes)

    def build(self, graph: Graph) -> tuple[list[Check], list[Problem]]:
        """The checks for one file; unknown layer names are problems at the file's top."""
        top = Loc(graph.spec.file, 1, 1)
        problems: list[Problem] = []

        def known(name: str, option: str) -> bool:
            if name in graph.spec.aliases:
                return True
            problems.append(Problem(top, "error", "unknown-name", f"{option}: unknown layer "
                                    f"'{name}'{did_you_mean(name, graph.spec.aliases)}"))
            return False

        checks: list[Check] = []
        rf_layer = self.rf_layer if self.rf_layer is None or known(self.rf_layer, "--rf-layer") \
            else None
        for option, value, text in self.bounds:
            kind, op = BOUND_OPTIONS[option]
            options: tuple[tuple[str, Any], ...] = ()
            if kind == "memory":
                options = tuple(self.memory.items())
            layer = rf_layer if kind == "rf" else None
            checks.append(Check(option, kind, top, (Bound(op, value, text, top),), layer=layer,
                                options=options))
        if self.output is not None:
            checks.append(Check("--output", "shape", top, shape=self.output, output_index=0))
        for name, shape in self.shapes:
            if known(name, "--shape"):
                checks.append(Check(f"--shape {name}", "shape", top, shape=shape, layer=name))
        return checks, problems
