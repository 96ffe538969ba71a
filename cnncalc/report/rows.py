"""Table rows with blocks collapsed to a chosen depth (`--depth N`)."""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from cnncalc.report.table import Cell

if TYPE_CHECKING:
    from cnncalc.analysis.cost import CostResult
    from cnncalc.graph import Graph, Layer


@dataclass
class Row:
    name: str
    kind: str  # the op, or the block's name for a collapsed block
    layers: list[Layer]
    level: int  # nesting level, for indentation

    @property
    def last(self) -> Layer:
        return self.layers[-1]

    @property
    def collapsed(self) -> bool:
        return len(self.layers) > 1 or self.kind != self.layers[0].op_name

    @property
    def params(self) -> int:
        return sum(layer.params for layer in self.layers)

    @property
    def buffers(self) -> int:
        return sum(layer.buffers for layer in self.layers)

    @property
    def label(self) -> str:
        """The name as tables show it: indented by nesting, a collapsed block's size added."""
        more = f" (x{len(self.layers)} layers)" if self.collapsed else ""
        return "  " * self.level + self.name + more

    @property
    def label_cell(self) -> Cell:
        """The label for the terminal, the plain name for CSV."""
        return Cell(self.label, self.name)

    def macs(self, cost: CostResult) -> int:
        return sum(cost.layers[layer.index].macs for layer in self.layers)

    def flops(self, cost: CostResult) -> int:
        return sum(cost.layers[layer.index].flops for layer in self.layers)


def rows(graph: Graph, depth: int | None = None) -> list[Row]:
    """One row per layer, or per group nested `depth` levels deep (1 = top-level items only)."""
    out: list[Row] = []
    groups = graph.spec.groups
    for layer in graph.layers:
        if depth is None or len(layer.path) < depth:
            out.append(Row(layer.name, layer.op_name, [layer], len(layer.path)))
            continue
        group = layer.path[depth - 1]
        if out and out[-1].name == group:
            out[-1].layers.append(layer)
        else:
            kind = groups[group].kind if group in groups else "block"
            out.append(Row(group, kind, [layer], depth - 1))
    return out
