"""The receptive-field rule an op declares: which input positions each output position reads.

Along one spatial axis, output unit `o` reads the input units `taps(o)`, and the pattern
repeats: `taps(o + period_out) = taps(o) + period_in`. That one form is exact for every op
cnncalc knows: a window (conv, pooling: period 1 in, `stride` out), a transposed conv
(`stride` output units per input unit, different taps per phase), upsampling by p/q, adaptive
pooling bins, padding and cropping (a shift), broadcasting (period_in 0: every unit reads
unit 0). The receptive-field analysis (analysis/rf.py) composes these maps over the graph;
an op never needs to know about receptive fields beyond this file.

An op's `rf(layer)` returns one `Read` per way it reads an input: `(input index, maps)`
where `maps` has one AxisMap per output spatial axis, or `GLOBAL` when every output unit
depends on every position of that input (global pooling, flatten, statistics over the whole
tensor). An input may be read both ways (group norm: locally, and globally for its statistics).
"""
from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from fractions import Fraction
from math import floor, gcd
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from cnncalc.ops.window import AxisWindow

GLOBAL = "global"
Taps = Sequence[int]  # ascending input units (a tuple, or a range for a long window)


class Phases(Sequence[Taps]):
    """The taps of phases 0 .. count-1, computed when asked: a map's period may be as large as
    the numbers in the spec (upsampling by 10^6, a bin count of 10^12), and building it costs
    nothing until a phase is read."""

    def __init__(self, count: int, phase: Callable[[int], Taps]):
        self._count, self._phase = count, phase

    def __len__(self) -> int:
        return self._count

    def __getitem__(self, index: Any) -> Any:
        if isinstance(index, slice):
            return tuple(self._phase(i) for i in range(*index.indices(self._count)))
        if index < 0:
            index += self._count
        if not 0 <= index < self._count:
            raise IndexError(index)
        return self._phase(index)

    def __repr__(self) -> str:
        return f"Phases({self._count})"


@dataclass(frozen=True, eq=False)
class AxisMap:
    period_in: int  # input units advanced per `period_out` output units (0: constant)
    period_out: int
    phases: Sequence[Taps]  # taps of output units 0 .. period_out-1

    def taps(self, o: int) -> Taps:
        q, r = divmod(o, self.period_out)
        phase = self.phases[r]
        shift = q * self.period_in
        if isinstance(phase, range):
            return range(phase.start + shift, phase.stop + shift, phase.step)
        return tuple(t + shift for t in phase)

    @property
    def stride(self) -> Fraction:
        """Input units per output unit (the factor the effective stride is multiplied by)."""
        return Fraction(self.period_in, self.period_out)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, AxisMap):
            return NotImplemented
        return ((self.period_in, self.period_out) == (other.period_in, other.period_out)
                and all(tuple(a) == tuple(b) for a, b in zip(self.phases, other.phases)))

    def __hash__(self) -> int:
        return hash((self.period_in, self.period_out, tuple(self.phases[0]) if self.phases else ()))


Read = tuple[int, tuple[AxisMap, ...] | str]

IDENTITY = AxisMap(1, 1, ((0,),))
BROADCAST = AxisMap(0, 1, ((0,),))  # an input of size 1 along the axis: every unit reads it


def shift(offset: int) -> AxisMap:
    """Output unit o reads input unit o + offset (crop: +start, zero padding: -before)."""
    return IDENTITY if offset == 0 else AxisMap(1, 1, ((offset,),))


def window(w: AxisWindow) -> AxisMap:
    """Conv / pooling: output o reads o*stride - pad_before + t*dilation, t < kernel.
    ceil_mode only adds output units; it does not change what a unit reads."""
    first = -w.pad_before
    return AxisMap(w.stride, 1, (range(first, first + w.kernel * w.dilation, w.dilation),))


# Transposed convolutions with a stride up to this are reduced to their shortest period.
_REDUCE_LIMIT = 4096


def transposed(w: AxisWindow) -> AxisMap:
    """Transposed conv: input i adds into output i*stride - pad_before + t*dilation, so output
    o reads the i with o + pad_before - t*dilation = i*stride (some phases read fewer taps).

    For phase r, the taps t solve t*d = r + pad_before (mod s): none unless g = gcd(d, s)
    divides r + pad_before, else t = t0, t0 + s/g, ... < kernel, and the inputs read are an
    arithmetic progression with step d/g (computed in closed form, whatever the numbers)."""
    s, d, k, pb = w.stride, w.dilation, w.kernel, w.pad_before
    g = gcd(d, s)
    modulus = s // g
    inverse = pow(d // g, -1, modulus) if modulus > 1 else 0

    def phase(r: int) -> Taps:
        c = r + pb
        if c % g:
            return ()
        t0 = (c // g) * inverse % modulus if modulus > 1 else 0
        if t0 >= k:
            return ()
        last = t0 + (k - 1 - t0) // modulus * modulus
        low, high = (c - last * d) // s, (c - t0 * d) // s
        return range(low, high + 1, d // g)

    amap = AxisMap(1, s, Phases(s, phase))
    return reduce(amap) if s <= _REDUCE_LIMIT else amap


def ratio(n_in: int | Fraction, n_out: int | Fraction) -> tuple[int, int]:
    """(period_in, period_out) for a map advancing n_in input units per n_out output units."""
    step = Fraction(n_in) / Fraction(n_out)
    return step.numerator, step.denominator


def nearest(scale: Fraction) -> AxisMap:
    """Nearest upsampling by p/q: output o reads floor(o * q / p) (PyTorch, scale_factor given)."""
    q, p = ratio(1, scale)
    return AxisMap(q, p, Phases(p, lambda o: (o * q // p,)))


def nearest_exact(scale: Fraction) -> AxisMap:
    """Nearest-exact upsampling by p/q: output o reads floor((o + 1/2) * q / p) (PyTorch)."""
    q, p = ratio(1, scale)
    return AxisMap(q, p, Phases(p, lambda o: ((2 * o + 1) * q // (2 * p),)))


def _samples(scale: Fraction | None, n_in: int,
             n_out: int) -> tuple[int, int, Callable[[int], Fraction]]:
    """(period_in, period_out, x(o)): where output o samples the input, as PyTorch's linear and
    cubic modes: x = o*(n_in-1)/(n_out-1) with align_corners (scale None), else
    (o + 0.5)/scale - 0.5."""
    if scale is None:
        q, p = ratio(n_in - 1, n_out - 1)
        return q, p, lambda o: Fraction(o * q, p)
    q, p = ratio(1, scale)
    return q, p, lambda o: (o + Fraction(1, 2)) * q / p - Fraction(1, 2)


def linear(scale: Fraction | None, n_in: int, n_out: int) -> AxisMap:
    """Linear interpolation (PyTorch): output o samples input position x and reads floor(x) and,
    unless x is a whole number, the next unit. align_corners (scale None): x = o*(n_in-1)/(n_out-1);
    otherwise x = (o + 0.5)/scale - 0.5."""
    if scale is None and n_out == 1:
        return AxisMap(0, 1, ((0,),))
    q, p, sample = _samples(scale, n_in, n_out)

    def phase(o: int) -> Taps:
        x = sample(o)
        return (floor(x),) if x == floor(x) else (floor(x), floor(x) + 1)

    return AxisMap(q, p, Phases(p, phase))


def cubic(scale: Fraction | None, n_in: int, n_out: int) -> AxisMap:
    """Bicubic (PyTorch): output o samples x as `linear` does (but unclamped) and reads floor(x)-1
    .. floor(x)+2, or only x when it is a whole number (the other three weights are then 0).
    Taps past an edge stand for the clamped edge unit, which the four taps always include."""
    if scale is None and n_out == 1:
        return AxisMap(0, 1, ((0,),))
    q, p, sample = _samples(scale, n_in, n_out)

    def phase(o: int) -> Taps:
        x = sample(o)
        return (int(x),) if x == floor(x) else range(floor(x) - 1, floor(x) + 3)

    return AxisMap(q, p, Phases(p, phase))


def bins(n_in: int, n_out: int) -> AxisMap:
    """Adaptive pooling: output o reads [floor(o*n_in/n_out), ceil((o+1)*n_in/n_out))."""
    q, p = ratio(n_in, n_out)
    return AxisMap(q, p, Phases(p, lambda o: range(o * n_in // n_out, -(-(o + 1) * n_in // n_out))))


def whole_axis(n_in: int) -> AxisMap:
    """Every output unit reads all n_in input units (softmax along a spatial axis)."""
    return AxisMap(0, 1, (range(n_in),))


def piece(offset: int, size: int, total: int) -> AxisMap:
    """Concat along this axis: output units [offset, offset+size) are this input's units 0..size-1,
    the others read nothing of it. The pattern repeats every `total` units on both sides, so the
    pieces of a concat share one effective stride."""
    return AxisMap(total, total,
                   Phases(total, lambda o: (o - offset,) if offset <= o < offset + size else ()))


def reduce(m: AxisMap) -> AxisMap:
    """The same map with the shortest period (e.g. a transposed conv whose phases all agree)."""
    for p in range(1, m.period_out):
        if m.period_out % p or (m.period_in * p) % m.period_out:
            continue
        step = m.period_in * p // m.period_out
        if all(tuple(m.phases[o]) == tuple(t + (o // p) * step for t in m.phases[o % p])
               for o in range(m.period_out)):
            return AxisMap(step, p, m.phases[:p])
    return m


def same_position(in_shapes: Sequence[tuple[int, ...]], out_shape: tuple[int, ...]) -> list[Read]:
    """Each input read at the output unit's own position; a size-1 axis is broadcast. An input
    of another rank cannot be placed on the output's spatial axes, so it counts as global; an
    output without spatial axes made from a spatial input (flatten) mixes every position."""
    reads: list[Read] = []
    for index, shape in enumerate(in_shapes):
        if len(shape) != len(out_shape):
            reads.append((index, GLOBAL))
            continue
        maps = []
        for n_in, n_out in zip(shape[1:], out_shape[1:]):
            if n_in == n_out:
                maps.append(IDENTITY)
            elif n_in == 1:
                maps.append(BROADCAST)
            else:
                raise NotImplementedError(f"spatial size {n_in} -> {n_out} is not element-wise; "
                                          "the op must declare its own rf rule")
        reads.append((index, tuple(maps)))
    return reads


__all__ = ["AxisMap", "BROADCAST", "GLOBAL", "IDENTITY", "Phases", "Read", "bins", "cubic",
           "linear", "nearest", "nearest_exact", "piece", "reduce", "same_position", "shift",
           "transposed", "whole_axis", "window"]
