"""`cnncalc report` without a browser: the page is self-contained, small, and shows the
library's own figures (explanations, checks, verify)."""
from __future__ import annotations

import json
import re
import textwrap

from helpers import ARCH

from cnncalc.cli import main
from cnncalc.graph import load_graph, load_graph_text
from cnncalc.report.explain import explanation

DEEP = textwrap.dedent("""
    cnncalc: 1
    name: deep
    input: [3, 64, 64]
    blocks:
      unit:
        args: {filters: required}
        layers:
          - conv: {filters: $filters, kernel: 3, padding: 1, bias: false}
          - bn
          - relu: {name: act}
          - add: {in: [act, $in]}
    layers:
      - conv: {filters: 16, kernel: 3, padding: 1, name: stem}
      - unit: {filters: 16, repeat: 75, name: body}
      - gap
      - flatten
      - dense: {units: 10}
    checks:
      params: {max: 1000}
""")


def explain_data(page: str) -> dict[str, str]:
    found = re.search(r'<script type="application/json" id="explain-data">(.*?)</script>', page, re.S)
    assert found
    return dict(json.loads(found.group(1)))


def test_a_300_layer_report_is_small_self_contained_and_fails_its_check(tmp_path, capsys) -> None:
    spec = tmp_path / "deep.yaml"
    spec.write_text(DEEP)
    out = tmp_path / "deep.html"
    assert main(["report", str(spec), "-o", str(out), "--training"]) == 1  # params: max 1000
    page = out.read_text()
    assert len(load_graph_text(DEEP).layers) >= 300
    assert len(page.encode()) < 2 * 2**20
    assert "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none';" in page
    # Nothing to fetch: no URL but the SVG namespace, no src, every href a data: URL.
    assert set(re.findall(r"\w+://[^\s\"'<>]*", page)) == {"http://www.w3.org/2000/svg"}
    assert not re.search(r"\ssrc=", page)
    assert all(h.startswith(("data:", "#")) for h in re.findall(r'href="([^"]*)"', page))
    assert '<td class="l fail">FAIL</td>' in page and "params 175,818" in page


def test_explanations_are_the_explain_command_s(tmp_path) -> None:
    out = tmp_path / "r.html"
    assert main(["report", str(ARCH / "unet.yaml"), "-o", str(out)]) == 0
    g = load_graph(ARCH / "unet.yaml")
    data = explain_data(out.read_text())
    assert len(data) == len(g.layers) + 1  # and the input
    for i, layer in enumerate(g.layers):
        assert data[f"n{i}"] == "\n".join(explanation(g, layer.name))


def test_checks_and_verify_results(tmp_path, capsys) -> None:
    out = tmp_path / "r.html"
    assert main(["report", str(ARCH / "lenet5.yaml"), "-o", str(out), "--verify"]) == 0
    page = out.read_text()
    assert 'id="verify"' in page and "the NumPy forward pass agrees on shape" in page
    assert "FAIL" not in page
    assert main(["report", str(ARCH / "lenet5.yaml"), "-o", "-"]) == 0
    assert capsys.readouterr().out.startswith("<!DOCTYPE html>")


def test_report_needs_an_output_and_a_readable_spec(tmp_path, capsys) -> None:
    assert main(["report", str(ARCH / "lenet5.yaml")]) == 2
    assert "Missing option '-o'" in capsys.readouterr().err
    assert main(["report", str(tmp_path / "nope.yaml"), "-o", str(tmp_path / "x.html")]) == 2
    assert "nope.yaml:1:1: error: cannot read the file" in capsys.readouterr().err
    assert not (tmp_path / "x.html").exists()


def test_readme_shows_a_report_picture() -> None:
    from helpers import ROOT

    readme = (ROOT / "README.md").read_text()
    picture = ROOT / "docs" / "report-resnet18.png"
    assert "](docs/report-resnet18.png)" in readme
    assert picture.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and picture.stat().st_size < 300_000
    for command in ("cnncalc graph ", "cnncalc report ", "--format mermaid", "--depth 2"):
        assert command in readme


def test_device_adds_the_latency_bounds_flops_computes(tmp_path, capsys) -> None:
    spec = str(ARCH / "resnet18.yaml")
    assert main(["flops", spec, "--device", "t4", "--json"]) == 0
    figures = json.loads(capsys.readouterr().out)
    per_layer = {row["name"]: row["latency_bound_s"] for row in figures["layers"]}
    out = tmp_path / "r.html"
    assert main(["report", spec, "-o", str(out), "--device", "t4"]) == 0
    page = out.read_text()
    total = re.search(r"latency bound</span><b>([^<]*)</b><span>on ([^<]*)</span>", page)
    assert total, "no latency bound in the totals"
    from cnncalc.report.roofline import seconds

    assert total.group(1) == seconds(figures["latency_bound_s"]) and total.group(2).startswith("t4 ")
    # one "time >=" cell per table row, each the layer's bound from `flops --device`
    rows = re.findall(r'<tr data-node="[^"]*">(.*?)</tr>', page)
    values = [re.findall(r'data-v="([^"]*)"', row) for row in rows]
    assert len(rows) == len(load_graph(spec).layers)
    names = [v[0] for v in values]
    assert [float(v[-1]) for v in values] == [per_layer[name] for name in names]
    assert main(["report", spec, "-o", str(out), "--device", "nope"]) == 2
