"""`graph --format dot`: the graph model in Graphviz's language, for people who have `dot`.

Merges are ellipses, folded blocks 3-D boxes; the heaviest nodes are outlined red (with their
rank), misaligned receptive fields orange and dashed; edges are labelled with tensor shapes.
"""
from __future__ import annotations

from cnncalc.report.graphmodel import GraphModel, Node
from cnncalc.spec.refs import INPUT


def quote(value: str) -> str:
    """A DOT double-quoted string: backslashes and quotes escaped, newlines as DOT's \\n."""
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def render_dot(model: GraphModel) -> str:
    lines = [f"digraph {quote(model.title)} {{",
             "  rankdir=TB;",
             '  node [shape=box, style="rounded,filled", fillcolor="#eef3fb", color="#5b7db1", '
             'fontname="Helvetica", fontsize=10];',
             '  edge [color="#8796ad", fontname="Helvetica", fontsize=8, fontcolor="#5a6677"];']
    for node in model.nodes:
        lines.append(f"  {node.id} [{_attributes(node)}];")
    for edge in model.edges:
        lines.append(f"  {edge.src} -> {edge.dst} [label={quote(edge.label)}];")
    lines.append("}")
    return "\n".join(lines) + "\n"


def _attributes(node: Node) -> str:
    attrs = {"label": quote("\n".join([node.heading, *node.lines()]) if node.kind != INPUT
                            else node.lines()[0])}
    if node.kind == INPUT:
        attrs.update(fillcolor='"#f4f4f4"')
    if node.merge:
        attrs.update(shape="ellipse", fillcolor='"#f3ecfa"', color='"#8a5bb1"')
    if node.folded:
        attrs.update(shape="box3d", fillcolor='"#e8f4ec"', color='"#4f9a6a"')
    if node.heavy:
        attrs.update(color='"#c0392b"', penwidth="3")
    if node.warnings:
        attrs.update(color='"#e67e22"', penwidth="3", style='"rounded,filled,dashed"',
                     tooltip=quote("\n".join(node.warnings)))
    return ", ".join(f"{key}={value}" for key, value in attrs.items())
