"""Spec variables: `vars:` defaults, `${...}` everywhere, helpers, and `--set NAME=VALUE`."""
from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest
from helpers import graph, run_ok, where

from cnncalc import load_graph_text
from cnncalc.cli import main
from cnncalc.spec.expr import ExprError, evaluate_with, make_divisible

SPEC = """\
cnncalc: 1
name: widths
vars: {width: 1.0, res: 32, depth: 2}
input: [3, $res, "${res}"]
blocks:
  unit:
    args: {filters: required}
    layers:
      - conv: {filters: "${make_divisible(filters * width, 8)}", kernel: 3, padding: 1}
      - relu
layers:
  - unit: {filters: 32, repeat: $depth}
  - gap
  - flatten
  - dense: {units: "${round(10 * width)}"}
checks:
  output: ["${round(10 * width)}"]
  params: {max: "${12000 * width}"}
"""


def conv_params(c_in: int, c_out: int) -> int:
    return 9 * c_in * c_out + c_out


def test_defaults_apply_everywhere() -> None:
    g = load_graph_text(SPEC, "w.yaml")
    assert g.input_shape == (3, 32, 32)
    assert [layer.out_shape for layer in g.layers if layer.op_name == "conv"] == [(32, 32, 32)] * 2
    assert g.total_params == conv_params(3, 32) + conv_params(32, 32) + 32 * 10 + 10
    assert g.spec.variables == {"width": 1.0, "res": 32, "depth": 2}


def test_overrides_change_width_depth_and_resolution() -> None:
    g = load_graph_text(SPEC, "w.yaml", variables={"width": 0.5, "depth": 3, "res": 64})
    assert g.input_shape == (3, 64, 64)
    convs = [layer for layer in g.layers if layer.op_name == "conv"]
    assert [c.out_shape[0] for c in convs] == [16, 16, 16]  # make_divisible(16, 8)
    assert g.output_shapes == {"dense1": (5,)}  # round(5.0)
    assert g.total_params == conv_params(3, 16) + 2 * conv_params(16, 16) + 16 * 5 + 5


def test_overrides_survive_an_input_override() -> None:
    g = load_graph_text(SPEC, "w.yaml", input_shape=(3, 16, 16), variables={"width": 0.5})
    assert g.input_shape == (3, 16, 16)
    assert g.output_shapes == {"dense1": (5,)}


@pytest.mark.parametrize("v, d, least, expected", [
    (24.0, 8, None, 24), (33.6, 8, None, 32), (5.6, 8, None, 8), (10, 8, None, 16),
    (12, 8, None, 16), (11.9, 8, None, 16), (1280 * 1.4, 8, None, 1792), (3, 8, 4, 4),
])
def test_make_divisible_is_torchvisions(v: float, d: int, least: int | None, expected: int) -> None:
    # torchvision.models._utils._make_divisible written out by hand as the oracle
    low = d if least is None else least
    ref = max(low, int(v + d / 2) // d * d)
    ref = ref + d if ref < 0.9 * v else ref
    assert make_divisible(v, d, least) == ref == expected
    text = f"make_divisible({v}, {d}{'' if least is None else f', {least}'})"
    assert evaluate_with(text, {}) == expected


@pytest.mark.parametrize("text, value", [
    ("round(2.5)", 2), ("round(3.5)", 4), ("ceil(0.25 * 7)", 2), ("floor(7 / 2)", 3),
    ("7 / 2", 3.5), ("1e3 // 7", 142.0), ("max(1.5, 2)", 2), ("w * 4", 3.0), ("w < 1", True),
])
def test_decimal_arithmetic(text: str, value: object) -> None:
    result = evaluate_with(text, {"w": 0.75})
    assert result == value and type(result) is type(value)


@pytest.mark.parametrize("text, message", [
    ("1 / 0", "division by zero"), ("1e300 * 1e300", "unreasonably large"),
    ("make_divisible(3, 0)", "positive divisor"), ("round(true)", "needs a number"),
    ("ceil(1, 2)", "takes 1"),
])
def test_decimal_errors(text: str, message: str) -> None:
    with pytest.raises(ExprError, match=message):
        evaluate_with(text, {})


def test_unknown_names_are_located_with_suggestions() -> None:
    bad = SPEC.replace("filters * width", "filters * widht").replace('input: [3, $res, "${res}"]',
                                                                     "input: [3, $rez, $res]")
    # the unknown variable is said once: no second, generic "bad input" error for it
    assert where(bad) == [(4, 12, "unknown-var"), (9, 25, "unknown-arg")]
    messages = [str(p) for p in _problems(bad)]
    assert any("did you mean 'res'" in m for m in messages)
    assert any("did you mean 'width'" in m and "variable" in m for m in messages)


def _problems(text: str) -> list[object]:
    from helpers import problems

    return [p.message for p in problems(text)]  # type: ignore[attr-defined]


@pytest.mark.parametrize("vars_text, col, message", [
    ("{in: 2}", 8, "reserved"), ("{round: 2}", 8, "reserved"), ("{w: true}", 11, "needs a number"),
    ("{w: [1]}", 11, "needs a number"), ("[w]", 7, "mapping"), ("{w: abc}", 11, "needs a number"),
])
def test_bad_vars(vars_text: str, col: int, message: str) -> None:
    text = f"cnncalc: 1\nvars: {vars_text}\ninput: [3, 8, 8]\nlayers: [relu]\n"
    found = where(text)
    assert found and found[0][:2] == (2, col), found
    assert any(message in m for m in _problems(text))


def test_a_decimal_where_an_integer_is_needed_is_an_error() -> None:
    text = 'vars: {w: 0.75}\ninput: [3, 8, 8]\nlayers:\n  - conv: {filters: "${32 * w}", kernel: 1}\n'
    assert where(text) == [(4, 21, "bad-arg")]


def test_a_block_argument_hides_a_variable() -> None:
    g = graph("""
        vars: {filters: 4}
        input: [3, 8, 8]
        blocks:
          b:
            args: {filters: 6}
            layers: [{conv: {filters: $filters, kernel: 1}}]
        layers:
          - b
          - conv: {filters: $filters, kernel: 1}
    """)
    assert [layer.out_shape[0] for layer in g.layers] == [6, 4]


# -- the command line -----------------------------------------------------------------------

@pytest.fixture()
def spec_file(tmp_path: Path) -> str:
    path = tmp_path / "w.yaml"
    path.write_text(SPEC)
    return str(path)


def test_set_on_summary_params_and_check(spec_file: str, capsys) -> None:  # type: ignore[no-untyped-def]
    doc = json.loads(run_ok(capsys, "summary", spec_file, "--json", "--set", "width=0.5",
                            "--set", "res=64"))
    assert doc["total_params"] == conv_params(3, 16) + conv_params(16, 16) + 16 * 5 + 5
    assert json.loads(run_ok(capsys, "params", spec_file, "--json", "--set", "depth=1"))[
        "total_params"] == conv_params(3, 32) + 32 * 10 + 10
    assert main(["check", spec_file, "--set", "width=0.5"]) == 0
    # at width 2 the budget grows linearly, the parameters quadratically: the check fails
    assert main(["check", spec_file, "--set", "width=2"]) == 1
    assert "params 40,020 exceeds max 24,000" in capsys.readouterr().err


@pytest.mark.parametrize("command", ["summary", "flops", "memory", "rf", "params", "check", "paths"])
def test_an_undeclared_set_is_a_located_error(spec_file: str, command: str, capsys) -> None:  # type: ignore[no-untyped-def]
    assert main([command, spec_file, "--set", "widht=2"]) == 2
    err = capsys.readouterr().err
    assert f"{spec_file}:3:1: error: --set widht: the spec declares no variable 'widht' " \
           "(did you mean 'width'?)" in err


def test_set_without_vars_and_malformed_set(tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "plain.yaml"
    path.write_text(textwrap.dedent("""\
        input: [3, 8, 8]
        layers: [relu]
    """))
    assert main(["summary", str(path), "--set", "w=1"]) == 2
    assert "(the spec has no vars:)" in capsys.readouterr().err
    for bad in ("w", "w=abc", "1w=2", "w=nan"):
        assert main(["summary", str(path), "--set", bad]) == 2
        assert "Invalid value for '--set'" in capsys.readouterr().err


def test_a_refused_input_gives_no_shape_errors_below_it() -> None:
    # The input is wrong, so every shape that follows from it would be too: only the input's
    # own error and the layers' argument errors (which need no shape) are reported.
    text = ('input: [3, "${size}", 32]\nlayers:\n  - conv: {filters: 4, kernel: 3}\n'
            '  - dense: {unit: 3}\n')
    assert where(text) == [(1, 12, "unknown-var"), (4, 13, "unknown-arg")]
    text = 'input: [3, 0, 32]\nlayers:\n  - conv: {filters: 4, kernel: 3}\n'
    assert where(text) == [(1, 8, "bad-input")]
