"""Compare one probed layer's measured intervals with its analytic regions, axis by axis.

Each unit is compared with what the analysis says it reads: the first and last input position
it depends on through the real, finite tensors (analysis/rfunit.py: padding taps dropped, also
where a crop would map them onto existing input positions, and gaps of a dilation kept), which
must be met exactly and lie inside the unit's region on the infinite grid (analysis/rf.py).
Units whose whole region is inside the input and read in full give the measured r, S and P,
compared with the analysis at the spec's input.
"""
from __future__ import annotations

from fractions import Fraction
from math import ceil, lcm
from typing import TYPE_CHECKING, Any, Literal

from cnncalc.analysis.rfunit import TooManyGaps, support
from cnncalc.backend.results import CheckResult

if TYPE_CHECKING:
    from cnncalc.analysis.rf import LayerRF
    from cnncalc.backend.rf_probe import Interval
    from cnncalc.backend.rfcheck import Plan


def period_of(rf: LayerRF, axis: int) -> int:
    """The period of the receptive-field pattern along `axis` (1: every unit alike)."""
    return lcm(*(term.period for term in rf.state.axes[axis])) if rf.state.axes else 1


def compare(p: Plan, axis: int, seen: dict[tuple[int, ...], Interval]) -> CheckResult:
    n = p.graph.input_shape[1 + axis]
    wrong = []
    inside: dict[int, tuple[int, int]] = {}
    reads: dict[tuple[int, ...], Interval] = {}
    for unit, got in seen.items():
        want = (-1, n) if p.rf.is_global else _axis_region(p.rf, unit, axis)
        exact = _exact_reads(p, unit, axis)
        if exact is not False:
            reads[unit] = exact
        problem = (_mismatch(want, got, n, p.slack) if exact is False
                   else _mismatch_exact(want, exact, got, n))
        if problem:
            shown = _clip(want, n) if exact is False else exact
            wrong.append(f"unit {list(unit)}: expected {_show(shown)}, measured "
                         f"{_show(got)}{problem}")
        elif want is not None and got == want and unit:
            inside[unit[axis]] = got
    expected, derived = _numbers(p.original, axis), _derived(p, axis, inside)
    mismatch = [k for k in ("size", "stride", "padding") if k in derived and derived[k] != expected.get(k)]
    notes = [p.note] if p.note else []
    if wrong:
        notes.append("; ".join(wrong[:4]) + (f" (+{len(wrong) - 4} more)" if len(wrong) > 4 else ""))
    if mismatch:
        notes.append("measured " + ", ".join(f"{k} {derived[k]}" for k in mismatch))
    unread = _unread(p, seen, n)
    if unread and not wrong:
        notes.append(unread)
    measured: dict[str, Any] = dict(derived)
    measured["units"] = {_key(u): list(v) if v else None for u, v in seen.items()}
    expected["units"] = {_key(u): list(v) if (v := reads[u] if u in reads else
                                              _clip((0, n - 1) if p.rf.is_global else
                                                    _axis_region(p.rf, u, axis), n)) else None
                         for u in seen}
    return CheckResult("rf", f"{p.layer} axis {axis + 1}", expected, measured,
                       not wrong and not mismatch, "; ".join(notes))


def _mismatch(want: tuple[Any, Any] | None, got: Interval, n: int, slack: int) -> str:
    """Why a measured interval contradicts a region ('' if it does not).

    An end of the region inside the input must be met exactly. An end in the padding is only
    an upper bound: the region counts positions reached through padding of some layer, and
    strided layers drop a tail of their input shorter than their stride (M5 never reads the
    last 100 samples of its 32000), so the unit must reach to within `slack` (the largest
    effective stride on the way) of the input's edge."""
    clipped = _clip(want, n)
    if clipped is None or got is None:
        return "" if clipped == got else " (no dependency expected)" if clipped is None else ""
    assert want is not None
    lo, hi = got
    if lo < clipped[0] or hi > clipped[1]:
        return " (outside the region)"
    if (want[0] >= 0 and lo != want[0]) or (want[0] < 0 and lo >= slack):
        return " (low end)"
    if (want[1] <= n - 1 and hi != want[1]) or (want[1] > n - 1 and hi <= n - 1 - slack):
        return " (high end)"
    return ""


def _exact_reads(p: Plan, unit: tuple[int, ...], axis: int) -> Interval | Literal[False]:
    """The first and last input position the unit depends on along the axis (None: none), by
    the analysis's walk through the finite tensors (for a global layer, its global reads
    included); False where that is not known (a walk that would list too many gaps)."""

    try:  # a global layer depends on every unit its global reads reach
        spans = support(p.graph, p.layer, [[(u, u)] for u in unit], with_global=p.rf.is_global)
    except TooManyGaps:
        return False
    if spans is None or not spans[axis]:
        return None
    return (spans[axis][0][0], spans[axis][-1][1])


def _mismatch_exact(want: tuple[Any, Any] | None, exact: Interval, got: Interval, n: int) -> str:
    """Why a measured interval contradicts the positions the unit reads ('' if it does not):
    they must be equal, and inside the unit's region."""
    if got != exact:
        return " (no dependency expected)" if exact is None else " (what the unit reads)"
    clipped = _clip(want, n)
    if exact is not None and (clipped is None or exact[0] < clipped[0] or exact[1] > clipped[1]):
        return f" (outside the region {_show(clipped)})"
    return ""


def _unread(p: Plan, seen: dict[tuple[int, ...], Interval], n: int) -> str:
    """For a global layer: the input positions at the ends that it never depends on."""
    if not p.rf.is_global:
        return ""
    spans = [iv for iv in seen.values() if iv is not None]
    if not spans:
        return ""
    lo, hi = min(iv[0] for iv in spans), max(iv[1] for iv in spans)
    parts = ([f"0..{lo - 1}"] if lo > 0 else []) + ([f"{hi + 1}..{n - 1}"] if hi < n - 1 else [])
    if not parts:
        return ""
    return f"input positions {' and '.join(parts)} are never read (dropped by strided layers)"


def predicted(p: Plan, unit: tuple[int, ...], axis: int) -> tuple[int, int] | None:
    """The input positions the analysis says `unit` sees along `axis` (clipped to the input)."""
    n = p.graph.input_shape[1 + axis]
    return _clip((-1, n) if p.rf.is_global else _axis_region(p.rf, unit, axis), n)


def _axis_region(rf: LayerRF, unit: tuple[int, ...], axis: int) -> tuple[Any, Any] | None:
    region = rf.region(unit)
    return None if region is None else region[axis]


def _clip(region: tuple[Any, Any] | None, n: int) -> tuple[int, int] | None:
    """The integer input positions of a region that exist (a fractional end rounds inwards)."""
    if region is None:
        return None
    lo, hi = max(ceil(region[0]), 0), min(int(Fraction(region[1]).__floor__()), n - 1)
    return (lo, hi) if lo <= hi else None


def _numbers(rf: LayerRF, axis: int) -> dict[str, Any]:
    if rf.is_global or rf.local is None:
        return {"global": True}
    a = rf.local[axis]
    return {"size": a.size, "stride": a.stride, "padding": a.padding, "uniform": a.uniform}


def _derived(p: Plan, axis: int, inside: dict[int, tuple[int, int]]) -> dict[str, Any]:
    """r, S and P from the measured units whose whole region is inside the input."""
    if p.rf.is_global or p.rf.local is None:
        return {"global": True}
    if not inside:
        return {}
    out: dict[str, Any] = {"size": max(hi - lo + 1 for lo, hi in inside.values())}
    period = period_of(p.rf, axis)
    starts = sorted(j for j in inside if j % period == 0 and j + period in inside)
    if p.rf.local[axis].uniform and starts:
        j = starts[0]
        stride = Fraction(inside[j + period][0] - inside[j][0], period)
        out["stride"] = stride.numerator if stride.denominator == 1 else stride
        padding = j * stride - inside[j][0]
        out["padding"] = padding.numerator if padding.denominator == 1 else padding
    return out


def _show(interval: tuple[int, int] | None) -> str:
    return "nothing" if interval is None else f"[{interval[0]}, {interval[1]}]"


def _key(unit: tuple[int, ...]) -> str:
    return ",".join(map(str, unit)) if unit else "all"
