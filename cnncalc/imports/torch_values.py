"""What a traced PyTorch value stands for while the graph is translated (no torch import here).

A tensor of the source is a cnncalc layer's output plus what cnncalc needs to read it
correctly: its PyTorch shape (batch first) and whether it is temporarily held in another
layout (ConvNeXt's `permute(0, 2, 3, 1)`, the middle of a channel shuffle). Chunks and
splits are `Piece`s until something reads them, so an unused part becomes no layer.
"""
from __future__ import annotations

from dataclasses import dataclass


class Unsupported(Exception):
    """This node cannot be expressed in cnncalc; the message says why."""


class Poisoned(Unsupported):
    """An input comes from a node already reported: the node is skipped, not reported again."""


CHANNELS_FIRST = "channels_first"   # PyTorch [N, C, *spatial], as cnncalc
CHANNELS_LAST = "channels_last"     # [N, *spatial, C] after a permute: cnncalc still has [C, ...]


@dataclass(frozen=True)
class Tensor:
    layer: str                       # the cnncalc layer (or "input") holding its values
    shape: tuple[int, ...]           # PyTorch's shape, batch first
    layout: str = CHANNELS_FIRST
    shuffle: tuple[str, int] | None = None   # ("grouped" | "swapped", groups) mid channel shuffle
    poisoned: bool = False           # made by a node already reported as unsupported

    @property
    def rank(self) -> int:
        return len(self.shape)

    @property
    def channels(self) -> int:
        return self.shape[-1] if self.layout == CHANNELS_LAST else self.shape[1]

    def cnncalc_shape(self) -> tuple[int, ...]:
        """The shape cnncalc gives this tensor: batchless, channels first."""
        shape = self.shape[1:]
        return (shape[-1], *shape[:-1]) if self.layout == CHANNELS_LAST else shape

    def axis(self, dim: int) -> int:
        """cnncalc's axis (batchless, channels first) for PyTorch's `dim` of this tensor."""
        if not -self.rank <= dim < self.rank:
            raise Unsupported(f"dim {dim} is out of range for a {self.rank}-D tensor")
        dim %= self.rank
        if dim == 0:
            raise Unsupported("it works across the batch axis, which cnncalc does not model")
        if self.layout == CHANNELS_LAST:
            return 0 if dim == self.rank - 1 else dim
        return dim - 1


@dataclass(frozen=True)
class Piece:
    """One part of a chunk/split, made into a `slice` layer when something reads it."""

    source: Tensor
    dim: int          # PyTorch dim
    start: int
    stop: int


@dataclass(frozen=True)
class Param:
    """A parameter or buffer read with get_attr (a layer scale, a functional norm's weight)."""

    target: str       # its qualified name in the model
    value: object     # the torch tensor
    trainable: bool
