"""`cnncalc graph`: SVG, DOT and Mermaid drawn from one model, counted against the graph itself
(layers, distinct producer -> consumer pairs) and against `summary --depth`'s rows."""
from __future__ import annotations

import re
import shutil
import subprocess
import xml.etree.ElementTree as ET

import pytest
from helpers import ARCH, graph, run_ok
from hypothesis import given, settings
from hypothesis import strategies as st

from cnncalc.analysis.cost import analyze_cost
from cnncalc.cli import main
from cnncalc.graph import load_graph
from cnncalc.report.graphmodel import build_model

SVG = "{http://www.w3.org/2000/svg}"
NETS = ["resnet18", "unet", "efficientnet_b0", "mobilenet_v2", "lenet5"]


def expected_edges(g) -> int:  # type: ignore[no-untyped-def]
    """Distinct (producer, consumer) pairs, the network input counted as a producer."""
    return sum(len(set(layer.inputs)) for layer in g.layers)


def svg_counts(document: str) -> tuple[list[ET.Element], list[ET.Element]]:
    root = ET.fromstring(document.split("\n", 1)[1])
    groups = list(root.iter(f"{SVG}g"))
    nodes = [g for g in groups if "node" in g.get("class", "").split()
             and "input" not in g.get("class", "").split()]
    edges = [g for g in groups if g.get("class") == "edge"]
    return nodes, edges


@pytest.mark.parametrize("net", NETS)
def test_svg_has_one_node_per_layer_and_one_edge_per_producer_consumer_pair(capsys, net) -> None:
    g = load_graph(ARCH / f"{net}.yaml")
    nodes, edges = svg_counts(run_ok(capsys, "graph", str(ARCH / f"{net}.yaml")))
    assert len(nodes) == len(g.layers)
    assert len(edges) == expected_edges(g)
    assert [n.get("data-name") for n in nodes] == [layer.name for layer in g.layers]


@pytest.mark.parametrize("depth", [1, 2, 3])
def test_folding_matches_summary_depth(capsys, depth) -> None:
    spec = str(ARCH / "resnet50.yaml")
    csv = run_ok(capsys, "summary", spec, "--depth", str(depth), "--format", "csv")
    names = [line.split(",")[0] for line in csv.strip().splitlines()[1:]]
    nodes, _ = svg_counts(run_ok(capsys, "graph", spec, "--depth", str(depth)))
    assert [n.get("data-name") for n in nodes] == names
    folded = [n for n in nodes if "folded" in n.get("class", "")]
    assert folded and all("×" in "".join(n.itertext()) for n in folded)


def test_svg_layout_points_every_edge_down_and_never_overlaps_nodes() -> None:
    from cnncalc.report.svg import layout_model

    for net in NETS:
        model = build_model(load_graph(ARCH / f"{net}.yaml"))
        lay = layout_model(model)
        for edge, points in zip(model.edges, lay.edges):
            a, b = lay.nodes[edge.src], lay.nodes[edge.dst]
            assert b.y >= a.y + a.height and points[0][1] < points[-1][1]
            assert all(p[1] <= q[1] for p, q in zip(points, points[1:]))
        boxes = sorted(lay.nodes.values(), key=lambda p: (p.y, p.x))
        for p in boxes:
            for q in boxes:
                if p is not q and abs(p.y - q.y) < 1:
                    assert abs(p.x - q.x) >= (p.width + q.width) / 2 - 1e-6


def test_marks_heaviest_merges_and_misalignment(capsys) -> None:
    spec = ARCH / "unet.yaml"
    g = load_graph(spec)
    nodes, _ = svg_counts(run_ok(capsys, "graph", str(spec), "--top", "3"))
    heavy = [n.get("data-name") for n in nodes if "heavy" in n.get("class", "")]
    assert sorted(heavy) == sorted(c.name for c in analyze_cost(g).top(3, key="macs"))
    merges = {n.get("data-name") for n in nodes if "merge" in n.get("class", "")}
    assert merges == {layer.name for layer in g.layers if len(layer.inputs) > 1}
    from cnncalc.analysis.rf import analyze_rf

    misaligned = {w.loc for w in analyze_rf(g).warnings if w.code == "rf-misaligned"}
    warned = {n.get("data-name") for n in nodes if "warn" in n.get("class", "")}
    assert misaligned and warned == {layer.name for layer in g.layers if layer.loc in misaligned}


def test_mermaid_has_a_node_and_an_edge_line_each(capsys) -> None:
    for net in ("resnet18", "unet"):
        g = load_graph(ARCH / f"{net}.yaml")
        text = run_ok(capsys, "graph", str(ARCH / f"{net}.yaml"), "--format", "mermaid")
        assert text.startswith("flowchart TD\n")
        node_lines = re.findall(r"^  (n\d+|input)(\[|\(\()", text, re.M)
        assert len(node_lines) == len(g.layers) + 1
        assert len(re.findall(r"^  \S+ -->\|", text, re.M)) == expected_edges(g)
        merges = [m for m in node_lines if m[1] == "(("]
        assert len(merges) == sum(1 for layer in g.layers if len(layer.inputs) > 1)


def test_text_from_the_spec_is_escaped_in_every_format() -> None:
    from cnncalc.report.dot import quote
    from cnncalc.report.mermaid import label
    from cnncalc.report.svg import render_svg

    assert label('a"b<c>|d&') == "a#quot;b#lt;c#gt;#124;d#amp;"
    assert quote('a"b\\c\nd') == '"a\\"b\\\\c\\nd"'
    g = graph("""
        cnncalc: 1
        name: 'net "<b>x</b>"'
        input: [1, 8, 8]
        layers:
          - conv: {filters: 2, kernel: 3}
    """)
    svg = render_svg(build_model(g))
    assert "<b>" not in svg and "&lt;b&gt;" in svg
    ET.fromstring(svg.split("\n", 1)[1])  # well-formed


@pytest.mark.skipif(shutil.which("dot") is None, reason="Graphviz is not installed")
@pytest.mark.parametrize("depth", [None, 2])
def test_dot_output_is_valid_graphviz(capsys, depth) -> None:
    spec = ARCH / "resnet18.yaml"
    args = ["graph", str(spec), "--format", "dot"] + (["--depth", str(depth)] if depth else [])
    text = run_ok(capsys, *args)
    drawn = subprocess.run(["dot", "-Tsvg"], input=text, capture_output=True, text=True, check=True)
    assert drawn.stderr == ""
    model = build_model(load_graph(spec), depth)
    assert drawn.stdout.count('class="node"') == len(model.nodes)
    assert drawn.stdout.count('class="edge"') == len(model.edges)


def test_output_file_and_errors(tmp_path, capsys) -> None:
    out = tmp_path / "g.svg"
    assert main(["graph", str(ARCH / "lenet5.yaml"), "-o", str(out)]) == 0
    assert capsys.readouterr().out == "" and out.read_text().startswith("<?xml")
    assert main(["graph", str(tmp_path / "missing.yaml")]) == 2
    assert "missing.yaml:1:1: error: cannot read the file: no such file" in capsys.readouterr().err
    assert main(["graph", str(ARCH / "lenet5.yaml"), "-o", str(tmp_path)]) == 2
    assert f"{tmp_path}:1:1: error: cannot write the file" in capsys.readouterr().err
    assert main(["graph", str(ARCH / "lenet5.yaml"), "--format", "png"]) == 2


def test_diff_markdown_draws_what_changed(tmp_path, capsys) -> None:
    base = (ARCH / "resnet18.yaml").read_text().split("\nchecks:")[0]
    old, new = tmp_path / "old.yaml", tmp_path / "new.yaml"
    old.write_text(base)
    new.write_text(base.replace("filters: 128, blocks: 2", "filters: 96, blocks: 2")
                   .replace("  - gap: {name: avgpool}\n", ""))
    assert main(["diff", str(old), str(new), "--format", "markdown", "--depth", "1"]) == 0
    text = capsys.readouterr().out
    block = text.split("```mermaid\n")[1].split("```")[0]
    assert re.search(r'"layer2 ×16<br/>.*:::changed', block)
    assert re.search(r'"avgpool<br/>.*:::removed', block)
    assert ":::added" not in block and "-->" in block
    assert main(["diff", str(old), str(old), "--format", "markdown"]) == 0
    assert "```mermaid" not in capsys.readouterr().out


@given(st.integers(1, 25).flatmap(lambda n: st.tuples(
    st.just(n), st.lists(st.tuples(st.integers(0, n - 1), st.integers(0, n - 1)), max_size=3 * n))))
@settings(max_examples=60, deadline=None)
def test_layout_of_any_dag_points_edges_down_without_overlaps(case) -> None:  # type: ignore[no-untyped-def]
    from cnncalc.report.layout import layered_layout

    n, pairs = case
    ids = [f"v{i}" for i in range(n)]
    edges = sorted({(f"v{min(a, b)}", f"v{max(a, b)}") for a, b in pairs if a != b})
    lay = layered_layout(ids, edges, {v: (50.0 + 10 * (i % 3), 30.0) for i, v in enumerate(ids)})
    assert set(lay.nodes) == set(ids) and len(lay.edges) == len(edges)
    for (src, dst), points in zip(edges, lay.edges):
        assert lay.nodes[dst].y > lay.nodes[src].y
        assert all(p[1] <= q[1] for p, q in zip(points, points[1:]))
    placed = list(lay.nodes.values())
    for i, p in enumerate(placed):
        assert p.x - p.width / 2 >= -1e-6 and p.x + p.width / 2 <= lay.width + 1e-6
        for q in placed[i + 1:]:
            if abs(p.y - q.y) < 1:
                assert abs(p.x - q.x) >= (p.width + q.width) / 2 - 1e-6
