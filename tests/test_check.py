"""`cnncalc check`: every check kind passing and failing, with the exact message, place and
exit code. The expected figures are worked out by hand in the comments (the oracle); the
analyses themselves are tested against PyTorch in their own test modules."""
from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from cnncalc.cli import main

# conv 3->4, 3x3, bias: 3*3*3*4 + 4 = 112 params; output 4x6x6;
# MACs = 6*6*4 outputs x 27 = 3,888. relu, flatten (144), dense 144->10: 1,450 params,
# 1,440 MACs. Totals: 1,562 params, 5,328 MACs. FLOPs = 2 x MACs + one per conv bias (144),
# ReLU (144) and dense bias (10) = 10,954.
NET = """\
input: [3, 8, 8]
layers:
  - conv: {filters: 4, kernel: 3, name: c1}
  - relu
  - flatten
  - dense: {units: 10, name: fc}
checks:
"""


@pytest.fixture
def check(tmp_path: Path, capsys: pytest.CaptureFixture[str]):  # type: ignore[no-untyped-def]
    """check(checks_yaml, *options) -> (exit code, stdout, stderr with the path as 'F')."""
    def go(checks: str, *args: str, base: str = NET) -> tuple[int, str, str]:
        spec = tmp_path / "net.cnn.yaml"
        spec.write_text(base + checks)
        code = main(["check", str(spec), *args])
        out, err = capsys.readouterr()
        return code, out.replace(str(spec), "F"), err.replace(str(spec), "F")
    return go


@pytest.mark.parametrize("checks, message", [
    ("  params: {max: 1K}\n",
     "F:8:12: error: params 1,562 exceeds max 1K (+56.2%) [checks.params]"),
    ("  params: {min: 2K}\n",
     "F:8:12: error: params 1,562 is below min 2K (-21.9%) [checks.params]"),
    ("  params: {equals: 1561}\n",
     "F:8:12: error: params 1,562 is not 1,561 (+1) [checks.params]"),
    ("  params: {equals: '1,563'}\n",
     "F:8:12: error: params 1,562 is not 1,563 (-1) [checks.params]"),
    ("  params: {equals: 1.5K}\n",
     "F:8:12: error: params 1,562 is not 1.5K (+4.1%) [checks.params]"),
    ("  macs: {max: 5K}\n",
     "F:8:10: error: MACs 5,328 exceeds max 5K (+6.6%) [checks.macs]"),
    ("  macs: {min: 0.01M}\n",
     "F:8:10: error: MACs 5,328 is below min 0.01M (-46.7%) [checks.macs]"),
    ("  flops: {max: 10K}\n",
     "F:8:11: error: FLOPs 10,954 exceeds max 10K (+9.5%) [checks.flops]"),
    ("  output: [1000]\n",
     "F:8:3: error: output 'fc' has shape [10], expected [1000] [checks.output]"),
    ("  output: [[10], [5]]\n",
     "F:8:18: error: expected a shape for output 2 but the network has 1 output "
     "[checks.output.1]"),
    ("  layers:\n    c1: {shape: [4, 8, 8]}\n",
     "F:9:10: error: layer 'c1' has shape [4, 6, 6], expected [4, 8, 8] "
     "[checks.layers.c1.shape]"),
    ("  layers:\n    c1: {params: {max: 100}}\n",
     "F:9:19: error: layer 'c1' params 112 exceeds max 100 (+12.0%) [checks.layers.c1.params]"),
    ("  layers:\n    fc: {macs: {equals: 1000}}\n",
     "F:9:17: error: layer 'fc' MACs 1,440 is not 1,000 (+44.0%) [checks.layers.fc.macs]"),
    ("  params: {max: 0}\n",
     "F:8:12: error: params 1,562 exceeds max 0 (+1,562) [checks.params]"),
])
def test_failing_checks(check, checks: str, message: str) -> None:  # type: ignore[no-untyped-def]
    code, out, err = check(checks)
    assert (code, err.splitlines()) == (1, [message])
    assert out.endswith("failed with 1 violation\n")


@pytest.mark.parametrize("checks", [
    "  params: {max: '1,562', min: 1562, equals: 1.562K}\n",
    "  macs: {equals: 5328}\n",
    "  flops: {equals: 10954}\n",
    "  output: [10]\n",
    "  output: [[10]]\n",
    "  layers:\n    c1: {shape: [4, 6, 6], params: {equals: 112}, macs: {equals: 3888}}\n",
    "  memory: {max: 100KB}\n",
])
def test_passing_checks(check, checks: str) -> None:  # type: ignore[no-untyped-def]
    code, out, err = check(checks)
    assert (code, err) == (0, "")
    assert "passed" in out


def test_no_checks_still_validates(check) -> None:  # type: ignore[no-untyped-def]
    code, out, err = check("")
    assert (code, err) == (0, "")
    assert out == "cnncalc: checked 1 file (0 checks): passed\n"


def test_verbose_lists_passing_checks(check) -> None:  # type: ignore[no-untyped-def]
    code, out, _ = check("  params: {max: 12M}\n  output: [10]\n", "-v")
    assert code == 0
    assert out.splitlines() == [
        "F:8:12: ok: params 1,562 within max 12M [checks.params]",
        "F:9:3: ok: output 'fc' has shape [10] as expected [checks.output]",
        "cnncalc: checked 1 file (2 checks): passed",
    ]


def test_several_violations_in_file_order(check) -> None:  # type: ignore[no-untyped-def]
    code, out, err = check("  output: [1000]\n  params: {min: 1M, max: 12M}\n")
    assert code == 1
    assert err.splitlines() == [
        "F:8:3: error: output 'fc' has shape [10], expected [1000] [checks.output]",
        "F:9:12: error: params 1,562 is below min 1M (-99.8%) [checks.params]",
    ]
    assert out == "cnncalc: checked 1 file (3 checks): 1 failed with 2 violations\n"


# Memory, by hand: input [1, 4, 4] and a 1x1 conv with bias (2 params = 8 bytes, float32).
# Inference: input (64 B) and output (64 B) are live together: 128 B + 8 B weights = 136 B.
# Training, batch 2, plain SGD: weights 8 + gradients 8 + no optimizer state; the input
# (128 B) is saved for the weight gradient; backward holds the output (128 B) and its
# gradient (128 B): 8 + 8 + 128 + 128 + 128 = 400 B.
TINY = "input: [1, 4, 4]\nlayers:\n  - conv: {filters: 1, kernel: 1}\nchecks:\n"


@pytest.mark.parametrize("checks, message", [
    ("  memory: {max: 135}\n",
     "F:5:12: error: memory 136 B exceeds max 135 (+0.7%) (inference total, batch 1, float32) "
     "[checks.memory]"),
    ("  memory: {max: 0.1KB}\n",
     "F:5:12: error: memory 136 B exceeds max 0.1KB (+36.0%) "
     "(inference total, batch 1, float32) [checks.memory]"),
    ("  memory: {max: 399B, batch: 2, training: true, optimizer: sgd}\n",
     "F:5:12: error: memory 400 B exceeds max 399B (+0.3%) "
     "(training step with sgd, batch 2, float32) [checks.memory]"),
    ("  memory: {min: 1KiB}\n",
     "F:5:12: error: memory 136 B is below min 1KiB (-86.7%) "
     "(inference total, batch 1, float32) [checks.memory]"),
    ("  memory: {max: 67B, dtype: float16}\n",
     "F:5:12: error: memory 68 B exceeds max 67B (+1.5%) (inference total, batch 1, float16) "
     "[checks.memory]"),
])
def test_memory_checks(check, checks: str, message: str) -> None:  # type: ignore[no-untyped-def]
    code, _, err = check(checks, base=TINY)
    assert (code, err.splitlines()) == (1, [message])


@pytest.mark.parametrize("checks", ["  memory: {equals: 136}\n",
                                    "  memory: {equals: 400, batch: 2, training: true, "
                                    "optimizer: sgd}\n"])
def test_memory_exact(check, checks: str) -> None:  # type: ignore[no-untyped-def]
    assert check(checks, base=TINY)[0] == 0


def test_channels_last_shapes_are_written_in_the_input_layout(check) -> None:  # type: ignore[no-untyped-def]
    base = ("input: {shape: [8, 8, 3], layout: channels_last}\nlayers:\n"
            "  - conv: {filters: 4, kernel: 3, name: c1}\n  - flatten\nchecks:\n")
    assert check("  output: [144]\n  layers: {c1: {shape: [6, 6, 4]}}\n", base=base)[0] == 0
    code, _, err = check("  layers: {c1: {shape: [4, 6, 6]}}\n", base=base)
    assert code == 1
    assert "layer 'c1' has shape [6, 6, 4], expected [4, 6, 6]" in err


def test_block_params_sum_over_the_block(check) -> None:  # type: ignore[no-untyped-def]
    # two copies of conv 4->4 3x3 (148 params each): the block 'stage' holds 296
    base = textwrap.dedent("""\
        input: [4, 8, 8]
        blocks:
          unit:
            layers:
              - conv: {filters: 4, kernel: 3, padding: 1}
              - relu
        layers:
          - unit: {name: stage, repeat: 2}
          - conv: {filters: 2, kernel: 1, name: head}
        checks:
        """)
    assert check("  layers: {stage: {params: {equals: 296}, shape: [4, 8, 8]}}\n",
                 base=base)[0] == 0
    code, _, err = check("  layers: {stage: {params: {max: 200}}}\n", base=base)
    assert code == 1
    assert "block 'stage' params 296 exceeds max 200 (+48.0%)" in err


# Receptive fields by hand (RF_L = RF_{L-1} + (K-1) x product of earlier strides): three
# 3x3 convs at stride 1 give 3, 5; a 2x2 stride-2 pool 6; a 3x3 conv after it 6 + 2*2 = 10.
# gap and everything after it see the whole input (global).
RF_NET = """\
input: [1, 32, 32]
layers:
  - conv: {filters: 2, kernel: 3, name: c1}
  - conv: {filters: 2, kernel: 3, name: c2}
  - maxpool: {kernel: 2, name: p}
  - conv: {filters: 2, kernel: 3, name: c3}
  - conv: {filters: 2, kernel: [3, 1], name: wide}
  - gap
  - flatten
  - dense: {units: 3, name: fc}
checks:
"""


@pytest.mark.parametrize("checks, message", [
    ("  rf: {min: 15}\n",
     "F:12:8: error: layer 'wide' receptive field 10 (smallest axis of 14x10) is below min 15 "
     "(-33.3%) [checks.rf]"),
    ("  rf: {min: 6, layer: c2}\n",
     "F:12:8: error: layer 'c2' receptive field 5 is below min 6 (-16.7%) [checks.rf]"),
    ("  rf: {max: 9, layer: c3}\n",
     "F:12:8: error: layer 'c3' receptive field 10 exceeds max 9 (+11.1%) [checks.rf]"),
    ("  rf: {max: 1000, layer: fc}\n",
     "F:12:8: error: layer 'fc' receptive field is global (sees the whole input), has no finite "
     "size for max 1,000 [checks.rf]"),
    ("  layers:\n    c1: {rf: {equals: 5}}\n",
     "F:13:15: error: layer 'c1' receptive field 3 is not 5 (-40.0%) [checks.layers.c1.rf]"),
])
def test_rf_checks_fail(check, checks: str, message: str) -> None:  # type: ignore[no-untyped-def]
    code, _, err = check(checks, base=RF_NET)
    assert (code, err.splitlines()) == (1, [message])


@pytest.mark.parametrize("checks", [
    "  rf: {min: 10}\n",  # the default layer 'wide': smallest axis 10
    "  rf: {min: 10, max: 14, layer: wide}\n",
    "  rf: {equals: 10, layer: c3}\n",
    "  rf: {min: 1000000, layer: fc}\n",  # global satisfies any min
    "  layers:\n    c2: {rf: {equals: 5}}\n    p: {rf: {equals: 6}}\n",
])
def test_rf_checks_pass(check, checks: str) -> None:  # type: ignore[no-untyped-def]
    code, _, err = check(checks, base=RF_NET)
    assert (code, err) == (0, "")


def test_lecture_rf_specs_pass(capsys) -> None:  # type: ignore[no-untyped-def]
    lecture = Path(__file__).resolve().parent.parent / "architectures" / "lecture"
    assert main(["check", str(lecture / "07_receptive_field.yaml"), "--min-rf", "7",
                 "--max-rf", "7"]) == 0
    assert main(["check", str(lecture / "07_receptive_field.yaml"), "--min-rf", "8"]) == 1
    assert "layer 'conv3' receptive field 7 is below min 8 (-12.5%) [--min-rf]" in \
        capsys.readouterr().err


def test_rf_without_spatial_axes_fails_clearly(check) -> None:  # type: ignore[no-untyped-def]
    base = "input: [16]\nlayers:\n  - dense: {units: 4, name: fc}\nchecks:\n"
    code, _, err = check("  rf: {min: 1}\n", base=base)
    assert (code, err) == (1, "F:5:3: error: the receptive field cannot be measured: the input "
                              "has no spatial axes [checks.rf]\n")
