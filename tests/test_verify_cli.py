"""`cnncalc verify` and `cnncalc init-weights` from the command line: exit codes, JSON, files
in and out, and every bad input reported as FILE: error: ... (exit 2, no traceback)."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from cnncalc.cli import main

ROOT = Path(__file__).resolve().parent.parent
LENET = str(ROOT / "architectures" / "lenet5.yaml")
SPEC = """
input: [3, 8, 8]
layers:
  - conv: {filters: 4, kernel: 3, padding: 1, name: conv}
  - bn: {name: bn}
  - relu
  - gap
  - flatten
  - dense: {units: 3, name: fc}
"""


@pytest.fixture
def spec(tmp_path: Path) -> str:
    path = tmp_path / "net.yaml"
    path.write_text(SPEC)
    return str(path)


def run(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = main(args)
    out, err = capsys.readouterr()
    return code, out, err


def test_verify_passes_and_reports_every_kind(spec: str, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(["verify", spec], capsys)
    assert code == 0, out + err
    for kind in ("shape", "values", "params", "buffers", "macs", "memory", "workspace", "rf"):
        assert f"\n{kind} " in out
    assert "checks passed" in out and "\x1b[" not in out  # no colour when not a terminal


def test_json_lists_every_check(spec: str, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(["verify", spec, "--json", "--batch", "3", "--layer", "conv"], capsys)
    doc = json.loads(out)
    assert code == 0 and doc["ok"] is True and doc["batch"] == 3
    assert doc["total_params"] == 4 * 27 + 4 + 8 + 4 * 3 + 3  # graph_json's keys are kept
    for check in doc["checks"]:
        assert {"check", "layer", "expected", "measured", "ok"} <= check.keys()
    assert {c["layer"] for c in doc["checks"] if c["check"] == "rf"} >= {"conv axis 1", "conv axis 2"}
    macs = next(c for c in doc["checks"] if c["check"] == "macs" and c["layer"] == "conv")
    assert macs["expected"] == macs["measured"] == 3 * 4 * 64 * 27
    assert doc["memory"]["ratio"] == 1.0


def test_failed_check_exits_1(spec: str, capsys: pytest.CaptureFixture[str],
                              monkeypatch: pytest.MonkeyPatch) -> None:
    from cnncalc.ops.dense import Dense

    monkeypatch.setattr(Dense, "macs", lambda self, layer: 1)
    code, out, _ = run(["verify", spec, "--no-rf"], capsys)
    assert code == 1
    assert "macs fc: expected 1, measured 12" in out


def test_init_weights_round_trip_and_save_files(spec: str, tmp_path: Path,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    w = tmp_path / "w.npz"
    code, out, _ = run(["init-weights", spec, "-o", str(w), "--seed", "4"], capsys)
    assert code == 0 and "wrote 8 arrays" in out
    with np.load(w) as data:
        assert sorted(data.files) == ["bn.bias", "bn.running_mean", "bn.running_var", "bn.weight",
                                      "conv.bias", "conv.weight", "fc.bias", "fc.weight"]
        assert data["conv.weight"].shape == (4, 3, 3, 3)
    x = np.random.default_rng(0).standard_normal((2, 3, 8, 8)).astype(np.float32)
    np.save(tmp_path / "x.npy", x)
    acts = tmp_path / "acts"
    code, out, err = run(["verify", spec, "--weights", str(w), "--input-file", str(tmp_path / "x.npy"),
                          "--save-output", str(tmp_path / "y.npy"), "--save-activations", str(acts)],
                         capsys)
    assert code == 0, out + err
    y = np.load(tmp_path / "y.npy")
    assert y.shape == (2, 3)
    assert np.array_equal(np.load(acts / "fc.npy"), y)
    assert np.array_equal(np.load(acts / "input.npy"), x)
    # The template holds exactly the weights a seeded run draws.
    code, _, _ = run(["verify", spec, "--seed", "4", "--input-file", str(tmp_path / "x.npy"),
                      "--save-output", str(tmp_path / "y2.npy")], capsys)
    assert np.array_equal(np.load(tmp_path / "y2.npy"), y)


def test_weights_problems_name_layer_and_shapes(spec: str, tmp_path: Path,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    main(["init-weights", spec, "-o", str(tmp_path / "w.npz")])
    with np.load(tmp_path / "w.npz") as data:
        arrays = dict(data)
    arrays.pop("bn.running_var")
    arrays["conv.weight"] = arrays["conv.weight"][:, :, :2]
    arrays["fc.wieght"] = arrays["fc.weight"]
    np.savez(tmp_path / "bad.npz", **arrays)
    capsys.readouterr()
    code, out, err = run(["verify", spec, "--weights", str(tmp_path / "bad.npz")], capsys)
    assert code == 2 and out == ""
    lines = err.splitlines()
    assert all(line.startswith(f"{tmp_path / 'bad.npz'}:1:1: error: ") for line in lines)
    assert any("layer 'bn' (bn) needs 'bn.running_var' of shape [4]" in line for line in lines)
    assert any("'conv.weight' has shape [4, 3, 2, 3] but the spec needs [4, 3, 3, 3]" in line
               for line in lines)
    assert any("'fc.wieght' belongs to no layer of the spec (did you mean 'fc.weight'?)" in line
               for line in lines)


@pytest.mark.parametrize("content, message", [
    (np.zeros((3, 8, 9)), "the array has shape [3, 8, 9] but the network takes [3, 8, 8]"),
    (np.array(["a"]), "not numbers"),
    (np.full((3, 8, 8), np.nan), "NaN"),
])
def test_input_file_problems(spec: str, tmp_path: Path, capsys: pytest.CaptureFixture[str],
                             content: np.ndarray, message: str) -> None:
    np.save(tmp_path / "x.npy", content)
    code, out, err = run(["verify", spec, "--input-file", str(tmp_path / "x.npy")], capsys)
    assert code == 2 and out == ""
    assert err.startswith(f"{tmp_path / 'x.npy'}:1:1: error: ") and message in err


def test_other_bad_input_is_exit_2(spec: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "x.txt").write_text("1 2 3")
    (tmp_path / "w.npz").write_text("not a zip")
    cases = [
        (["--input-file", str(tmp_path / "x.txt")], "cannot read '.txt' files"),
        (["--input-file", str(tmp_path / "missing.npy")], "no such file"),
        (["--weights", str(tmp_path / "w.npz")], "cannot read weights"),
        (["--layer", "cnov"], "--layer: no layer 'cnov' (did you mean 'conv'?)"),
        (["--max-memory", "lots"], "expected a size like 2GB"),
    ]
    for extra, message in cases:
        code, out, err = run(["verify", spec, *extra], capsys)
        assert code == 2 and message in err and "Traceback" not in err, (extra, err)


def test_batch_of_file_and_option_must_agree(spec: str, tmp_path: Path,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    np.save(tmp_path / "x.npy", np.zeros((2, 3, 8, 8)))
    code, _, err = run(["verify", spec, "--input-file", str(tmp_path / "x.npy"), "--batch", "3"], capsys)
    assert code == 2 and "batch of 2 but --batch is 3" in err
    np.save(tmp_path / "one.npy", np.ones((3, 8, 8)))
    code, out, _ = run(["verify", spec, "--input-file", str(tmp_path / "one.npy"), "--batch", "3",
                        "--json"], capsys)
    assert code == 0 and json.loads(out)["batch"] == 3


def test_image_input(spec: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    image = pytest.importorskip("PIL.Image")
    pixels = np.random.default_rng(0).integers(0, 256, (10, 12, 3), dtype=np.uint8)
    image.fromarray(pixels).save(tmp_path / "x.png")
    code, out, err = run(["verify", spec, "--input-file", str(tmp_path / "x.png"), "--save-activations",
                          str(tmp_path / "a"), "--no-rf"], capsys)
    assert code == 0, err
    assert "the 12x10 image is resized to 8x8 (bilinear)" in err
    x = np.load(tmp_path / "a" / "input.npy")
    assert x.shape == (1, 3, 8, 8) and x.min() >= 0.0 and x.max() <= 1.0


def test_refuses_what_would_not_fit(spec: str, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(["verify", spec, "--max-memory", "10KB"], capsys)
    assert code == 2 and out == ""
    assert "verify would need about" in err and "raise the limit with --max-memory" in err
    code, _, _ = run(["verify", spec, "--max-memory", "1GB"], capsys)
    assert code == 0


def test_several_outputs_need_npz(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "two.yaml"
    path.write_text("input: [2, 4]\nlayers:\n  - relu: {name: a}\n  - tanh: {in: input, name: b}\n"
                    "outputs: [a, b]\n")
    code, _, err = run(["verify", str(path), "--save-output", str(tmp_path / "y.npy")], capsys)
    assert code == 2 and "save them to an .npz file" in err
    code, _, _ = run(["verify", str(path), "--save-output", str(tmp_path / "y.npz")], capsys)
    assert code == 0
    with np.load(tmp_path / "y.npz") as data:
        assert sorted(data.files) == ["a", "b"]


def test_verify_command_in_a_fresh_process() -> None:
    """The installed entry point, piped: no progress bar in the output, exit code 0."""
    done = subprocess.run([sys.executable, "-m", "cnncalc", "verify", LENET, "--json"],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["ok"] is True
    assert done.stderr == ""


def test_a_layer_that_cannot_run_is_a_failed_check(spec: str, capsys: pytest.CaptureFixture[str],
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    from cnncalc.ops.norm import BatchNorm

    def broken(self, layer, inputs, weights, overwrite=None):
        raise ValueError("operands could not be broadcast")

    monkeypatch.setattr(BatchNorm, "forward", broken)
    code, out, err = run(["verify", spec, "--json"], capsys)
    assert code == 1 and "Traceback" not in err
    bad = [c for c in json.loads(out)["checks"] if not c["ok"]]
    assert [(c["check"], c["layer"]) for c in bad] == [("forward", "bn")]
    assert "bn 'bn': ValueError: operands could not be broadcast" in bad[0]["measured"]
