"""What every importer produces: a flat list of cnncalc layers, in the order they run.

An importer's only job is to translate its source's nodes into cnncalc ops and arguments;
naming, folding repeated structure into blocks and writing YAML are shared (`write.py`).
"""
from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class ImportedLayer:
    """One cnncalc layer: `op` with its arguments (cnncalc's names, defaults left out)."""

    name: str                   # a valid cnncalc word (see `names.layer_word`), unique
    op: str                     # a cnncalc op name (`conv`, `bn`, ...)
    args: dict[str, object]     # cnncalc arguments; plain ints/floats/bools/strings/lists
    inputs: list[str]           # earlier layers' names, or "input" for the network input
    origin: str = ""            # the source's own name for it (module path, ONNX node name)


@dataclass
class ImportedModel:
    """A whole imported network, ready to be written as a spec."""

    name: str
    source: str                 # what it was imported from, for the comment at the top
    input_shape: list[int]      # without the batch
    layers: list[ImportedLayer]
    outputs: list[str]          # the layers whose outputs are the network's outputs
    channels_last: bool = False
    notes: list[str] = field(default_factory=list)   # said in the header and on stderr


@dataclass(frozen=True)
class UnsupportedNode:
    """A source node cnncalc cannot express."""

    name: str      # the node's name in the source
    op_type: str   # the source's word for it (`aten.roll`, `NonMaxSuppression`, `Lambda`)
    where: str     # where it sits: module path, graph position, layer it feeds
    why: str = ""


class UnsupportedModel(Exception):
    """Raised with every node cnncalc cannot express (never only the first)."""

    def __init__(self, source: str, nodes: list[UnsupportedNode]) -> None:
        self.source = source
        self.nodes = nodes
        lines = [f"{len(nodes)} node(s) of {source} cannot be expressed in cnncalc:"]
        for node in nodes:
            detail = f" ({node.why})" if node.why else ""
            lines.append(f"  {node.name}: {node.op_type} at {node.where}{detail}")
        super().__init__("\n".join(lines))


class SourceError(Exception):
    """A source that cannot be read at all (missing file, not a model, bad --input)."""
