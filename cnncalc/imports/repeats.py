"""Who reads what, and repeated chains found from the graph alone.

Where the source names carry no hierarchy (ONNX node names, Keras layer names), a stretch of
layers is cut wherever a single tensor is all that flows on (a "cut point": nothing made
before it is read after it but the last layer's output). Between cuts lie segments with one
input and one output; a segment's structure is its ops, their arguments and its wiring
relative to its input. Tandem repeats of segments (a unit of up to MAX_PERIOD segments,
repeated back to back) become `repeat:` of a block, or of a layer when a unit is one layer.
Everything here is linear in the stretch (times MAX_PERIOD).
"""
from __future__ import annotations

from cnncalc.imports.items import Instance, Item, Leaf, Run
from cnncalc.imports.model import ImportedModel

MAX_PERIOD = 16  # segments in a repeated unit
MIN_STRETCH = 2


class Flow:
    """For each layer, the last layer that reads its output (len(layers) for an output)."""

    def __init__(self, model: ImportedModel):
        self.layers = model.layers
        self.index = {layer.name: i for i, layer in enumerate(model.layers)}
        self.last_read = [-1] * len(model.layers)
        for i, layer in enumerate(model.layers):
            for name in layer.inputs:
                if name in self.index:
                    self.last_read[self.index[name]] = i
        for name in model.outputs:
            if name in self.index:
                self.last_read[self.index[name]] = len(model.layers)

    def produced(self, tensor: str) -> int:
        """Where a tensor is made: its layer's index, -1 for the network input."""
        return self.index.get(tensor, -1)

    def subgraph(self, body: list[Item]) -> tuple[str, list[str]] | None:
        """(input, other inputs) when the items run back to back and only the last one's
        output is read after them; else None."""
        if any(b.lo != a.hi + 1 for a, b in zip(body, body[1:])):
            return None
        lo, hi = body[0].lo, body[-1].hi
        if any(self.last_read[j] > hi for j in range(lo, hi)):
            return None
        main_in = self.layers[lo].inputs[0]
        extras: dict[str, None] = {}
        for j in range(lo, hi + 1):
            for name in self.layers[j].inputs:
                if name != main_in and self.produced(name) < lo:
                    extras[name] = None
        return main_in, list(extras)


def find_repeats(items: list[Item], flow: Flow, found: list[Instance]) -> list[Item]:
    """`items` with repeated chains of consecutive layers folded into Runs; the instances
    made for them (waiting for a block) are added to `found`."""
    out: list[Item] = []
    stretch: list[Leaf] = []
    for item in [*items, None]:
        if isinstance(item, Leaf) and (not stretch or item.index == stretch[-1].index + 1):
            stretch.append(item)
            continue
        out.extend(_fold_stretch(stretch, flow, found) if len(stretch) >= MIN_STRETCH else stretch)
        stretch = [item] if isinstance(item, Leaf) else []
        if item is not None and not isinstance(item, Leaf):
            out.append(item)
    return out


def _cuts(leaves: list[Leaf], flow: Flow) -> list[int]:
    """Positions t (1..m) where only leaves[t-1]'s output flows on."""
    start = leaves[0].index
    outside = max((p for p, leaf in enumerate(leaves)
                   for name in leaf.layer.inputs if flow.produced(name) < start), default=-1)
    cuts = []
    live = -1  # the last read of any output before leaves[t-1]
    for t in range(1, len(leaves) + 1):
        if t > outside and live < start + t:
            cuts.append(t)
        live = max(live, flow.last_read[start + t - 1])
    return cuts


def _segments(leaves: list[Leaf], flow: Flow) -> tuple[list[tuple[int, int]], list[int]]:
    """Segments (start, end) between cuts, and an id per segment: equal ids, equal structure
    (a negative id is never repeated: a tail that is not followed by a cut, or a segment that
    reads more than its input)."""
    bounds = [0, *_cuts(leaves, flow)]
    tail = bounds[-1] != len(leaves)
    if tail:
        bounds.append(len(leaves))
    start = leaves[0].index
    ids: dict[tuple[object, ...], int] = {}
    spans, sig_ids = [], []
    for k, (a, b) in enumerate(zip(bounds, bounds[1:])):
        source = leaves[a].layer.inputs[0] if a == 0 else leaves[a - 1].output
        sig: list[object] = []
        alone = tail and b == len(leaves)
        for leaf in leaves[a:b]:
            refs = []
            for name in leaf.layer.inputs:
                made = flow.produced(name) - start
                if name == source:
                    refs.append(-1)
                elif a <= made < b:
                    refs.append(made - a)
                else:
                    alone = True
            sig.append((leaf.layer.op, repr(leaf.layer.args), tuple(refs)))
        spans.append((a, b))
        sig_ids.append(-1 - k if alone else ids.setdefault(tuple(sig), len(ids)))
    return spans, sig_ids


def _tandem(ids: list[int]) -> list[tuple[int, int, int]]:
    """(start, period, count) of back-to-back repeats, greedily from the left, longest cover."""
    n = len(ids)
    if len(set(ids)) == n:
        return []  # no segment comes twice: nothing can repeat
    same: list[list[int]] = []
    for p in range(1, min(MAX_PERIOD, n // 2) + 1):
        run = [0] * (n + 1)
        for j in range(n - p - 1, -1, -1):
            run[j] = run[j + 1] + 1 if ids[j] >= 0 and ids[j] == ids[j + p] else 0
        same.append(run)
    found = []
    i = 0
    while i < n:
        best = (0, 0)
        for p, run in enumerate(same, start=1):
            count = run[i] // p + 1
            if count >= 2 and count * p > best[0] * best[1]:
                best = (p, count)
        if best[0]:
            found.append((i, best[0], best[1]))
            i += best[0] * best[1]
        else:
            i += 1
    return found


def _fold_stretch(leaves: list[Leaf], flow: Flow, found: list[Instance]) -> list[Item]:
    spans, ids = _segments(leaves, flow)
    out: list[Item] = []
    done = 0  # segments emitted
    for first, period, count in _tandem(ids):
        out.extend(leaves[spans[done][0]:spans[first][0]])
        units = [leaves[spans[first + u * period][0]:spans[first + u * period + period - 1][1]]
                 for u in range(count)]
        out.append(_run(units, found))
        done = first + period * count
    if done < len(spans):
        out.extend(leaves[spans[done][0]:])
    return out


def _run(units: list[list[Leaf]], found: list[Instance]) -> Run:
    ops = list(dict.fromkeys(leaf.layer.op for leaf in units[0]))
    hint = "_".join(ops[:4])
    if len(units[0]) == 1 and len(units[0][0].layer.inputs) == 1:
        return Run(units[0][0].layer.op, list(units[0] + [u[0] for u in units[1:]]))
    copies: list[Leaf | Instance] = []
    for unit in units:
        counts: dict[str, int] = {}
        body: list[Item] = []
        for leaf in unit:
            counts[leaf.layer.op] = counts.get(leaf.layer.op, 0) + 1
            body.append(Leaf(f"{leaf.layer.op}{counts[leaf.layer.op]}", leaf.layer, leaf.index))
        inst = Instance("", body, unit[0].layer.inputs[0], [], hint)
        found.append(inst)
        copies.append(inst)
    return Run(hint, copies)
