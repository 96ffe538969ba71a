"""`cnncalc report --erf`: the effective receptive field section of the HTML page."""
from __future__ import annotations

import re

import numpy as np
import pytest

from cnncalc.backend import weights as W
from cnncalc.backend.erf import compute_erf
from cnncalc.cli import main
from cnncalc.graph import load_graph_text

SPEC = """name: small
input: [2, 24, 20]
layers:
  - conv: {name: a, filters: 3, kernel: 3, padding: 1}
  - relu: {name: r}
  - conv: {name: b, filters: 3, kernel: 5, stride: 2}
"""


def test_erf_section_shows_the_library_numbers_and_map(tmp_path, capsys) -> None:
    spec = tmp_path / "small.yaml"
    spec.write_text(SPEC)
    out = tmp_path / "small.html"
    assert main(["report", str(spec), "-o", str(out), "--erf", "--erf-samples", "3"]) == 0
    page = out.read_text()
    section = re.search(r'<section id="erf">(.*?)</section>', page, re.S)
    assert section
    html = section.group(1)
    result = compute_erf(load_graph_text(SPEC), samples=3)  # the same seeds: the same numbers
    assert f"unit [{result.unit[0]}, {result.unit[1]}] of <code>b</code>" in html
    rows = re.findall(r'<tr><td class="l">(\d)</td><td>([^<]*)</td><td>([^<]*)</td>'
                      r"<td>([^<]*)</td><td>([^<]*)</td><td>([^<]*)</td>", html)
    assert [(int(a), float(c), float(s), float(r68), float(r95), int(rf))
            for a, c, s, r68, r95, rf in rows] == [
        (x.axis, c, round(x.std, 2), x.r68, x.r95, x.rf) for x, c in zip(result.axes, result.centre)]
    # One shaded cell per pixel of the theoretical field (7x7, inside the input) that matters.
    assert html.count('fill="#1f4e8c"') == int((result.map > 0).sum()) == 49
    assert html.count('class="erf-window"') == 2
    assert "<section id=\"erf\">" not in (tmp_path / "small.html").read_text().split("</main>")[1]


def test_erf_options_are_checked(tmp_path, capsys) -> None:
    spec = tmp_path / "small.yaml"
    spec.write_text(SPEC)
    out = str(tmp_path / "x.html")
    assert main(["report", str(spec), "-o", out, "--erf-layer", "b"]) == 2
    assert "--erf-layer needs --erf" in capsys.readouterr().err
    assert main(["report", str(spec), "-o", out, "--erf", "--erf-layer", "bb"]) == 2
    assert "no layer 'bb' (did you mean 'b'?)" in capsys.readouterr().err
    assert main(["report", str(spec), "-o", out]) == 0
    assert 'id="erf"' not in (tmp_path / "x.html").read_text()


def test_a_1d_map_is_one_column_with_its_windows() -> None:
    from cnncalc.backend.erf import plane
    from cnncalc.report.erfsvg import erf_section

    graph = load_graph_text("input: [1, 30]\nlayers:\n  - conv: {filters: 1, kernel: 3}\n"
                            "  - conv: {filters: 1, kernel: 3}\n")
    ones = {key: np.ones(shape) for key, (_, shape) in W.expected(graph).items()}
    result = compute_erf(graph, weights=ones, samples=1, linear=True)  # profile 1 2 3 2 1
    html = erf_section(result, plane(result))
    assert html.count('fill="#1f4e8c"') == 5  # the 5-pixel field, one column
    assert html.count('class="erf-window"') == 2
    heights = [float(h) for h in re.findall(r'class="erf-window"[^>]*height="([\d.]+)"', html)]
    cell = 320 / 5
    assert heights == pytest.approx([5 * cell, 3 * cell])  # r95 = 2, r68 = 1 (7/9 within 1)
