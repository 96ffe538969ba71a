"""What an architecture change does: two graphs compared in totals and layer by layer.

Layers are matched by name, in order (difflib's longest matching runs), so an inserted layer
shows as one addition rather than as every later layer changing. Where a run of layers was
replaced, layers of the same op are paired in order (a renamed or re-parameterised layer);
the rest are additions and removals. With `depth`, blocks are compared as single rows.
"""
from __future__ import annotations

import difflib
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from cnncalc.analysis.memory import analyze_memory
from cnncalc.checks.measure import Figures as CheckFigures
from cnncalc.report.rows import rows
from cnncalc.spec.document import user_layout

if TYPE_CHECKING:
    from cnncalc.graph import Graph

ROW_FIELDS = ("shape", "params", "macs", "rf")


@dataclass(frozen=True)
class Row:
    """One layer (or collapsed block) of one graph, with the figures a reviewer compares."""

    name: str
    kind: str  # the op, or the block's name
    shape: tuple[int, ...]  # output shape in the spec's input layout
    params: int
    macs: int
    rf: str  # receptive field of the output: '7x7', '211', 'global'

    def as_json(self) -> dict[str, Any]:
        return {"name": self.name, "kind": self.kind, "shape": list(self.shape),
                "params": self.params, "macs": self.macs, "rf": self.rf}


@dataclass(frozen=True)
class RowDiff:
    status: str  # "changed", "added", "removed" or "unchanged"
    old: Row | None
    new: Row | None
    changed: tuple[str, ...] = ()  # which of ROW_FIELDS (and "kind") differ

    @property
    def name(self) -> str:
        if self.old and self.new and self.old.name != self.new.name:
            return f"{self.old.name} -> {self.new.name}"
        return (self.new or self.old).name  # type: ignore[union-attr]

    def as_json(self) -> dict[str, Any]:
        return {"status": self.status, "changed": list(self.changed),
                "old": self.old.as_json() if self.old else None,
                "new": self.new.as_json() if self.new else None}


@dataclass(frozen=True)
class Total:
    """One whole-network figure before and after; `value`s are ints, shapes or strings."""

    key: str
    label: str
    old: Any
    new: Any

    @property
    def changed(self) -> bool:
        return bool(self.old != self.new)

    @property
    def numeric(self) -> bool:
        return isinstance(self.old, int) and isinstance(self.new, int)


@dataclass(frozen=True)
class GraphDiff:
    old_file: str
    new_file: str
    totals: list[Total]
    rows: list[RowDiff]

    @property
    def changed(self) -> bool:
        return any(t.changed for t in self.totals) or any(r.status != "unchanged" for r in self.rows)

    def counts(self) -> dict[str, int]:
        found = {status: 0 for status in ("changed", "added", "removed", "unchanged")}
        for row in self.rows:
            found[row.status] += 1
        return found

    def as_json(self) -> dict[str, Any]:
        return {"old": self.old_file, "new": self.new_file, "changed": self.changed,
                "totals": {t.key: {"label": t.label, "old": _jsonable(t.old),
                                   "new": _jsonable(t.new),
                                   "change": t.new - t.old if t.numeric else None}
                           for t in self.totals},
                "layers": [row.as_json() for row in self.rows], "counts": self.counts()}


def diff_graphs(old: Graph, new: Graph, depth: int | None = None, batch: int = 1,
                optimizer: str = "adam") -> GraphDiff:
    """Compare two graphs: totals (params, MACs, memory, RF, outputs) and every row."""
    figures = CheckFigures(old), CheckFigures(new)
    return GraphDiff(old.spec.file, new.spec.file, _totals(figures, batch, optimizer),
                     match(rows_of(old, depth, figures[0]), rows_of(new, depth, figures[1])))


def rows_of(graph: Graph, depth: int | None, figures: CheckFigures | None = None) -> list[Row]:
    figures = figures or CheckFigures(graph)
    macs = {item.name: item.macs for item in figures.cost.layers}
    layout = graph.spec.layout
    return [Row(row.name, row.kind, user_layout(row.last.out_shape, layout), row.params,
                sum(macs[layer.name] for layer in row.layers), figures.rf_text(row.last.name))
            for row in rows(graph, depth)]


def match(old: list[Row], new: list[Row]) -> list[RowDiff]:
    """Pair rows of two versions in order; unpaired rows are removals and additions."""
    keys_old = [(row.name, row.kind) for row in old]
    keys_new = [(row.name, row.kind) for row in new]
    out: list[RowDiff] = []
    matcher = difflib.SequenceMatcher(a=keys_old, b=keys_new, autojunk=False)
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal":
            out += [_pair(a, b) for a, b in zip(old[i1:i2], new[j1:j2])]
            continue
        left, right = list(old[i1:i2]), list(new[j1:j2])
        while left or right:
            a = left[0] if left else None
            b = right[0] if right else None
            if a is not None and b is not None and (a.kind == b.kind or a.name == b.name):
                out.append(_pair(a, b))
                left.pop(0)
                right.pop(0)
            elif a is not None and (b is None or not any(r.kind == a.kind for r in right)):
                out.append(RowDiff("removed", a, None))
                left.pop(0)
            else:
                out.append(RowDiff("added", None, b))
                right.pop(0)
    return out


def _pair(a: Row, b: Row) -> RowDiff:
    changed = tuple(f for f in ("kind", *ROW_FIELDS) if getattr(a, f) != getattr(b, f))
    if a.name != b.name:
        changed = ("name", *changed)
    return RowDiff("changed" if changed else "unchanged", a, b, changed)


def _totals(both: tuple[CheckFigures, CheckFigures], batch: int, optimizer: str) -> list[Total]:
    figures = {}
    for side, graph_figures in zip(("old", "new"), both):
        graph, cost = graph_figures.graph, graph_figures.cost
        rf_layer = graph_figures.default_rf_layer()
        inference = analyze_memory(graph, batch=batch)
        training = analyze_memory(graph, batch=batch, training=True, optimizer=optimizer).training
        figures[side] = {
            "input": user_layout(graph.input_shape, graph.spec.layout),
            "outputs": {name: user_layout(shape, graph.spec.layout)
                        for name, shape in graph.output_shapes.items()},
            "layers": len(graph.layers),
            "params": graph.total_params,
            "buffers": graph.total_buffers,
            "macs": cost.total_macs * batch,
            "flops": cost.total_flops * batch,
            "inference_peak": inference.inference_peak_bytes,
            "memory": inference.inference_total_bytes,
            "training_memory": training.total_bytes if training else 0,
            "rf": "-" if rf_layer is None else f"{graph_figures.rf_text(rf_layer)} at {rf_layer}",
        }
    per = f"batch {batch}"
    labels = {"input": "input shape", "outputs": "outputs", "layers": "layers",
              "params": "params", "buffers": "buffers", "macs": f"MACs ({per})",
              "flops": f"FLOPs ({per})",
              "inference_peak": f"inference peak: activations ({per})",
              "memory": f"inference total: params + buffers + peak ({per})",
              "training_memory": f"training step total ({optimizer}, {per})",
              "rf": "receptive field (last non-global layer)"}
    return [Total(key, label, figures["old"][key], figures["new"][key])
            for key, label in labels.items()]


def _jsonable(value: Any) -> Any:
    if isinstance(value, tuple):
        return list(value)
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    return value
