"""The foundation commands end to end: summary, params, explain, ops, --json, --input."""
from __future__ import annotations

import json
import re
import subprocess
import sys

import pytest
from helpers import ARCH

from cnncalc.cli import main

RESNET18 = str(ARCH / "resnet18.yaml")


def run_json(capsys, *args: str) -> dict:
    assert main([*args, "--json"]) == 0
    return json.loads(capsys.readouterr().out)


def test_summary_json_has_the_stable_keys(capsys) -> None:
    doc = run_json(capsys, "summary", RESNET18)
    for key in ("name", "input_shape", "output_shapes", "total_params", "trainable_params",
                "buffers", "layers"):
        assert key in doc
    assert doc["input_shape"] == [3, 224, 224]
    assert doc["output_shapes"] == {"fc": [1000]}
    assert doc["total_params"] == 11_689_512 and doc["buffers"] == 9_600
    first = doc["layers"][0]
    assert {"name", "op", "inputs", "output_shape", "params", "buffers"} <= set(first)
    assert first["inputs"] == ["input"] and first["output_shape"] == [64, 112, 112]
    assert sum(layer["params"] for layer in doc["layers"]) == doc["total_params"]


def test_input_override_changes_every_shape(capsys) -> None:
    doc = run_json(capsys, "summary", RESNET18, "--input", "3,64,96")
    assert doc["input_shape"] == [3, 64, 96]
    conv1 = next(layer for layer in doc["layers"] if layer["name"] == "conv1")
    assert conv1["output_shape"] == [64, 32, 48]
    assert doc["total_params"] == 11_689_512  # gap makes the head independent of the size


def test_bad_input_override_is_a_usage_error(capsys) -> None:
    assert main(["summary", RESNET18, "--input", "3,x"]) == 2
    assert "expected integers" in capsys.readouterr().err


def test_input_too_small_is_located(capsys) -> None:
    assert main(["summary", str(ARCH / "vgg16.yaml"), "--input", "3,16,16"]) == 2
    err = capsys.readouterr().err
    assert "vgg16.yaml:" in err and "error:" in err


def test_summary_depth_collapses_blocks(capsys, monkeypatch) -> None:
    monkeypatch.setenv("NO_COLOR", "1")
    assert main(["summary", RESNET18, "--depth", "1"]) == 0
    out = capsys.readouterr().out
    assert "layer1 (x14 layers)" in out and "layer1.first" not in out
    assert "11,689,512" in out


def test_params_shows_formula_and_share(capsys, monkeypatch) -> None:
    monkeypatch.setenv("NO_COLOR", "1")
    assert main(["params", str(ARCH / "lecture" / "05_small_cnn.yaml")]) == 0
    out = capsys.readouterr().out
    assert "16384*128 + 128 = 2,097,280" in out and "99.1%" in out
    doc = run_json(capsys, "params", str(ARCH / "lecture" / "03_param_count.yaml"))
    assert doc["layers"][0]["param_formula"] == "(3*3*3)*64 + 64 = 1,792"


@pytest.mark.parametrize("layer, h, k, p, s, c_in", [
    ("same3", 32, 3, 1, 1, 3), ("same5", 32, 5, 2, 1, 16), ("valid5", 32, 5, 0, 1, 16),
    ("down", 28, 3, 1, 2, 16)])
def test_explain_writes_the_formulas_out(capsys, layer: str, h: int, k: int, p: int, s: int,
                                         c_in: int) -> None:
    # Lecture example 9 (every conv has 16 filters): the output size, parameter and MAC
    # formulas with the numbers plugged in, each result worked out here by hand.
    doc = run_json(capsys, "explain", str(ARCH / "lecture" / "09_output_size.yaml"), layer)
    lines = "\n".join(doc["explain"]["lines"])
    h_out = (h + 2 * p - k) // s + 1
    assert f"floor(({h} + 2*{p} - {k}) / {s}) + 1 = {h_out}" in lines
    params = (k * k * c_in) * 16 + 16
    assert f"({k}*{k}*{c_in})*16 + 16 = {params:,}" in lines
    macs = (16 * h_out * h_out) * (k * k * c_in)
    taps = re.search(rf"MACs = \(16\*{h_out}\*{h_out}\)\*\((\d+)\*(\d+)\*(\d+)\) = {macs:,}\n", lines)
    assert taps and sorted(map(int, taps.groups())) == sorted([k, k, c_in]), lines
    assert f"= {16 * h_out * h_out:,} values" in lines


def test_explain_conv_lines(capsys) -> None:
    doc = run_json(capsys, "explain", RESNET18, "conv1")
    lines = "\n".join(doc["explain"]["lines"])
    assert "floor((224 + 2*3 - 7) / 2) + 1 = 112" in lines
    assert "(7*7*3)*64 = 9,408 (no bias)" in lines


def test_explain_unknown_layer(capsys) -> None:
    assert main(["explain", RESNET18, "layer9"]) == 2
    assert "no layer 'layer9'" in capsys.readouterr().err


def test_unknown_command_suggests(capsys) -> None:
    assert main(["sumary", RESNET18]) == 2
    assert "did you mean 'summary'" in capsys.readouterr().err


def test_ops_lists_every_op(capsys) -> None:
    from cnncalc.ops.registry import ops

    assert main(["ops"]) == 0
    out = capsys.readouterr().out
    # "op: summary" at column 0, then one indented "argument: type, default ..." line each
    listed: dict[str, list[str]] = {}
    for line in out.splitlines():
        if line and not line[0].isspace():
            listed[line.split(":")[0]] = []
        elif line.strip() and listed:
            listed[list(listed)[-1]].append(line.split(":")[0].strip())
    declared = {name: [arg.name for arg in op.arguments] for name, op in ops().items()}
    assert listed == declared
    for name, op in ops().items():
        assert f"{name}: {op.summary}" in out


def test_python_dash_m_and_no_numpy_on_summary() -> None:
    code = (f"import sys; sys.argv = ['cnncalc', 'summary', {RESNET18!r}]; "
            "import cnncalc.cli as c; rc = c.main(sys.argv[1:]); "
            "assert 'numpy' not in sys.modules, 'summary imported numpy'; print(rc)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip().endswith("0")
    out = subprocess.run([sys.executable, "-m", "cnncalc", "summary", RESNET18, "--json"],
                         capture_output=True, text=True, check=True)
    assert json.loads(out.stdout)["total_params"] == 11_689_512


def test_explain_shows_compute_and_activation(capsys) -> None:
    doc = run_json(capsys, "explain", RESNET18, "conv1")
    lines = "\n".join(doc["explain"]["lines"])
    # (64*112*112) outputs x (3*7*7) taps, by hand: 802,816 * 147 = 118,013,952
    assert "MACs = (64*112*112)*(3*7*7) = 118,013,952" in lines
    assert "FLOPs = 236,027,904 (2 x 118,013,952 MACs)" in lines
    assert "802,816 values x 4 bytes (float32) = 3.06 MiB" in lines
