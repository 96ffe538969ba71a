"""Receptive fields against an independent oracle (tests/rf_oracle.py): the dependency of every
output unit on every input position, measured with impulses through a linearised copy of the
network, with NumPy always and with PyTorch when it is importable."""
from __future__ import annotations

import pytest
from helpers import graph
from rf_oracle import NumpyOps, TorchOps, check_against_oracle, path_extents

from cnncalc.analysis.rf import analyze_rf

# Each spec exercises one rule; inputs are small (one impulse per input position) but large
# enough that central units never touch a border, where the numbers must match exactly.
CASES = {
    "dilation": """
        input: [1, 48]
        layers:
          - conv: {filters: 2, kernel: 3, dilation: 2, padding: 2}
          - conv: {filters: 2, kernel: 3, dilation: 3}
          - maxpool: {kernel: 2, stride: 2, dilation: 2}
          - conv: {filters: 1, kernel: 5, dilation: 2, padding: 4}
    """,
    "same_asymmetric": """
        input: [1, 31, 26]
        layers:
          - conv: {filters: 2, kernel: [4, 3], stride: 2, padding: same}
          - conv: {filters: 2, kernel: 2, padding: same}
          - maxpool: {kernel: 3, stride: 2, padding: same}
          - conv: {filters: 2, kernel: [1, 4], padding: [[0, 0], [3, 0]]}
          - avgpool: {kernel: [3, 2], stride: [2, 1], padding: [1, 0], ceil_mode: true}
    """,
    "strided_1x1_grouped": """
        input: [4, 30, 30]
        layers:
          - conv: {filters: 4, kernel: 1, stride: 2}
          - conv: {groups: depthwise, kernel: 3, padding: 1}
          - conv: {filters: 8, kernel: 3, groups: 2, stride: 2, padding: 1}
          - conv: {filters: 4, kernel: 1}
    """,
    "transposed": """
        input: [1, 24, 20]
        layers:
          - conv: {filters: 2, kernel: 3, stride: 2, padding: 1}
          - deconv: {filters: 2, kernel: 3, stride: 2, padding: 1, output_padding: 1}
          - deconv: {filters: 1, kernel: [2, 4], stride: [2, 3], padding: same}
          - conv: {filters: 1, kernel: 3, padding: 1}
          - deconv: {filters: 1, kernel: 1, stride: 2, dilation: 1}
    """,
    "upsample": """
        input: [1, 40]
        layers:
          - conv: {filters: 1, kernel: 3, stride: 2, padding: 1}
          - upsample: 3
          - conv: {filters: 1, kernel: 2, padding: [[0, 1]]}
          - upsample: {scale: 2, mode: linear}
          - conv: {filters: 1, kernel: 5, stride: 3}
          - upsample: {scale: 2, mode: linear, align_corners: true}
          - upsample: {scale: 1.5}
    """,
    "linear_exact_samples": """
        input: [1, 30]
        layers:
          - upsample: {scale: 3, mode: linear}
          - upsample: {scale: 2, mode: linear, align_corners: true}
          - conv: {filters: 1, kernel: 3, stride: 4}
    """,
    "crop_pad_concat": """
        input: [1, 36, 30]
        layers:
          - conv: {filters: 1, kernel: 3, padding: 1, name: a}
          - pad: [[2, 0], [1, 3]]
          - slice: {axis: 1, start: 3, stop: 30}
          - slice: {axis: 2, start: 2, name: crop}
          - conv: {filters: 1, kernel: 3, stride: 2, in: a, name: b}
          - conv: {filters: 1, kernel: 3, stride: 2, in: a, padding: [[1, 1], [0, 0]], name: c}
          - concat: {in: [b, c], axis: 1, name: joined}
          - conv: {filters: 1, kernel: 3, padding: 1}
          - adaptive_avgpool: {output: [5, 7]}
    """,
    "option_a_shortcut": """
        input: [2, 31, 30]
        layers:
          - conv: {filters: 2, kernel: 3, padding: 1, name: a}
          - slice: {axis: 1, step: 2}
          - slice: {axis: 2, start: 1, stop: -2, step: 3}
          - channel_pad: {before: 1, after: 2}
          - channel_dense: 3
          - scale
          - drop_path: 0.1
          - conv: {filters: 1, kernel: 3, stride: 2, padding: 1}
          - slice: {axis: 1, start: 1, step: 3, name: b}
    """,
    "three_d": """
        input: [1, 10, 12, 9]
        layers:
          - conv: {filters: 1, kernel: [3, 1, 2], padding: [1, 0, 1], dilation: [1, 1, 2]}
          - maxpool: {kernel: 2, stride: [2, 1, 2], ceil_mode: true}
          - deconv: {filters: 1, kernel: 2, stride: 2}
    """,
    "residual_and_gate": """
        input: [2, 28, 28]
        layers:
          - conv: {filters: 4, kernel: 3, stride: 2, padding: 1, name: stem}
          - conv: {filters: 4, kernel: 3, padding: 1}
          - conv: {filters: 4, kernel: 3, padding: 1, name: body}
          - add: {in: [body, stem], name: res}
          - gap: {name: squeeze}
          - conv: {filters: 4, kernel: 1}
          - sigmoid: {name: gate}
          - multiply: {in: [res, gate], name: excited}
          - conv: {filters: 4, kernel: 3, padding: 1}
          - groupnorm: 2
          - flatten
          - dense: 3
    """,
    "softmax_axis_broadcast": """
        input: [2, 20, 18]
        layers:
          - conv: {filters: 2, kernel: 3, padding: 1, name: x}
          - softmax: {axis: 2, name: attention}
          - conv: {filters: 2, kernel: [1, 18], in: x, name: column}
          - multiply: {in: [x, column]}
    """,
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_numpy_oracle(name: str) -> None:
    assert check_against_oracle(graph(CASES[name]), NumpyOps()) > 0


@pytest.mark.torch
@pytest.mark.parametrize("name", sorted(CASES))
def test_torch_oracle(name: str) -> None:
    pytest.importorskip("torch")
    assert check_against_oracle(graph(CASES[name]), TorchOps()) > 0


MERGES = """
    input: [1, 60]
    layers:
      - conv: {filters: 1, kernel: 3, padding: 1, name: stem}
      - conv: {filters: 1, kernel: 5, padding: 2}
      - conv: {filters: 1, kernel: 3, padding: 1, name: long}
      - add: {in: [long, stem], name: first}
      - conv: {filters: 1, kernel: 3, dilation: 2, padding: 2, name: wide}
      - add: {in: [wide, first], name: second}
      - maxpool: {kernel: 3, stride: 2, padding: 1, name: pooled}
      - conv: {filters: 1, kernel: 1, stride: 2, in: second, padding: 0, name: skip}
      - concat: {in: [pooled, skip], name: out}
"""


UNET_1D = """
    input: [1, 64]
    layers:
      - conv: {filters: 1, kernel: 3, padding: 1, name: e1}
      - maxpool: 2
      - conv: {filters: 1, kernel: 5, padding: 2, name: e2}
      - deconv: {filters: 1, kernel: 3, stride: 2, padding: 1, output_padding: 1, name: up}
      - concat: {in: [e1, up], name: cat}
      - conv: {filters: 1, kernel: 3, padding: 1, name: d1}
"""


@pytest.mark.parametrize(("spec", "layer"), [(MERGES, "first"), (MERGES, "second"),
                                             (MERGES, "out"), (UNET_1D, "cat"), (UNET_1D, "d1")])
def test_max_and_min_over_paths_match_every_path(spec: str, layer: str) -> None:
    g = graph(spec)
    rf = analyze_rf(g)[layer]
    paths = path_extents(g, NumpyOps(), layer)
    assert len(paths) >= 2
    sizes = [extents[0] for extents, _ in paths]
    centres = {centre[0] for _, centre in paths}
    assert rf.size_min == (min(sizes),)
    assert rf.aligned == (len(centres) == 1)
    if rf.aligned:
        assert rf.size == (max(sizes),)


def test_misaligned_paths_measured() -> None:
    g = graph("""
        input: [1, 40]
        layers:
          - conv: {filters: 1, kernel: 3, padding: 1, name: centred}
          - conv: {filters: 1, kernel: 3, padding: [[2, 0]], in: input, name: shifted}
          - add: {in: [centred, shifted], name: merged}
    """)
    rf = analyze_rf(g)["merged"]
    paths = path_extents(g, NumpyOps(), "merged")
    centres = sorted(centre[0] for _, centre in paths)
    assert not rf.aligned
    assert rf.misaligned[0].offset == centres[-1] - centres[0] == 1
    assert check_against_oracle(g, NumpyOps()) > 0


UNET_4_LEVELS = """
    input: [1, 320]
    blocks:
      dc:
        layers:
          - conv: {filters: 1, kernel: 3, padding: 1}
          - conv: {filters: 1, kernel: 3, padding: 1}
      down:
        layers:
          - maxpool: 2
          - dc
      up:
        args: {skip: required}
        layers:
          - deconv: {filters: 1, kernel: 2, stride: 2, name: up}
          - concat: {in: [$skip, up], name: cat}
          - dc
    layers:
      - dc: {name: enc1}
      - down: {name: enc2}
      - down: {name: enc3}
      - down: {name: enc4}
      - down: {name: bottleneck}
      - up: {skip: enc4, name: dec4}
      - up: {skip: enc3, name: dec3}
      - up: {skip: enc2, name: dec2}
      - up: {skip: enc1, name: dec1}
"""


def test_unet_misalignment_offsets_match_the_measured_centres() -> None:
    import numpy as np
    from rf_oracle import dependency, responses

    g = graph(UNET_4_LEVELS)
    result = analyze_rf(g)
    values = responses(g, NumpyOps(), gates_constant=True)
    last = g.input_shape[1] - 1
    for block in ("dec4", "dec3", "dec2", "dec1"):
        cat = g.layer(f"{block}.cat")
        measured = 0.0
        for j in range(cat.out_shape[1]):
            centres = []
            for source in cat.inputs:
                positions = np.nonzero(dependency(g, values, source)[:, j])[0]
                if positions[0] > 0 and positions[-1] < last:  # not cut by the border
                    centres.append((positions[0] + positions[-1]) / 2)
            if len(centres) == 2:
                measured = max(measured, abs(centres[0] - centres[1]))
        (m,) = result[cat.name].misaligned
        assert m.offset == measured > 0, block
