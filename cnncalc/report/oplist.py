"""The op reference as data: one JSON document and one table (CSV), from the op declarations.

The text and Markdown forms are `report/opref.py`'s; these reuse its wording of defaults.
"""
from __future__ import annotations

from typing import Any

from cnncalc.ops.registry import ops
from cnncalc.report.opref import default_text
from cnncalc.report.table import Table


def op_reference_json() -> dict[str, Any]:
    return {"ops": [{"name": name, "summary": op.summary,
                     "arguments": [{"name": a.name, "type": a.type.doc, "default": default_text(a),
                                    "doc": a.doc} for a in op.arguments]}
                    for name, op in sorted(ops().items())]}


def op_table() -> Table:
    """One row per argument (an op without arguments has one row with an empty argument)."""
    table = Table([("op", "left"), ("argument", "left"), ("type", "left"), ("default", "left"),
                   ("what it does", "left")])
    for name, op in sorted(ops().items()):
        if not op.arguments:
            table.add([name, "", "", "", op.summary])
        for a in op.arguments:
            table.add([name, a.name, a.type.doc, default_text(a), a.doc])
    return table
