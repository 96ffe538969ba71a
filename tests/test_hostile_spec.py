"""Hostile and unusual specs: each is refused with a located error (or accepted, when it is
valid YAML), never a traceback, a hang or Python's own limits. Inputs are big enough that a
naive implementation would hang or crash; no timings are asserted."""
from __future__ import annotations

import io
import os
import re
import sys
import textwrap
from pathlib import Path

import pytest

from cnncalc import SpecError, load_graph, load_graph_text
from cnncalc.gcpause import gc_paused
from cnncalc.spec import yamlload
from cnncalc.spec.expr import ExprError, evaluate_with
from cnncalc.spec.source import MAX_BYTES, read_spec
from tests.helpers import graph, where

CONV = "  - conv: {filters: 4, kernel: 3}\n"


def codes(text: str, pure: bool = False) -> list[tuple[int, int, str]]:
    try:
        yamlload.load_text(text, "f.yaml", pure=pure)
    except SpecError as exc:
        return [(p.loc.line, p.loc.col, p.code) for p in exc.problems]
    raise AssertionError("expected the document to be refused")


def cli(capsys, *args: str) -> tuple[int, str]:  # type: ignore[no-untyped-def]
    from cnncalc.cli import main

    status = main(list(args))
    err = capsys.readouterr().err
    assert "Traceback" not in err
    return status, err


# -- YAML itself: both parsers ------------------------------------------------------------
PARSERS = [pytest.param(False, id="libyaml"), pytest.param(True, id="pure-python")]


@pytest.mark.parametrize("pure", PARSERS)
def test_alias_bomb_is_refused_at_the_alias(pure: bool) -> None:
    # 9 levels of 9 aliases: 9**10 (3.4 billion) values if expanded
    lines = ["a0: &a0 [1, 1, 1, 1, 1, 1, 1, 1, 1]"]
    for i in range(1, 10):
        lines.append(f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 9) + "]")
    found = codes("\n".join(lines) + "\n", pure)
    assert len(found) == 1 and found[0][2] == "too-large"
    line, col, _ = found[0]
    assert lines[line - 1][col - 1] == "*"  # located at an alias


@pytest.mark.parametrize("pure", PARSERS)
@pytest.mark.parametrize("opener, closer", [("[", "]"), ("{a: ", "}")])
@pytest.mark.parametrize("depth", [200, 5000])
def test_deep_nesting_is_a_located_error(pure: bool, opener: str, closer: str, depth: int) -> None:
    found = codes("x: " + opener * depth + "1" + closer * depth + "\n", pure)
    assert len(found) == 1 and found[0][:1] == (1,) and found[0][2] == "too-deep"


@pytest.mark.parametrize("pure", PARSERS)
def test_parsers_agree_on_values_and_locations(pure: bool) -> None:
    text = (Path(__file__).parent.parent / "architectures" / "resnet50.yaml").read_text()
    assert yamlload.load_text(text, "r", pure=pure) == yamlload.load_text(text, "r", pure=not pure)
    root = yamlload.load_text("name: né\nlayers:\n  - [né, 2, {k: 3}]\n", "f", pure=pure)
    inner = root["layers"][0]
    assert (inner.item_loc(2).line, inner.item_loc(2).col) == (3, 13)
    assert (root.value_loc("name").line, root.value_loc("name").col) == (1, 7)


def test_pure_parser_is_used_without_libyaml(monkeypatch: pytest.MonkeyPatch) -> None:
    import yaml

    monkeypatch.setattr(yaml, "__with_libyaml__", False)
    source = yamlload._event_source("a: 1", pure=False)
    assert type(source).__module__ == yamlload.__name__
    assert yamlload.load_text("a: [1, 2]\n", "f") == {"a": [1, 2]}


@pytest.mark.parametrize("pure", PARSERS)
@pytest.mark.parametrize("text, expected", [
    ("a: &a [*a]\n", (1, 8, "bad-alias")),               # recursive alias
    ("a: *nowhere\n", (1, 4, "bad-alias")),
    ("a: .nan\n", (1, 4, "bad-number")),
    ("a: [1, -.inf]\n", (1, 8, "bad-number")),
    ("a: 1e999\n", (1, 4, "bad-number")),                 # overflows to infinity
    ("a: " + "9" * 5000 + "\n", (1, 4, "too-large")),     # past Python's 4,300 digits
    ("a: b\nc: d\x07e\n", (2, 5, "bad-character")),
    ("a: \x00\n", (1, 4, "bad-character")),
    ("a: \ufffe\n", (1, 4, "bad-character")),
    ("a: \x1b[2J\n", (1, 4, "bad-character")),
    ("a: 1\na: 2\n", (2, 1, "duplicate-key")),
    ("a: 2020-13-01\n", (1, 4, "bad-value")),
    ("a: !!python/object:os.system x\n", (1, 4, "bad-tag")),
    ("a: 1\n---\nb: 2\n", (2, 1, "yaml-syntax")),
    ("x: {<<: 3}\n", (1, 9, "bad-merge")),
])
def test_yaml_problems_are_located(pure: bool, text: str, expected: tuple[int, int, str]) -> None:
    assert codes(text, pure) == [expected]


@pytest.mark.parametrize("pure", PARSERS)
def test_merge_keys_merge_with_explicit_keys_winning(pure: bool) -> None:
    root = yamlload.load_text(textwrap.dedent("""\
        d: &d {kernel: 3, stride: 1}
        e: &e {padding: 1, kernel: 7}
        x: {<<: *d, kernel: 5}
        y: {<<: [*e, *d]}
        z:
          kernel: 9
          <<: *d
        """), "f", pure=pure)
    assert root["x"] == {"kernel": 5, "stride": 1}
    assert root["y"] == {"padding": 1, "kernel": 7, "stride": 1}  # the earlier mapping wins
    assert root["z"] == {"kernel": 9, "stride": 1}  # an explicit key wins wherever it is
    assert root["x"].key_loc("kernel").line == 3 and root["x"].key_loc("stride").line == 1


def test_merge_keys_in_a_spec() -> None:
    g = graph("""\
        input: [3, 8, 8]
        layers:
          - conv: &c {filters: 4, kernel: 3, padding: 1}
          - conv: {<<: *c, kernel: 5, padding: 2}
        """)
    assert [layer.args["kernel"] for layer in g.layers] == [(3, 3), (5, 5)] or \
        [layer.args["kernel"] for layer in g.layers] == [3, 5]


def test_yaml_12_floats_are_numbers() -> None:
    g = graph("""\
        input: [3, 8, 8]
        layers:
          - bn: {eps: 1e-5}
          - leaky_relu: {slope: 2E-2}
        """)
    assert g.layers[0].args["eps"] == pytest.approx(1e-5)
    assert g.layers[1].args["slope"] == pytest.approx(0.02)


@pytest.mark.parametrize("value", [".nan", ".inf", "-.inf", "1e400"])
def test_non_finite_numbers_are_refused_where_a_number_is_expected(value: str) -> None:
    assert where(f"""\
        input: [3, 8, 8]
        layers:
          - dropout: {{rate: {value}}}
        """) == [(3, 21, "bad-number")]


def test_unquoted_expression_gets_a_hint() -> None:
    problems = _problems("input: [3, 8, 8]\nlayers:\n  - conv: {filters: ${w}, kernel: 3}\n")
    assert problems[0].code == "yaml-syntax" and "must be quoted" in problems[0].message


# -- top-level values ----------------------------------------------------------------------
@pytest.mark.parametrize("line, expected", [
    ("cnncalc: true", (1, 10, "bad-version")),
    ("cnncalc: [1]", (1, 10, "bad-version")),
    ("dtype: [float32]", (1, 8, "bad-dtype")),
    ("dtype: {a: 1}", (1, 8, "bad-dtype")),
    ("outputs: []", (1, 10, "bad-output")),
    ("outputs: [[a]]", (1, 11, "bad-output")),
    ('name: "net\\e[2J"', (1, 7, "bad-value")),
    ("description: [a]", (1, 14, "bad-value")),
])
def test_top_level_values_of_the_wrong_kind(line: str, expected: tuple[int, int, str]) -> None:
    assert where(line + "\ninput: [3, 8, 8]\nlayers:\n" + CONV) == [expected]


def test_input_layout_of_the_wrong_kind() -> None:
    assert where("input: {shape: [8, 8, 3], layout: [channels_last]}\nlayers:\n" + CONV) == \
        [(1, 35, "bad-value")]


# -- names ---------------------------------------------------------------------------------
@pytest.mark.parametrize("name", ["../x", "a/b", "..", "a b", "-x", '"a\\e[2Jb"', '"a\\x07"',
                                  "a.b", "x" * 101])
def test_layer_and_block_names_are_words(name: str) -> None:
    assert where(f"""\
        input: [3, 8, 8]
        layers:
          - conv: {{filters: 4, kernel: 3, name: {name}}}
        """) == [(3, 41, "bad-name")]
    assert where(f"""\
        input: [3, 8, 8]
        blocks:
          {name}: {{layers: [relu]}}
        layers:
          - relu
        """) == [(3, 3, "bad-name")]


def test_a_name_made_by_substitution_is_checked_too() -> None:
    assert where("""\
        input: [3, 8, 8]
        blocks:
          b:
            args: {n: x}
            layers:
              - relu: {name: $n}
        layers:
          - b: {n: "../../etc"}
        """) == [(6, 22, "bad-name")]


def test_every_layer_name_is_made_of_words() -> None:
    import re

    for path in sorted((Path(__file__).parent.parent / "architectures").rglob("*.yaml")):
        for layer in load_graph(path).layers:
            assert re.fullmatch(r"[A-Za-z_][A-Za-z0-9_\-]*(\.[A-Za-z0-9_\-]+)*", layer.name), layer.name


# -- copies --------------------------------------------------------------------------------
COPIES = """\
    input: [4, 8, 8]
    blocks:
      unit: {{layers: [{{conv: {{filters: 4, kernel: 3, padding: 1, name: conv}}}}, relu]}}
    layers:
      - unit: {{repeat: {n}, name: stage}}
      - conv: {{filters: 4, kernel: 1, repeat: {n}}}
      - relu
    """


def test_copy_names_do_not_depend_on_the_repeat_count() -> None:
    names = {n: [layer.name for layer in graph(COPIES.format(n=n)).layers] for n in (1, 2, 3)}
    assert names[1] == ["stage.0.conv", "stage.0.relu1", "conv1.0", "relu1"]
    for n in (2, 3):
        assert names[n][:2] == names[1][:2] and "conv1.0" in names[n] and names[n][-1] == "relu1"
    assert names[3] == ["stage.0.conv", "stage.0.relu1", "stage.1.conv", "stage.1.relu1",
                        "stage.2.conv", "stage.2.relu1", "conv1.0", "conv1.1", "conv1.2", "relu1"]
    # `stage` alone is the last copy, inside too
    g = graph(COPIES.format(n=2))
    assert g.layer("stage").name == "stage.1.relu1" and g.layer("stage.conv").name == "stage.1.conv"


def test_removed_items_keep_the_names_after_them() -> None:
    spec = "input: [4, 8, 8]\nlayers:\n  - relu: {{repeat: {n}}}\n  - relu\n"
    assert [layer.name for layer in graph(spec.format(n=0)).layers] == ["relu2"]
    assert [layer.name for layer in graph(spec.format(n=1)).layers] == ["relu1.0", "relu2"]


def test_unknown_layer_suggests_a_name_that_exists() -> None:
    g = graph(COPIES.format(n=2))
    with pytest.raises(KeyError) as info:
        g.layer("stage.3.conv")
    suggestion = str(info.value).split("did you mean '")[1].split("'")[0]
    assert g.layer(suggestion)


def test_if_removes_or_keeps_an_item_without_renaming() -> None:
    spec = """\
        input: [4, 8, 8]
        blocks:
          b:
            args: {{filters: 4, same: false}}
            layers:
              - conv: {{filters: $filters, kernel: 1, name: body}}
              - add: {{in: [body, $in], if: {cond}}}
        layers:
          - b
        """
    for cond, names in (("$same", ["b1.body"]), ("true", ["b1.body", "b1.add1"]),
                        ('"${in_channels == filters}"', ["b1.body", "b1.add1"]),
                        ('"${in_channels != filters and not same}"', ["b1.body"])):
        assert [layer.name for layer in graph(spec.format(cond=cond)).layers] == names
    assert where(spec.format(cond="1")) == [(7, 36, "bad-if")]


# -- expressions ---------------------------------------------------------------------------
@pytest.mark.parametrize("text, value", [
    ("1 if a != b else 0", 1), ("a == 3 and not b > 2", False), ("abs(a - b)", 1),
    ("1 < a < 5", True), ("a < b < 2", False), ("max(a, b, 7) // 2", 3),
    ("a > 1 or 1 // 0 == 0", True), ("2 if false else 3 if a >= 3 else 4", 3), ("-(-a)", 3),
])
def test_expressions(text: str, value: int | bool) -> None:
    result = evaluate_with(text, {"a": 3, "b": 4})
    assert result == value and type(result) is type(value)


@pytest.mark.parametrize("text, message", [
    ("a && b", "write and"), ("a = 2", "write =="), ("1 + (a > 2)", "needs a number"),
    ("not 3", "needs a condition"), ("a if a else b", "needs a condition"), ("min(3)", "at least 2"),
    ("abs(1, 2)", "takes 1"), ("(" * 3000 + "1" + ")" * 3000, "nested more than"),
    ("-" * 5000 + "1", "nested more than"), ("not " * 3000 + "true", "nested more than"),
    ("9" * 5000, "unreasonably large"), ("sqrt(4)", "unknown function"), ("", "empty"),
    ("a < true", "compares"),
])
def test_bad_expressions(text: str, message: str) -> None:
    with pytest.raises(ExprError, match=message):
        evaluate_with(text, {"a": 3, "b": 4})


def test_deep_expression_in_a_spec_is_a_located_error() -> None:
    text = "(" * 5000 + "4" + ")" * 5000
    assert where(f'input: [3, 8, 8]\nlayers:\n  - conv: {{filters: "${{{text}}}", kernel: 3}}\n') \
        == [(3, 21, "bad-expr")]


# -- blocks: depth, fan-out, recursion -----------------------------------------------------
def _chain(depth: int) -> str:
    blocks = "".join(f"  b{i}: {{layers: [b{i + 1}]}}\n" for i in range(depth))
    return f"input: [3, 8, 8]\nblocks:\n{blocks}  b{depth}: {{layers: [relu]}}\nlayers:\n  - b0\n"


def test_blocks_nested_hundreds_deep() -> None:
    found = where(_chain(500))
    assert found and all(code == "too-deep" for _, _, code in found)


def test_block_fan_out_stops_at_the_layer_limit() -> None:
    # 2**25 layers if expanded; refused once 100,000 are counted
    blocks = "".join(f"  b{i}: {{layers: [b{i + 1}, b{i + 1}]}}\n" for i in range(25))
    found = where(f"input: [3, 8, 8]\nblocks:\n{blocks}  b25: {{layers: [relu]}}\nlayers:\n  - b0\n")
    assert [code for _, _, code in found] == ["too-large"]


def test_fan_out_of_empty_blocks_is_bounded_too() -> None:
    blocks = "".join(f"  b{i}: {{layers: [b{i + 1}, b{i + 1}]}}\n" for i in range(30))
    found = where(f"input: [3, 8, 8]\nblocks:\n{blocks}  b30: {{layers: [{{relu: {{repeat: 0}}}}]}}\n"
                  "layers:\n  - b0\n  - relu\n")
    assert [code for _, _, code in found] == ["too-large"]


def test_recursion_check_is_linear_in_a_diamond() -> None:
    # every block uses the next twice and the last one uses the first: one cycle, reported once
    blocks = "".join(f"  b{i}: {{layers: [b{i + 1}, b{i + 1}]}}\n" for i in range(40))
    found = where(f"input: [3, 8, 8]\nblocks:\n{blocks}  b40: {{layers: [b0]}}\nlayers:\n  - relu\n")
    assert [code for _, _, code in found] == ["recursion"]


# -- reading files -------------------------------------------------------------------------
def test_missing_file_is_one_located_message(tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    missing = tmp_path / "nope.yaml"
    with pytest.raises(SpecError) as info:
        read_spec(missing)
    assert str(info.value) == f"{missing}:1:1: error: cannot read the file: no such file"
    assert info.value.problems[0].code == "unreadable"


@pytest.mark.skipif(not os.path.exists("/dev/zero"), reason="needs /dev/zero")
def test_devices_and_directories_are_refused_a_fifo_without_writer_is_empty(tmp_path: Path) -> None:
    for path, reason in (("/dev/zero", "it is a device"), (tmp_path, "it is a directory")):
        with pytest.raises(SpecError, match=f"cannot read the file: {reason}, not a regular file "
                                            "or a pipe"):
            load_graph(path)
    fifo = tmp_path / "pipe.yaml"
    os.mkfifo(fifo)  # a blocking open would wait for a writer forever
    with pytest.raises(SpecError, match="the file is empty"):
        load_graph(fifo)


def test_verify_files_are_checked_with_the_same_reasons(tmp_path: Path) -> None:
    from cnncalc.spec.source import readable

    fifo = tmp_path / "w.npz"
    os.mkfifo(fifo)
    for path, reason in ((tmp_path / "none.npz", "no such file"), (tmp_path, "it is a directory"),
                         (fifo, "it is a pipe, not a regular file")):
        with pytest.raises(SpecError, match=f"^{re.escape(str(path))}:1:1: error: cannot read "
                                            f"the file: {reason}"):
            readable(path)
    (tmp_path / "ok.npz").write_bytes(b"x")
    readable(tmp_path / "ok.npz")


def test_oversized_file_is_refused(tmp_path: Path) -> None:
    big = tmp_path / "big.yaml"
    with open(big, "wb") as handle:
        handle.truncate(MAX_BYTES + 1)
    with pytest.raises(SpecError, match="larger than"):
        read_spec(big)


def test_non_utf8_is_located(tmp_path: Path) -> None:
    path = tmp_path / "latin1.yaml"
    path.write_bytes(b"input: [3, 8, 8]\nname: caf\xe9\nlayers: [relu]\n")
    with pytest.raises(SpecError) as info:
        read_spec(path)
    problem = info.value.problems[0]
    assert (problem.loc.line, problem.loc.col, problem.code) == (2, 10, "bad-encoding")


def test_undecoded_bytes_in_text_are_located() -> None:
    # what Python's surrogateescape makes of a non-UTF-8 byte on a text stdin
    assert codes("a: 1\nb: x\udcff\n") == [(2, 5, "bad-encoding")]


def test_utf16_with_bom_is_read(tmp_path: Path) -> None:
    path = tmp_path / "u16.yaml"
    path.write_bytes("input: [3, 8, 8]\nlayers: [relu]\n".encode("utf-16"))
    assert load_graph(path).layers[0].name == "relu1"


def test_stdin_bytes_are_decoded_like_files(monkeypatch: pytest.MonkeyPatch) -> None:
    class Stdin(io.TextIOWrapper):
        pass

    monkeypatch.setattr(sys, "stdin", Stdin(io.BytesIO(b"input: [3]\nname: \xff\nlayers: [relu]\n")))
    with pytest.raises(SpecError) as info:
        read_spec("-")
    assert str(info.value).startswith("<stdin>:2:7: error: not UTF-8 text")
    monkeypatch.setattr(sys, "stdin", Stdin(io.BytesIO(b"input: [3]\nlayers: [relu]\n")))
    assert read_spec("-") == ("input: [3]\nlayers: [relu]\n", "<stdin>")


@pytest.mark.parametrize("content", [
    b"input: [3, 8, 8]\nlayers:\n  - relu: {name: \"\x1b]0;owned\x07\"}\n",
    b"input: [3, 8, 8]\nlayers: [relu]\nname: \xc3\x28\n",
    b"a: &a [1,1,1,1,1,1,1,1,1]\n" + b"".join(
        f"{chr(98 + i)}: &{chr(98 + i)} [{', '.join(['*' + chr(97 + i)] * 9)}]\n".encode()
        for i in range(9)),
    b"input: " + b"[" * 5000 + b"]" * 5000 + b"\n",
])
def test_cli_exits_2_with_a_located_error(tmp_path: Path, capsys, content: bytes) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "hostile.yaml"
    path.write_bytes(content)
    for command in ("summary", "check", "rf"):
        status, err = cli(capsys, command, str(path))
        assert status == 2, command
        assert err.startswith(f"{path}:") and ": error: " in err.splitlines()[0], err


# -- the garbage collector pause -----------------------------------------------------------
def test_gc_is_paused_while_loading_and_back_after_an_error() -> None:
    import gc

    assert gc.isenabled()
    with gc_paused():
        assert not gc.isenabled()
        with gc_paused():
            assert not gc.isenabled()
        assert not gc.isenabled()
    assert gc.isenabled()
    with pytest.raises(SpecError):
        load_graph_text("input: [3]\nlayers: [nope]\n")
    assert gc.isenabled()


def _problems(text: str) -> list:  # type: ignore[type-arg]
    try:
        load_graph_text(text, "spec.yaml")
    except SpecError as exc:
        return exc.problems
    raise AssertionError("expected the spec to be rejected")


def test_recursive_fan_out_is_reported_not_expanded() -> None:
    # a and b use each other twice: a naive size estimate would branch 2**depth times
    found = where("input: [3, 8, 8]\nblocks:\n  a: {layers: [b, b]}\n  b: {layers: [a, a]}\n"
                  "layers:\n  - a\n")
    assert found and {code for _, _, code in found} == {"recursion"}


def test_fan_out_through_arguments_stops_at_the_layer_limit() -> None:
    blocks = "".join(f"  b{i}: {{args: {{n: 2}}, layers: [{{b{i + 1}: {{repeat: $n}}}}]}}\n"
                     for i in range(25))
    found = where(f"input: [3, 8, 8]\nblocks:\n{blocks}  b25: {{layers: [relu]}}\nlayers:\n  - b0\n")
    assert [code for _, _, code in found] == ["too-large"]


def test_a_condition_as_repeat_is_one_copy_or_none() -> None:
    spec = "input: [4, 8, 8]\nblocks:\n  b:\n    args: {{keep: true}}\n    layers:\n" \
           "      - relu: {{repeat: {r}}}\n      - relu\nlayers:\n  - b: {{keep: {k}}}\n"
    assert [x.name for x in graph(spec.format(r="$keep", k="true")).layers] == ["b1.relu1.0", "b1.relu2"]
    assert [x.name for x in graph(spec.format(r='"${not keep}"', k="true")).layers] == ["b1.relu2"]


def test_a_long_dotted_reference_is_just_unknown() -> None:
    name = ".".join(["a"] * 20000)
    assert where(f"input: [3, 8, 8]\nlayers:\n  - relu\n  - relu: {{in: {name}}}\n") == \
        [(4, 16, "unknown-name")]


@pytest.mark.parametrize("line, expected", [("cnncalc: true", ":1:10: error: unsupported format"),
                                            ("outputs: []", ":1:10: error: 'outputs' lists")])
def test_cli_refuses_top_level_values(tmp_path: Path, capsys, line: str, expected: str) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "spec.yaml"
    path.write_text(line + "\ninput: [3, 8, 8]\nlayers:\n" + CONV)
    status, err = cli(capsys, "summary", str(path))
    assert status == 2 and err.startswith(f"{path}{expected}")
