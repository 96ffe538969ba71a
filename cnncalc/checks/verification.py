"""`cnncalc check --verify`: the NumPy forward pass as one more check of each file.

The verify run (cnncalc.backend.verify) compares hundreds of numbers; here they become one
passing result per kind of comparison (shape, params, MACs, memory, receptive field, ...),
and one failing result per disagreement, located at the layer that disagrees. A run that
would not fit in memory fails rather than passing unverified.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

from cnncalc.checks.model import Check, Result
from cnncalc.problems import Loc

if TYPE_CHECKING:
    from cnncalc.backend.results import CheckResult
    from cnncalc.graph import Graph

CHECK_ID = "--verify"


def verify_results(graph: Graph) -> list[Result]:
    """Run the forward pass with seeded random weights and input, and report as results."""
    # Lazy on purpose: NumPy is needed only when a spec asks for `verify: true`.
    from cnncalc.backend import verify as backend
    from cnncalc.backend.budget import default_limit  # (NumPy-free, but only needed here)

    top = Loc(graph.spec.file, 1, 1)
    limit, why = default_limit()
    try:
        plans, _ = backend.prepare(graph, rf_layers=[], limit=limit)
    except backend.BudgetError as exc:
        return [Result(Check(CHECK_ID, "verify", top), False, f"verify: not run: {exc} "
                       f"({why}); run `cnncalc verify` with a smaller --input", top, None)]
    report = backend.verify(graph, plans=plans)
    results: list[Result] = []
    by_kind: dict[str, list[CheckResult]] = {}
    for item in report.results:
        by_kind.setdefault(item.check, []).append(item)
    for kind, items in by_kind.items():
        check = Check(CHECK_ID, "verify", top)
        failed = [item for item in items if not item.ok]
        for item in failed:
            results.append(Result(check, False, _wording(item), _where(graph, item.layer, top),
                                  item.measured, {"value": item.expected}))
        if not failed:
            results.append(Result(check, True, f"the NumPy forward pass agrees on {kind} "
                                  f"({len(items)} comparison{'s' if len(items) != 1 else ''})",
                                  top, len(items)))
    return results


def _wording(item: CheckResult) -> str:
    where = f" of '{item.layer}'" if item.layer else ""
    note = f" ({item.note})" if item.note else ""
    return (f"verify {item.check}{where}: cnncalc computes {_show(item.expected)}, the NumPy "
            f"forward pass gives {_show(item.measured)}{note}")


def _show(value: object) -> str:
    return f"{value:,}" if isinstance(value, int) and not isinstance(value, bool) else str(value)


def _where(graph: Graph, name: str | None, top: Loc) -> Loc:
    """The disagreeing layer's place in the spec ('conv1 axis 2' names conv1)."""
    if name is None:
        return top
    for candidate in (name, name.rsplit(" axis ", 1)[0]):
        if candidate in graph.by_name:
            return graph.by_name[candidate].loc
    return top
