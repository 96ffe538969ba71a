"""`verify` passes on every zoo architecture (at small inputs to keep the suite fast): the
forward pass agrees with every shape, parameter, MAC, memory and receptive-field figure."""
from __future__ import annotations

from pathlib import Path

import pytest

import cnncalc
from cnncalc.backend.verify import rf_plans, verify

ARCH = Path(__file__).resolve().parent.parent / "architectures"

# Small inputs of the same geometry classes (every stride still divides, adaptive pools and
# U-Net's skips still line up); lenet5's dense layers fix its input.
SMALL = {
    "lenet5": None, "alexnet": (3, 64, 64), "vgg16": (3, 32, 32), "resnet18": (3, 64, 64),
    "resnet50": (3, 64, 64), "mobilenet_v2": (3, 64, 64), "efficientnet_b0": (3, 64, 64),
    "unet": (3, 64, 64), "m5_audio": (1, 4000), "densenet121": (3, 64, 64),
}


def test_every_zoo_spec_is_listed() -> None:
    assert {p.stem for p in ARCH.glob("*.yaml")} == set(SMALL)


@pytest.mark.parametrize("stem", sorted(SMALL))
def test_verify_passes_on_zoo(stem: str) -> None:
    graph = cnncalc.load_graph(ARCH / f"{stem}.yaml", SMALL[stem])
    report = verify(graph, batch=2, plans=rf_plans(graph, [], 2**31))
    assert report.ok, [r for r in report.results if not r.ok][:5]
    kinds = {r.check for r in report.results}
    assert {"shape", "values", "params", "macs", "memory", "workspace", "rf"} <= kinds
    assert report.memory is not None and report.memory.ratio == pytest.approx(1.0, abs=0.01)
    totals = {r.check: r for r in report.results if r.layer is None}
    assert totals["params"].measured == graph.total_params
    assert totals["macs"].measured == 2 * sum(layer.op.macs(layer) for layer in graph.layers)
    assert sum(r.check == "shape" for r in report.results) == len(graph.layers)
