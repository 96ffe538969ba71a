"""The dependency walk on spans (analysis/rfunit.py) against the per-position walk it replaced
(sets of positions, every tap enumerated), on random networks full of gaps: strided 1x1
convs, dilation, transposed convs, upsampling, crops and padding, residual merges."""
from __future__ import annotations

import random

import pytest
from helpers import graph

from cnncalc.analysis import rfunit
from cnncalc.graph import Graph


def reference(g: Graph, name: str, units: list[set[int]]) -> tuple[list[int], ...] | None:
    """Per-position walk: every wanted unit, every tap, kept if inside the tensor."""
    target = g.layer(name)
    needed: dict[str, list[set[int]]] = {target.name: units}
    for layer in reversed(g.layers[: target.index + 1]):
        sets = needed.pop(layer.name, None)
        if sets is None:
            continue
        for index, maps in layer.op.rf(layer):
            if isinstance(maps, str):
                continue
            source = layer.inputs[index]
            sizes = g.shape_of(source)[1:]
            found = [{i for o in wanted for i in m.taps(o) if 0 <= i < n}
                     for m, wanted, n in zip(maps, sets, sizes)]
            if not all(found):
                continue
            if source in needed:
                for have, more in zip(needed[source], found):
                    have |= more
            else:
                needed[source] = found
    result = needed.get("input")
    return None if result is None else tuple(sorted(s) for s in result)


LAYERS = [
    "conv: {filters: 2, kernel: 1, stride: 2}",
    "conv: {filters: 2, kernel: 1, stride: 3}",
    "conv: {filters: 2, kernel: 2, stride: 3, padding: 1}",
    "conv: {filters: 2, kernel: 3, dilation: 2, padding: 2}",
    "conv: {filters: 2, kernel: 3, dilation: 3, stride: 2}",
    "conv: {filters: 2, kernel: 3, padding: 1}",
    "maxpool: {kernel: 2, stride: 2}",
    "deconv: {filters: 2, kernel: 3, stride: 2}",
    "deconv: {filters: 2, kernel: 2, stride: 3}",
    "upsample: {scale: 2}",
    "pad: {padding: 2}",
    "crop: {crop: 1}",
]


def random_spec(seed: int) -> str:
    rng = random.Random(seed)
    lines = [f"input: [2, {rng.randint(9, 40)}]", "layers:"]
    for i in range(rng.randint(1, 6)):
        lines.append(f"  - {rng.choice(LAYERS)[:-1]}, name: l{i}}}")
        if rng.random() < 0.3:  # a residual-like merge with a sparse shortcut
            lines.append(f"  - conv: {{filters: 2, kernel: 1, stride: 1, name: s{i}}}")
            lines.append(f"  - add: {{in: [s{i}, l{i}], name: m{i}}}")
    return "\n".join(lines) + "\n"


@pytest.mark.parametrize("seed", range(120))
def test_spans_match_the_per_position_walk(seed: int) -> None:
    try:
        g = graph(random_spec(seed))
    except Exception:  # a random stack may shrink an axis to nothing
        pytest.skip("shape error")
    rng = random.Random(seed)
    for layer in g.layers:
        (n,) = layer.out_shape[1:]
        everything = rfunit.support(g, layer.name, [[(0, n - 1)]])
        expected = reference(g, layer.name, [set(range(n))])
        assert (None if everything is None else tuple(map(rfunit.positions, everything))) == expected
        a = rng.randrange(n)
        b = rng.randrange(a, n)
        c = rng.randrange(n)
        some = rfunit.support(g, layer.name, [[(a, b), (c, c)]])
        expected = reference(g, layer.name, [set(range(a, b + 1)) | {c}])
        assert (None if some is None else tuple(map(rfunit.positions, some))) == expected


def test_a_huge_axis_is_a_few_spans() -> None:
    """10^12 positions, a 1x1 stride-2 shortcut beside a 3x3 main path: the work does not
    depend on the size, and the shortcut's gaps are covered by the main path."""
    g = graph("input: [3, 1000000000000]\nlayers:\n"
              "  - conv: {filters: 4, kernel: 3, stride: 2, padding: 1, name: main}\n"
              "  - conv: {filters: 4, kernel: 1, stride: 2, in: input, name: short}\n"
              "  - add: {in: [main, short], name: sum}\n"
              "  - conv: {filters: 4, kernel: 1, stride: 2, name: sparse}\n")
    (n,) = g.layer("sum").out_shape[1:]
    assert rfunit.support(g, "sum", [[(0, n - 1)]]) == ([(0, 10**12 - 1)],)
    (m,) = g.layer("sparse").out_shape[1:]
    assert rfunit.support(g, "sparse", [[(0, 0)]]) == ([(0, 1)],)
    assert rfunit.support(g, "sparse", [[(m - 1, m - 1)]]) == ([(10**12 - 5, 10**12 - 3)],)
