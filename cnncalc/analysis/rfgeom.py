"""Receptive-field geometry along one spatial axis: exact, periodic, path-aware.

A tensor's units along an axis see input intervals. With effective stride S and a pattern of
m phases, unit j sees `[lo + j*S, hi + j*S]` where `(lo, hi) = pattern[j % m]` (None: the
unit reads nothing of the input, e.g. a phase a transposed conv never writes). Ordinary
layers keep m = 1; upsampling and transposed convs give m > 1 (units differ by phase).
Offsets are exact: ints, or Fractions once a stride is fractional.

A `Term` gathers every path from the input that reaches the tensor with the same stride:
`hull` is the union of their regions (what a unit really depends on), `paths` the distinct
per-path patterns kept to report the narrowest path and to check that all paths are centred
alike. Paths that differ only by a uniform shift of their ends stay that way under every
map, so within such a class only the narrowest and the two extreme centres matter (which
keeps residual networks, with exponentially many paths, at a few patterns per tensor).
"""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from fractions import Fraction
from functools import cached_property
from math import gcd
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from cnncalc.ops.rfmap import AxisMap

Num = int | Fraction
Region = tuple[Num, Num] | None  # what one unit sees along an axis (inclusive ends), or nothing
Interval = tuple[Num, Num] | None
Pattern = tuple[Interval, ...]
MAX_CLASSES = 64  # distinct path shapes tracked per tensor; far above any real network's
# Phases followed one by one. Units repeat with a period set by the numbers in the spec
# (upsampling by 10^6, a transposed conv of stride 10^6, 10^6 adaptive bins, a concat along
# an axis of 10^6 units); past this the receptive field is reported as not computed, never
# approximated. Real networks stay far below (an upsampling by 32 has period 32).
MAX_PHASES = 1 << 14


class TooManyPhases(Exception):
    """The units of a tensor repeat with a period longer than MAX_PHASES along an axis."""

    def __init__(self, period: int):
        super().__init__(f"its units repeat only every {period:,} positions along an axis "
                         "(set by an upsampling scale, a transposed convolution's stride, an "
                         "adaptive output size or a concatenation along a spatial axis), more "
                         f"than the {MAX_PHASES:,} phases the analysis follows one by one")
        self.period = period


def bounded(period: int) -> int:
    """`period`, or TooManyPhases when it is too long to follow phase by phase."""
    if period > MAX_PHASES:
        raise TooManyPhases(period)
    return period


def exact(value: Num) -> Num:
    """A Fraction that is a whole number becomes an int (ints keep the common case fast)."""
    if isinstance(value, Fraction) and value.denominator == 1:
        return value.numerator
    return value


def shrink(pattern: Pattern) -> Pattern:
    """The same pattern with its shortest period."""
    m = len(pattern)
    for d in range(1, m):
        if m % d == 0 and all(pattern[i] == pattern[i % d] for i in range(d, m)):
            return pattern[:d]
    return pattern


def expand(pattern: Pattern, period: int) -> Pattern:
    return tuple(pattern[i % len(pattern)] for i in range(period))


def lcm(a: int, b: int) -> int:
    return a * b // gcd(a, b)


def extent(pattern: Pattern) -> Num:
    """The largest region of any phase (ends inclusive)."""
    return max((iv[1] - iv[0] + 1 for iv in pattern if iv is not None), default=0)


def half(value: Num) -> Num:
    """value / 2, exact, staying an int when it can (Fractions are slow to build)."""
    if isinstance(value, int):
        return value // 2 if value % 2 == 0 else Fraction(value, 2)
    return exact(value / 2)


def centres(pattern: Pattern, period: int) -> tuple[Num | None, ...]:
    """Twice each phase's centre (lo + hi): compared, never shown, so no halving needed."""
    return tuple(None if iv is None else iv[0] + iv[1] for iv in expand(pattern, period))


def apply(stride: Num, pattern: Pattern, amap: AxisMap) -> tuple[Num, Pattern]:
    """The output's stride and pattern when each output unit reads the input units amap.taps."""
    if amap.period_out == 1:
        new_stride: Num = stride * amap.period_in
        if len(pattern) == 1:  # the common case: one phase in, one phase out
            iv, taps = pattern[0], amap.phases[0]
            if iv is None or not taps:
                return exact(new_stride), (None,)
            if isinstance(stride, int):
                return new_stride, ((iv[0] + taps[0] * stride, iv[1] + taps[-1] * stride),)
            return exact(new_stride), ((exact(iv[0] + taps[0] * stride),
                                        exact(iv[1] + taps[-1] * stride)),)
        new_stride = exact(new_stride)
    else:
        new_stride = exact(Fraction(stride) * amap.period_in / amap.period_out)
    m = len(pattern)
    period = bounded(amap.period_out * m // gcd(m, amap.period_in))
    out: list[Interval] = []
    for phase in range(period):
        lo: Num | None = None
        hi: Num | None = None
        taps = amap.taps(phase)
        if isinstance(taps, range) and _count(taps) > 2 * m:
            # Evenly spaced: the first m taps meet every phase of the pattern they meet at all,
            # first (smallest lo), and the last m last (largest hi).
            taps = (*taps[:m], *taps[-m:])
        for i in taps:
            iv = pattern[i % m]
            if iv is not None:
                a, b = iv[0] + i * stride, iv[1] + i * stride
                lo = a if lo is None or a < lo else lo
                hi = b if hi is None or b > hi else hi
        if lo is None or hi is None:
            out.append(None)
        else:
            offset = phase * new_stride
            out.append((exact(lo - offset), exact(hi - offset)))
    return new_stride, shrink(tuple(out))


def _count(taps: range) -> int:
    """len(taps) for any size (len() stops at sys.maxsize: an axis of 10^40 units)."""
    return max(0, (taps.stop - taps.start + taps.step - (1 if taps.step > 0 else -1)) // taps.step)


def union(a: Pattern, b: Pattern) -> Pattern:
    period = bounded(lcm(len(a), len(b)))
    out: list[Interval] = []
    for x, y in zip(expand(a, period), expand(b, period)):
        if x is None or y is None:
            out.append(x if y is None else y)
        else:
            out.append((min(x[0], y[0]), max(x[1], y[1])))
    return shrink(tuple(out))


DENSE = -1  # support mask meaning "every position of the region" (no bits to carry along)
# Gaps are tracked as one bit per position of the region: past this many positions (a
# dilation of 10^12) they are unknown (None) rather than a mask the size of the number.
MAX_MASK_BITS = 1 << 20


def _bits(mask: int, size: int) -> int:
    return (1 << size) - 1 if mask == DENSE else mask


def spread(mask: int, size: int, offsets: list[int]) -> int:
    """The support of a union of copies of a region (mask over `size` positions) shifted by
    `offsets` (ascending, from 0): DENSE when no gap is left (dilation leaves gaps)."""
    if mask == DENSE and all(b - a <= size for a, b in zip(offsets, offsets[1:])):
        return DENSE
    bits = _bits(mask, size)
    out = 0
    for offset in offsets:
        out |= bits << offset
    return DENSE if out == (1 << (offsets[-1] + size)) - 1 else out


@dataclass(frozen=True)
class Term:
    stride: Num
    hull: Pattern
    paths: tuple[Pattern, ...]
    # Which positions of unit 0's region (bit k: position lo + k) some path really reads;
    # tracked for one-phase integer-stride terms, None (unknown) otherwise.
    mask: int | None = DENSE

    def apply(self, amap: AxisMap) -> Term:
        stride, hull = apply(self.stride, self.hull, amap)
        mask = self._mask_after(amap, hull)
        if len(self.paths) == 1 and self.paths[0] == self.hull:
            return Term(stride, hull, (hull,), mask)
        return Term(stride, hull, prune(apply(self.stride, p, amap)[1] for p in self.paths), mask)

    def _mask_after(self, amap: AxisMap, hull: Pattern) -> int | None:
        iv = self.hull[0]
        if (self.mask is None or iv is None or len(self.hull) != 1 or len(hull) != 1
                or hull[0] is None or amap.period_out != 1 or not isinstance(self.stride, int)):
            return None
        taps, size = amap.phases[0], int(iv[1] - iv[0]) + 1
        if self.mask == DENSE and isinstance(taps, range) and taps.step * self.stride <= size:
            return DENSE  # evenly spaced copies that touch: no gap, whatever the kernel
        end = hull[0][1] - hull[0][0] + 1
        if end > MAX_MASK_BITS or (isinstance(taps, range) and _count(taps) > MAX_MASK_BITS):
            return None
        return spread(self.mask, size, [(t - taps[0]) * self.stride for t in taps])

    @property
    def gaps(self) -> int | None:
        """Positions inside unit 0's region that it does not depend on; None if unknown."""
        iv = self.hull[0]
        if self.mask is None or iv is None or len(self.hull) != 1:
            return None
        return 0 if self.mask == DENSE else int(iv[1] - iv[0]) + 1 - self.mask.bit_count()

    @property
    def period(self) -> int:
        return len(self.hull)

    @cached_property
    def aligned(self) -> bool:
        """Every path centred on the same input position, phase by phase."""
        if len(self.paths) == 1:
            return True
        period = 1
        for p in self.paths:
            period = bounded(lcm(period, len(p)))
        first = centres(self.paths[0], period)
        for p in self.paths[1:]:
            other = centres(p, period)
            if any(x is not None and y is not None and x != y for x, y in zip(first, other)):
                return False
        return True


AxisState = tuple[Term, ...]  # one Term per distinct stride, sorted by stride


def conflict(a: Term, b: Term) -> bool:
    """Whether some unit reads both terms' regions with different centres or strides (the
    pieces of a spatial concat never share a unit, so they never conflict)."""
    period = bounded(lcm(a.period, b.period))
    for j in range(period):
        x, y = a.hull[j % a.period], b.hull[j % b.period]
        if x is not None and y is not None and (a.stride != b.stride or x[0] + x[1] != y[0] + y[1]):
            return True
    return False


def start_state() -> AxisState:
    """The network input: unit j sees exactly input position j."""
    return (Term(1, ((0, 0),), (((0, 0),),)),)


def apply_state(state: AxisState, amap: AxisMap) -> AxisState:
    return merge([term.apply(amap) for term in state])


def merge(terms: Iterable[Term]) -> AxisState:
    """The union of paths: terms with the same stride become one."""
    by_stride: dict[Num, Term] = {}
    for term in terms:
        seen = by_stride.get(term.stride)
        if seen is None:
            by_stride[term.stride] = term
        else:
            hull = union(seen.hull, term.hull)
            by_stride[term.stride] = Term(term.stride, hull, prune((*seen.paths, *term.paths)),
                                          _union_mask(seen, term, hull))
    return tuple(by_stride[s] for s in sorted(by_stride))


def _union_mask(a: Term, b: Term, hull: Pattern) -> int | None:
    if a.mask is None or b.mask is None or len(hull) != 1 or len(a.hull) != 1 or len(b.hull) != 1:
        return None
    if hull[0] is None or hull[0][1] - hull[0][0] + 1 > MAX_MASK_BITS:
        return None
    out = 0
    for term in (a, b):
        iv, lo = term.hull[0], hull[0]
        if iv is None or lo is None:
            return None
        out |= _bits(term.mask, int(iv[1] - iv[0]) + 1) << int(iv[0] - lo[0])  # type: ignore[arg-type]
    assert hull[0] is not None
    return DENSE if out == (1 << int(hull[0][1] - hull[0][0] + 1)) - 1 else out


def _class_key(pattern: Pattern) -> tuple[object, ...]:
    """Patterns that differ by one shift of all low ends and one of all high ends share a key."""
    base = next(iv for iv in pattern if iv is not None) if any(pattern) else (0, 0)
    return tuple(None if iv is None else (iv[0] - base[0], iv[1] - base[1]) for iv in pattern)


def prune(paths: Iterable[Pattern]) -> tuple[Pattern, ...]:
    """Distinct paths, keeping per shift class only the narrowest and the extreme centres."""
    distinct = tuple(dict.fromkeys(paths))
    if len(distinct) <= 3:
        return distinct
    classes: dict[tuple[object, ...], list[Pattern]] = {}
    for p in distinct:
        classes.setdefault(_class_key(p), []).append(p)
    kept: list[Pattern] = []
    for members in list(classes.values())[:MAX_CLASSES]:
        if len(members) <= 3:
            kept.extend(members)
            continue

        def first(p: Pattern) -> tuple[Num, Num]:
            iv = next(iv for iv in p if iv is not None) if any(p) else (0, 0)
            return iv

        narrow = min(members, key=lambda p: first(p)[1] - first(p)[0])
        left = min(members, key=lambda p: sum(first(p)))
        right = max(members, key=lambda p: sum(first(p)))
        kept.extend(dict.fromkeys((narrow, left, right)))
    return tuple(kept)


def unit_region(state: AxisState, j: int) -> Region:
    """The union over strides of what unit j sees (inclusive ends), or None if nothing."""
    lo: Num | None = None
    hi: Num | None = None
    for term in state:
        iv = term.hull[j % term.period]
        if iv is not None:
            a, b = iv[0] + j * term.stride, iv[1] + j * term.stride
            lo = a if lo is None or a < lo else lo
            hi = b if hi is None or b > hi else hi
    return None if lo is None or hi is None else (exact(lo), exact(hi))
