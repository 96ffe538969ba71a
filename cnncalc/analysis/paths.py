"""Residual path ensembles (Veit, Wilber and Belongie 2016) on any layer DAG.

A *path* is a sequence of distinct tensors from the network input to an output, each step
following a layer's input edge; a layer that reads the same tensor twice (`add: [x, x]`)
gives one step, not two. Lengths are counted two ways:

- **weighted layers**: the layers whose op counts MACs on the path (conv, deconv, dense: the
  ops that declare a `macs_rule`);
- **residual blocks**: the merge layers (two or more distinct inputs) the path enters
  through a *branch* input rather than a *skip* input. For a merge `m` whose immediate
  dominator is `d` (the tensor every path to `m` passes: where the block forked), each input
  `u` has a branch weight: the fewest weighted layers on a path from `d` to `u`, `u`
  included. The inputs with the smallest weight are skips (the identity `$in`, or the
  projection shortcut whose one conv is lighter than the residual branch); the others are
  branches. So `y = F(x) + x` counts 1 through `F` and 0 through `x`, and ResNet-50's 16
  bottlenecks give lengths 0..16 in blocks.

Counts are exact Python integers, computed by dynamic programming over the topological
order with one polynomial (length -> number of paths) per tensor, so ResNets with 2^100
paths cost nothing.
"""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from fractions import Fraction

from cnncalc.graph import Graph, Layer
from cnncalc.spec.refs import INPUT

Dist = dict[tuple[int, int], int]  # (weighted length, block length) -> paths


@dataclass(frozen=True)
class PathStats:
    """The path ensemble from the input to the outputs."""

    paths: int
    lengths: dict[int, int]  # weighted layers -> paths
    block_lengths: dict[int, int]  # residual blocks -> paths
    depth: int  # weighted layers on the longest path
    blocks: int  # residual blocks on the longest path in blocks
    per_output: dict[str, int]

    @property
    def mean(self) -> Fraction:
        return _mean(self.lengths, self.paths)

    @property
    def mean_blocks(self) -> Fraction:
        return _mean(self.block_lengths, self.paths)

    @property
    def most_common(self) -> int:
        return _mode(self.lengths)

    @property
    def most_common_blocks(self) -> int:
        return _mode(self.block_lengths)

    @property
    def shorter_than_half(self) -> Fraction:
        """Share of paths with fewer than depth / 2 weighted layers."""
        short = sum(n for length, n in self.lengths.items() if 2 * length < self.depth)
        return Fraction(short, self.paths) if self.paths else Fraction(0)


def _mean(dist: dict[int, int], total: int) -> Fraction:
    return Fraction(sum(k * n for k, n in dist.items()), total) if total else Fraction(0)


def _mode(dist: dict[int, int]) -> int:
    # The shortest of equally common lengths, so the answer does not depend on dict order.
    return max(sorted(dist), key=lambda k: dist[k]) if dist else 0


def weighted(layer: Layer) -> bool:
    """A weighted layer: its op multiplies by weights (declares a MAC rule)."""
    return bool(layer.op.macs_rule)


def sources(graph: Graph) -> dict[str, list[str]]:
    """Each layer's distinct inputs, in order."""
    return {layer.name: list(dict.fromkeys(layer.inputs)) for layer in graph.layers}


def immediate_dominators(graph: Graph) -> dict[str, str]:
    """Immediate dominator of every tensor reachable from the input (INPUT dominates itself).

    On a DAG in topological order the dominator of a node is the nearest common ancestor,
    in the dominator tree, of its predecessors (Cooper, Harvey and Kennedy's intersection).
    """
    idom: dict[str, str] = {INPUT: INPUT}
    depth: dict[str, int] = {INPUT: 0}
    for layer in graph.layers:
        preds = [p for p in dict.fromkeys(layer.inputs) if p in idom]
        if not preds:
            continue  # does not depend on the input (a constant branch): on no path
        common = preds[0]
        for other in preds[1:]:
            a, b = common, other
            while a != b:
                if depth[a] >= depth[b]:
                    a = idom[a]
                else:
                    b = idom[b]
            common = a
        idom[layer.name] = common
        depth[layer.name] = depth[common] + 1
    return idom


def branch_edges(graph: Graph) -> set[tuple[str, str]]:
    """The (input, merge) edges that enter a residual block's branch (see the module doc)."""
    idom = immediate_dominators(graph)
    inputs = sources(graph)
    branches: set[tuple[str, str]] = set()
    for layer in graph.layers:
        preds = [p for p in inputs[layer.name] if p in idom]
        if len(preds) < 2:
            continue
        weight = _fewest_weighted(graph, idom[layer.name], layer.index, inputs)
        lightest = min(weight[p] for p in preds)
        branches.update((p, layer.name) for p in preds if weight[p] > lightest)
    return branches


def _fewest_weighted(graph: Graph, fork: str, stop: int,
                     inputs: dict[str, list[str]]) -> dict[str, int]:
    """Fewest weighted layers on a path from `fork` (excluded) to each tensor (included)
    among the layers before index `stop`; tensors not reached from `fork` are left out."""
    best = {fork: 0}
    first = 0 if fork == INPUT else graph.by_name[fork].index + 1
    for layer in graph.layers[first:stop]:
        reached = [best[p] for p in inputs[layer.name] if p in best]
        if reached:
            best[layer.name] = min(reached) + weighted(layer)
    return best


def path_stats(graph: Graph) -> PathStats:
    """Count the input-to-output paths and their length distributions."""
    heavy = {layer.name for layer in graph.layers if weighted(layer)}
    branches = branch_edges(graph)
    dist: dict[str, Dist] = {INPUT: {(0, 0): 1}}
    for layer, preds in sources(graph).items():
        here: Dist = {}
        w = 1 if layer in heavy else 0
        for pred in preds:
            b = 1 if (pred, layer) in branches else 0
            for (lw, lb), n in dist.get(pred, {}).items():
                key = (lw + w, lb + b)
                here[key] = here.get(key, 0) + n
        if here:
            dist[layer] = here
    total: Counter[tuple[int, int]] = Counter()
    per_output: dict[str, int] = {}
    for name in dict.fromkeys(graph.outputs):
        ending = dist.get(name, {})
        per_output[name] = sum(ending.values())
        total.update(ending)
    lengths: Counter[int] = Counter()
    block_lengths: Counter[int] = Counter()
    for (lw, lb), n in total.items():
        lengths[lw] += n
        block_lengths[lb] += n
    return PathStats(paths=sum(total.values()), lengths=dict(sorted(lengths.items())),
                     block_lengths=dict(sorted(block_lengths.items())),
                     depth=max(lengths, default=0), blocks=max(block_lengths, default=0),
                     per_output=per_output)
