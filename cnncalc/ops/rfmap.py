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

from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction
from math import ceil, floor
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from cnncalc.ops.window import AxisWindow

GLOBAL = "global"
Taps = tuple[int, ...] | range


@dataclass(frozen=True)
class AxisMap:
    period_in: int  # input units advanced per `period_out` output units (0: constant)
    period_out: int
    # Taps of output units 0 .. period_out-1, ascending; a `range` where they are evenly
    # spaced (a window of any size costs the same as a 3x3 one).
    phases: tuple[Taps, ...]

    def taps(self, o: int) -> Taps:
        q, r = divmod(o, self.period_out)
        phase, shift = self.phases[r], q * self.period_in
        if isinstance(phase, range):
            return range(phase.start + shift, phase.stop + shift, phase.step)
        return tuple(t + shift for t in phase)

    @property
    def stride(self) -> Fraction:
        """Input units per output unit (the factor the effective stride is multiplied by)."""
        return Fraction(self.period_in, self.period_out)


Read = tuple[int, tuple[AxisMap, ...] | str]

IDENTITY = AxisMap(1, 1, ((0,),))
BROADCAST = AxisMap(0, 1, ((0,),))  # an input of size 1 along the axis: every unit reads it


def shift(offset: int) -> AxisMap:
    """Output unit o reads input unit o + offset (crop: +start, zero padding: -before)."""
    return IDENTITY if offset == 0 else AxisMap(1, 1, ((offset,),))


def window(w: AxisWindow) -> AxisMap:
    """Conv / pooling: output o reads o*stride - pad_before + t*dilation, t < kernel.
    ceil_mode only adds output units; it does not change what a unit reads."""
    return AxisMap(w.stride, 1, (range(-w.pad_before, -w.pad_before + w.kernel * w.dilation, w.dilation),))


def transposed(w: AxisWindow) -> AxisMap:
    """Transposed conv: input i adds into output i*stride - pad_before + t*dilation, so output
    o reads the i with o + pad_before - t*dilation = i*stride (some phases read fewer taps)."""
    s = w.stride
    phases = []
    for phase in range(s):
        found = [phase + w.pad_before - t * w.dilation for t in range(w.kernel)]
        phases.append(tuple(sorted(n // s for n in found if n % s == 0)))
    return reduce(AxisMap(1, s, tuple(phases)))


def ratio(n_in: int | Fraction, n_out: int | Fraction) -> tuple[int, int]:
    """(period_in, period_out) for a map advancing n_in input units per n_out output units."""
    step = Fraction(n_in) / Fraction(n_out)
    return step.numerator, step.denominator


def nearest(scale: Fraction) -> AxisMap:
    """Nearest upsampling by p/q: output o reads floor(o * q / p) (PyTorch, scale_factor given)."""
    q, p = ratio(1, scale)
    return AxisMap(q, p, tuple((o * q // p,) for o in range(p)))


def linear(scale: Fraction | None, n_in: int, n_out: int) -> AxisMap:
    """Linear interpolation (PyTorch): output o samples input position x and reads floor(x) and,
    unless x is a whole number, the next unit. align_corners (scale None): x = o*(n_in-1)/(n_out-1);
    otherwise x = (o + 0.5)/scale - 0.5."""
    if scale is None:
        if n_out == 1:
            return AxisMap(0, 1, ((0,),))
        q, p = ratio(n_in - 1, n_out - 1)
        sample = [Fraction(o * q, p) for o in range(p)]
    else:
        q, p = ratio(1, scale)
        sample = [(o + Fraction(1, 2)) * q / p - Fraction(1, 2) for o in range(p)]
    phases = tuple((floor(x),) if x == floor(x) else (floor(x), floor(x) + 1) for x in sample)
    return AxisMap(q, p, phases)


def bins(n_in: int, n_out: int) -> AxisMap:
    """Adaptive pooling: output o reads [floor(o*n_in/n_out), ceil((o+1)*n_in/n_out))."""
    q, p = ratio(n_in, n_out)
    return AxisMap(q, p, tuple(range(floor(Fraction(o * n_in, n_out)),
                                     ceil(Fraction((o + 1) * n_in, n_out))) for o in range(p)))


def whole_axis(n_in: int) -> AxisMap:
    """Every output unit reads all n_in input units (softmax along a spatial axis)."""
    return AxisMap(0, 1, (range(n_in),))


def piece(offset: int, size: int, total: int) -> AxisMap:
    """Concat along this axis: output units [offset, offset+size) are this input's units 0..size-1,
    the others read nothing of it. The pattern repeats every `total` units on both sides, so the
    pieces of a concat share one effective stride."""
    return AxisMap(total, total, tuple((o - offset,) if offset <= o < offset + size else ()
                                       for o in range(total)))


def reduce(m: AxisMap) -> AxisMap:
    """The same map with the shortest period (e.g. a transposed conv whose phases all agree)."""
    for p in range(1, m.period_out):
        if m.period_out % p or (m.period_in * p) % m.period_out:
            continue
        step = m.period_in * p // m.period_out
        if all(m.phases[o] == tuple(t + (o // p) * step for t in m.phases[o % p])
               for o in range(m.period_out)):
            return AxisMap(step, p, m.phases[:p])
    return m


def elementwise(in_shapes: Sequence[tuple[int, ...]], out_shape: tuple[int, ...]) -> list[Read]:
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


__all__ = ["AxisMap", "BROADCAST", "GLOBAL", "IDENTITY", "Read", "bins", "elementwise",
           "linear", "nearest", "piece", "reduce", "shift", "transposed", "whole_axis", "window"]
