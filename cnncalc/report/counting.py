"""The "what cnncalc counts" table, generated from the op declarations.

docs/counting.md embeds it between the markers below; a test checks the file is current.
Regenerate with `python -m cnncalc.report.counting docs/counting.md`.
"""
from __future__ import annotations

import sys
from pathlib import Path

from cnncalc.ops.registry import ops

START, END = "<!-- counting-table:start -->", "<!-- counting-table:end -->"
_STORAGE = {"new": "new buffer", "view": "view (no copy)", "inplace": "in place when last reader"}


def counting_table() -> str:
    """Markdown: per op, its MACs rule, FLOPs besides 2 x MACs, storage, what backward keeps."""
    lines = ["| op | MACs | FLOPs besides 2 x MACs | output at inference | saved for backward |",
             "|---|---|---|---|---|"]
    for name, op in sorted(ops().items()):
        lines.append(f"| `{name}` | {op.macs_rule or '—'} | {op.flops_rule} | "
                     f"{_STORAGE[op.storage]} | {op.saves_rule} |")
    return "\n".join(lines)


def embed(document: str) -> str:
    """`document` with the text between the markers replaced by the current table."""
    head, rest = document.split(START, 1)
    _, tail = rest.split(END, 1)
    return f"{head}{START}\n{counting_table()}\n{END}{tail}"


def main(argv: list[str]) -> int:
    if not argv:
        print(counting_table())
        return 0
    path = Path(argv[0])
    path.write_text(embed(path.read_text(encoding="utf-8")), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
