"""Writing a rendered document to `-o FILE` or stdout (the `graph` and `report` commands)."""
from __future__ import annotations

import sys

from cnncalc.cli.common import fail
from cnncalc.escape import escape


def write_document(document: str, path: str | None) -> None:
    """Write to `path` ('-' or None: stdout); a file that cannot be written exits 2."""
    document = escape(document, keep_newlines=True)
    if path is None or path == "-":
        sys.stdout.write(document)
        return
    try:
        with open(path, "w", encoding="utf-8") as handle:
            handle.write(document)
    except OSError as exc:
        fail(path, f"cannot write the file: {exc.strerror or exc}", "unwritable")
