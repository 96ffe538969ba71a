"""`cnncalc flops` and the compute keys of `summary`: tables, JSON, options, errors."""
from __future__ import annotations

import json

import pytest
from helpers import ARCH, ROOT
from helpers import run_ok as run

from cnncalc.cli import main
from cnncalc.report.counting import END, START, counting_table

RESNET18 = str(ARCH / "resnet18.yaml")
SMALL_CNN = str(ARCH / "lecture" / "05_small_cnn.yaml")


def test_flops_json(capsys) -> None:
    doc = json.loads(run(capsys, "flops", RESNET18, "--json"))
    assert doc["total_macs"] == 1_814_073_344 and doc["batch"] == 1
    assert doc["total_flops"] == sum(layer["flops"] for layer in doc["layers"])
    conv1 = doc["layers"][0]
    assert conv1["macs"] == 118_013_952 and conv1["flops"] == 2 * 118_013_952
    assert conv1["activation_bytes"] == 64 * 112 * 112 * 4
    assert conv1["macs_formula"] == "(64*112*112)*(3*7*7) = 118,013,952"
    assert "by_op" in doc and doc["memory"]["inference_peak_layer"] == "bn1"


def test_flops_batch_scales(capsys) -> None:
    one = json.loads(run(capsys, "flops", RESNET18, "--json"))
    eight = json.loads(run(capsys, "flops", RESNET18, "--json", "--batch", "8"))
    assert eight["total_macs"] == 8 * one["total_macs"]
    assert eight["total_params"] == one["total_params"]


def test_flops_table_highlights_the_heaviest(capsys, monkeypatch) -> None:
    monkeypatch.setenv("NO_COLOR", "1")
    out = run(capsys, "flops", SMALL_CNN, "--top", "2")
    assert "\x1b[" not in out
    ranked = {line.split()[1]: line.split()[0] for line in out.splitlines()
              if line[:1] in ("1", "2") and len(line.split()) > 2}
    assert ranked == {"conv2": "1", "conv1": "2"}  # 18.9M and 3.5M MACs
    assert "total MACs:  24,510,592" in out and "total FLOPs:" in out


def test_flops_depth_collapses_blocks(capsys) -> None:
    out = run(capsys, "flops", RESNET18, "--depth", "1", "--no-color")
    assert "layer1 (x14 layers)" in out and "layer1.first" not in out


def test_flops_convention_torchinfo(capsys) -> None:
    out = run(capsys, "flops", RESNET18, "--convention", "torchinfo", "--no-color")
    assert "torchinfo Mult-Adds: 1,814,083,944" in out
    assert "counts its parameters, not its work" in out


def test_flops_convention_fvcore_json(capsys) -> None:
    doc = json.loads(run(capsys, "flops", RESNET18, "--convention", "fvcore", "--json"))
    assert doc["convention"]["name"] == "fvcore" and doc["convention"]["total"] == 1_819_065_856


def test_flops_bad_spec_exits_2_with_a_location(capsys, tmp_path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("input: [3, 8, 8]\nlayers:\n  - conv: {filters: 4, kernal: 3}\n")
    assert main(["flops", str(bad)]) == 2
    err = capsys.readouterr().err
    assert f"{bad}:3:" in err and "error:" in err and "Traceback" not in err


@pytest.mark.parametrize("args", [["--batch", "0"], ["--convention", "thop"], ["--top", "-1"],
                                  ["--training", "--convention", "torchinfo"], ["--input-grad"],
                                  ["--training", "--device", "a100"]])
def test_flops_bad_options_exit_2(capsys, args: list[str]) -> None:
    assert main(["flops", RESNET18, *args]) == 2


def test_summary_gains_macs_and_activation_columns(capsys) -> None:
    out = run(capsys, "summary", SMALL_CNN, "--no-color")
    header = out.splitlines()[1]
    assert "MACs" in header and "activation" in header
    conv1 = next(line for line in out.splitlines() if line.startswith("conv1"))
    assert "3,538,944" in conv1 and "512.00 KiB" in conv1
    assert "total MACs: 24,510,592" in out


def test_summary_json_gains_cost_and_memory_keys(capsys) -> None:
    doc = json.loads(run(capsys, "summary", RESNET18, "--json"))
    assert {"macs", "flops", "activation_bytes"} <= set(doc["layers"][0])
    memory = doc["memory"]
    for key in ("params_bytes", "buffers_bytes", "inference_peak_bytes", "inference_peak_layer",
                "training_bytes"):
        assert key in memory
    assert memory["params_bytes"] == 11_689_512 * 4
    assert doc["total_macs"] == 1_814_073_344


def test_counting_doc_is_generated_from_the_declarations() -> None:
    doc = (ROOT / "docs" / "counting.md").read_text()
    assert doc.split(START + "\n")[1].split("\n" + END)[0] == counting_table()
