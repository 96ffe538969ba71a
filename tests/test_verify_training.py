"""`verify --training`: a NumPy training step against the training memory model (every forward
and backward step), the backward MACs against an op's `backward_macs` rule, from the library
and the CLI; and that each check fails when the model or the rule is wrong."""
from __future__ import annotations

import json
from pathlib import Path

import pytest
from helpers import graph

import cnncalc
from cnncalc.backend import verify as V
from cnncalc.cli import main
from cnncalc.ops.registry import ops

ARCH = Path(__file__).resolve().parent.parent / "architectures"

# Residual and concat joins, a tensor read by three layers, in-place ReLUs, max-pool indices,
# batch norm, dropout, a squeeze-excite gate (multiply, sigmoid), a spatial slice (a strided
# view) and a deconv: every way the model shares, reuses or adds gradient buffers.
MIXED = """
input: [3, 16, 16]
layers:
  - conv: {filters: 8, kernel: 3, padding: 1, bias: false, name: c1}
  - bn: {name: bn1}
  - relu: {name: r1}
  - maxpool: {kernel: 2, name: p1}
  - conv: {filters: 8, kernel: 3, padding: 1, name: c2}
  - relu: {name: r2}
  - add: {in: [r2, p1], name: add}
  - conv: {filters: 4, kernel: 1, in: p1, name: side}
  - gap: {in: add, name: g}
  - conv: {filters: 8, kernel: 1, name: fc1}
  - sigmoid: {name: gate}
  - multiply: {in: [add, gate], name: se}
  - concat: {in: [se, side, p1], name: cat}
  - slice: {axis: 1, start: 1, name: crop}
  - deconv: {filters: 4, kernel: 2, stride: 2, name: up}
  - layernorm: {name: ln}
  - silu
  - dropout: {rate: 0.5}
  - gap
  - flatten
  - dense: {units: 5, name: fc}
"""


def checks(report: V.VerifyReport, kind: str) -> list[V.CheckResult]:
    return [r for r in report.results if r.check == kind]


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_training_step_matches_the_model_at_every_step(dtype: str) -> None:
    report = V.verify(graph(MIXED), batch=3, dtype=dtype, training=True)
    assert report.ok, [r for r in report.failures]
    memory = checks(report, "training-memory")
    g = graph(MIXED)
    assert len(memory) == 2 * len(g.layers) + 1  # every layer needs a gradient here
    assert all(r.expected == r.measured for r in memory)
    assert report.training is not None and report.training.ratio == 1.0
    assert report.training.extras_at_peak > 0  # max-pool indices, statistics
    macs = {r.layer: r.measured for r in checks(report, "backward-macs")}
    # Measured, not assumed: dX and dW of a conv each cost its forward MACs.
    forward = {r.layer: r.measured for r in checks(report, "macs")}
    assert macs["c2"] == 2 * forward["c2"] and macs[None] == sum(m for k, m in macs.items() if k)


@pytest.mark.parametrize("stem, shape", [("resnet18", (3, 32, 32)), ("mobilenet_v2", (3, 32, 32))])
def test_zoo_training_steps_match_the_model(stem: str, shape: tuple[int, ...]) -> None:
    report = V.verify(cnncalc.load_graph(ARCH / f"{stem}.yaml", shape), training=True)
    assert report.ok, report.failures[:3]
    assert all(r.expected == r.measured for r in checks(report, "training-memory"))


def test_a_wrong_gradient_model_fails_per_layer(monkeypatch: pytest.MonkeyPatch) -> None:
    # Pretend add copies its gradient to each input: the model then holds buffers the run
    # does not, from the add's backward step on.
    monkeypatch.setattr(type(ops()["add"]), "gradient_views", lambda self, layer: ())
    report = V.verify(graph(MIXED), training=True)
    failed = {r.layer for r in report.failures if r.check == "training-memory"}
    assert "add" in failed and not report.ok


def test_a_backward_reading_what_its_op_does_not_save_stops(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(type(ops()["conv"]), "saved_for_backward", lambda self, layer: [])
    report = V.verify(graph(MIXED), training=True)
    stopped = [r for r in report.failures if r.check == "backward"]
    assert stopped and stopped[0].layer is not None and "conv" in str(stopped[0].measured)


@pytest.mark.parametrize("factor, ok", [(2, True), (3, False)])
def test_backward_macs_are_compared_with_the_rule(monkeypatch: pytest.MonkeyPatch, factor: int,
                                                  ok: bool) -> None:
    # A rule written the way an op declares it: input plus weight gradient MACs per sample.
    for name in ("conv", "deconv", "dense"):
        monkeypatch.setattr(type(ops()[name]), "backward_macs",
                            lambda self, layer: factor * self.macs(layer), raising=False)
    report = V.verify(graph(MIXED), batch=2, training=True)
    rows = checks(report, "backward-macs")
    assert rows and all(r.ok == ok for r in rows if r.layer is not None)
    assert rows[-1].layer is None and (rows[-1].expected == rows[-1].measured) == ok


def test_cli_training_text_and_json(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "net.yaml"
    path.write_text(MIXED)
    assert main(["verify", str(path), "--training", "--no-rf"]) == 0
    out = capsys.readouterr().out
    for kind in ("training-memory", "backward-macs", "gradients"):
        assert f"\n{kind} " in out
    assert "forward and backward passes" in out
    assert main(["verify", str(path), "--training", "--no-rf", "--json", "--batch", "2"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["training"]["ratio"] == 1.0 and doc["training"]["backward_macs"] > 0
    assert {c["check"] for c in doc["checks"]} >= {"training-memory", "backward-macs", "gradients"}
    assert main(["verify", str(path), "--no-rf", "--json"]) == 0
    assert "training" not in json.loads(capsys.readouterr().out)


def test_cli_training_budget_refuses_a_run_too_large(tmp_path: Path,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "net.yaml"
    path.write_text(MIXED)
    g = graph(MIXED)
    plain = V.estimate(g, 1, "float32").total
    limit = plain + 1000  # enough for verify, not for the training step
    assert main(["verify", str(path), "--no-rf", "--max-memory", str(limit)]) == 0
    capsys.readouterr()
    assert main(["verify", str(path), "--no-rf", "--training", "--max-memory", str(limit)]) == 2
    assert "error" in capsys.readouterr().err
