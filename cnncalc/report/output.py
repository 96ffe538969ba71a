"""Where a command's results go: text lines and tables, in one of the output formats.

`text` is a rich table on a colour terminal and plain aligned columns otherwise (rich is
imported only for a colour terminal, so piped output never pays for it); `csv` writes only
the tables (several tables are separated by a blank line); `markdown` writes the tables as
Markdown and the other lines as text with hard line breaks. `json` documents are printed by
`Output.json`. Everything written is escaped (names and paths come from files).
"""
from __future__ import annotations

import os
import sys
from typing import TYPE_CHECKING, Any, TextIO

from cnncalc.escape import escape

if TYPE_CHECKING:
    from rich.console import Console

    from cnncalc.report.table import Table

TABLE_FORMATS = ("text", "json", "csv", "markdown")


def color_wanted(no_color: bool, stream: TextIO | None = None) -> bool:
    """Colour only on a terminal, and never with --no-color or NO_COLOR set."""
    stream = stream if stream is not None else sys.stdout
    return not no_color and "NO_COLOR" not in os.environ and stream.isatty()


class Output:
    def __init__(self, fmt: str = "text", no_color: bool = False, stream: TextIO | None = None):
        self.format = fmt
        self.no_color = no_color
        self.stream = stream if stream is not None else sys.stdout
        self.color = fmt == "text" and color_wanted(no_color, self.stream)
        self._console: Console | None = None
        self._tables = 0

    @property
    def json_wanted(self) -> bool:
        return self.format == "json"

    @property
    def console(self) -> Console | None:
        """The rich console (colour terminals only), created on first use."""
        if self.color and self._console is None:
            from rich.console import Console

            self._console = Console(file=self.stream, highlight=False, force_terminal=True,
                                    soft_wrap=True)
        return self._console

    def line(self, text: str = "", style: str | None = None) -> None:
        """One line of text (dropped from CSV, which holds only tables); `style` (rich's
        words: "bold red") applies on a colour terminal."""
        if self.format == "csv":
            return
        if style and self.console is not None:
            from rich.text import Text

            self.console.print(Text(escape(text), style=style))
            return
        end = "  \n" if self.format == "markdown" and text else "\n"
        self.stream.write(escape(text) + end)

    def table(self, table: Table) -> None:
        if self.format == "csv":
            self.stream.write(("\n" if self._tables else "") + table.csv() + "\n")
        elif self.format == "markdown":
            self.stream.write("\n" + table.markdown() + "\n\n")
        else:
            plain = table.render(self.console, self.color)
            if plain is not None:
                self.stream.write(plain + "\n")
        self._tables += 1

    def json(self, document: dict[str, Any]) -> None:
        import json

        self.stream.write(json.dumps(document, indent=2) + "\n")
