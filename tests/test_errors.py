"""Bad input: every problem at its FILE:LINE:COL with a stable code, never a traceback."""
from __future__ import annotations

import pytest
from helpers import problems, where

from cnncalc.cli import main


def test_unknown_op_with_suggestion() -> None:
    found = problems("""\
        input: [3, 8, 8]
        layers:
          - convv: {filters: 3, kernel: 3}
        """)
    assert [(p.loc.line, p.loc.col, p.code) for p in found] == [(3, 5, "unknown-op")]
    assert "did you mean 'conv'" in found[0].message


def test_unknown_and_duplicate_keys() -> None:
    assert where("""\
        input: [3, 8, 8]
        layrs: []
        layers:
          - conv: {filters: 3, kernel: 3, paddin: 1}
          - relu: {slope: 2}
        """) == [(2, 1, "unknown-key"), (4, 35, "unknown-arg"), (5, 12, "unknown-arg")]
    assert where("""\
        input: [3, 8, 8]
        layers:
          - conv: {filters: 3, kernel: 3, kernel: 5}
        """) == [(3, 35, "duplicate-key")]


def test_yaml_syntax_error_is_located() -> None:
    found = problems("input: [3, 8, 8]\nlayers:\n  - conv: {filters: 3, kernel: 3\n")
    assert found[0].code == "yaml-syntax" and found[0].loc.line >= 3


def test_wrong_type_and_missing_required() -> None:
    assert where("""\
        input: [3, 8, 8]
        layers:
          - conv: {filters: x, kernel: 3}
          - conv: {filters: 4}
          - maxpool: {kernel: 2, ceil_mode: 1}
        """) == [(3, 21, "bad-arg"), (4, 5, "missing-arg"), (5, 37, "bad-arg")]


def test_unknown_name_in_in_with_suggestion() -> None:
    found = problems("""\
        input: [3, 8, 8]
        layers:
          - conv: {filters: 3, kernel: 3, name: stem}
          - add: {in: [stme, input]}
        """)
    assert [(p.loc.line, p.loc.col, p.code) for p in found] == [(4, 16, "unknown-name")]
    assert "did you mean 'stem'" in found[0].message


def test_cycle() -> None:
    found = problems("""\
        input: [3, 8, 8]
        layers:
          - conv: {filters: 3, kernel: 1, name: a, in: b}
          - conv: {filters: 3, kernel: 1, name: b, in: a}
        """)
    assert found[0].code == "cycle" and "a -> b -> a" in found[0].message


def test_channel_mismatch_in_add_and_spatial_mismatch_in_concat() -> None:
    found = problems("""\
        input: [3, 8, 8]
        layers:
          - conv: {filters: 4, kernel: 1, name: a}
          - add: {in: [a, input]}
          - maxpool: {kernel: 2, in: a, name: p}
          - concat: {in: [a, p]}
        """)
    assert [(p.loc.line, p.loc.col, p.code) for p in found] == [(4, 5, "mismatch"), (6, 5, "mismatch")]
    assert "channel sizes 3 vs 4" in found[0].message
    assert "spatial axis 1 sizes 8 vs 4" in found[1].message


def test_non_positive_output_and_groups() -> None:
    found = problems("""\
        input: [3, 8, 8]
        layers:
          - conv: {filters: 4, kernel: 9}
          - conv: {filters: 4, kernel: 1, groups: 2, in: input}
        """)
    assert [(p.loc.line, p.loc.col, p.code) for p in found] == [(3, 32, "non-positive"), (4, 43, "groups")]
    assert "does not divide the 3 input channels" in found[1].message


def test_dense_on_spatial_input_suggests_flatten() -> None:
    found = problems("""\
        input: [3, 8, 8]
        layers:
          - gap
          - dense: 10
        """)
    assert found[0].code == "needs-flatten" and "flatten" in found[0].message
    assert "[3, 1, 1]" in found[0].message


def test_block_recursion_and_expansion_limit() -> None:
    assert where("""\
        input: [3, 8, 8]
        blocks:
          a:
            layers:
              - b
          b:
            layers:
              - a
        layers:
          - relu: {repeat: 1000000000}
        """) == [(8, 9, "recursion"), (10, 20, "too-large")]


def test_nested_expansion_limit() -> None:
    found = problems("""\
        input: [3, 8, 8]
        blocks:
          wide:
            layers:
              - relu: {repeat: 1000}
        layers:
          - wide: {repeat: 1000}
        """)
    assert [p.code for p in found] == ["too-large"]


def test_block_argument_errors() -> None:
    assert where("""\
        input: [3, 8, 8]
        blocks:
          unit:
            args: {filters: required}
            layers:
              - conv: {filters: $filtres, kernel: 3, padding: 1}
        layers:
          - unit: {}
          - unit: {filters: 3, width: 2}
          - unit: {filters: 3}
        """) == [(6, 25, "unknown-arg"), (8, 5, "missing-arg"), (9, 24, "unknown-arg")]


def test_outer_names_are_not_visible_in_blocks() -> None:
    found = problems("""\
        input: [3, 8, 8]
        blocks:
          merge:
            layers:
              - add: {in: [$in, stem]}
        layers:
          - conv: {filters: 3, kernel: 1, name: stem}
          - merge
        """)
    assert found[0].code == "unknown-name" and "pass it as an argument" in found[0].message


def test_expression_errors() -> None:
    found = problems("""\
        input: [3, 8, 8]
        blocks:
          unit:
            args: {w: 2}
            layers:
              - conv: {filters: "${w * }", kernel: 1}
        layers:
          - unit
        """)
    assert found[0].code == "bad-expr" and found[0].loc.line == 6


def test_cli_prints_file_line_col_and_exits_2(tmp_path, capsys) -> None:
    spec = tmp_path / "arch.yaml"
    spec.write_text("input: [3, 8, 8]\nlayers:\n  - conv: {filters: 3, kernel: 3, paddin: 1}\n")
    assert main(["summary", str(spec)]) == 2
    err = capsys.readouterr().err
    assert f"{spec}:3:35: error: conv has no argument 'paddin' (did you mean 'padding'?)" in err
    assert "Traceback" not in err


@pytest.mark.parametrize("content", ["", "- 1\n- 2\n", "input: [3, 8, 8]\n", "[unclosed\n",
                                     "input: [0, 8]\nlayers: [relu]\n", "\tbad: tab\n"])
def test_garbage_never_tracebacks(tmp_path, capsys, content) -> None:
    spec = tmp_path / "arch.yaml"
    spec.write_text(content)
    assert main(["summary", str(spec)]) == 2
    err = capsys.readouterr().err
    assert "error:" in err and "Traceback" not in err


def test_missing_file(capsys) -> None:
    assert main(["summary", "/nonexistent/arch.yaml"]) == 2
    assert "no such file" in capsys.readouterr().err


def test_a_problem_prints_control_characters_escaped() -> None:
    # str(Problem) is what a library user prints: no terminal code from the YAML reaches the
    # terminal, and it reads as the CLI's line does.
    from cnncalc.problems import Loc, Problem

    problem = Problem(Loc("a\x1bb.yaml", 3, 5), "error", "bad-value", "got '\x1b[2J\x07' here\n")
    assert str(problem) == "a\\x1bb.yaml:3:5: error: got '\\x1b[2J\\x07' here\\x0a"
