"""Formatting for the renderers: the layout-aware shape, and the number writers of the text leaf
(re-exported so renderers say `text.count`, `text.short`)."""
from __future__ import annotations

from collections.abc import Sequence

from cnncalc.spec.document import user_layout
from cnncalc.text import binary_bytes, count, fmt_shape, percent, short, short_bytes

__all__ = ["binary_bytes", "count", "percent", "shape", "short", "short_bytes"]


def shape(dims: Sequence[int], layout: str = "channels_first") -> str:
    """A batchless shape; with channels_last (as the spec's input was written) C goes last."""
    return fmt_shape(user_layout(tuple(dims), layout))
