"""`graph --format mermaid`: the graph model as a Mermaid flowchart (GitHub renders it in
Markdown), and the picture `diff --format markdown` puts in a pull request.

Merges are circles, folded blocks subroutine boxes; classes `heavy` and `warn` outline the
heaviest nodes and misaligned receptive fields.
"""
from __future__ import annotations

from cnncalc.report.graphmodel import GraphModel, Node
from cnncalc.spec.refs import INPUT

CLASSES = ("classDef heavy stroke:#c0392b,stroke-width:3px",
           "classDef warn stroke:#e67e22,stroke-width:3px,stroke-dasharray:5 3",
           "classDef merge fill:#f3ecfa,stroke:#8a5bb1",
           "classDef added fill:#e3f6e8,stroke:#2e8b57,stroke-width:2px",
           "classDef removed fill:#fbe5e5,stroke:#c0392b,stroke-width:2px,stroke-dasharray:5 3",
           "classDef changed fill:#fff4d6,stroke:#d4a017,stroke-width:2px",
           "classDef context fill:#f4f4f4,stroke:#aaa,color:#666")


def label(value: str) -> str:
    """Text inside a Mermaid quoted label: quotes and markup characters as entity codes."""
    for char, code in (("&", "#amp;"), ('"', "#quot;"), ("<", "#lt;"), (">", "#gt;"),
                       ("|", "#124;"), ("`", "#96;")):
        value = value.replace(char, code)
    return value


def node_line(node: Node, lines: list[str] | None = None) -> str:
    body = "<br/>".join(label(part) for part in ([node.heading, *node.lines()] if node.kind != INPUT
                                                  else node.lines()) + (lines or []))
    if node.merge:
        return f'  {node.id}(("{body}"))'
    if node.folded:
        return f'  {node.id}[["{body}"]]'
    return f'  {node.id}["{body}"]'


def render_mermaid(model: GraphModel) -> str:
    out = ["flowchart TD"]
    out += [node_line(node) for node in model.nodes]
    out += [f'  {edge.src} -->|"{label(edge.label)}"| {edge.dst}' for edge in model.edges]
    out += [f"  {line}" for line in CLASSES[:3]]
    for cls, members in (("heavy", [n.id for n in model.nodes if n.heavy]),
                         ("warn", [n.id for n in model.nodes if n.warnings]),
                         ("merge", [n.id for n in model.nodes if n.merge])):
        if members:
            out.append(f"  class {','.join(members)} {cls}")
    return "\n".join(out) + "\n"
