"""Which constructs of each import source map to which cnncalc op, for the op reference
(docs/format.md: `report/opref.py` prints them in each op's section).

One dict per source: cnncalc op -> the source's words for it. Keras entries are layer class
names, with a condition in parentheses where the class maps to different ops
(`Dense(flat input)` is `dense`, `Dense(spatial input)` is `channel_dense`) or where it is an
activation word (`Activation(relu)`, also a layer's `activation=` argument). Each importer
keeps this table true for its own source; tests/test_import_keras.py checks the Keras one
against the importer's translation table.
"""
from __future__ import annotations


def _ranks(*names: str, dims: tuple[int, ...] = (1, 2, 3)) -> tuple[str, ...]:
    return tuple(name.format(d=d) for name in names for d in dims)


KERAS: dict[str, tuple[str, ...]] = {
    "conv": (*_ranks("Conv{d}D"), *_ranks("DepthwiseConv{d}D", dims=(1, 2)),
             *_ranks("SeparableConv{d}D", dims=(1, 2))),
    "deconv": _ranks("Conv{d}DTranspose"),
    "dense": ("Dense(flat input)",),
    "channel_dense": ("Dense(spatial input)",),
    "bn": ("BatchNormalization",),
    "layernorm": ("LayerNormalization",),
    "groupnorm": ("GroupNormalization",),
    "maxpool": _ranks("MaxPooling{d}D"),
    "avgpool": _ranks("AveragePooling{d}D"),
    "gap": _ranks("GlobalAveragePooling{d}D"),
    "gmp": _ranks("GlobalMaxPooling{d}D"),
    "flatten": ("Flatten",),
    "add": ("Add",),
    "multiply": ("Multiply",),
    "concat": ("Concatenate",),
    "relu": ("ReLU", "Activation(relu)"),
    "relu6": ("ReLU(max_value=6)", "Activation(relu6)"),
    "leaky_relu": ("LeakyReLU", "ReLU(negative_slope)", "Activation(leaky_relu)"),
    "sigmoid": ("Activation(sigmoid)",),
    "tanh": ("Activation(tanh)",),
    "softmax": ("Softmax", "Activation(softmax)"),
    "silu": ("Activation(swish)", "Activation(silu)"),
    "gelu": ("Activation(gelu)",),
    "hardsigmoid": ("Activation(hard_sigmoid)",),
    "hardswish": ("Activation(hard_swish)", "Activation(hard_silu)"),
    "identity": ("Identity", "Activation(linear)", "Rescaling", "Normalization(constant mean)"),
    "dropout": ("Dropout", *_ranks("SpatialDropout{d}D")),
    "pad": _ranks("ZeroPadding{d}D"),
    "slice": _ranks("Cropping{d}D"),
    "upsample": _ranks("UpSampling{d}D"),
}

# Filled by the PyTorch and ONNX importers (same form: op -> their words).
PYTORCH: dict[str, tuple[str, ...]] = {}
ONNX: dict[str, tuple[str, ...]] = {}

SOURCES: tuple[tuple[str, dict[str, tuple[str, ...]]], ...] = (
    ("PyTorch", PYTORCH), ("ONNX", ONNX), ("Keras", KERAS))


def imported_from(op: str) -> list[tuple[str, tuple[str, ...]]]:
    """(source, its words) for every source that maps something to `op`."""
    return [(source, table[op]) for source, table in SOURCES if table.get(op)]
