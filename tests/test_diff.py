"""`cnncalc diff OLD NEW` on two versions of ResNet-18 (the zoo spec and an edited copy).

Oracle: torchvision's resnet18 has 11,689,512 parameters and 1,814,073,344 MACs; its fc is
512 -> 1000 (513,000 params, 512,000 MACs). With a 10-class head (5,130 params, 5,120 MACs)
it has 11,689,512 - 513,000 + 5,130 = 11,181,642 params and 1,814,073,344 - 512,000 + 5,120 =
1,813,566,464 MACs; a dropout before the head adds a layer and changes no figure.
"""
from __future__ import annotations

import io
import json
import subprocess
from pathlib import Path

import pytest

from cnncalc.cli import main
from cnncalc.diff import diff_graphs
from cnncalc.graph import load_graph, load_graph_text

ARCH = Path(__file__).resolve().parent.parent / "architectures"
OLD_TEXT = (ARCH / "resnet18.yaml").read_text()
NEW_TEXT = (OLD_TEXT.replace("  - dense: {units: 1000, name: fc}",
                             "  - dropout: {rate: 0.2, name: drop}\n"
                             "  - dense: {units: 10, name: fc}")
            .replace("output: [1000]", "output: [10]"))


def test_edit_applied() -> None:
    assert NEW_TEXT.count("units: 10,") == 1 and "name: drop" in NEW_TEXT


@pytest.fixture(scope="module")
def result():  # type: ignore[no-untyped-def]
    old = load_graph(ARCH / "resnet18.yaml")
    new = load_graph_text(NEW_TEXT, "resnet18-new.yaml")
    return diff_graphs(old, new)


def test_totals(result) -> None:  # type: ignore[no-untyped-def]
    totals = {t.key: t for t in result.totals}
    assert (totals["params"].old, totals["params"].new) == (11_689_512, 11_181_642)
    assert (totals["macs"].old, totals["macs"].new) == (1_814_073_344, 1_813_566_464)
    assert (totals["buffers"].old, totals["buffers"].new) == (9_600, 9_600)
    assert not totals["buffers"].changed
    assert totals["outputs"].old == {"fc": (1000,)} and totals["outputs"].new == {"fc": (10,)}
    assert totals["layers"].new == totals["layers"].old + 1
    # weights shrink by (513,000 - 5,130) x 4 bytes; activations at the peak are unchanged
    assert totals["memory"].old - totals["memory"].new == (513_000 - 5_130) * 4
    assert not totals["rf"].changed
    assert result.changed


def test_layer_rows(result) -> None:  # type: ignore[no-untyped-def]
    changed = [row for row in result.rows if row.status != "unchanged"]
    assert [(row.status, row.name) for row in changed] == [("added", "drop"), ("changed", "fc")]
    fc = changed[1]
    assert fc.changed == ("shape", "params", "macs")
    assert (fc.old.shape, fc.new.shape) == ((1000,), (10,))
    assert (fc.old.params, fc.new.params) == (513_000, 5_130)
    assert (fc.old.macs, fc.new.macs) == (512_000, 5_120)
    assert result.counts() == {"changed": 1, "added": 1, "removed": 0,
                               "unchanged": len(result.rows) - 2}


def test_identical_specs_do_not_differ() -> None:
    graph = load_graph(ARCH / "resnet18.yaml")
    same = diff_graphs(graph, load_graph(ARCH / "resnet18.yaml"))
    assert not same.changed and same.counts()["unchanged"] == len(graph.layers)


def test_depth_compares_blocks() -> None:
    old = load_graph(ARCH / "resnet18.yaml")
    new = load_graph_text(OLD_TEXT.replace("stage: {filters: 512, blocks: 2, stride: 2, "
                                           "name: layer4}",
                                           "stage: {filters: 256, blocks: 2, stride: 2, "
                                           "name: layer4}"), "new.yaml")
    result = diff_graphs(old, new, depth=1)
    changed = {row.name: row for row in result.rows if row.status == "changed"}
    assert list(changed) == ["layer4", "avgpool", "flatten1", "fc"]
    layer4 = changed["layer4"]
    assert (layer4.old.shape, layer4.new.shape) == ((512, 7, 7), (256, 7, 7))
    # layer4 from 256 channels at width w: conv3x3 + bn, conv3x3 + bn, 1x1 projection + bn,
    # then a second block of conv3x3 + bn twice. At w = 512 that is torchvision's 8,393,728.
    def stage(w: int, cin: int = 256) -> int:
        first = 9 * cin * w + 2 * w + 9 * w * w + 2 * w + cin * w + 2 * w
        return first + 2 * (9 * w * w + 2 * w)

    assert stage(512) == 8_393_728
    assert (layer4.old.params, layer4.new.params) == (stage(512), stage(256))
    assert (changed["fc"].old.params, changed["fc"].new.params) == (513_000, 257_000)


def test_cli_text_output(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    new = tmp_path / "new.yaml"
    new.write_text(NEW_TEXT)
    assert main(["diff", str(ARCH / "resnet18.yaml"), str(new), "--no-color"]) == 0
    out = capsys.readouterr().out
    assert "11,689,512" in out and "11,181,642" in out and "-507,870 (-4.3%)" in out
    assert "layers: 1 changed, 1 added, 0 removed" in out
    assert "+  drop" in out
    assert "[1000] -> [10]" in out and "513,000 -> 5,130 (-507,870)" in out
    assert "layer1.first.conv1" not in out  # unchanged layers only with --all
    assert main(["diff", str(ARCH / "resnet18.yaml"), str(new), "--all"]) == 0
    assert "layer1.first.conv1" in capsys.readouterr().out


def test_cli_json_and_exit_code(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    new = tmp_path / "new.yaml"
    new.write_text(NEW_TEXT)
    assert main(["diff", str(ARCH / "resnet18.yaml"), str(new), "--json", "--exit-code"]) == 1
    document = json.loads(capsys.readouterr().out)
    assert document["totals"]["params"] == {"label": "params", "old": 11_689_512,
                                            "new": 11_181_642, "change": -507_870}
    assert document["counts"]["added"] == 1
    fc = next(row for row in document["layers"] if row["new"] and row["new"]["name"] == "fc")
    assert fc["changed"] == ["shape", "params", "macs"]
    same = str(ARCH / "resnet18.yaml")
    assert main(["diff", same, same, "--exit-code"]) == 0


def test_stdin_and_git_revision(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                monkeypatch: pytest.MonkeyPatch) -> None:
    new = tmp_path / "arch.yaml"
    new.write_text(NEW_TEXT)
    monkeypatch.setattr("sys.stdin", io.StringIO(OLD_TEXT))
    assert main(["diff", "-", str(new), "--json"]) == 0
    document = json.loads(capsys.readouterr().out)
    assert document["old"] == "<stdin>" and document["totals"]["params"]["old"] == 11_689_512

    def git(*args: str) -> None:
        subprocess.run(["git", *args], cwd=tmp_path, check=True, capture_output=True)

    new.write_text(OLD_TEXT)
    git("init", "-q")
    git("add", "arch.yaml")
    git("-c", "user.name=t", "-c", "user.email=t@example.com", "commit", "-q", "-m", "old")
    new.write_text(NEW_TEXT)
    monkeypatch.chdir(tmp_path)
    assert main(["diff", "HEAD:arch.yaml", "arch.yaml", "--json"]) == 0
    document = json.loads(capsys.readouterr().out)
    assert document["old"] == "HEAD:arch.yaml"
    assert document["totals"]["params"]["change"] == -507_870


def test_errors(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                monkeypatch: pytest.MonkeyPatch) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("input: [3, 8, 8]\nlayers:\n  - convv: 3\n")
    assert main(["diff", str(ARCH / "resnet18.yaml"), str(bad)]) == 2
    assert capsys.readouterr().err.startswith(f"{bad}:3:5: error:")
    assert main(["diff", "-", "-"]) == 2
    assert main(["diff", str(ARCH / "resnet18.yaml"), str(tmp_path / "none.yaml")]) == 2
    assert "none.yaml:1:1: error: cannot read the file: no such file" in capsys.readouterr().err
    monkeypatch.chdir(tmp_path)  # not a git repository: REV:PATH fails with git's reason
    assert main(["diff", "HEAD:nothing.yaml", str(bad)]) == 2
    assert "`git show HEAD:nothing.yaml` failed" in capsys.readouterr().err
