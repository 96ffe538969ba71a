"""`graph --format svg`: the graph model drawn with the pure-Python layered layout.

Nodes are `<g class="node">` groups carrying their layer names (the HTML report's script
finds them by `data-node`), edges `<g class="edge">` with the tensor shape as a label.
Merges are pill-shaped and tinted, the heaviest nodes have a thick red outline and their
rank, misaligned receptive fields an orange dashed outline and a warning sign.
"""
from __future__ import annotations

from html import escape as _escape

from cnncalc.report.graphmodel import GraphModel, Node
from cnncalc.report.layout import Layout, layered_layout
from cnncalc.spec.refs import INPUT

NODE_W, NODE_H, INPUT_H = 210.0, 66.0, 30.0
MARGIN = 16.0
LINE = 14.0

STYLE = """
.cg text{font:11px ui-sans-serif,system-ui,sans-serif;fill:#222}
.cg .node rect{fill:#eef3fb;stroke:#5b7db1;stroke-width:1.2}
.cg .node .t{font-weight:600;font-size:12px}
.cg .node.merge rect{fill:#f3ecfa;stroke:#8a5bb1}
.cg .node.folded rect{fill:#e8f4ec;stroke:#4f9a6a}
.cg .node.input rect{fill:#f4f4f4;stroke:#888}
.cg .node.heavy rect{stroke:#c0392b;stroke-width:3}
.cg .node.warn rect{stroke:#e67e22;stroke-width:3;stroke-dasharray:6 3}
.cg .node .badge{font-weight:700;fill:#c0392b}
.cg .node .warnsign{font-weight:700;fill:#e67e22}
.cg .node.selected rect{fill:#fff6cc}
.cg .edge path{fill:none;stroke:#8796ad;stroke-width:1.3}
.cg .edge text{font-size:9.5px;fill:#5a6677}
"""


def esc(value: str) -> str:
    return _escape(value, quote=True)


def layout_model(model: GraphModel) -> Layout:
    sizes = {node.id: (NODE_W, INPUT_H if node.kind == INPUT else NODE_H) for node in model.nodes}
    return layered_layout([node.id for node in model.nodes],
                          [(edge.src, edge.dst) for edge in model.edges], sizes)


def render_svg(model: GraphModel, standalone: bool = True) -> str:
    """The drawing as one `<svg>` element (with an XML declaration when `standalone`)."""
    lay = layout_model(model)
    width, height = lay.width + 2 * MARGIN, lay.height + 2 * MARGIN
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" class="cg" id="graph-svg" '
           f'viewBox="0 0 {width:.0f} {height:.0f}" width="{width:.0f}" height="{height:.0f}" '
           f'data-nodes="{len(model.layer_nodes)}" data-edges="{len(model.edges)}">',
           f"<title>{esc(model.title)}</title>",
           f"<style>{STYLE}</style>",
           '<defs><marker id="arrow" viewBox="0 0 8 8" refX="8" refY="4" markerWidth="7" '
           'markerHeight="7" orient="auto"><path d="M0,0L8,4L0,8z" fill="#8796ad"/></marker></defs>',
           f'<g transform="translate({MARGIN},{MARGIN})">']
    for edge, points in zip(model.edges, lay.edges):
        out.append(_edge(edge.src, edge.dst, edge.label, points))
    for node in model.nodes:
        out.append(_node(node, lay))
    out.append("</g></svg>")
    head = '<?xml version="1.0" encoding="UTF-8"?>\n' if standalone else ""
    return head + "\n".join(out) + ("\n" if standalone else "")


def _edge(src: str, dst: str, label: str, points: list[tuple[float, float]]) -> str:
    d = f"M{points[0][0]:.1f},{points[0][1]:.1f}"
    for (x0, y0), (x1, y1) in zip(points, points[1:]):
        bend = (y1 - y0) / 2
        d += f" C{x0:.1f},{y0 + bend:.1f} {x1:.1f},{y1 - bend:.1f} {x1:.1f},{y1:.1f}"
    (x0, y0), (x1, y1) = points[0], points[1]
    lx, ly = (x0 + x1) / 2 + 4, (y0 + y1) / 2 + 3
    return (f'<g class="edge" data-src="{src}" data-dst="{dst}"><path d="{d}" '
            f'marker-end="url(#arrow)"/><text x="{lx:.1f}" y="{ly:.1f}">{esc(label)}</text></g>')


def _node(node: Node, lay: Layout) -> str:
    p = lay.nodes[node.id]
    classes = ["node"] + [c for c, on in (("input", node.kind == INPUT), ("merge", node.merge),
                                          ("folded", node.folded), ("heavy", node.heavy > 0),
                                          ("warn", bool(node.warnings))) if on]
    x, y = p.x - p.width / 2, p.y
    radius = p.height / 2 if node.merge else 6
    title = "\n".join([node.label, *node.lines(), *node.warnings])
    out = [f'<g class="{" ".join(classes)}" data-node="{node.id}" data-name="{esc(node.name)}" '
           f'data-layers="{esc(" ".join(node.layers))}">',
           f"<title>{esc(title)}</title>",
           f'<rect x="{x:.1f}" y="{y:.1f}" width="{p.width:.0f}" height="{p.height:.0f}" '
           f'rx="{radius:.0f}"/>']
    cx = p.x
    if node.kind == INPUT:
        out.append(f'<text class="t" x="{cx:.1f}" y="{y + 19:.1f}" text-anchor="middle">'
                   f'{esc(node.lines()[0])}</text>')
    else:
        out.append(f'<text class="t" x="{cx:.1f}" y="{y + 15:.1f}" text-anchor="middle">'
                   f'{esc(_clip(node.label, 30))}</text>')
        for k, line in enumerate(node.lines()):
            out.append(f'<text x="{cx:.1f}" y="{y + 15 + LINE * (k + 1):.1f}" '
                       f'text-anchor="middle">{esc(_clip(line, 36))}</text>')
    if node.heavy:
        out.append(f'<text class="badge" x="{x + p.width - 6:.1f}" y="{y + 14:.1f}" '
                   f'text-anchor="end">#{node.heavy}</text>')
    if node.warnings:
        out.append(f'<text class="warnsign" x="{x + 6:.1f}" y="{y + 14:.1f}">⚠</text>')
    out.append("</g>")
    return "".join(out)


def _clip(value: str, n: int) -> str:
    return value if len(value) <= n else value[: n - 1] + "…"
