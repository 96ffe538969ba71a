"""The network as a picture's plain data: nodes (layers, or blocks folded at `--depth`), edges
carrying tensor shapes, and the marks a reader looks for (merges, the heaviest layers,
receptive-field misalignments).

Every renderer (DOT, Mermaid, SVG, the HTML report) draws this one model, so they can never
disagree on what the network is; the folding is `summary --depth`'s (report/rows.py).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from cnncalc.analysis.cost import analyze_cost
from cnncalc.analysis.rf import analyze_rf
from cnncalc.report import text
from cnncalc.report.rf import size_cell
from cnncalc.report.rows import rows
from cnncalc.spec.refs import INPUT

if TYPE_CHECKING:
    from cnncalc.analysis.cost import CostResult
    from cnncalc.analysis.rf import RFResult
    from cnncalc.graph import Graph



@dataclass
class Node:
    id: str  # "input", or "n0", "n1", ... in execution order
    name: str
    kind: str  # the op, the block's name, or "input"
    layers: list[str]  # the layer names this node stands for
    shape: str  # output shape as text, in the spec's layout
    params: int = 0
    macs: int = 0
    rf: str = ""
    merge: bool = False  # add / concat / multiply, or several inputs
    heavy: int = 0  # rank among the heaviest nodes by MACs (1 = heaviest), 0: not heavy
    warnings: list[str] = field(default_factory=list)  # receptive-field misalignment messages

    @property
    def label(self) -> str:
        """The name, with `×N` for a folded block."""
        return f"{self.name} ×{len(self.layers)}" if self.folded else self.name

    @property
    def heading(self) -> str:
        """The label with the marks a text format can show: `#rank` if heavy, `⚠` if misaligned."""
        return self.label + (f" #{self.heavy}" if self.heavy else "") + (" ⚠" if self.warnings else "")

    @property
    def folded(self) -> bool:
        return len(self.layers) > 1

    def lines(self) -> list[str]:
        """What a node shows under its name."""
        if self.kind == INPUT:
            return [f"input {self.shape}"]
        return [f"{self.kind} → {self.shape}",
                f"params {text.short(self.params)} · MACs {text.short(self.macs)}",
                f"RF {self.rf}"]


@dataclass(frozen=True)
class Edge:
    src: str  # node ids
    dst: str
    label: str  # the tensor's shape


@dataclass
class GraphModel:
    title: str
    nodes: list[Node]
    edges: list[Edge]

    @property
    def layer_nodes(self) -> list[Node]:
        return [node for node in self.nodes if node.kind != INPUT]


def shape_text(dims: tuple[int, ...], layout: str) -> str:
    """'64×56×56': compact enough for an edge label (in the spec's layout)."""
    return text.shape(dims, layout).strip("[]()").replace(", ", "×")


def build_model(graph: Graph, depth: int | None = None, top: int = 5,
                cost: CostResult | None = None, rf: RFResult | None = None) -> GraphModel:
    """The model of `graph`, folded at `depth`, with the `top` heaviest nodes (by MACs) marked."""

    cost = cost or analyze_cost(graph)
    rf = rf or analyze_rf(graph)
    layout = graph.spec.layout
    misaligned = {problem.loc: problem.message for problem in rf.warnings
                  if problem.code == "rf-misaligned"}
    nodes = [Node(INPUT, INPUT, INPUT, [], shape_text(graph.input_shape, layout))]
    owner: dict[str, str] = {INPUT: INPUT}
    edges: list[Edge] = []
    seen: set[tuple[str, str]] = set()
    for i, row in enumerate(rows(graph, depth)):
        node = Node(f"n{i}", row.name, row.kind, [layer.name for layer in row.layers],
                    shape_text(row.last.out_shape, layout), row.params, row.macs(cost),
                    size_cell(rf[row.last.name]))
        for layer in row.layers:
            owner[layer.name] = node.id
            if rf[layer.name].misaligned:
                node.warnings.append(misaligned.get(layer.loc, f"{layer.name}: receptive fields "
                                                    "of the merged inputs are misaligned"))
        for layer in row.layers:
            for src in layer.inputs:
                key = (owner[src], node.id)
                if key[0] != node.id and key not in seen:
                    seen.add(key)
                    edges.append(Edge(key[0], key[1], shape_text(graph.shape_of(src), layout)))
        first = row.layers[0]  # a merge: an op of 2+ inputs (add, concat, multiply)
        node.merge = not node.folded and (first.op.min_inputs > 1 or len(first.inputs) > 1)
        nodes.append(node)
    heaviest = sorted((n for n in nodes[1:] if n.macs > 0), key=lambda n: -n.macs)[:top]
    for rank, node in enumerate(heaviest, 1):
        node.heavy = rank
    return GraphModel(graph.name, nodes, edges)
