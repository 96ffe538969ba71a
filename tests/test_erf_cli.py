"""`cnncalc erf`: JSON keys, the text plot, --save-map, and every refusal (exit 2, no traceback)."""
from __future__ import annotations

import json

import numpy as np
import pytest
from helpers import ARCH
from helpers import run_ok as run

from cnncalc.backend import weights as W
from cnncalc.cli import main
from cnncalc.graph import load_graph_text

LENET = str(ARCH / "lenet5.yaml")
STACK = """input: [1, 21, 21]
layers:
  - conv: {name: a, filters: 2, kernel: 3, bias: false}
  - relu: {name: r}
  - conv: {name: b, filters: 2, kernel: 3, bias: false}
"""


@pytest.fixture(scope="module")
def stack(tmp_path_factory) -> tuple[str, str]:  # type: ignore[no-untyped-def]
    """A two-conv spec and an .npz of all-ones weights for it."""
    folder = tmp_path_factory.mktemp("erf")
    spec = folder / "stack.yaml"
    spec.write_text(STACK)
    graph = load_graph_text(STACK)
    weights = folder / "ones.npz"
    W.save(str(weights), {key: np.ones(shape, np.float32)
                          for key, (_, shape) in W.expected(graph).items()})
    return str(spec), str(weights)


def test_json_has_per_axis_numbers(capsys, stack) -> None:
    spec, weights = stack
    doc = json.loads(run(capsys, "erf", spec, "--weights", weights, "--linear", "--samples", "1",
                         "--json"))
    erf = doc["erf"]
    assert erf["layer"] == "b" and erf["unit"] == [8, 8] and erf["samples"] == 1
    assert erf["seed"] is None and erf["linear"] is True
    for axis in erf["axes"]:
        assert {"std", "r68", "r95", "rf", "ratio"} <= set(axis)
        assert axis["std"] == pytest.approx((2 * 8 / 12) ** 0.5)  # 2 convs of 3: var 2(9-1)/12
        assert axis["rf"] == 5 and axis["r95"] == 2.0 and axis["r68"] == 1.0


def test_text_plot_and_save_map(capsys, stack, tmp_path) -> None:
    spec, weights = stack
    path = tmp_path / "map.npy"
    out = run(capsys, "erf", spec, "--weights", weights, "--linear", "--samples", "1",
              "--save-map", str(path), "--no-color")
    assert "effective receptive field of 'b' unit [8, 8]" in out
    assert "axis 1: input pixels 8..12; centre 10" in out
    lines = out.splitlines()
    marks = next(line for line in lines if "|" in line and "[" in line)
    assert marks == "([|])"  # r95 = 2, r68 = 1 around the centre
    assert "#####" in lines[lines.index(marks) - 1]  # the bottom row of bars: all five pixels
    saved = np.load(path)
    assert saved.dtype == np.float64 and saved.shape == (21, 21)
    assert saved.sum() == pytest.approx(1.0)
    box = np.convolve(np.ones(3), np.ones(3)) / 9
    np.testing.assert_allclose(saved[8:13, 8:13], np.outer(box, box), atol=1e-15)
    assert saved[:8].sum() == 0


def test_random_weights_with_a_seed_are_reproducible(capsys) -> None:
    first = json.loads(run(capsys, "erf", LENET, "--samples", "2", "--seed", "3", "--json"))
    again = json.loads(run(capsys, "erf", LENET, "--samples", "2", "--seed", "3", "--json"))
    assert first["erf"] == again["erf"] and first["erf"]["seed"] == 3
    assert first["erf"]["layer"] == "s4"  # the last layer with spatial positions


def test_csv_and_markdown_hold_the_table(capsys) -> None:
    csv = run(capsys, "erf", LENET, "--samples", "1", "--format", "csv")
    assert csv.splitlines()[0] == "axis,centre,std,r68,r95,rf,ratio"
    assert len(csv.splitlines()) == 3
    markdown = run(capsys, "erf", LENET, "--samples", "1", "--format", "markdown")
    assert "| axis | centre | std |" in markdown


@pytest.mark.parametrize("args, message", [
    (["--layer", "c33"], "no layer 'c33' (did you mean 'c3'?)"),
    (["--layer", "c3", "--unit", "1,10"], "out of range along spatial axis 2"),
    (["--layer", "c5"], "no spatial axes"),
    (["--layer", "c3", "--unit", "1"], "has 2 spatial axes"),
])
def test_bad_layer_or_unit_exits_2(capsys, args: list[str], message: str) -> None:
    assert main(["erf", LENET, "--samples", "1", *args]) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err and f"{LENET}:1:1: error:" in err


def test_weights_and_seed_together_is_a_usage_error(capsys, stack) -> None:
    spec, weights = stack
    assert main(["erf", spec, "--weights", weights, "--seed", "1"]) == 2
    assert "--weights and --seed" in capsys.readouterr().err


def test_missing_weights_file_exits_2(capsys, stack, tmp_path) -> None:
    spec, _ = stack
    assert main(["erf", spec, "--weights", str(tmp_path / "none.npz")]) == 2
    assert "Traceback" not in capsys.readouterr().err


def test_colour_plot_uses_eighth_blocks_and_the_same_marks() -> None:
    from cnncalc.backend.erfstats import axis_stats
    from cnncalc.report.erf import HEIGHT, profile_lines

    p = [0.0, 0.1, 0.2, 0.4, 0.2, 0.1, 0.0]
    axis = axis_stats(np.array(p), (3.0,), (5,))[0]
    plain = profile_lines(p, 3.0, axis)
    colour = profile_lines(p, 3.0, axis, blocks=True)
    assert len(plain) == len(colour) == HEIGHT + 3
    assert plain[-2] == colour[-2] == ("([|])", None)  # pixels 1..5: r95 2, r68 1
    assert colour[1] == ("  █", "cyan")  # the top row: only the peak reaches it
    assert set("".join(text for text, _ in colour[1:-2])) <= set(" ▁▂▃▄▅▆▇█")
    assert all(style is None for _, style in plain)


def test_plane_of_1d_and_3d_maps(capsys) -> None:
    from cnncalc.backend.erf import compute_erf, plane

    for shape in ("[1, 12]", "[1, 9, 8, 7]"):
        graph = load_graph_text(f"input: {shape}\nlayers:\n  - conv: {{filters: 1, kernel: 3}}\n")
        result = compute_erf(graph, samples=1, linear=True)
        grid = plane(result)
        assert np.isclose(sum(map(sum, grid)), 1.0)
        assert (len(grid), len(grid[0])) == (result.map.shape + (1,))[:2]
