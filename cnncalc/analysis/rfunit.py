"""What one output unit really depends on, boundaries included: `unit_support(graph, layer, unit)`.

The receptive-field numbers (analysis/rf.py) describe the infinite grid: a unit next to a
border "sees" padding positions, and after a crop or explicit padding the positions beyond
a tensor's edge are extrapolated. This walks back from one unit through the real, finite
tensors (reading only the units each op reads, dropping taps that fall in padding) and
returns, per spatial axis, the input positions the unit depends on through its local reads
(global inputs such as squeeze-excite gates are constants). Ops are separable per axis, so a
path's dependency is a product of per-axis sets; a union of paths projects to the union of
their per-axis sets, which is what is returned. Gaps (dilation) are kept: sets, not intervals.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from cnncalc.graph import Graph


def unit_support(graph: Graph, name: str, unit: tuple[int, ...]) -> tuple[list[int], ...] | None:
    """Sorted input positions per spatial axis that `unit` of layer `name` depends on; None
    when it depends on no input position through local reads."""
    return support(graph, name, [{u} for u in unit])


def support(graph: Graph, name: str, units: list[set[int]]) -> tuple[list[int], ...] | None:
    """Like `unit_support`, for every combination of the given unit indices per axis (the
    dependencies are separable per axis): e.g. all units of a layer at once."""
    target = graph.layer(name)
    needed: dict[str, list[set[int]]] = {target.name: units}
    for layer in reversed(graph.layers[: target.index + 1]):
        sets = needed.pop(layer.name, None)
        if sets is None:
            continue
        for index, maps in layer.op.rf(layer):
            if isinstance(maps, str):  # GLOBAL: a constant for the local dependency
                continue
            source = layer.inputs[index]
            sizes = graph.shape_of(source)[1:]
            found = [{i for o in wanted for i in m.taps(o) if 0 <= i < n}
                     for m, wanted, n in zip(maps, sets, sizes)]
            if not all(found):
                continue  # along some axis this read touches only padding: no dependency
            seen = needed.get(source)
            if seen is None:
                needed[source] = found
            else:
                for have, more in zip(seen, found):
                    have |= more
    result = needed.get("input")
    return None if result is None else tuple(sorted(s) for s in result)
