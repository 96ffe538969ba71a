"""One Keras layer (class name + config) -> the cnncalc layers that compute it.

Keras is channels-last ([N, *spatial, C]); cnncalc is channels-first inside, so a Keras axis
is translated (`channel_axis`): the last axis is cnncalc's channel axis 0, the spatial axes
keep their numbers. Every rule follows Keras' own definitions (the layer's `compute_output_shape`
and its weights), so the written spec gives Keras' shapes and parameter counts exactly; where
cnncalc cannot say the same thing, `Unsupported` names why and nothing is guessed.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

# Keras' activation words -> cnncalc ops (None: no layer). Keras 3's hard_sigmoid is
# relu6(x + 3) / 6 (Keras 2's was 0.2x + 0.5, refused there); its gelu string is the exact erf
# form; its leaky_relu function's slope is 0.2.
ACTIVATIONS: dict[str, tuple[str, dict[str, object]] | None] = {
    "linear": None, "relu": ("relu", {}), "relu6": ("relu6", {}), "sigmoid": ("sigmoid", {}),
    "tanh": ("tanh", {}), "softmax": ("softmax", {}), "swish": ("silu", {}), "silu": ("silu", {}),
    "gelu": ("gelu", {}), "hard_sigmoid": ("hardsigmoid", {}), "hard_swish": ("hardswish", {}),
    "hard_silu": ("hardswish", {}), "leaky_relu": ("leaky_relu", {"slope": 0.2}),
}
KERAS2_DIFFERENT = {"hard_sigmoid": "Keras 2's hard_sigmoid is clip(0.2x + 0.5, 0, 1), which cnncalc "
                                    "has no op for"}


class Unsupported(Exception):
    """This layer cannot be expressed; `shape_dependent` when the reason depends on the input's
    rank or channels (not reported when an earlier unsupported layer left those unknown)."""

    def __init__(self, why: str, shape_dependent: bool = False) -> None:
        super().__init__(why)
        self.why = why
        self.shape_dependent = shape_dependent


@dataclass
class Tensor:
    """What the translation needs to know of a tensor: its rank without the batch and, where
    known, its channel count (None after a flatten, or after an unsupported layer)."""

    rank: int
    channels: int | None
    known: bool = True


@dataclass
class Piece:
    """One cnncalc layer of a Keras layer; `suffix` is added to the Keras name ('' for the
    layer that carries it)."""

    op: str
    args: dict[str, object]
    suffix: str = ""


@dataclass
class Translation:
    pieces: list[Piece]
    out: Tensor
    notes: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Context:
    """The layer being translated: its config, its inputs, and the Keras version's rules."""

    name: str
    cls: str
    config: dict[str, Any]
    inputs: list[Tensor]
    keras3: bool

    def get(self, key: str, default: Any = None) -> Any:
        return self.config.get(key, default)

    @property
    def x(self) -> Tensor:
        return self.inputs[0]


# ---------------------------------------------------------------------------- helpers

def ints(value: Any, rank: int, what: str) -> list[int]:
    """A Keras int-or-tuple argument as one int per spatial axis."""
    if isinstance(value, bool) or value is None:
        raise Unsupported(f"{what} {value!r} is not a size")
    if isinstance(value, int):
        return [value] * rank
    if isinstance(value, (list, tuple)) and all(isinstance(v, int) and not isinstance(v, bool)
                                                 for v in value):
        if len(value) == 1 and rank != 1:
            return [value[0]] * rank
        if len(value) != rank:
            raise Unsupported(f"{what} {list(value)} has {len(value)} values for {rank} spatial axes",
                              shape_dependent=True)
        return list(value)
    raise Unsupported(f"{what} {value!r} is not a size")


def short(values: list[int]) -> int | list[int]:
    """An int when every axis agrees (as a person writes it), else the list."""
    return values[0] if len(set(values)) == 1 else values


def channel_axis(axis: Any, rank: int) -> int:
    """A Keras axis (batch = 0, channels last) -> cnncalc's batchless channels-first axis."""
    if isinstance(axis, list) and len(axis) == 1:
        axis = axis[0]
    if isinstance(axis, bool) or not isinstance(axis, int):
        raise Unsupported(f"axis {axis!r} is not one axis")
    full = rank + 1  # with the batch
    if not -full <= axis < full or axis % full == 0:
        raise Unsupported(f"axis {axis} is the batch axis or out of range for rank {rank}",
                          shape_dependent=True)
    axis %= full
    return 0 if axis == rank else axis


def spatial(ctx: Context, family: str, minimum: int = 1) -> int:
    rank = ctx.x.rank - 1
    if rank < minimum:
        raise Unsupported(f"{family} needs a spatial input, gets rank {ctx.x.rank}",
                          shape_dependent=True)
    return rank


def only_channels_last(ctx: Context) -> None:
    fmt = ctx.get("data_format")
    if fmt not in (None, "channels_last"):
        raise Unsupported(f"data_format {fmt}: cnncalc imports channels_last Keras models")


def activation(word: Any, keras3: bool) -> Piece | None:
    """The activation a layer applies after itself (`activation:` of Conv/Dense), as a piece."""
    if isinstance(word, dict):  # a serialised function: {"config": "relu", ...}
        word = word.get("config") if isinstance(word.get("config"), str) else word.get("class_name")
    if word is None:
        return None
    if not isinstance(word, str) or word not in ACTIVATIONS:
        raise Unsupported(f"activation {word!r} has no cnncalc op")
    if not keras3 and word in KERAS2_DIFFERENT:
        raise Unsupported(KERAS2_DIFFERENT[word])
    found = ACTIVATIONS[word]
    return None if found is None else Piece(found[0], dict(found[1]), f"_{found[0]}")


def with_activation(ctx: Context, main: list[Piece], out: Tensor) -> Translation:
    act = activation(ctx.get("activation", "linear"), ctx.keras3)
    return Translation(main + ([act] if act else []), out)


# ---------------------------------------------------------------------------- pooling

def pool(kind: str) -> Callable[[Context], Translation]:
    """Max/AveragePooling: `same` pads TF-style (the odd pixel after); max ignores the padding
    and average excludes it from the divisor (count_include_pad: false)."""

    def translate(ctx: Context) -> Translation:
        only_channels_last(ctx)
        rank = spatial(ctx, ctx.cls)
        kernel = ints(ctx.get("pool_size", 2), rank, "pool_size")
        strides = kernel if ctx.get("strides") is None else ints(ctx.get("strides"), rank, "strides")
        args: dict[str, object] = {"kernel": short(kernel)}
        if strides != kernel:
            args["stride"] = short(strides)
        padding = ctx.get("padding", "valid")
        if padding == "same":
            args["padding"] = "same"
            if kind == "avgpool":
                args["count_include_pad"] = False
        elif padding != "valid":
            raise Unsupported(f"padding {padding!r}")
        return Translation([Piece(kind, args)], ctx.x)

    return translate


def global_pool(kind: str) -> Callable[[Context], Translation]:
    """GlobalAverage/MaxPooling: [C, 1, ...] in cnncalc, flattened to [C] unless keepdims."""

    def translate(ctx: Context) -> Translation:
        only_channels_last(ctx)
        spatial(ctx, ctx.cls)
        if ctx.get("keepdims", False):
            return Translation([Piece(kind, {})], ctx.x)
        return Translation([Piece(kind, {}, "_pool"), Piece("flatten", {})],
                           Tensor(1, ctx.x.channels))

    return translate


# ---------------------------------------------------------------------------- shapes

def flatten(ctx: Context) -> Translation:
    only_channels_last(ctx)
    notes = []
    if ctx.x.rank > 1:
        notes.append(f"{ctx.name}: Keras flattens channels-last (..., C order), cnncalc channels-first "
                     "(C, ... order); shapes and counts are the same, but weights copied from Keras "
                     "into the layer after it would need their inputs permuted")
    return Translation([Piece("flatten", {})], Tensor(1, None), notes)


def _pairs(value: Any, rank: int, what: str) -> list[list[int]]:
    """ZeroPadding/Cropping sizes: int, one per axis, or (before, after) per axis."""
    if isinstance(value, (list, tuple)) and len(value) == rank and all(
            isinstance(v, (list, tuple)) for v in value):
        pairs = [[int(v[0]), int(v[1])] for v in value]
    elif rank == 1 and isinstance(value, (list, tuple)) and len(value) == 2:
        pairs = [[int(value[0]), int(value[1])]]
    else:
        pairs = [[n, n] for n in ints(value, rank, what)]
    return pairs


def zero_padding(ctx: Context) -> Translation:
    only_channels_last(ctx)
    rank = spatial(ctx, ctx.cls)
    pairs = _pairs(ctx.get("padding", 1), rank, "padding")
    flat: object = pairs
    if all(b == a for b, a in pairs):
        flat = short([b for b, _ in pairs])
    return Translation([Piece("pad", {"padding": flat})], ctx.x)


def cropping(ctx: Context) -> Translation:
    """Cropping: one slice per cropped spatial axis."""
    only_channels_last(ctx)
    rank = spatial(ctx, ctx.cls)
    pairs = _pairs(ctx.get("cropping", 1), rank, "cropping")
    pieces = []
    for axis, (before, after) in enumerate(pairs, start=1):
        if before or after:
            args: dict[str, object] = {"axis": axis, "start": before}
            if after:
                args["stop"] = -after
            pieces.append(Piece("slice", args, f"_axis{axis}"))
    if not pieces:
        pieces = [Piece("identity", {})]
    pieces[-1].suffix = ""
    return Translation(pieces, ctx.x)


def upsampling(ctx: Context) -> Translation:
    only_channels_last(ctx)
    rank = spatial(ctx, ctx.cls)
    size = ints(ctx.get("size", 2), rank, "size")
    interpolation = ctx.get("interpolation", "nearest")
    args: dict[str, object] = {"scale": short(size)}
    if interpolation == "bilinear" and rank == 2:
        args["mode"] = "linear"  # half-pixel centres, as PyTorch's align_corners=False
    elif interpolation != "nearest":
        raise Unsupported(f"interpolation {interpolation!r}: cnncalc upsamples nearest or linear "
                          "as PyTorch does")
    return Translation([Piece("upsample", args)], ctx.x)


# ---------------------------------------------------------------------------- merges

def merge(op: str) -> Callable[[Context], Translation]:
    def translate(ctx: Context) -> Translation:
        if len(ctx.inputs) < 2:
            raise Unsupported(f"{ctx.cls} of {len(ctx.inputs)} input")
        return Translation([Piece(op, {})], ctx.x)

    return translate


def concatenate(ctx: Context) -> Translation:
    axis = channel_axis(ctx.get("axis", -1), ctx.x.rank)
    args: dict[str, object] = {} if axis == 0 else {"axis": axis}
    channels: int | None = ctx.x.channels
    if axis == 0:
        known = [t.channels for t in ctx.inputs]
        channels = None if any(c is None for c in known) else sum(c for c in known if c is not None)
    return Translation([Piece("concat", args)], Tensor(ctx.x.rank, channels))


# ---------------------------------------------------------------------------- element-wise

def activation_layer(ctx: Context) -> Translation:
    piece = activation(ctx.get("activation"), ctx.keras3)
    return Translation([Piece(piece.op, piece.args) if piece else Piece("identity", {})], ctx.x)


def relu_layer(ctx: Context) -> Translation:
    """ReLU(max_value, negative_slope, threshold): relu, relu6 or leaky_relu."""
    top, slope, threshold = ctx.get("max_value"), ctx.get("negative_slope", 0.0), ctx.get("threshold", 0.0)
    if threshold:
        raise Unsupported(f"threshold {threshold}")
    if top is None:
        return Translation([Piece("leaky_relu", {"slope": float(slope)}) if slope
                            else Piece("relu", {})], ctx.x)
    if float(top) == 6.0 and not slope:
        return Translation([Piece("relu6", {})], ctx.x)
    raise Unsupported(f"max_value {top} with negative_slope {slope}")


def leaky_relu_layer(ctx: Context) -> Translation:
    slope = ctx.get("negative_slope", ctx.get("alpha", 0.3))  # Keras 3 word, Keras 2 word
    return Translation([Piece("leaky_relu", {"slope": float(slope)})], ctx.x)


def softmax_layer(ctx: Context) -> Translation:
    axis = channel_axis(ctx.get("axis", -1), ctx.x.rank)
    return Translation([Piece("softmax", {} if axis == 0 else {"axis": axis})], ctx.x)


def dropout(ctx: Context) -> Translation:
    return Translation([Piece("dropout", {"rate": float(ctx.get("rate", 0.5))})], ctx.x)


def identity(ctx: Context) -> Translation:
    return Translation([Piece("identity", {})], ctx.x)


def rescaling(ctx: Context) -> Translation:
    """x * scale + offset, no weights: written as identity, and said so."""
    note = (f"{ctx.name}: Rescaling (x * {ctx.get('scale')} + {ctx.get('offset', 0.0)}) is written as "
            "identity: no weights either way, but cnncalc counts no FLOPs for it and verify does not "
            "rescale")
    return Translation([Piece("identity", {})], ctx.x, [note])


def normalization(ctx: Context) -> Translation:
    """(x - mean) / sqrt(variance): with mean and variance given in the config it has no
    weights (identity, said so); adapted, it holds them as non-trainable weights, which no
    cnncalc op has without trainable ones."""
    if ctx.get("invert", False):
        raise Unsupported("invert=True")
    if ctx.get("mean") is None or ctx.get("variance") is None:
        raise Unsupported("its mean and variance are non-trainable weights (adapted), and cnncalc has "
                          "no op holding buffers without parameters; pass mean= and variance= to "
                          "the layer, or normalise the inputs before the model")
    note = (f"{ctx.name}: Normalization with constant mean and variance is written as identity: no "
            "weights either way, but cnncalc counts no FLOPs for it and verify does not normalise")
    return Translation([Piece("identity", {})], ctx.x, [note])
