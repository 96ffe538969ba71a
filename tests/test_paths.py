"""`cnncalc paths`: residual path ensembles, against brute-force enumeration and closed forms."""
from __future__ import annotations

import json
from math import comb

from helpers import ARCH, graph, run_ok
from hypothesis import given, settings
from hypothesis import strategies as st

from cnncalc import load_graph
from cnncalc.analysis.paths import path_stats
from cnncalc.graph import Graph

WEIGHTED = {"conv", "deconv", "dense"}


# -- brute force: enumerate every path, dominators by definition -----------------------------

def _preds(g: Graph) -> dict[str, list[str]]:
    return {layer.name: list(dict.fromkeys(layer.inputs)) for layer in g.layers}


def _all_paths(preds: dict[str, list[str]], start: str, end: str) -> list[list[str]]:
    if end == start:
        return [[start]]
    return [p + [end] for q in preds.get(end, []) for p in _all_paths(preds, start, q)]


def brute_force(g: Graph) -> tuple[dict[int, int], dict[int, int]]:
    preds = _preds(g)
    weighted = {layer.name for layer in g.layers if layer.op_name in WEIGHTED}
    to_input = {name: _all_paths(preds, "input", name) for name in preds}
    branch: set[tuple[str, str]] = set()
    for m, ps in preds.items():
        ps = [p for p in ps if p == "input" or to_input[p]]
        if len(ps) < 2:
            continue
        paths = to_input[m]
        # strict dominators: on every path; the immediate one is the last on any path
        doms = [d for d in paths[0][:-1] if all(d in p for p in paths)]
        fork = doms[-1]
        weight = {u: min(sum(n in weighted for n in path[1:])
                         for path in _all_paths(preds, fork, u)) for u in ps}
        branch |= {(u, m) for u in ps if weight[u] > min(weight.values())}
    lengths: dict[int, int] = {}
    blocks: dict[int, int] = {}
    for out in g.outputs:
        for path in to_input.get(out, []) if out != "input" else [["input"]]:
            w = sum(n in weighted for n in path)
            b = sum((u, v) in branch for u, v in zip(path, path[1:]))
            lengths[w] = lengths.get(w, 0) + 1
            blocks[b] = blocks.get(b, 0) + 1
    return dict(sorted(lengths.items())), dict(sorted(blocks.items()))


@st.composite
def random_dags(draw: st.DrawFn) -> str:
    n = draw(st.integers(1, 9))
    lines = ["cnncalc: 1", "name: dag", "input: [4, 3, 3]", "layers:"]
    for i in range(n):
        earlier = ["input"] + [f"n{j}" for j in range(i)]
        kind = draw(st.sampled_from(["conv", "relu", "add", "concat"] if i else ["conv", "relu"]))
        if kind in ("add", "concat") and len(earlier) >= 2:
            ins = draw(st.lists(st.sampled_from(earlier), min_size=2, max_size=3, unique=True))
            if kind == "concat":  # keep 4 channels: concat then a 1x1 conv back to 4
                lines.append(f"  - concat: {{in: [{', '.join(ins)}], name: c{i}}}")
                lines.append(f"  - conv: {{filters: 4, kernel: 1, name: n{i}}}")
                continue
            lines.append(f"  - add: {{in: [{', '.join(ins)}], name: n{i}}}")
        else:
            src = draw(st.sampled_from(earlier))
            extra = "filters: 4, kernel: 1, " if kind == "conv" else ""
            lines.append(f"  - {'conv' if kind == 'conv' else 'relu'}: {{{extra}in: {src}, name: n{i}}}")
    return "\n".join(lines) + "\n"


@settings(max_examples=150, deadline=None)
@given(random_dags())
def test_counts_match_brute_force_enumeration(text: str) -> None:
    g = graph(text)
    stats = path_stats(g)
    lengths, blocks = brute_force(g)
    assert stats.lengths == lengths
    assert stats.block_lengths == blocks
    assert stats.paths == sum(lengths.values())


def test_brute_force_oracle_can_tell_skip_from_branch() -> None:
    g = graph("""
        cnncalc: 1
        input: [4, 3, 3]
        layers:
          - conv: {filters: 4, kernel: 1, name: a}
          - conv: {filters: 4, kernel: 1, name: b}
          - conv: {filters: 4, kernel: 1, in: input, name: p}
          - add: {in: [b, p], name: s}
    """)
    stats = path_stats(g)
    assert brute_force(g) == ({1: 1, 2: 1}, {0: 1, 1: 1}) == (stats.lengths, stats.block_lengths)


# -- the lecture and the zoo ------------------------------------------------------------------

def test_lecture_example_11_has_eight_binomial_paths(capsys) -> None:  # type: ignore[no-untyped-def]
    doc = json.loads(run_ok(capsys, "paths", str(ARCH / "lecture/11_residual_blocks.yaml"), "--json"))
    assert doc["paths"] == 8
    assert doc["lengths"] == {"0": 1, "2": 3, "4": 3, "6": 1}
    assert doc["block_lengths"] == {"0": 1, "1": 3, "2": 3, "3": 1}
    assert doc["mean_length"] == 3.0 and doc["depth"] == 6
    assert doc["shorter_than_half_depth"] == 0.5  # lengths 0 and 2 of 8 paths: 4 of 8


def test_resnet50_has_2_to_the_16_paths_binomial_in_blocks() -> None:
    stats = path_stats(load_graph(ARCH / "resnet50.yaml"))
    assert stats.paths == 2**16
    assert stats.block_lengths == {k: comb(16, k) for k in range(17)}
    assert stats.depth == 50  # ResNet-50's 49 convs + fc on the longest path (no projection)
    assert stats.lengths[6] == 1  # stem, 4 projection convs, fc


def test_densenet121_has_2_to_the_58_paths() -> None:
    """Every dense layer is taken (conv1, conv2) or skipped by its concat; the stem conv, three
    transition convs and the classifier are on every path."""
    stats = path_stats(load_graph(ARCH / "densenet121.yaml"))
    assert stats.paths == 2**58
    assert stats.lengths == {5 + 2 * k: comb(58, k) for k in range(59)}
    assert stats.block_lengths == {k: comb(58, k) for k in range(59)}
    assert stats.depth == 121


def test_chain_has_one_path_and_text_output(capsys) -> None:  # type: ignore[no-untyped-def]
    out = run_ok(capsys, "paths", str(ARCH / "vgg16.yaml"))
    assert "vgg16: 1 input-to-output paths" in out
    assert "depth (longest path): 16 weighted layers, 0 residual blocks" in out


def test_multiple_outputs_sum_their_paths() -> None:
    g = graph("""
        cnncalc: 1
        input: [4, 3, 3]
        layers:
          - conv: {filters: 4, kernel: 1, name: a}
          - add: {in: [a, input], name: s}
          - conv: {filters: 4, kernel: 1, in: a, name: t}
        outputs: [s, t]
    """)
    stats = path_stats(g)
    assert stats.per_output == {"s": 2, "t": 1}
    assert stats.paths == 3 and stats.lengths == {0: 1, 1: 1, 2: 1}
