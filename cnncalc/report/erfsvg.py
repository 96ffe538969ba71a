"""The effective receptive field as an inline SVG heatmap, for the HTML report (`--erf`).

The 2-D map (a 1-D map is one row; a 3-D map is summed over its last axes) is drawn over the
unit's theoretical receptive field, clipped to the input, binned to at most MAX_CELLS cells a
side; each cell's shade is its share of the largest cell. The centre is marked, and the 68% and
95% windows (r68, r95 per axis, see backend/erfstats.py) are drawn as rectangles. The per-axis
numbers follow in a table.
"""
from __future__ import annotations

from collections.abc import Sequence
from math import ceil
from typing import TYPE_CHECKING

from cnncalc.report.svg import esc

if TYPE_CHECKING:
    from cnncalc.backend.erf import ErfResult

MAX_CELLS = 64
SIDE = 320  # pixels of the longer side of the drawing


def _window(centre: float, rf: int, n: int) -> tuple[int, int]:
    """The theoretical field along one axis, clipped to the input's 0..n-1."""
    lo = max(0, round(centre - (rf - 1) / 2))
    hi = min(n - 1, round(centre + (rf - 1) / 2))
    return min(lo, hi), max(lo, hi)


def _binned(grid: Sequence[Sequence[float]], rows: tuple[int, int], cols: tuple[int, int],
            per: tuple[int, int]) -> list[list[float]]:
    out = []
    for r0 in range(rows[0], rows[1] + 1, per[0]):
        row = []
        for c0 in range(cols[0], cols[1] + 1, per[1]):
            row.append(sum(grid[r][c] for r in range(r0, min(r0 + per[0], rows[1] + 1))
                           for c in range(c0, min(c0 + per[1], cols[1] + 1))))
        out.append(row)
    return out


def erf_section(result: ErfResult, grid: Sequence[Sequence[float]]) -> str:
    """The report's ERF section; `grid` is the map as a 2-D list (rows: axis 1)."""
    axes = result.axes
    first = axes[0]
    second = axes[1] if len(axes) > 1 else None
    rows = _window(result.centre[0], first.rf, len(grid))
    cols = (_window(result.centre[1], second.rf, len(grid[0])) if second is not None
            else (0, len(grid[0]) - 1))
    per = (ceil((rows[1] - rows[0] + 1) / MAX_CELLS), ceil((cols[1] - cols[0] + 1) / MAX_CELLS))
    cells = _binned(grid, rows, cols, per)
    top = max(max(row) for row in cells) or 1.0
    cell = SIDE / max(len(cells), len(cells[0]))
    width, height = cell * len(cells[0]), cell * len(cells)
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" class="erf-map" width="{width:.0f}" '
             f'height="{height:.0f}" viewBox="0 0 {width:.1f} {height:.1f}" role="img">'
             f"<title>effective receptive field of {esc(result.layer)}</title>"]
    for i, row in enumerate(cells):
        for j, value in enumerate(row):
            if value > 0:
                shade = value / top
                parts.append(f'<rect x="{j * cell:.1f}" y="{i * cell:.1f}" width="{cell:.1f}" '
                             f'height="{cell:.1f}" fill="#1f4e8c" fill-opacity="{shade:.3f}">'
                             f"<title>{value:.3g}</title></rect>")

    def box(r: tuple[float, float], color: str) -> str:
        y0 = (result.centre[0] - r[0] - rows[0]) / per[0] * cell
        y1 = (result.centre[0] + r[0] + 1 - rows[0]) / per[0] * cell
        c1 = result.centre[1] if second is not None else 0.0
        x0 = (c1 - r[1] - cols[0]) / per[1] * cell
        x1 = (c1 + r[1] + 1 - cols[0]) / per[1] * cell
        return (f'<rect class="erf-window" x="{x0:.1f}" y="{y0:.1f}" width="{x1 - x0:.1f}" '
                f'height="{y1 - y0:.1f}" fill="none" stroke="{color}" stroke-width="1.5"/>')

    # A 1-D map is one column: its windows span that column.
    parts.append(box((first.r95, second.r95 if second else 0.0), "#e67e22"))
    parts.append(box((first.r68, second.r68 if second else 0.0), "#c0392b"))
    parts.append("</svg>")
    where = ", ".join(map(str, result.unit))
    draws = "the given weights" if result.seed is None else f"random weights, seed {result.seed}"
    rows_html = "".join(
        f'<tr><td class="l">{a.axis}</td><td>{c:g}</td><td>{a.std:.2f}</td><td>{a.r68:g}</td>'
        f"<td>{a.r95:g}</td><td>{a.rf}</td><td>{a.ratio:.3f}</td></tr>"
        for a, c in zip(axes, result.centre))
    return ('<section id="erf"><h2>Effective receptive field</h2>'
            f'<p class="muted">Gradient magnitude of unit [{esc(where)}] of '
            f"<code>{esc(result.layer)}</code> (the sum of its channels) with respect to the "
            f"input, {result.samples} random input(s), {esc(draws)}"
            f"{', activations held linear' if result.linear else ''}; drawn over its "
            f"theoretical field (input rows {rows[0]}..{rows[1]}, columns {cols[0]}..{cols[1]}"
            f"{f', {per[0]}x{per[1]} pixels a cell' if per != (1, 1) else ''}). Boxes: the "
            "windows holding 68% (red) and 95% (orange) of it along each axis.</p>"
            + "".join(parts)
            + '<table class="results"><thead><tr><th class="l">axis</th><th>centre</th>'
            "<th>std</th><th>r68</th><th>r95</th><th>theoretical RF</th><th>95% span / RF</th>"
            f"</tr></thead><tbody>{rows_html}</tbody></table></section>")
