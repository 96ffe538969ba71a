"""Another framework's word for an op or an argument gets cnncalc's word as the suggestion."""
from __future__ import annotations

import pytest
from helpers import problems

from cnncalc.ops import aliases
from cnncalc.ops.registry import ops


@pytest.mark.parametrize(("word", "op"), [
    ("linear", "dense"), ("Linear", "dense"), ("Dense", "dense"), ("fc", "dense"),
    ("BatchNorm2d", "bn"), ("batchnorm", "bn"), ("BatchNormalization", "bn"), ("BatchNorm1d", "bn"),
    ("Conv2d", "conv"), ("Conv2D", "conv"), ("Conv1d", "conv"), ("Conv3D", "conv"),
    ("MaxPool2d", "maxpool"), ("MaxPooling2D", "maxpool"), ("max_pool2d", "maxpool"),
    ("AvgPool2d", "avgpool"), ("AveragePooling1D", "avgpool"),
    ("ConvTranspose2d", "deconv"), ("Conv2DTranspose", "deconv"), ("ConvTranspose1d", "deconv"),
    ("AdaptiveAvgPool2d", "adaptive_avgpool"), ("GlobalAveragePooling2D", "gap"),
    ("GlobalMaxPooling1D", "gmp"), ("AdaptiveMaxPool3d", "adaptive_maxpool"),
    ("LayerNorm", "layernorm"), ("GroupNorm", "groupnorm"), ("LocalResponseNorm", "lrn"),
    ("ReLU", "relu"), ("LeakyReLU", "leaky_relu"), ("GELU", "gelu"), ("SiLU", "silu"), ("swish", "silu"),
    ("Dropout2d", "dropout"), ("Concatenate", "concat"), ("cat", "concat"), ("Add", "add"),
    ("UpSampling2D", "upsample"), ("interpolate", "upsample"), ("ZeroPad2d", "pad"),
    ("ChannelShuffle", "channel_shuffle"), ("Flatten", "flatten"), ("Softmax", "softmax"),
])
def test_unknown_op_suggests_the_cnncalc_word(word: str, op: str) -> None:
    [p] = problems(f"input: [3, 8, 8]\nlayers:\n  - {word}\n")
    assert (p.loc.line, p.loc.col, p.code) == (3, 5, "unknown-op")
    assert f"did you mean '{op}'? cnncalc's word for {word}" in p.message


@pytest.mark.parametrize(("op", "word", "arg"), [
    ("conv: {kernel: 3, ", "out_channels", "filters"), ("conv: {filters: 4, ", "kernel_size", "kernel"),
    ("conv: {filters: 4, kernel: 3, ", "dilation_rate", "dilation"),
    ("conv: {filters: 4, kernel: 3, ", "use_bias", "bias"),
    ("conv: {filters: 4, kernel: 3, ", "strides", "stride"),
    ("dense: {", "out_features", "units"), ("dense: {", "units_", "units"),
    ("dropout: {", "p", "rate"), ("leaky_relu: {", "negative_slope", "slope"),
    ("softmax: {", "dim", "axis"), ("concat: {", "dim", "axis"), ("bn: {", "epsilon", "eps"),
    ("groupnorm: {", "num_groups", "groups"), ("maxpool: {", "pool_size", "kernel"),
    ("maxpool: {kernel: 2, ", "kernel_size", "kernel"), ("adaptive_avgpool: {", "output_size", "output"),
    ("upsample: {", "scale_factor", "scale"), ("upsample: {scale: 2, ", "interpolation", "mode"),
])
def test_unknown_argument_suggests_the_cnncalc_word(op: str, word: str, arg: str) -> None:
    spec = f"input: [4, 8, 8]\nlayers:\n  - {op}{word}: 1}}\n"
    [p] = problems(spec)
    assert (p.loc.line, p.code) == (3, "unknown-arg")
    assert p.loc.col == len(f"  - {op}") + 1
    assert f"did you mean '{arg}'?" in p.message


def test_aliases_are_unambiguous_and_name_no_other_op() -> None:
    seen: dict[str, str] = {}
    for name, op in ops().items():
        for word in (name, *op.aliases):
            key = aliases.normalise(word)
            assert seen.setdefault(key, name) == name, (word, seen[key], name)
        args = [aliases.normalise(a.name) for a in op.arguments]
        for arg in op.arguments:
            for word in arg.aliases:  # an alias never hides a real argument of the same op
                key = aliases.normalise(word)
                assert key not in args or key == aliases.normalise(arg.name)
                assert aliases.arg_for(op, word) == arg.name


def test_a_word_that_is_no_alias_falls_back_to_spelling() -> None:
    [p] = problems("input: [3, 8, 8]\nlayers:\n  - reluu\n")
    assert "did you mean 'relu'?" in p.message and "word for" not in p.message
    [p] = problems("input: [3, 8, 8]\nlayers:\n  - xyzzyq\n")
    assert "did you mean" not in p.message


@pytest.mark.parametrize(("layer", "word", "note"), [
    ("conv: {filters: 4, kernel: 3, ", "in_channels", "infers it from the layer's input"),
    ("dense: {units: 4, ", "in_features", "infers it from the layer's input"),
    ("bn: {", "num_features", "infers it from the layer's input"),
    ("relu: {", "inplace", "already runs in place"),
])
def test_arguments_cnncalc_does_not_need_say_why(layer: str, word: str, note: str) -> None:
    [p] = problems(f"input: [4, 8, 8]\nlayers:\n  - {layer}{word}: 1}}\n")
    assert p.code == "unknown-arg" and note in p.message
