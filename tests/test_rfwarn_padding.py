"""The rf-padding count in closed form (analysis/rfwarn.py) against a unit-by-unit count, on
random stacks of padded, strided, dilated and transposed windows and upsampling."""
from __future__ import annotations

import random

import pytest
from helpers import graph

from cnncalc.analysis.rf import analyze_rf
from cnncalc.analysis.rfgeom import unit_region
from cnncalc.analysis.rfwarn import _bad_units, _mostly_outside

LAYERS = [
    "conv: {filters: 2, kernel: 3, padding: 4}",
    "conv: {filters: 2, kernel: 3, stride: 2, padding: 3}",
    "conv: {filters: 2, kernel: 5, dilation: 2, padding: 6}",
    "maxpool: {kernel: 2, stride: 2}",
    "pad: {padding: 7}",
    "deconv: {filters: 2, kernel: 3, stride: 2, padding: 1}",
    "upsample: {scale: 3}",
    "softmax: {axis: 1}",
]


@pytest.mark.parametrize("seed", range(60))
def test_closed_form_counts_every_unit(seed: int) -> None:
    rng = random.Random(seed)
    big = rng.randint(4, 30)
    text = f"input: [2, {big}]\nlayers:\n" + "".join(
        f"  - {rng.choice(LAYERS)}\n" for _ in range(rng.randint(1, 5)))
    result = analyze_rf(graph(text))
    checked = 0
    for rf in result.layers.values():
        assert rf.state.axes is not None and rf.local is not None
        (state,), (axis,), (n,) = rf.state.axes, rf.local, rf.shape[1:]
        if len(state) != 1 or axis.size > big:
            continue
        by_unit = sum(1 for j in range(n) if (r := unit_region(state, j)) is not None
                      and _mostly_outside(r, big))
        assert _bad_units(state[0], n, big) == by_unit, (text, rf.name)
        checked += 1
    if not checked:
        pytest.skip("no single-stride layer that fits the input")
