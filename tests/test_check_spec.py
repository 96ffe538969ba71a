"""A malformed `checks:` section is a spec error at its line:col, for every command."""
from __future__ import annotations

import textwrap
from pathlib import Path

import pytest
from helpers import graph, where

from cnncalc.checks.model import Bound
from cnncalc.cli import main

NET = textwrap.dedent("""\
    input: [3, 8, 8]
    layers:
      - conv: {filters: 4, kernel: 3, name: c1}
      - relu
    checks:
    """)


def test_every_check_kind_parses() -> None:
    g = graph(NET
              + "  params: {max: 12M, min: 10}\n"
              + "  macs: {equals: 3888}\n"
              + "  flops: {max: 1G}\n"
              + "  output: [4, 6, 6]\n"
              + "  rf: {min: 3, layer: c1}\n"
              + "  memory: {max: 2GB, batch: 32, training: true, optimizer: sgd, dtype: float16}\n"
              + "  layers:\n"
              + "    c1: {shape: [4, 6, 6], params: {max: 1K}, macs: {min: 1}}\n")
    checks = {c.id: c for c in g.spec.parsed_checks}
    assert list(checks) == ["checks.params", "checks.macs", "checks.flops", "checks.output",
                            "checks.rf", "checks.memory", "checks.layers.c1.shape",
                            "checks.layers.c1.params", "checks.layers.c1.macs"]
    params = checks["checks.params"]
    assert params.bounds[0] == Bound("max", 12_000_000, "12M", params.bounds[0].loc)
    assert (params.bounds[0].loc.line, params.bounds[0].loc.col) == (6, 12)
    assert checks["checks.rf"].layer == "c1"
    assert dict(checks["checks.memory"].options) == {"batch": 32, "training": True,
                                                      "optimizer": "sgd", "dtype": "float16"}
    assert checks["checks.memory"].bounds[0].value == 2_000_000_000
    assert checks["checks.output"].shape == (4, 6, 6)
    assert checks["checks.layers.c1.params"].layer == "c1"


def test_empty_checks_section_is_no_checks() -> None:
    assert graph(NET).spec.parsed_checks == []


@pytest.mark.parametrize("body, expected", [
    ("  parms: {max: 1M}\n", [(6, 3, "unknown-check")]),
    ("  params: {mx: 1M}\n", [(6, 12, "unknown-key")]),
    ("  params: {max: 1Q}\n", [(6, 17, "bad-value")]),
    ("  params: {max: 2GB}\n", [(6, 17, "bad-value")]),
    ("  params: 12M\n", [(6, 11, "bad-check")]),
    ("  params: {}\n", [(6, 11, "bad-check")]),
    ("  params: {min: 2M, max: 1M}\n", [(6, 12, "bad-check")]),
    ("  macs: {max: -1}\n", [(6, 15, "bad-value")]),
    ("  memory: {max: 2GB, batch: 0}\n", [(6, 29, "bad-value")]),
    ("  memory: {max: 2GB, training: yes please}\n", [(6, 32, "bad-value")]),
    ("  memory: {max: 2GB, optimizer: adamm}\n", [(6, 33, "bad-value")]),
    ("  memory: {max: 2GB, dtype: fp16}\n", [(6, 29, "bad-value")]),
    ("  memory: {max: 2}\n", []),
    ("  memory: {max: 2G}\n", [(6, 17, "bad-value")]),
    ("  output: 1000\n", [(6, 11, "bad-value")]),
    ("  output: [4, 0, 6]\n", [(6, 11, "bad-value")]),
    ("  rf: {min: 3, layer: c2}\n", [(6, 23, "unknown-name")]),
    ("  rf: {min: 3, layers: c1}\n", [(6, 16, "unknown-key")]),
    ("  layers: {cl: {shape: [4, 6, 6]}}\n", [(6, 12, "unknown-name")]),
    ("  layers: {c1: {shap: [4, 6, 6]}}\n", [(6, 17, "unknown-check")]),
    ("  layers: {c1: {shape: 4}}\n", [(6, 24, "bad-value")]),
    ("  layers: {c1: [4, 6, 6]}\n", [(6, 16, "bad-check")]),
    ("  layers: [c1]\n", [(6, 11, "bad-check")]),
])
def test_malformed_checks_are_located(body: str, expected: list[tuple[int, int, str]]) -> None:
    text = NET + body
    if expected:
        assert where(text) == expected
    else:
        graph(text)


def test_checks_must_be_a_mapping() -> None:
    assert where(NET.replace("checks:\n", "checks: [params]\n")) == [(5, 9, "bad-checks")]


def test_unknown_names_suggest() -> None:
    text = NET.replace("name: c1", "name: conv_a") + "  layers: {conv_b: {shape: [4, 6, 6]}}\n"
    from helpers import problems

    found = problems(text)
    assert "unknown layer 'conv_b' (did you mean 'conv_a'?)" in found[0].message


def test_block_and_dotted_names_are_known() -> None:
    g = graph("""\
        input: [3, 8, 8]
        blocks:
          pair:
            args: {f: required}
            layers:
              - conv: {filters: $f, kernel: 3, padding: 1, name: a}
              - relu: {name: b}
        layers:
          - pair: {f: 4, name: stage, repeat: 2}
        checks:
          layers:
            stage: {shape: [4, 8, 8], params: {max: 1K}}
            stage.0.a: {shape: [4, 8, 8]}
        """)
    assert [c.id for c in g.spec.parsed_checks] == [
        "checks.layers.stage.shape", "checks.layers.stage.params", "checks.layers.stage.0.a.shape"]


@pytest.mark.parametrize("command", ["summary", "params", "check"])
def test_every_command_rejects_a_bad_checks_section(tmp_path: Path, command: str,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    spec = tmp_path / "net.cnn.yaml"
    spec.write_text(NET + "  params: {maximum: 1M}\n")
    assert main([command, str(spec)]) == 2
    err = capsys.readouterr().err
    assert f"{spec}:6:12: error: unknown key 'maximum' in 'params'" in err
    assert "Traceback" not in err
