"""A layered drawing of a DAG (Sugiyama's method), in pure Python, for `graph --format svg`
and the HTML report: no Graphviz binary needed.

1. layering: longest path from the sources (a node sits one layer below its deepest input);
2. edges spanning several layers get a dummy node per layer crossed, so they bend around
   nodes instead of cutting through them;
3. crossing reduction: barycentric sweeps down and up, keeping the best order seen;
4. coordinates: each node pulled towards the mean x of its neighbours, then overlaps pushed
   apart in order (a few rounds of the "priority" idea, without its bookkeeping).
A CNN is a long chain with short detours (residuals, U-Net skips, SE gates), where these
simple steps give a straight spine with the detours beside it.
"""
from __future__ import annotations

from dataclasses import dataclass


@dataclass
class Placed:
    x: float  # centre
    y: float  # top
    width: float
    height: float


@dataclass
class Layout:
    nodes: dict[str, Placed]
    edges: list[list[tuple[float, float]]]  # per input edge: points from source to target
    width: float
    height: float


def layered_layout(ids: list[str], edges: list[tuple[str, str]], sizes: dict[str, tuple[float, float]],
                   gap_x: float = 30.0, gap_y: float = 46.0, sweeps: int = 6) -> Layout:
    """Place `ids` (in a topological order) with `sizes` (width, height); edges go down."""
    preds: dict[str, list[str]] = {node: [] for node in ids}
    for src, dst in edges:
        preds[dst].append(src)
    rank: dict[str, int] = {}
    for node in ids:
        rank[node] = max((rank[p] + 1 for p in preds[node]), default=0)
    # Dummy chains for long edges: every edge becomes a path of unit-length edges.
    rank_of = dict(rank)
    width_of = {node: sizes[node][0] for node in ids}
    up: dict[str, list[str]] = {node: [] for node in ids}
    down: dict[str, list[str]] = {node: [] for node in ids}
    chains: list[list[str]] = []
    for k, (src, dst) in enumerate(edges):
        chain = [src]
        for r in range(rank[src] + 1, rank[dst]):
            dummy = f"\0{k}:{r}"
            rank_of[dummy], width_of[dummy] = r, 8.0
            up[dummy], down[dummy] = [], []
            chain.append(dummy)
        chain.append(dst)
        for a, b in zip(chain, chain[1:]):
            down[a].append(b)
            up[b].append(a)
        chains.append(chain)
    levels: list[list[str]] = [[] for _ in range(max(rank_of.values(), default=-1) + 1)]
    for node in list(ids) + [n for n in rank_of if n not in rank]:
        levels[rank_of[node]].append(node)
    levels = _reduce_crossings(levels, up, down, sweeps)
    xs = _coordinates(levels, up, down, width_of, gap_x)
    heights = [max((sizes[n][1] for n in level if n in sizes), default=0.0) for level in levels]
    tops, y = [], 0.0
    for h in heights:
        tops.append(y)
        y += h + gap_y
    placed: dict[str, Placed] = {}
    for r, level in enumerate(levels):
        for node in level:
            if node in sizes:
                w, h = sizes[node]
                placed[node] = Placed(xs[node], tops[r] + (heights[r] - h) / 2, w, h)
    left = min((xs[n] - width_of[n] / 2 for n in xs), default=0.0)
    for p in placed.values():
        p.x -= left
    paths = []
    for chain in chains:
        first, last = placed[chain[0]], placed[chain[-1]]
        points = [(first.x, first.y + first.height)]
        points += [(xs[d] - left, tops[rank_of[d]] + heights[rank_of[d]] / 2) for d in chain[1:-1]]
        points.append((last.x, last.y))
        paths.append(points)
    right = max((xs[n] + width_of[n] / 2 - left for n in xs), default=0.0)
    return Layout(placed, paths, right, max(y - gap_y, 0.0))


def _reduce_crossings(levels: list[list[str]], up: dict[str, list[str]], down: dict[str, list[str]],
                      sweeps: int) -> list[list[str]]:
    best = [list(level) for level in levels]
    best_crossings = _crossings(best, down)
    for sweep in range(sweeps):
        downward = sweep % 2 == 0
        order = range(1, len(levels)) if downward else range(len(levels) - 2, -1, -1)
        for r in order:
            fixed = levels[r - 1] if downward else levels[r + 1]
            levels[r] = _by_barycentre(levels[r], {node: i for i, node in enumerate(fixed)},
                                       up if downward else down)
        crossings = _crossings(levels, down)
        if crossings < best_crossings:
            best, best_crossings = [list(level) for level in levels], crossings
        if best_crossings == 0:
            break
    return best


def _by_barycentre(level: list[str], position: dict[str, int],
                   links: dict[str, list[str]]) -> list[str]:
    """The level ordered by the mean position of each node's neighbours in the fixed level (a
    node without any keeps its place)."""
    def centre(node: str, current: int) -> float:
        near = [position[n] for n in links[node] if n in position]
        return sum(near) / len(near) if near else float(current)
    return [node for _, node in sorted(((centre(node, i), i), node) for i, node in enumerate(level))]


def _crossings(levels: list[list[str]], down: dict[str, list[str]]) -> int:
    """Edge crossings between adjacent levels (pairs of edges whose ends are in opposite order)."""
    total = 0
    for upper, lower in zip(levels, levels[1:]):
        position = {node: i for i, node in enumerate(lower)}
        ends = [(i, position[d]) for i, node in enumerate(upper) for d in down[node] if d in position]
        ends.sort()
        # Count inversions of the lower ends (quadratic, but levels of a CNN are narrow).
        lows = [low for _, low in ends]
        total += sum(1 for i in range(len(lows)) for j in range(i + 1, len(lows))
                     if lows[j] < lows[i] and ends[j][0] != ends[i][0])
    return total


def _coordinates(levels: list[list[str]], up: dict[str, list[str]], down: dict[str, list[str]],
                 width: dict[str, float], gap: float) -> dict[str, float]:
    x: dict[str, float] = {}
    for level in levels:
        at = 0.0
        for node in level:
            x[node] = at + width[node] / 2
            at += width[node] + gap
    for sweep in range(8):
        links = up if sweep % 2 == 0 else down
        order = levels if sweep % 2 == 0 else list(reversed(levels))
        for level in order:
            wanted = [sum(x[n] for n in links[node]) / len(links[node]) if links[node] else x[node]
                      for node in level]
            x.update(_separate(level, wanted, width, gap))
    return x


def _separate(level: list[str], wanted: list[float], width: dict[str, float],
              gap: float) -> dict[str, float]:
    """Positions as close to `wanted` as the order and the spacing allow: push right to remove
    overlaps, then shift the whole row back so its mean error is zero."""
    placed: list[float] = []
    for i, node in enumerate(level):
        at = wanted[i]
        if placed:
            least = placed[-1] + (width[level[i - 1]] + width[node]) / 2 + gap
            at = max(at, least)
        placed.append(at)
    shift = sum(w - p for w, p in zip(wanted, placed)) / len(placed) if placed else 0.0
    return {node: p + shift for node, p in zip(level, placed)}
