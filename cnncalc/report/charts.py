"""The report's charts as inline SVG written here: one mark per layer (or per step), each with a
tooltip (`<title>`) naming the layer and its value.

Generating SVG by hand keeps the page one small file with no script library and no request
(see the README's "See the network"): a chart here is a few axes and some hundreds of
rectangles or circles, which a plotting library would only wrap.
"""
from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from cnncalc.report.svg import esc
from cnncalc.report.text import short

W, H = 920.0, 230.0
LEFT, RIGHT, TOP, BOTTOM = 64.0, 16.0, 26.0, 30.0
COLORS = ("#4c72b0", "#dd8452", "#55a868", "#c44e52")


@dataclass
class Series:
    key: str  # data-series, what the tests count marks of
    label: str
    names: list[str]  # one per mark
    values: Sequence[float | None]  # None: off the scale (a global receptive field), drawn at the top
    color: str = COLORS[0]


def _frame(chart: str, title: str, body: list[str], legend: Sequence[tuple[str, str]]) -> str:
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" data-chart="{chart}" '
           f'viewBox="0 0 {W:.0f} {H:.0f}" role="img" aria-label="{esc(title)}">',
           f'<text class="ct" x="{LEFT}" y="16">{esc(title)}</text>']
    x = W - RIGHT  # the legend sits bottom right, beside the x axis's label
    for label, color in reversed(legend):
        x -= 9 + 7 * len(label)
        out.append(f'<rect x="{x:.0f}" y="{H - 15:.0f}" width="10" height="10" fill="{color}"/>'
                   f'<text x="{x + 14:.0f}" y="{H - 6:.0f}" class="lg">{esc(label)}</text>')
        x -= 14
    out += body
    out.append("</svg>")
    return "\n".join(out)


def _axes(ticks: list[tuple[float, str]], n: int, xlabel: str) -> list[str]:
    plot_bottom = H - BOTTOM
    out = [f'<line class="ax" x1="{LEFT}" y1="{TOP}" x2="{LEFT}" y2="{plot_bottom}"/>',
           f'<line class="ax" x1="{LEFT}" y1="{plot_bottom}" x2="{W - RIGHT}" y2="{plot_bottom}"/>',
           f'<text class="lg" x="{(LEFT + W - RIGHT) / 2:.0f}" y="{H - 6}" text-anchor="middle">'
           f"{esc(xlabel)} 1 … {n}</text>"]
    for y, label in ticks:
        out.append(f'<line class="grid" x1="{LEFT}" y1="{y:.1f}" x2="{W - RIGHT}" y2="{y:.1f}"/>'
                   f'<text class="lg" x="{LEFT - 4}" y="{y + 3:.1f}" text-anchor="end">{esc(label)}</text>')
    return out


def _linear(top: float, unit: tuple[float, str] | None = None
            ) -> tuple[Callable[[float], float], list[tuple[float, str]]]:
    """A linear scale from 0 to `top` and round ticks; `unit` (size, name), e.g. (2**20,
    'MiB'), puts the ticks at round numbers of that unit."""

    size, name = unit or (1.0, "")
    top = top or size
    height = H - BOTTOM - TOP

    def scale(v: float) -> float:
        return H - BOTTOM - height * v / top
    in_units = top / size
    step = 10 ** math.floor(math.log10(in_units))
    step = next(s * step for s in (0.2, 0.5, 1, 2, 5) if in_units / (s * step) <= 5)
    ticks = [(scale(k * step * size), f"{k * step:g} {name}" if unit else short(k * step))
             for k in range(int(in_units / step) + 1)]
    return scale, ticks


def bar_chart(chart: str, title: str, series: Series, fmt: Callable[[float], str],
              xlabel: str = "layer", peak: int | None = None,
              unit: tuple[float, str] | None = None,
              phases: tuple[int, str, str] | None = None) -> str:
    """One bar per value; `peak` (an index) gets a marker and a label; `phases` (index, name
    before, name after) draws where one phase (forward) gives way to the next (backward)."""
    values = [v or 0.0 for v in series.values]
    scale, ticks = _linear(max(values, default=0.0), unit)
    n = len(values)
    slot = (W - LEFT - RIGHT) / max(n, 1)
    body = _axes(ticks, n, xlabel)
    if phases is not None:
        x = LEFT + phases[0] * slot
        body.append(f'<g class="phase"><line x1="{x:.1f}" y1="{TOP}" x2="{x:.1f}" y2="{H - BOTTOM}"/>'
                    f'<text x="{x - 6:.1f}" y="{H - BOTTOM + 12}" text-anchor="end">{esc(phases[1])}'
                    f'</text><text x="{x + 6:.1f}" y="{H - BOTTOM + 12}">{esc(phases[2])}</text></g>')
    body.append(f'<g data-series="{series.key}" fill="{series.color}">')
    base = scale(0)
    for i, (name, value) in enumerate(zip(series.names, values)):
        y = scale(value)
        later = ' fill="#8172b3"' if phases is not None and i >= phases[0] else ""
        body.append(f'<rect class="mark"{later} x="{LEFT + i * slot:.2f}" y="{y:.2f}" '
                    f'width="{max(slot * 0.8, 0.6):.2f}" height="{base - y:.2f}" data-i="{i}" '
                    f'data-name="{esc(name)}"><title>{i + 1}. {esc(name)}: {esc(fmt(value))}'
                    "</title></rect>")
    body.append("</g>")
    if peak is not None and n:
        x, y = LEFT + (peak + 0.4) * slot, scale(values[peak])
        anchor = "end" if peak > n / 2 else "start"
        body.append(f'<g class="peak"><circle cx="{x:.1f}" cy="{y:.1f}" r="4"/>'
                    f'<text x="{x + (-6 if anchor == "end" else 6):.1f}" y="{max(y, TOP + 8):.1f}" '
                    f'text-anchor="{anchor}">peak {esc(fmt(values[peak]))} at '
                    f"{esc(series.names[peak])}</text></g>")
    legend = [(series.label, series.color)] if phases is None else [
        (f"{series.label}, {phases[1]}", series.color), (phases[2], "#8172b3")]
    return _frame(chart, title, body, legend)


def log_points_chart(chart: str, title: str, series: list[Series], line: tuple[float, str] | None,
                     xlabel: str = "layer (depth)") -> str:
    """Points on a log2 axis, one per value and series, joined by a line; None values sit on
    the top edge as hollow marks; `line` is a horizontal reference (the input size)."""
    finite = [v for s in series for v in s.values if v] + ([line[0]] if line else [])
    top_exp = math.ceil(math.log2(max(finite, default=2.0) * 1.05))
    height = H - BOTTOM - TOP - 10

    def scale(v: float) -> float:
        return H - BOTTOM - height * math.log2(max(v, 1.0)) / max(top_exp, 1)
    ticks = [(scale(2.0 ** e), f"{2 ** e:,}") for e in range(0, top_exp + 1, max(1, top_exp // 6))]
    n = max((len(s.values) for s in series), default=0)
    slot = (W - LEFT - RIGHT) / max(n, 1)
    body = _axes(ticks, n, xlabel)
    if line:
        y = scale(line[0])
        body.append(f'<g class="ref"><line x1="{LEFT}" y1="{y:.1f}" x2="{W - RIGHT}" y2="{y:.1f}"/>'
                    f'<text x="{W - RIGHT - 4}" y="{y - 4:.1f}" text-anchor="end">{esc(line[1])}'
                    "</text></g>")
    for s in series:
        xs = [LEFT + (i + 0.5) * slot for i in range(len(s.values))]
        off_scale = TOP + 8 * series.index(s)  # each series' global marks on their own row
        ys = [scale(v) if v else off_scale for v in s.values]
        path = " ".join(f"{x:.1f},{y:.1f}" for x, y, v in zip(xs, ys, s.values) if v)
        body.append(f'<g data-series="{s.key}" fill="{s.color}" stroke="{s.color}">'
                    f'<polyline fill="none" stroke-width="1.2" points="{path}"/>')
        for i, (x, y, v) in enumerate(zip(xs, ys, s.values)):
            hollow = ' fill="#fff"' if not v else ""
            shown = f"{v:,.6g}" if v else "global"
            body.append(f'<circle class="mark" cx="{x:.1f}" cy="{y:.1f}" r="{min(3.0, slot / 2 + 0.8):.1f}"'
                        f'{hollow} data-i="{i}"><title>{i + 1}. {esc(s.names[i])}: {s.label} '
                        f"{shown}</title></circle>")
        body.append("</g>")
    return _frame(chart, title, body, [(s.label, s.color) for s in series])
