"""The Mermaid picture `cnncalc diff --format markdown` adds: what changed between two
versions, drawn where it sits in the network.

Added and changed nodes come from the new graph, removed ones from the old; each is drawn with
its direct neighbours (grey, for context) and the edges among them, so a pull-request comment
shows the change without the other 150 layers. Nodes are matched by name, like the diff's rows.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

from cnncalc.report.graphmodel import Node, build_model
from cnncalc.report.mermaid import CLASSES, label, node_line

if TYPE_CHECKING:
    from cnncalc.diff import GraphDiff
    from cnncalc.graph import Graph

MAX_NODES = 80  # a bigger Mermaid chart is unreadable in a comment (and slow for GitHub)


def diff_mermaid(old: Graph, new: Graph, result: GraphDiff, depth: int | None = None) -> str:
    """A ```mermaid block (with a heading), or '' when no layer changed."""
    status = {}
    for row in result.rows:
        if row.status == "removed" and row.old:
            status[("old", row.old.name)] = "removed"
        elif row.status in ("added", "changed") and row.new:
            status[("new", row.new.name)] = row.status
    if not status:
        return ""
    models = {"old": build_model(old, depth, 0), "new": build_model(new, depth, 0)}
    ids: dict[tuple[str, str], str] = {}  # (side, node id) -> id in the picture
    shown: dict[str, tuple[str, Node, str]] = {}  # picture id -> (side, node, class)
    by_name = {side: {n.name: n for n in m.nodes} for side, m in models.items()}

    def show(side: str, node_id: str, cls: str) -> str:
        node = next(n for n in models[side].nodes if n.id == node_id)
        if side == "old" and cls == "context" and node.name in by_name["new"]:
            side, node = "new", by_name["new"][node.name]  # a neighbour that still exists
        key = (side, node.id)
        if key not in ids:
            ids[key] = f"{side[0]}{node.id}"
            shown[ids[key]] = (side, node, cls)
        return ids[key]

    changed = list(status.items())[:MAX_NODES]
    for (side, name), cls in changed:  # the changes first, so none is drawn as context
        show(side, by_name[side][name].id, cls)
    edges: set[tuple[str, str, str]] = set()
    for (side, name), _ in changed:
        node = by_name[side][name]
        me = ids[(side, node.id)]
        for edge in models[side].edges:
            if len(shown) >= MAX_NODES:
                break
            if edge.dst == node.id:
                edges.add((show(side, edge.src, "context"), me, edge.label))
            elif edge.src == node.id:
                edges.add((me, show(side, edge.dst, "context"), edge.label))
    lines = ["flowchart TD"]
    for pid, (_, node, cls) in shown.items():
        lines.append(node_line(node).replace(f"  {node.id}", f"  {pid}", 1) + f":::{cls}")
    lines += [f'  {a} -->|"{label(text)}"| {b}' for a, b, text in sorted(edges)]
    lines += [f"  {line}" for line in CLASSES[3:]]
    counts = result.counts()
    more = "" if len(status) <= MAX_NODES else f"; the first {MAX_NODES} changes drawn"
    return ("\n**What changed** (green added, yellow changed, red dashed removed, grey context: "
            f"{counts['added']} added, {counts['changed']} changed, {counts['removed']} "
            f"removed{more})\n\n```mermaid\n" + "\n".join(lines) + "\n```\n")
