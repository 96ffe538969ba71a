"""Shared test helpers: build graphs from inline YAML, run the CLI, collect problems."""
from __future__ import annotations

import textwrap
from pathlib import Path

from cnncalc import SpecError, load_graph_text
from cnncalc.graph import Graph
from cnncalc.problems import Problem

ROOT = Path(__file__).resolve().parent.parent
ARCH = ROOT / "architectures"


def graph(yaml_text: str, input_shape: tuple[int, ...] | None = None) -> Graph:
    return load_graph_text(textwrap.dedent(yaml_text), "spec.yaml", input_shape)


def problems(yaml_text: str) -> list[Problem]:
    try:
        graph(yaml_text)
    except SpecError as exc:
        return exc.problems
    raise AssertionError("expected the spec to be rejected")


def where(yaml_text: str) -> list[tuple[int, int, str]]:
    """(line, col, code) of every problem, the way tests assert them."""
    return [(p.loc.line, p.loc.col, p.code) for p in problems(yaml_text)]


def run_ok(capsys, *args: str) -> str:  # type: ignore[no-untyped-def]
    """Run the CLI, expect exit 0, return what it printed on stdout."""
    from cnncalc.cli import main

    assert main(list(args)) == 0
    return capsys.readouterr().out


def _per_axis(value: object, rank: int) -> list[int]:
    return [int(value)] * rank if isinstance(value, int) else [int(v) for v in value]  # type: ignore[union-attr]


def hand_weights(layer) -> tuple[int, int]:  # type: ignore[no-untyped-def]
    """(trainable, buffers) of one layer from the textbook formulas and the layer's arguments
    alone: an oracle that does not ask the op for its tensors. Raises KeyError for an op that
    has weights and is not written out here, so a new weighted op cannot slip through."""
    op, args, (shape, *_) = layer.op_name, layer.args, layer.in_shapes
    if op in ("conv", "deconv"):
        c_in, rank = shape[0], len(shape) - 1
        groups = c_in if args["groups"] == "depthwise" else args["groups"]
        c_out = args.get("filters") or c_in  # depthwise without filters keeps the channels
        taps = 1
        for k in _per_axis(args["kernel"], rank):
            taps *= k
        weight = (c_in // groups) * c_out * taps  # conv: C_out x C_in/g x K; deconv: C_in x C_out/g x K
        if op == "deconv":
            weight = c_in * (c_out // groups) * taps
        return weight + (c_out if args["bias"] else 0), 0
    if op == "dense":
        return shape[-1] * args["units"] + (args["units"] if args["bias"] else 0), 0
    if op == "bn":
        return 2 * shape[0], 2 * shape[0]  # gamma, beta; running mean, running var
    if op == "groupnorm":
        return 2 * shape[0], 0
    if op == "layernorm":
        n = shape[0]
        if args.get("over") == "all":
            n = 1
            for d in shape:
                n *= d
        return 2 * n, 0
    if layer.tensors:
        raise KeyError(f"no hand formula for op '{op}'")
    return 0, 0
