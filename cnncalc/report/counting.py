"""The "what cnncalc counts" tables, generated from the op declarations: the forward and
memory rules, and the backward's (`flops --training`).

docs/counting.md embeds them between the markers below (the README the first one); a test
checks the files are current. Regenerate with `python -m cnncalc.report.counting docs/counting.md`.
"""
from __future__ import annotations

import sys
from pathlib import Path

from cnncalc.ops.registry import ops

START, END = "<!-- counting-table:start -->", "<!-- counting-table:end -->"
BACKWARD_START, BACKWARD_END = "<!-- backward-table:start -->", "<!-- backward-table:end -->"
_STORAGE = {"new": "new buffer", "view": "view (no copy)", "inplace": "in place when last reader"}


def counting_table() -> str:
    """Markdown: per op, its MACs rule, FLOPs besides 2 x MACs, storage, what backward keeps."""
    lines = ["| op | MACs | FLOPs besides 2 x MACs | output at inference | saved for backward |",
             "|---|---|---|---|---|"]
    for name, op in sorted(ops().items()):
        lines.append(f"| `{name}` | {op.macs_rule or '—'} | {op.flops_rule} | "
                     f"{_STORAGE[op.storage]} | {op.saves_rule} |")
    return "\n".join(lines)


def backward_table() -> str:
    """Markdown: per op, its backward's MACs rule and FLOPs besides 2 x those MACs."""
    lines = ["| op | backward MACs | backward FLOPs besides 2 x MACs |", "|---|---|---|"]
    for name, op in sorted(ops().items()):
        lines.append(f"| `{name}` | {op.backward_macs_rule or '—'} | {op.backward_flops_rule} |")
    return "\n".join(lines)


def embed(document: str) -> str:
    """`document` with the text between each pair of markers it has replaced by the current
    table."""
    for start, end, table in ((START, END, counting_table), (BACKWARD_START, BACKWARD_END, backward_table)):
        if start not in document:
            continue
        head, rest = document.split(start, 1)
        _, tail = rest.split(end, 1)
        document = f"{head}{start}\n{table()}\n{end}{tail}"
    return document


def main(argv: list[str]) -> int:
    if not argv:
        print(counting_table())
        return 0
    path = Path(argv[0])
    path.write_text(embed(path.read_text(encoding="utf-8")), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
