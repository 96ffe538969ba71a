"""Tables: rich on a colour terminal, a fast plain renderer when piped, CSV and Markdown.

rich needs ~1 ms a row, which makes a 10,000-layer summary take seconds; the plain renderer
writes the same columns aligned, is grep-friendly, and is what pipes and CI logs get.

No renderer ever cuts a cell: a table wider than the terminal is printed at its natural width
(the terminal wraps the line) rather than showing `118,013,…` for a number. Every cell is
escaped (names come from files). A cell can carry its exact value for CSV (`Cell`), so a
spreadsheet gets 25557032 where the terminal shows 25,557,032.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, NamedTuple

from cnncalc.escape import escape
from cnncalc.text import binary_bytes, count

if TYPE_CHECKING:
    from rich.console import Console

RICH_ROW_LIMIT = 2000


class Cell(NamedTuple):
    """What the terminal shows, and the exact value CSV gets."""

    text: str
    value: int | float | str


CellLike = str | int | Cell  # an int is shown as written: use count_cell for 1,234 style


def count_cell(value: int, zero: str | None = None) -> Cell:
    """11689512 shown as '11,689,512' (or `zero` for 0), written to CSV as 11689512."""
    return Cell(zero if zero is not None and value == 0 else count(value), value)


def bytes_cell(value: int, suffix: str = "") -> Cell:
    """1536 shown as '1.50 KiB' (plus `suffix`), written to CSV as 1536."""
    return Cell(binary_bytes(value) + suffix, value)


def _text(cell: CellLike) -> str:
    return escape(cell.text if isinstance(cell, Cell) else str(cell))


@dataclass
class Table:
    # (header, "left" | "right") or (header, justify, CSV header); CSV leaves out a column
    # whose header is empty (a bar, a rank mark) unless it names one.
    columns: Sequence[tuple[str, ...]]
    rows: list[list[str]] = field(default_factory=list)
    styles: list[str | None] = field(default_factory=list)
    values: list[list[int | float | str]] = field(default_factory=list)

    def add(self, cells: Sequence[CellLike], style: str | None = None) -> None:
        self.rows.append([_text(cell) for cell in cells])
        self.values.append([cell.value if isinstance(cell, Cell) else cell for cell in cells])
        self.styles.append(style)

    def render(self, console: Console | None, color: bool) -> str | None:
        """Print with rich on `console` when colour is on and the table is not huge; else
        return the plain text for the caller to write."""
        if color and console is not None and len(self.rows) <= RICH_ROW_LIMIT:
            from rich.measure import Measurement

            table = self._rich()
            # At least the natural width: rich would otherwise cut cells to fit the terminal
            # (the terminal wraps a long line; a cut number would read as a wrong number).
            wide = console.options.update_width(10**6)
            needed = Measurement.get(console, wide, table).maximum
            width = console.width
            console.width = max(width, needed)  # print(width=) cannot exceed the console's
            try:
                console.print(table, crop=False)
            finally:
                console.width = width
            return None
        return self.plain()

    def plain(self) -> str:
        widths = [max([len(header), *(len(row[i]) for row in self.rows)])
                  for i, (header, *_) in enumerate(self.columns)]

        def line(cells: list[str]) -> str:
            parts = [cell.rjust(w) if justify == "right" else cell.ljust(w)
                     for cell, w, (_, justify, *_) in zip(cells, widths, self.columns)]
            return "  ".join(parts).rstrip()

        out = [line([escape(h) for h, *_ in self.columns]), "  ".join("-" * w for w in widths)]
        out += [line(row) for row in self.rows]
        return "\n".join(out)

    def csv(self) -> str:
        """RFC 4180 CSV with a header row; numbers exact (no thousands separators)."""
        import csv
        import io

        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\n")
        names = [column[2] if len(column) > 2 else column[0] for column in self.columns]
        keep = [i for i, name in enumerate(names) if name]
        writer.writerow([names[i] for i in keep])
        for values in self.values:
            writer.writerow([escape(v) if isinstance(v, str) else v
                             for v in (values[i] for i in keep)])
        return buffer.getvalue().rstrip("\n")

    def markdown(self) -> str:
        """A GitHub-flavoured Markdown table (pipes in cells escaped, alignment kept)."""
        def row(cells: list[str]) -> str:
            return "| " + " | ".join(cell.replace("|", "\\|") for cell in cells) + " |"

        align = ["---:" if justify == "right" else "---" for _, justify, *_ in self.columns]
        out = [row([escape(h) for h, *_ in self.columns]), "|" + "|".join(align) + "|"]
        out += [row(cells) for cells in self.rows]
        return "\n".join(out)

    def _rich(self) -> Any:
        from rich.table import Table as RichTable
        from rich.text import Text

        table = RichTable()
        for header, justify, *_ in self.columns:
            table.add_column(header, justify=justify, no_wrap=True,  # type: ignore[arg-type]
                             overflow="ignore")
        for row, style in zip(self.rows, self.styles):
            # Text, not str: a name such as "[bold]" is shown, not read as rich markup.
            table.add_row(*(Text(cell) for cell in row), style=style)
        return table
