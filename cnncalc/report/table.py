"""Tables: rich on a colour terminal, a fast plain renderer when piped or very long.

rich needs ~1 ms a row, which makes a 10,000-layer summary take seconds; the plain renderer
writes the same columns aligned, is grep-friendly, and is what pipes and CI logs get.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from rich.console import Console

RICH_ROW_LIMIT = 2000


@dataclass
class Table:
    columns: list[tuple[str, str]]  # (header, "left" | "right")
    rows: list[list[str]] = field(default_factory=list)
    styles: list[str | None] = field(default_factory=list)

    def add(self, cells: list[str], style: str | None = None) -> None:
        self.rows.append(cells)
        self.styles.append(style)

    def render(self, console: Console, color: bool) -> None:
        if color and len(self.rows) <= RICH_ROW_LIMIT:
            console.print(self._rich())
        else:
            console.file.write(self.plain() + "\n")

    def plain(self) -> str:
        widths = [max([len(header), *(len(row[i]) for row in self.rows)])
                  for i, (header, _) in enumerate(self.columns)]

        def line(cells: list[str]) -> str:
            parts = [cell.rjust(w) if justify == "right" else cell.ljust(w)
                     for cell, w, (_, justify) in zip(cells, widths, self.columns)]
            return "  ".join(parts).rstrip()

        out = [line([h for h, _ in self.columns]), "  ".join("-" * w for w in widths)]
        out += [line(row) for row in self.rows]
        return "\n".join(out)

    def _rich(self):  # type: ignore[no-untyped-def]
        from rich.table import Table as RichTable

        table = RichTable()
        for header, justify in self.columns:
            table.add_column(header, justify=justify)  # type: ignore[arg-type]
        for row, style in zip(self.rows, self.styles):
            table.add_row(*row, style=style)
        return table
