"""The op reference, generated from the op declarations: the README's table, `cnncalc ops`,
and the per-op argument tables of docs/format.md (between FORMAT_START and FORMAT_END)."""
from __future__ import annotations

from cnncalc.imports.coverage import imported_from
from cnncalc.ops.args import REQUIRED, Arg
from cnncalc.ops.registry import ops

FORMAT_START = "<!-- format-ops:start -->"
FORMAT_END = "<!-- format-ops:end -->"


def default_text(arg: Arg) -> str:
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
        args = ", ".join(f"`{a.name}` ({default_text(a)})" for a in op.arguments) or "—"
        if markdown:
            lines.append(f"| `{name}` | {args} | {op.summary} |")
        else:
            lines.append(f"{name}: {op.summary}")
            lines += [f"    {a.name}: {a.type.doc}, default {default_text(a)} — {a.doc}"
                      for a in op.arguments]
    return "\n".join(lines)


def _cell(text: str) -> str:
    return text.replace("|", "\\|")


def format_op_sections() -> str:
    """One section per op: what it does, its inputs, other frameworks' names, which import
    source constructs map to it (imports/coverage.py), and a table of its arguments with type
    and domain, default and meaning (docs/format.md embeds it)."""
    out: list[str] = []
    for name, op in sorted(ops().items()):
        most = op.max_inputs
        inputs = ("1 input" if (op.min_inputs, most) == (1, 1)
                  else f"{op.min_inputs} or more inputs (`in: [a, b, ...]`)" if most is None
                  else f"{op.min_inputs}..{most} inputs")
        out += [f"### `{name}`", "", f"{op.summary[:1].upper()}{op.summary[1:]}. Takes {inputs}."]
        if op.notes:
            out += ["", op.notes]
        if op.aliases:
            out += ["", "Other frameworks' names: " + ", ".join(f"`{a}`" for a in op.aliases) + "."]
        sources = imported_from(name)
        out += ["", "Imported from: " + ("; ".join(
            f"{source} " + ", ".join(f"`{word}`" for word in words) for source, words in sources)
            if sources else "no importer maps to it yet") + "."]
        out.append("")
        if not op.arguments:
            out += ["No arguments.", ""]
            continue
        out += ["| argument | type and domain | default | meaning | also called |", "|---|---|---|---|---|"]
        for a in op.arguments:
            also = ", ".join(f"`{w}`" for w in a.aliases) or "—"
            cells = [f"`{a.name}`", _cell(a.type.doc), _cell(default_text(a)), _cell(a.doc), also]
            out.append("| " + " | ".join(cells) + " |")
        out.append("")
    return "\n".join(out).rstrip("\n")


def with_op_sections(text: str) -> str:
    """`text` (docs/format.md) with its op sections regenerated between the markers."""
    head, rest = text.split(FORMAT_START + "\n", 1)
    _, tail = rest.split("\n" + FORMAT_END, 1)
    return f"{head}{FORMAT_START}\n{format_op_sections()}\n{FORMAT_END}{tail}"


if __name__ == "__main__":  # python -m cnncalc.report.opref docs/format.md: regenerate in place
    import sys
    from pathlib import Path

    for name in sys.argv[1:]:
        Path(name).write_text(with_op_sections(Path(name).read_text()))
