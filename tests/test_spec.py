"""The spec format of SPEC.md: layers, names, in, repeat, blocks, expressions, layouts."""
from __future__ import annotations

import pytest
from helpers import graph, where
from hypothesis import given
from hypothesis import strategies as st

from cnncalc.spec.expr import ExprError, evaluate_with

SPEC_BLOCKS = """\
    blocks:
      basic:
        args: {filters: required, stride: 1}
        layers:
          - conv: {filters: $filters, kernel: 3, stride: $stride, padding: 1, bias: false}
          - bn
          - relu
          - conv: {filters: $filters, kernel: 3, padding: 1, bias: false}
          - bn: {name: body}
          - add: {in: [body, $in]}
          - relu
      bottleneck:
        args: {width: required, stride: 1}
        layers:
          - conv: {filters: $width, kernel: 1, bias: false}
          - bn
          - relu
          - conv: {filters: $width, kernel: 3, stride: $stride, padding: 1, bias: false}
          - bn
          - relu
          - conv: {filters: "${width * 4}", kernel: 1, bias: false}
          - bn: {name: body}
          - conv: {filters: "${width * 4}", kernel: 1, stride: $stride, bias: false, in: $in}
          - bn: {name: shortcut}
          - add: {in: [body, shortcut]}
          - relu
    input: [64, 56, 56]
    layers:
      - basic: {filters: 64, repeat: 2, name: layer1}
      - bottleneck: {width: 64, stride: 2, name: layer2}
    """


def test_spec_md_block_example() -> None:
    g = graph(SPEC_BLOCKS)
    assert g.layer("layer1.1.body").name == "layer1.1.body"
    assert g.layer("layer1").name == "layer1.1.relu2"  # the name alone is the last copy
    assert g.layer("layer1.0").name == "layer1.0.relu2"
    assert g.layer("layer1.0.add1").inputs == ["layer1.0.body", "input"]
    assert g.layer("layer1.1.add1").inputs == ["layer1.1.body", "layer1.0.relu2"]
    assert g.layer("layer2.shortcut").in_shapes == ((256, 28, 28),)
    assert g.layer("layer2").out_shape == (256, 28, 28)
    # basic: 2 convs of 3*3*64*64 + 2 bn of 128; bottleneck by hand:
    basic = 2 * (3 * 3 * 64 * 64) + 2 * 128
    bottleneck = 64 * 64 + 128 + 9 * 64 * 64 + 128 + 64 * 256 + 512 + 64 * 256 + 512
    assert g.total_params == 2 * basic + bottleneck
    assert g.total_buffers == 2 * (2 * 128) + (128 + 128 + 512 + 512)


def test_bare_scalar_is_first_argument_and_generated_names() -> None:
    g = graph("""\
        input: [3, 8, 8]
        layers:
          - conv: {filters: 4, kernel: 3}
          - maxpool: 2
          - conv: {filters: 4, kernel: 1}
          - flatten
          - dropout: 0.3
          - dense: 10
        """)
    assert [layer.name for layer in g.layers] == ["conv1", "maxpool1", "conv2", "flatten1",
                                                  "dropout1", "dense1"]
    assert g.layer("maxpool1").out_shape == (4, 3, 3)
    assert g.layer("dropout1").args["rate"] == 0.3
    assert g.output_shapes == {"dense1": (10,)}


def test_generated_names_avoid_explicit_ones() -> None:
    g = graph("""\
        input: [3, 8, 8]
        layers:
          - relu
          - relu: {name: relu2}
          - relu
        """)
    assert [layer.name for layer in g.layers] == ["relu1", "relu2", "relu3"]


def test_repeat_of_named_op_and_repeat_zero() -> None:
    g = graph("""\
        input: [3, 8, 8]
        layers:
          - conv: {filters: 3, kernel: 3, padding: 1, name: c, repeat: 3}
          - relu: {name: gone, repeat: 0}
          - add: {in: [gone, c.0]}
        """)
    assert [layer.name for layer in g.layers] == ["c.0", "c.1", "c.2", "add1"]
    assert g.layer("c").name == "c.2"
    assert g.layer("add1").inputs == ["c.2", "c.0"]


def test_repeat_and_expressions_from_arguments() -> None:
    g = graph("""\
        input: [8, 8, 8]
        blocks:
          stack:
            args: {n: 2, width: 4}
            layers:
              - conv: {filters: "${max(width, in_channels) * 2}", kernel: 1, repeat: $n}
              - conv: {filters: "${in_channels // 2 + -1 % 3}", kernel: 1, repeat: "${n - 2}"}
        layers:
          - stack: {n: 3}
        """)
    assert [layer.out_shape[0] for layer in g.layers] == [16, 16, 16, 6]


def test_skip_connection_argument_in_nested_blocks() -> None:
    g = graph("""\
        input: [4, 16, 16]
        blocks:
          up:
            args: {skip: required, filters: required}
            layers:
              - deconv: {filters: $filters, kernel: 2, stride: 2, name: up}
              - concat: {in: [$skip, up]}
          wrapper:
            args: {skip: required}
            layers:
              - up: {skip: $skip, filters: 4}
        layers:
          - conv: {filters: 4, kernel: 3, padding: 1, name: enc}
          - maxpool: 2
          - wrapper: {skip: enc, name: dec}
        """)
    assert g.layer("dec").out_shape == (8, 16, 16)
    assert g.layer("dec").inputs == ["enc", "dec.up1.up"]


def test_forward_references_and_outputs() -> None:
    g = graph("""\
        input: [3, 8, 8]
        outputs: [head, aux]
        layers:
          - conv: {filters: 4, kernel: 1, name: aux, in: stem}
          - conv: {filters: 4, kernel: 1, name: stem, in: input}
          - gap: {name: head}
        """)
    assert [layer.name for layer in g.layers] == ["stem", "aux", "head"]
    assert g.output_shapes == {"head": (4, 1, 1), "aux": (4, 8, 8)}


def test_channels_last_input() -> None:
    g = graph("""\
        input: {shape: [224, 224, 3], layout: channels_last}
        layers:
          - conv: {filters: 64, kernel: 3, padding: 1}
        """)
    assert g.input_shape == (3, 224, 224)
    assert g.spec.layout == "channels_last"
    assert g.layers[0].params == 1792


@pytest.mark.parametrize("shape", [[2, 17], [2, 9, 11], [2, 5, 6, 7]])
def test_any_number_of_spatial_axes(shape: list[int]) -> None:
    g = graph(f"""\
        input: {shape}
        layers:
          - conv: {{filters: 4, kernel: 3, padding: same, stride: 2}}
          - maxpool: {{kernel: 2, ceil_mode: true}}
          - upsample: 2
          - gap
        """)
    spatial = [-(-n // 2) for n in shape[1:]]
    assert g.layer("conv1").out_shape == (4, *spatial)
    assert g.layer("gap1").out_shape == (4,) + (1,) * len(spatial)
    assert g.layer("conv1").params == 4 * 2 * 3 ** len(spatial) + 4


def test_depthwise_defaults_filters_to_input_channels() -> None:
    g = graph("""\
        input: [32, 8, 8]
        layers:
          - conv: {kernel: 3, groups: depthwise, padding: 1, bias: false}
        """)
    assert g.layers[0].out_shape == (32, 8, 8)
    assert g.layers[0].params == 32 * 9


def test_errors_in_repeat_and_names() -> None:
    assert where("""\
        input: [3, 8, 8]
        layers:
          - relu: {repeat: -1}
          - relu: {name: input}
          - relu: {name: "a b"}
        """) == [(3, 20, "bad-repeat"), (4, 18, "bad-name"), (5, 18, "bad-name")]


def test_expression_evaluator() -> None:
    assert evaluate_with("a * 4 + max(1, 2 * 3) // 2 - -1 % 3", {"a": 64}) == 257
    assert evaluate_with("min(a, 3) - (a - 10)", {"a": 5}) == 8
    for bad in ("a *", "a ** 2", "__import__('os')", "1 // 0", "(1", "foo(1)"):
        with pytest.raises(ExprError):
            evaluate_with(bad, {"a": 1})
    assert evaluate_with("a / 2", {"a": 1}) == 0.5  # exact division gives a decimal


@given(st.integers(-1000, 1000), st.integers(-1000, 1000), st.integers(1, 50))
def test_expression_matches_python_integer_arithmetic(a: int, b: int, c: int) -> None:
    assert evaluate_with("a * b - (b + c) // c % 7 + max(a, -b, c)", {"a": a, "b": b, "c": c}) == \
        a * b - (b + c) // c % 7 + max(a, -b, c)


RESIDUAL_IF_SAME = """\
    input: [8, 4, 4]
    blocks:
      b:
        args: {filters: 8}
        layers:
          - conv: {filters: $filters, kernel: 1, name: body}
          # the shortcut only when the block keeps the channel count
          - add: {in: [body, $in], if: "${in_channels == filters}"}
    layers:
      - b
      - b: {filters: 16}
      - b: {filters: 16}
    """


def test_if_may_depend_on_in_channels() -> None:
    g = graph(RESIDUAL_IF_SAME)
    assert [layer.name for layer in g.layers] == ["b1.body", "b1.add1", "b2.body", "b3.body",
                                                  "b3.add1"]
    # another input size changes the structure: the first block loses its shortcut
    g = graph(RESIDUAL_IF_SAME, input_shape=(16, 4, 4))
    assert [layer.name for layer in g.layers] == ["b1.body", "b2.body", "b3.body", "b3.add1"]


def test_repeat_needing_a_later_layer_is_an_error() -> None:
    assert where("""\
        input: [8, 4, 4]
        blocks:
          b:
            layers:
              - relu: {repeat: "${in_channels // 4}"}
        layers:
          - b: {in: later}
          - relu: {name: later, in: input}
        """) == [(5, 24, "bad-repeat")]
