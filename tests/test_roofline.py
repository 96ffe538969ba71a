"""Latency lower bounds (roofline): hand-worked figures, device files, the CLI, and the
bound staying below PyTorch's measured CPU time."""
from __future__ import annotations

import json
from pathlib import Path

import pytest
from helpers import ARCH, graph, run_ok

from cnncalc.analysis.roofline import NoPeak, analyze_roofline
from cnncalc.cli import main
from cnncalc.devices import BUILTIN, Device, builtin, parse_device
from cnncalc.problems import SpecError

SMALL = """
    input: [3, 8, 8]
    layers:
      - conv: {filters: 4, kernel: 3, padding: 1, name: c}
      - relu: {name: r}
      - add: {in: [r, r], name: a}
      - flatten: {name: f}
"""
TOY = Device("toy", {"float32": 1000.0}, 1000.0)  # 1,000 FLOP/s, 1,000 bytes/s


def test_hand_worked_bounds() -> None:
    roof = analyze_roofline(graph(SMALL), TOY, batch=2)
    c, r, a, f = roof.layers
    # conv: 2 x (4*8*8 * 3*3*3) MACs + bias 4*8*8, per sample; batch 2
    assert c.flops == 2 * (2 * 4 * 64 * 27 + 4 * 64)
    assert c.bytes_moved == 4 * (2 * (3 * 64 + 4 * 64) + (4 * 3 * 9 + 4))
    assert c.compute_s == c.flops / 1000 and c.memory_s == c.bytes_moved / 1000
    assert c.bound_s == max(c.compute_s, c.memory_s) and c.limit == "compute"
    assert r.bytes_moved == 4 * 2 * (256 + 256) and r.limit == "memory"
    assert a.bytes_moved == 4 * 2 * (256 + 256)  # r read once although it is added to itself
    assert f.bytes_moved == 0 and f.bound_s == 0  # a view moves nothing
    assert roof.latency_bound_s == pytest.approx(sum(x.bound_s for x in roof.layers))
    assert c.intensity == c.flops / c.bytes_moved
    compulsory = 4 * (2 * (3 * 64 + 256) + 4 * 3 * 9 + 4)
    assert roof.compulsory_bound_s == max(roof.total_flops / 1000, compulsory / 1000)
    assert roof.compulsory_bound_s <= roof.latency_bound_s


def test_missing_dtype_peak_is_an_error(capsys) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(NoPeak, match="states no peak for bfloat16"):
        analyze_roofline(graph(SMALL), builtin("t4"), dtype="bfloat16")


def test_builtin_devices_cite_datasheets() -> None:
    for device in BUILTIN.values():
        assert "datasheet" in device.source
        assert device.bandwidth > 1e11 and min(device.peak_flops.values()) > 1e12
    a100 = builtin("a100-sxm4-40gb")
    assert a100.peak_flops["float32"] == 19.5e12 and a100.bandwidth == 1555e9
    with pytest.raises(KeyError, match="did you mean 'a100-sxm4-40gb'"):
        builtin("a100-sxm4-40")


@pytest.mark.parametrize("text, where", [
    ("name: x\npeak_flops: {float32: 1e12}\nbandwith: 1e9\n", [(3, 1), (1, 1)]),
    ("name: x\npeak_flops: {float23: 1e12}\nbandwidth: 1e9\n", [(2, 14)]),
    ("name: x\npeak_flops: {float32: -1}\nbandwidth: 1e9\n", [(2, 23)]),
    ("name: x\npeak_flops: {float32: 1e12}\nbandwidth: fast\n", [(3, 12)]),
    ("name: x\npeak_flops: []\nbandwidth: 1e9\n", [(2, 13)]),
    ("- a\n", [(1, 1)]),
])
def test_device_files_are_validated_with_locations(text: str, where: list[tuple[int, int]]) -> None:
    with pytest.raises(SpecError) as info:
        parse_device(text, "dev.yaml")
    assert sorted((p.loc.line, p.loc.col) for p in info.value.problems) == sorted(where)


def test_device_file_suggestions() -> None:
    with pytest.raises(SpecError) as info:
        parse_device("name: x\npeak_flops: {float23: 1e12}\nbandwith: 1e9\n", "dev.yaml")
    text = " ".join(p.message for p in info.value.problems)
    assert "did you mean 'float32'" in text and "did you mean 'bandwidth'" in text


def test_cli_json_and_text(tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    dev = tmp_path / "dev.yaml"
    dev.write_text("name: slow\npeak_flops: {float32: 1.0e9}\nbandwidth: 1.0e9\n")
    spec = str(ARCH / "resnet18.yaml")
    doc = json.loads(run_ok(capsys, "flops", spec, "--json", "--device", str(dev), "--batch", "2"))
    roof = analyze_roofline(graph((ARCH / "resnet18.yaml").read_text()),
                            Device("slow", {"float32": 1e9}, 1e9), batch=2)
    assert doc["latency_bound_s"] == roof.latency_bound_s
    assert [x["latency_bound_s"] for x in doc["layers"]] == [x.bound_s for x in roof.layers]
    assert {x["bound"] for x in doc["layers"]} == {"compute", "memory"}
    assert doc["device"]["name"] == "slow"
    doc = json.loads(run_ok(capsys, "summary", spec, "--json", "--device", "t4"))
    assert doc["latency_bound_s"] > 0 and doc["device"]["source"].startswith("NVIDIA T4")
    out = run_ok(capsys, "summary", spec, "--device", "t4")
    assert "latency bound on t4 (float32, batch 1):" in out
    out = run_ok(capsys, "flops", spec, "--device", "t4")
    assert "FLOPs/byte" in out


def test_cli_errors(tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    spec = str(ARCH / "resnet18.yaml")
    assert main(["summary", spec, "--device", "a100"]) == 2
    assert "no built-in device 'a100'" in capsys.readouterr().err
    dev = tmp_path / "dev.yaml"
    dev.write_text("name: x\npeak_flops: {float16: 1e12}\nbandwidth: 0\n")
    assert main(["flops", spec, "--device", str(dev)]) == 2
    assert f"{dev}:3:12: error: bandwidth must be a positive number" in capsys.readouterr().err
    dev.write_text("name: x\npeak_flops: {float16: 1e12}\nbandwidth: 1e9\n")
    assert main(["flops", spec, "--device", str(dev)]) == 2
    assert "states no peak for float32" in capsys.readouterr().err


@pytest.mark.parametrize("path, reason", [
    ("/dev/zero", "cannot read the file: it is a device"),
    ("nowhere/dev.yaml", "cannot read the file: no such file"),
])
def test_device_files_are_read_like_specs(path: str, reason: str, capsys) -> None:  # type: ignore[no-untyped-def]
    # The one file reader: a device never ends and is refused before anything is read.
    assert main(["summary", str(ARCH / "lenet5.yaml"), "--device", path]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"{path}:1:1: error: {reason}"), err
