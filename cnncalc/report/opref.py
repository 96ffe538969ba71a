"""The op reference, generated from the op declarations (the README embeds the Markdown form)."""
from __future__ import annotations

from cnncalc.ops.args import REQUIRED, Arg
from cnncalc.ops.registry import ops


def _default(arg: Arg) -> str:
    if arg.default is REQUIRED:
        return "required"
    if arg.default is None:
        return "-"
    if isinstance(arg.default, bool):
        return str(arg.default).lower()
    return str(arg.default)


def op_reference(markdown: bool = True) -> str:
    lines = []
    if markdown:
        lines += ["| op | arguments (default) | what it does |", "|---|---|---|"]
    for name, op in sorted(ops().items()):
        args = ", ".join(f"`{a.name}` ({_default(a)})" for a in op.arguments) or "—"
        if markdown:
            lines.append(f"| `{name}` | {args} | {op.summary} |")
        else:
            lines.append(f"{name}: {op.summary}")
            lines += [f"    {a.name}: {a.type.doc}, default {_default(a)} — {a.doc}" for a in op.arguments]
    return "\n".join(lines)
