"""`cnncalc memory`: tables, JSON (exact integers), options, conventions, errors."""
from __future__ import annotations

import json

import pytest
from helpers import ARCH
from helpers import run_ok as run

from cnncalc.cli import main

RESNET18 = str(ARCH / "resnet18.yaml")
SMALL_CNN = str(ARCH / "lecture" / "05_small_cnn.yaml")


def test_memory_json(capsys) -> None:
    doc = json.loads(run(capsys, "memory", SMALL_CNN, "--json", "--batch", "2"))
    memory = doc["memory"]
    assert memory["batch"] == 2 and memory["dtype"] == "float32"
    assert memory["inference_peak_bytes"] == 2 * (48 + 512 + 128) * 1024
    assert memory["inference_peak_layer"] == "pool1"
    assert memory["inplace"] == ["relu1", "relu2", "relu3"]
    assert memory["optimizer"] == "adam"
    training = memory["training"]
    assert memory["training_bytes"] == training["total_bytes"] == sum(
        training[key] for key in ("params_bytes", "gradients_bytes", "optimizer_bytes",
                                  "buffers_bytes", "saved_bytes", "transient_bytes"))
    assert len(training["timeline"]) == 2 * len(doc["layers"])
    relu1 = next(layer for layer in doc["layers"] if layer["name"] == "relu1")
    assert relu1["activation_storage"] == "in place on conv1" and relu1["saved"] == ["output"]
    assert isinstance(relu1["activation_bytes"], int)


def test_memory_dtype_overrides_the_spec(capsys) -> None:
    full = json.loads(run(capsys, "memory", SMALL_CNN, "--json"))["memory"]
    half = json.loads(run(capsys, "memory", SMALL_CNN, "--json", "--dtype", "float16"))["memory"]
    assert half["dtype"] == "float16" and 2 * half["params_bytes"] == full["params_bytes"]


def test_memory_table(capsys, monkeypatch) -> None:
    monkeypatch.setenv("NO_COLOR", "1")
    out = run(capsys, "memory", SMALL_CNN, "--training", "--optimizer", "sgd")
    assert "\x1b[" not in out
    assert "688.00 KiB <- peak" in out
    assert "inference peak:      688.00 KiB  at pool1 (live: input, relu1, pool1)" in out
    assert "computed in place: 3 layers: relu1, relu2, relu3" in out
    assert "training step (sgd):" in out and "saved for backward" in out
    assert "0 x parameters" in out


def test_memory_without_training_has_no_training_table(capsys) -> None:
    out = run(capsys, "memory", SMALL_CNN, "--no-color")
    assert "training step" not in out and "saved for backward" not in out


def test_memory_no_inplace(capsys) -> None:
    doc = json.loads(run(capsys, "memory", SMALL_CNN, "--json", "--no-inplace"))
    assert doc["memory"]["inplace"] == [] and doc["memory"]["inference_peak_layer"] == "relu1"


def test_memory_convention_torchinfo(capsys) -> None:
    out = run(capsys, "memory", RESNET18, "--convention", "torchinfo", "--batch", "2",
              "--no-color")
    assert "127.46 MB" in out and "Estimated Total Size" in out
    doc = json.loads(run(capsys, "memory", RESNET18, "--convention", "torchinfo", "--json"))
    labels = [line["label"] for line in doc["convention"]["lines"]]
    assert labels == ["Input size", "Forward/backward pass size", "Params size",
                      "Estimated Total Size"]


def test_memory_convention_fvcore(capsys) -> None:
    out = run(capsys, "memory", RESNET18, "--convention", "fvcore", "--no-color")
    assert "2,484,712 values" in out


@pytest.mark.parametrize("args", [["--dtype", "float8"], ["--optimizer", "lion"],
                                  ["--batch", "-1"]])
def test_memory_bad_options_exit_2(capsys, args: list[str]) -> None:
    assert main(["memory", SMALL_CNN, *args]) == 2


def test_memory_missing_file_exits_2(capsys) -> None:
    assert main(["memory", "nope.yaml"]) == 2
    assert "nope.yaml" in capsys.readouterr().err
