"""`cnncalc fit`: the answer fits and the next candidate does not, exactly by the memory model."""
from __future__ import annotations

import json

import pytest
from helpers import ARCH, run_ok

from cnncalc import load_graph
from cnncalc.analysis.fit import fit_batch, fit_resolution, needed
from cnncalc.analysis.memory import analyze_memory
from cnncalc.cli import main
from cnncalc.graph import build_graph
from cnncalc.problems import SpecError

GiB = 2**30


@pytest.mark.parametrize("name, limit, opts", [
    ("resnet18", 2 * GiB, {}),
    ("resnet50", 16 * GiB, {"training": True, "optimizer": "adam"}),
    ("mobilenet_v2", 1 * GiB, {"training": True, "optimizer": "sgd", "dtype": "bfloat16"}),
    ("unet", 8 * GiB, {"training": True}),
])
def test_batch_fits_and_batch_plus_one_does_not(name: str, limit: int, opts: dict) -> None:  # type: ignore[type-arg]
    g = load_graph(ARCH / f"{name}.yaml")
    result = fit_batch(g, limit, **opts)
    assert result.value >= 1 and result.next_value == result.value + 1
    at = needed(analyze_memory(g, result.value, **opts))
    after = needed(analyze_memory(g, result.value + 1, **opts))
    assert at == result.needed_bytes <= limit < after == result.next_bytes


def test_the_exact_boundary_is_inclusive() -> None:
    g = load_graph(ARCH / "resnet18.yaml")
    exact = needed(analyze_memory(g, 37))
    assert fit_batch(g, exact).value == 37
    assert fit_batch(g, exact - 1).value == 36


def test_nothing_fits() -> None:
    g = load_graph(ARCH / "vgg16.yaml")
    result = fit_batch(g, 2**20)
    assert result.value == 0 and result.memory is None
    assert result.next_bytes == needed(analyze_memory(g, 1)) > 2**20


def _side_memory(g, side: int, batch: int, **opts) -> int | None:  # type: ignore[no-untyped-def]
    try:
        shaped = build_graph(g.spec, (g.input_shape[0], side, side))
    except SpecError:
        return None
    return needed(analyze_memory(shaped, batch, **opts))


@pytest.mark.parametrize("name, limit, batch", [("resnet50", 2 * GiB, 4), ("unet", GiB, 2),
                                                 ("alexnet", GiB, 16)])
def test_resolution_fits_and_every_larger_buildable_size_does_not(name: str, limit: int,
                                                                  batch: int) -> None:
    """By brute force over the sizes just above the answer, including the ones U-Net refuses."""
    g = load_graph(ARCH / f"{name}.yaml")
    result = fit_resolution(g, limit, batch)
    side = result.value
    assert result.input_shape == (g.input_shape[0], side, side)
    assert _side_memory(g, side, batch) == result.needed_bytes <= limit
    larger = [(s, m) for s in range(side + 1, side + 80) if (m := _side_memory(g, s, batch)) is not None]
    assert larger and all(m > limit for _, m in larger)
    assert (result.next_value, result.next_bytes) == larger[0]
    if name == "unet":
        assert side % 16 == 0  # its skip connections only line up at multiples of 16


def test_resolution_memory_is_monotone_on_a_scan() -> None:
    """The premise of the search, checked on a stretch of sizes with floors and ceilings."""
    g = load_graph(ARCH / "resnet18.yaml")
    values = [_side_memory(g, s, 1) for s in range(32, 200)]
    assert values == sorted(values)


def test_cli_json_and_text(capsys) -> None:  # type: ignore[no-untyped-def]
    spec = str(ARCH / "resnet50.yaml")
    doc = json.loads(run_ok(capsys, "fit", spec, "--memory", "16GiB", "--training", "--json"))
    g = load_graph(ARCH / "resnet50.yaml")
    assert doc["batch"] == fit_batch(g, 16 * GiB, training=True).value
    assert doc["memory"]["training_bytes"] == doc["needed_bytes"] <= 16 * GiB < doc["next_needed_bytes"]
    out = run_ok(capsys, "fit", spec, "--memory", "4GiB", "--resolution", "--batch", "8")
    assert "largest resolution for inference in 4.00 GiB: input side" in out
    assert main(["fit", spec, "--memory", "10MiB"]) == 1
    assert "nothing fits" in capsys.readouterr().out


@pytest.mark.parametrize("args, message", [
    (["--memory", "lots"], "expected a size"), (["--memory", "0"], "positive"), ([], "Missing option"),
])
def test_cli_usage_errors(args: list[str], message: str, capsys) -> None:  # type: ignore[no-untyped-def]
    assert main(["fit", str(ARCH / "resnet18.yaml"), *args]) == 2
    assert message in capsys.readouterr().err
