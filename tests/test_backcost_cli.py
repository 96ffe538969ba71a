"""`cnncalc flops --training`: the training step's table in every format, JSON keys, options."""
from __future__ import annotations

import csv
import io
import json

from helpers import ARCH
from helpers import run_ok as run

from cnncalc.analysis.backcost import analyze_training_cost
from cnncalc.graph import load_graph

RESNET18 = str(ARCH / "resnet18.yaml")
LENET = str(ARCH / "lenet5.yaml")


def test_training_json_has_backward_per_layer_and_totals(capsys) -> None:
    doc = json.loads(run(capsys, "flops", RESNET18, "--training", "--json"))
    training = doc["training"]
    assert training["forward_macs"] == doc["total_macs"] == 1_814_073_344
    assert training["backward_macs"] == 3_510_132_736  # 2 x forward - conv1's grad input
    assert training["backward_macs"] == 2 * 1_814_073_344 - 118_013_952
    assert training["total_flops"] == training["forward_flops"] + training["backward_flops"]
    assert training["backward_flops"] == sum(entry["backward"]["flops"] for entry in doc["layers"])
    assert training["input_grad"] is False
    conv1 = doc["layers"][0]["backward"]
    assert conv1["grad_input_macs"] == 0 and conv1["grad_weight_macs"] == 118_013_952
    assert set(conv1) == {"grad_input_macs", "grad_weight_macs", "grad_input_flops",
                          "grad_weight_flops", "macs", "flops", "how"}


def test_input_grad_option(capsys) -> None:
    doc = json.loads(run(capsys, "flops", RESNET18, "--training", "--input-grad", "--json"))
    assert doc["training"]["backward_macs"] == 2 * 1_814_073_344
    assert doc["training"]["input_grad"] is True


def test_training_table_text_markdown_csv_agree(capsys) -> None:
    cost = analyze_training_cost(load_graph(LENET))
    text = run(capsys, "flops", LENET, "--training", "--no-color")
    assert "grad input" in text and "grad weights" in text
    assert f"backward: {cost.backward_flops:,} FLOPs" in text
    c3 = next(line for line in text.splitlines() if " c3 " in line)
    assert f"{cost.layer('c3').grad_input_flops:,}" in c3
    markdown = run(capsys, "flops", LENET, "--training", "--format", "markdown")
    assert "| # | layer | op | forward | grad input | grad weights | backward | total |" in markdown
    rows = list(csv.DictReader(io.StringIO(run(capsys, "flops", LENET, "--training",
                                                "--format", "csv"))))
    assert [row["layer"] for row in rows] == [layer.name for layer in cost.backward]
    for row, layer in zip(rows, cost.backward):
        assert int(row["grad input FLOPs"]) == layer.grad_input_flops
        assert int(row["grad weights FLOPs"]) == layer.grad_weight_flops
        assert int(row["total FLOPs"]) == int(row["forward FLOPs"]) + layer.flops


def test_training_fvcore_convention_still_means_its_training_mode(capsys) -> None:
    doc = json.loads(run(capsys, "flops", RESNET18, "--convention", "fvcore", "--training",
                         "--json"))
    assert doc["convention"]["name"] == "fvcore" and "training" not in doc


def test_summary_training_adds_backward_macs(capsys) -> None:
    text = run(capsys, "summary", LENET, "--training", "--no-color")
    assert "backward MACs" in text.splitlines()[1]
    c3 = next(line for line in text.splitlines() if line.startswith("c3 "))
    assert "480,000" in c3  # grad input 240,000 + grad weights 240,000
    assert "training step: 1,131,960 MACs" in text
    doc = json.loads(run(capsys, "summary", LENET, "--training", "--json"))
    flops = json.loads(run(capsys, "flops", LENET, "--training", "--json"))
    assert doc["training"] == flops["training"]
    plain = run(capsys, "summary", LENET, "--no-color")
    assert "backward MACs" not in plain and "training step" not in plain
