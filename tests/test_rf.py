"""Receptive fields: lecture example 7, published values of the zoo networks, gates, misaligned
merges, warnings, and the `rf`, `summary` and `explain` output. The per-op rules are checked
against an impulse oracle in test_rf_oracle.py and against their definitions in test_rf_ops.py."""
from __future__ import annotations

import json
from fractions import Fraction

import pytest
from helpers import ARCH, graph

from cnncalc import load_graph
from cnncalc.analysis.rf import analyze_rf
from cnncalc.cli import main


def rf_of(spec: str, layer: str, input_shape: tuple[int, ...] | None = None):  # type: ignore[no-untyped-def]
    g = load_graph(ARCH / f"{spec}.yaml", input_shape)
    return analyze_rf(g)[g.layer(layer).name]


# -- lecture example 7 --------------------------------------------------------------------

def test_lecture_three_3x3_convs_grow_3_5_7() -> None:
    g = load_graph(ARCH / "lecture" / "07_receptive_field.yaml")
    result = analyze_rf(g)
    assert [result[n].size for n in ("conv1", "conv2", "conv3")] == [(3, 3), (5, 5), (7, 7)]
    assert [result[n].stride for n in ("conv1", "conv2", "conv3")] == [(1, 1)] * 3
    assert [result[n].padding for n in ("conv1", "conv2", "conv3")] == [(1, 1), (2, 2), (3, 3)]


def test_lecture_pooling_between_convs_grows_faster() -> None:
    # RF_L = RF_{L-1} + (K-1) * product of earlier strides: 3, 3+1*2... as the file's comments.
    g = load_graph(ARCH / "lecture" / "07_receptive_field_pooling.yaml")
    result = analyze_rf(g)
    names = ("conv1", "pool1", "conv2", "pool2", "conv3")
    assert [result[n].size[0] for n in names] == [3, 4, 8, 10, 18]
    assert [result[n].stride[0] for n in names] == [1, 2, 2, 4, 4]


# -- published values -------------------------------------------------------------------

@pytest.mark.parametrize(("spec", "layer", "size", "stride", "padding"), [
    ("vgg16", "features", 212, 32, 90),        # pool5
    ("alexnet", "features", 195, 32, None),    # torchvision's final max pool
    ("resnet18", "layer4", 435, 32, 217),
    ("resnet50", "layer4", 427, 32, 213),
    ("mobilenet_v2", "features", 491, 32, None),
])
def test_published_receptive_fields(spec: str, layer: str, size: int, stride: int,
                                    padding: int | None) -> None:
    rf = rf_of(spec, layer)
    assert not rf.is_global and rf.aligned and rf.uniform
    assert rf.size == (size, size) and rf.stride == (stride, stride)
    if padding is not None:
        assert rf.padding == (padding, padding)


def test_vgg_pool5_unit_zero_is_centred_at_15_5() -> None:
    assert rf_of("vgg16", "features").start == (Fraction(31, 2),) * 2


def test_resnet_narrowest_path_goes_through_every_projection_shortcut() -> None:
    # conv1 7x7/2 then maxpool 3x3/2 (7 + 2*2 = 11), then only 1x1 convs and identities.
    assert rf_of("resnet18", "layer4").size_min == (11, 11)


def test_efficientnet_b0_gated_layers_are_global_with_local_851() -> None:
    rf = rf_of("efficientnet_b0", "features")
    assert rf.is_global and rf.size is None
    assert rf.local is not None
    assert [(a.size, a.stride, a.padding) for a in rf.local] == [(851, 32, 425)] * 2


def test_gap_and_dense_are_global_without_a_local_part() -> None:
    for name in ("avgpool", "fc"):
        rf = rf_of("resnet18", name)
        assert rf.is_global and rf.local is None


def test_last_local_is_the_feature_map_a_check_reads() -> None:
    g = load_graph(ARCH / "efficientnet_b0.yaml")
    assert analyze_rf(g).last_local().name == g.layer("features").name  # type: ignore[union-attr]
    g = load_graph(ARCH / "resnet18.yaml")
    assert analyze_rf(g).last_local().name == g.layer("layer4").name  # type: ignore[union-attr]


# -- graphs ------------------------------------------------------------------------------

MISALIGNED = """
    input: [1, 32, 32]
    layers:
      - conv: {filters: 4, kernel: 3, padding: 1, name: centred}
      - conv: {filters: 4, kernel: 3, padding: [[2, 0], [1, 1]], in: input, name: shifted}
      - add: {in: [centred, shifted], name: merged}
      - relu
"""


def test_misaligned_merge_is_reported_with_layer_paths_and_offset() -> None:
    result = analyze_rf(graph(MISALIGNED))
    merged = result["merged"]
    assert not merged.aligned
    (m,) = merged.misaligned
    assert m.axis == 1 and m.offset == 1
    assert [(name, centre) for name, _, centre in m.inputs] == [("centred", 0), ("shifted", -1)]
    assert merged.size == (4, 3)  # the union [-2, 1] along axis 1
    assert not result["relu1"].misaligned and not result["relu1"].aligned  # inherited, once
    warnings = [(p.loc.line, p.code) for p in result.warnings]
    assert warnings == [(5, "rf-padding"), (6, "rf-misaligned")]  # [-2, 0]: 2 of 3 are padding
    assert "'centred'" in result.warnings[1].message and "by up to 1" in result.warnings[1].message


def test_different_strides_on_two_paths_are_misaligned_and_sized_exactly() -> None:
    result = analyze_rf(graph("""
        input: [1, 16]
        layers:
          - conv: {filters: 1, kernel: 1, stride: 2, name: sparse}
          - conv: {filters: 1, kernel: 9, in: input, name: wide}
          - add: {in: [sparse, wide], name: merged}
    """))
    merged = result["merged"]
    # unit j sees {2j} and [j, j+8]: the union spans 9 positions at j = 0 and j = 7.
    assert merged.size == (9,) and not merged.aligned
    assert merged.region((7,)) == ((7, 15),)
    assert "different strides" in result.warnings[0].message


def test_residual_paths_are_aligned() -> None:
    assert not analyze_rf(load_graph(ARCH / "resnet50.yaml")).warnings


def test_unet_reports_its_pool_unpool_misalignment() -> None:
    result = analyze_rf(load_graph(ARCH / "unet.yaml"))
    codes = {p.code for p in result.warnings}
    assert codes == {"rf-misaligned"}
    g = load_graph(ARCH / "unet.yaml")
    up = result[g.layer("dec4.up").name]
    assert up.stride == (8, 8) and not up.uniform  # a 2x2/2 transposed conv: two phases


# -- warnings ----------------------------------------------------------------------------

def test_unproductive_depth_is_reported_once_at_the_first_layer() -> None:
    result = analyze_rf(load_graph(ARCH / "lecture" / "07_receptive_field.yaml", (1, 4, 4)))
    (problem,) = result.warnings
    assert problem.code == "rf-unproductive" and problem.level == "warning"
    assert problem.loc.line == 9  # conv2: r = 5 > 4
    assert "1 later layer is the same" in problem.message


def test_too_much_padding_is_reported_where_it_starts() -> None:
    result = analyze_rf(graph("""
        input: [1, 20]
        layers:
          - conv: {filters: 1, kernel: 3, padding: 1}
          - conv: {filters: 1, kernel: 3, padding: 3}
          - conv: {filters: 1, kernel: 3, padding: 1}
    """))
    (problem,) = result.warnings
    assert (problem.loc.line, problem.code) == (5, "rf-padding")
    # unit 0 sees [-4, 0] and unit 1 [-3, 1]: more than half padding, at both ends.
    assert "4 of 24 units" in problem.message


def test_gaps_left_by_dilation_are_counted_and_reported_at_the_last_feature_map() -> None:
    spec = """
        input: [1, 64]
        layers:
          - conv: {filters: 1, kernel: 3, dilation: 2, padding: 2, name: a}
          - conv: {filters: 1, kernel: 3, dilation: 4, padding: 4, name: b}
          - conv: {filters: 1, kernel: 3, padding: 1, name: c}
    """
    result = analyze_rf(graph(spec))
    # a reads {0, 2, 4} of 5; b copies that at 0, 4, 8: the even positions, 7 of 13;
    # c (3 taps, step 1) fills single gaps: 15 of 15.
    assert [result[n].local[0].gaps for n in "abc"] == [2, 6, 0]
    assert result.warnings == []
    result = analyze_rf(graph(spec.replace("kernel: 3, padding: 1", "kernel: 1")))
    (problem,) = result.warnings
    assert problem.code == "rf-gaps" and "7 of the 13 positions" in problem.message


def test_a_well_padded_network_has_no_warnings() -> None:
    for spec in ("vgg16", "resnet18", "mobilenet_v2", "alexnet"):
        assert analyze_rf(load_graph(ARCH / f"{spec}.yaml")).warnings == [], spec


# -- commands ----------------------------------------------------------------------------

def run(capsys, *args: str) -> tuple[int, str, str]:  # type: ignore[no-untyped-def]
    code = main(list(args))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_rf_table(capsys, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("NO_COLOR", "1")
    code, out, err = run(capsys, "rf", str(ARCH / "lecture" / "07_receptive_field_pooling.yaml"))
    assert code == 0 and err == ""
    rows = {line.split()[0]: line.split()[1:] for line in out.splitlines()[1:] if line.strip()}
    assert rows["conv3"][-4:] == ["18", "4", "7", "18"]  # r, S, P, r min
    assert "\x1b[" not in out


def test_rf_table_shows_axes_that_differ_and_warnings_on_stderr(capsys, tmp_path) -> None:  # type: ignore[no-untyped-def]
    spec = tmp_path / "rect.yaml"
    spec.write_text("input: [1, 30, 30]\nlayers:\n  - conv: {filters: 1, kernel: [3, 5], stride: [1, 2]}\n"
                    "  - conv: {filters: 1, kernel: 3, padding: 3}\n")
    code, out, err = run(capsys, "rf", str(spec))
    assert code == 0
    assert "3x5" in out and "1x2" in out
    assert err.startswith(f"{spec}:4:5: warning:")


def test_rf_json_adds_rf_to_every_layer(capsys) -> None:  # type: ignore[no-untyped-def]
    code, out, _ = run(capsys, "rf", str(ARCH / "efficientnet_b0.yaml"), "--json")
    doc = json.loads(out)
    assert code == 0 and doc["total_params"] == 5_288_548  # the base document is kept
    stem = doc["layers"][0]["rf"]
    assert stem == {"size": [3, 3], "stride": [2, 2], "padding": [1, 1], "start": [0, 0],
                    "size_min": [3, 3], "gaps": [0, 0], "aligned": True, "global": False,
                    "uniform": True}
    features = next(layer for layer in doc["layers"] if layer["name"] == "features.silu1")["rf"]
    assert features["global"] and features["size"] is None
    assert features["size_local"] == [851, 851] and features["padding_local"] == [425, 425]
    assert doc["rf_warnings"][0]["code"] == "rf-unproductive"


def test_rf_json_fractions_stay_exact(capsys, tmp_path) -> None:  # type: ignore[no-untyped-def]
    spec = tmp_path / "up.yaml"
    spec.write_text("input: [1, 12]\nlayers:\n  - conv: {filters: 1, kernel: 3, stride: 3}\n"
                    "  - upsample: 2\n  - conv: {filters: 1, kernel: 2, stride: 3}\n"
                    "  - upsample: 2\n")
    doc = json.loads(run(capsys, "rf", str(spec), "--json")[1])
    assert [layer["rf"]["stride"] for layer in doc["layers"]] == [[3], [1.5], [4.5], [2.25]]
    spec.write_text("input: [1, 12]\nlayers:\n  - upsample: 3\n")
    doc = json.loads(run(capsys, "rf", str(spec), "--json")[1])
    assert doc["layers"][0]["rf"]["stride"] == ["1/3"]


def test_rf_layer_and_unit(capsys) -> None:  # type: ignore[no-untyped-def]
    code, out, _ = run(capsys, "rf", str(ARCH / "resnet18.yaml"), "--layer", "layer4", "--unit", "0,3")
    assert code == 0
    assert "r = 435, S = 32, P = 217" in out
    assert "receptive field [-217, 217]" in out and "depends on input [0, 217] (218 positions)" in out
    doc = json.loads(run(capsys, "rf", str(ARCH / "resnet18.yaml"), "--unit", "6,0", "--json")[1])
    assert doc["rf_unit"]["region"] == [[-25, 409], [-217, 217]]
    assert doc["rf_unit"]["depends_on"][0] == {"first": 0, "last": 223, "positions": 224}


def test_rf_unit_shows_gaps_left_by_dilation(capsys, tmp_path) -> None:  # type: ignore[no-untyped-def]
    spec = tmp_path / "dilated.yaml"
    spec.write_text("input: [1, 30]\nlayers:\n  - conv: {filters: 1, kernel: 3, dilation: 4}\n")
    out = run(capsys, "rf", str(spec), "--unit", "5")[1]
    assert "receptive field [5, 13]" in out and "(3 positions; 6 skipped in between)" in out


@pytest.mark.parametrize(("args", "message"), [
    (["--layer", "nope"], "no layer 'nope'"),
    (["--unit", "1"], "--unit needs 2 indices"),
    (["--unit", "0,7"], "index 7 is outside spatial axis 2"),
    (["--unit", "a,b"], "expected indices"),
])
def test_rf_bad_options_exit_2(capsys, args: list[str], message: str) -> None:  # type: ignore[no-untyped-def]
    code, out, err = run(capsys, "rf", str(ARCH / "resnet18.yaml"), "--layer", "layer4", *args) \
        if "--layer" not in args else run(capsys, "rf", str(ARCH / "resnet18.yaml"), *args)
    assert code == 2 and message in err and "Traceback" not in err


def test_summary_has_an_rf_column(capsys, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("NO_COLOR", "1")
    out = run(capsys, "summary", str(ARCH / "efficientnet_b0.yaml"), "--depth", "1")[1]
    header = out.splitlines()[1].split()
    assert header[-1] == "RF"
    assert "global (local 851)" in out
    doc = json.loads(run(capsys, "summary", str(ARCH / "resnet18.yaml"), "--json")[1])
    assert doc["layers"][0]["rf"]["size"] == [7, 7]


def test_explain_writes_the_recurrence_out(capsys) -> None:  # type: ignore[no-untyped-def]
    spec = str(ARCH / "lecture" / "07_receptive_field_pooling.yaml")
    out = run(capsys, "explain", spec, "conv2")[1]
    assert "r = r_in + (k_eff - 1) * S_in = 4 + (3 - 1) * 2 = 8" in out
    assert "S = S_in * stride = 2 * 1 = 2" in out and "P = P_in + pad * S_in = 1 + 1 * 2 = 3" in out
    out = run(capsys, "explain", str(ARCH / "resnet18.yaml"), "layer2.first.add1")[1]
    assert "union of the 2 inputs: r = 67, S = 8, P = 33" in out


def test_a_10000_layer_chain() -> None:
    # Exact big integers all the way down (timing lives in benchmarks/bench_analysis.py).
    g = graph("input: [1, 64, 64]\nlayers:\n  - conv: {filters: 1, kernel: 3, padding: 1, repeat: 10000}\n")
    result = analyze_rf(g)
    assert result[g.layers[-1].name].size == (20001, 20001)


def test_unread_input_tail_is_warned() -> None:
    from cnncalc import load_graph_text
    from cnncalc.analysis.rf import analyze_rf

    # conv k2 s2 on 7 samples: windows [0,1] [2,3] [4,5]; position 6 is never read.
    g = load_graph_text("input: [1, 7]\nlayers:\n  - conv: {filters: 1, kernel: 2, stride: 2}\n")
    warnings = [w for w in analyze_rf(g).warnings if w.code == "rf-unread"]
    assert len(warnings) == 1 and "[6, 6] along spatial axis 1 (1 of 7)" in warnings[0].message
    g = load_graph_text("input: [1, 8]\nlayers:\n  - conv: {filters: 1, kernel: 2, stride: 2}\n")
    assert not [w for w in analyze_rf(g).warnings if w.code == "rf-unread"]
    # padding on the left only: the first input position is read, the last is not
    g = load_graph_text("input: [1, 6]\nlayers:\n"
                        "  - conv: {filters: 1, kernel: 2, stride: 2, padding: [[1, 0]]}\n")
    [warning] = [w for w in analyze_rf(g).warnings if w.code == "rf-unread"]
    assert "[5, 5]" in warning.message


def test_a_period_too_long_to_follow_is_not_computed_never_guessed() -> None:
    # Nearest upsampling by p then a 3-wide conv: a unit at a block boundary reads 2 input
    # units, so r = 2 for any p >= 2, computed exactly up to MAX_PHASES; beyond, the layer and
    # every layer reading it locally say why their numbers are missing, and a check fails.
    from cnncalc.analysis.rf import analyze_rf
    from cnncalc.analysis.rfgeom import MAX_PHASES
    from cnncalc.checks.measure import run_checks

    spec = ("input: [1, 4]\nlayers:\n  - upsample: {{scale: {p}}}\n"
            "  - conv: {{filters: 1, kernel: 3, padding: 1}}\n  - gap\n"
            "checks:\n  rf: {{min: 1}}\n")
    for p in (2, 7, MAX_PHASES):
        assert analyze_rf(graph(spec.format(p=p)))["conv1"].size == (2,)
    g = graph(spec.format(p=MAX_PHASES + 1))
    result = analyze_rf(g)
    for name in ("upsample1", "conv1"):
        assert result[name].size is None and f"{MAX_PHASES + 1:,} positions" in result[name].not_computed
    assert result["gap1"].is_global and not result["gap1"].not_computed
    (outcome,) = run_checks(g, g.spec.parsed_checks)
    assert not outcome.passed and "not computed" in outcome.message


def test_docs_give_the_phase_limit_of_the_code() -> None:
    from helpers import ROOT

    from cnncalc.analysis.rfgeom import MAX_PHASES

    assert f"Past {MAX_PHASES:,} phases" in (ROOT / "docs" / "rf.md").read_text()
