"""`cnncalc erf` output: the per-axis numbers as a table, and a text plot of each axis's
profile (the map's marginal) around the unit's centre.

The plot is a column chart, one column per input pixel (or per bin of pixels on a wide axis),
with the centre and the 68% / 95% windows marked underneath. On a colour terminal the bars are
drawn with eighth blocks in colour; piped, with '#' in plain text.
"""
from __future__ import annotations

from collections.abc import Sequence
from math import ceil, floor
from typing import TYPE_CHECKING

from cnncalc.report.table import Cell, Table

if TYPE_CHECKING:
    from cnncalc.backend.erf import ErfResult
    from cnncalc.backend.erfstats import AxisStats
    from cnncalc.graph import Graph
    from cnncalc.report.output import Output

HEIGHT = 8  # rows of the profile chart
WIDTH = 64  # columns at most
_EIGHTHS = " ▁▂▃▄▅▆▇█"


def render_erf(out: Output, graph: Graph, result: ErfResult, profiles: Sequence[Sequence[float]]) -> None:
    """The heading, the per-axis table and (text on a terminal or pipe) one profile per axis;
    `profiles` are the map's marginals, one per spatial axis."""
    layer = graph.layer(result.layer)
    where = ", ".join(map(str, result.unit))
    out.line(f"{graph.name}: effective receptive field of '{result.layer}' unit [{where}] "
             f"(the sum of its {layer.out_shape[0]} channels)")
    draws = ("random inputs, the given weights" if result.seed is None
             else f"random inputs and weights, seed {result.seed}")
    mode = "activations held linear (--linear)" if result.linear else "nonlinear"
    out.line(f"{result.samples} sample{'s' if result.samples != 1 else ''} ({draws}); {mode}")
    table = Table([("axis", "right"), ("centre", "right"), ("std", "right"), ("r68", "right"),
                   ("r95", "right"), ("theoretical RF", "right", "rf"),
                   ("95% span / RF", "right", "ratio")])
    for axis, centre in zip(result.axes, result.centre):
        table.add([str(axis.axis), Cell(_num(centre), centre), Cell(f"{axis.std:.2f}", axis.std),
                   Cell(_num(axis.r68), axis.r68), Cell(_num(axis.r95), axis.r95),
                   Cell(str(axis.rf), axis.rf), Cell(f"{axis.ratio:.3f}", axis.ratio)])
    out.table(table)
    out.line("std: of the gradient's marginal, in input pixels; r68/r95: smallest distance from "
             "the centre holding 68%/95% of it; span = 2 r95 + 1")
    if out.format != "text":
        return
    for axis, centre, p in zip(result.axes, result.centre, profiles):
        out.line()
        for text, style in profile_lines(p, centre, axis, blocks=out.color):
            out.line(text, style)


def _num(value: float) -> str:
    return f"{value:g}"


def profile_lines(p: Sequence[float], centre: float, axis: AxisStats,
                  blocks: bool = False) -> list[tuple[str, str | None]]:
    """The chart of one axis as (line, rich style) pairs: a title, HEIGHT rows of bars, the
    marker row (| centre, [ ] 68%, ( ) 95%) and the first and last pixel shown."""
    n = len(p)
    lo = max(0, round(centre - (axis.rf - 1) / 2))
    hi = min(n - 1, round(centre + (axis.rf - 1) / 2))  # the theoretical field, inside the input
    lo, hi = min(lo, hi), max(lo, hi)
    per = ceil((hi - lo + 1) / WIDTH)
    columns = [sum(p[i] for i in range(start, min(start + per, hi + 1)))
               for start in range(lo, hi + 1, per)]
    top = max(columns) or 1.0
    title = (f"axis {axis.axis}: input pixels {lo}..{hi}"
             + (f", {per} per column" if per > 1 else "") + f"; centre {_num(centre)}")
    lines: list[tuple[str, str | None]] = [(title, "bold" if blocks else None)]
    heights = [value / top * HEIGHT for value in columns]
    for row in range(HEIGHT - 1, -1, -1):
        cells = []
        for h in heights:
            fill = h - row
            if blocks:
                cells.append(_EIGHTHS[max(0, min(8, round(fill * 8)))])
            else:
                cells.append("#" if fill >= 0.5 else " ")
        lines.append(("".join(cells).rstrip() or "", "cyan" if blocks else None))
    marks = [" "] * len(columns)

    def mark(position: float, char: str) -> None:
        column = floor((position - lo) / per)
        if 0 <= column < len(columns):
            marks[column] = char

    mark(centre - axis.r95, "(")
    mark(centre + axis.r95, ")")
    mark(centre - axis.r68, "[")
    mark(centre + axis.r68, "]")
    mark(centre, "|")
    lines.append(("".join(marks).rstrip(), None))
    ends = f"{lo}".ljust(len(columns) - len(str(hi))) + f"{hi}"
    lines.append((ends, "dim" if blocks else None))
    return lines
