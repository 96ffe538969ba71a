"""A likely mistake the loader cannot call an error: an input written channels-last without
`layout: channels_last`, so that [224, 224, 3] is read as 224 channels of 224 x 3.

A warning, never an error: the shape is legal, only improbable. It fires when a convolution
reads the input, the last axis has 1..4 entries (grey, RGB, RGBA) and the first is several
times (8x) larger; that is how channels-last images look, and how channels-first ones do not.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

from cnncalc.problems import Problem
from cnncalc.spec.refs import INPUT
from cnncalc.text import fmt_shape

if TYPE_CHECKING:
    from cnncalc.graph import Graph

CONVS = ("conv", "deconv")


def layout_warnings(graph: Graph) -> list[Problem]:
    spec = graph.spec
    shape = graph.input_shape
    if spec.layout != "channels_first" or len(shape) < 3:
        return []
    channels, last = shape[0], shape[-1]
    if not (1 <= last <= 4 and min(shape[:-1]) >= 8 and channels >= 8 * last):
        return []
    readers = [layer for layer in graph.layers if INPUT in layer.inputs]
    if not any(layer.op_name in CONVS for layer in readers):
        return []
    first = ", ".join(map(str, (last, *shape[:-1])))
    return [Problem(spec.input_loc, "warning", "input-layout",
                    f"input {fmt_shape(shape)} is read channels first ({channels} channels) but "
                    f"looks channels-last (last axis {last}: an image's colour channels?); add "
                    f"`layout: channels_last` to `input:`, or write it as [{first}]")]
