"""Make text from a file safe to print: control characters shown, never interpreted.

A name, path or message quoting the user's YAML could carry an escape sequence (clear the
screen, set the window title) or a bidirectional override that reorders what the reader
sees. Every renderer and the problem formatter pass what they print through `escape`, so
such characters appear as visible `\\x1b` / `\\u202e` escapes. Imports nothing from cnncalc.
"""
from __future__ import annotations

import re

# C0 controls, DEL, C1 controls, and the Unicode format characters that reorder or hide text.
_UNSAFE = re.compile("[\x00-\x1f\x7f-\x9f\u200b-\u200f\u2028-\u202e\u2066-\u2069\ufeff]")
_UNSAFE_KEEP_LINES = re.compile("[\x00-\x09\x0b-\x1f\x7f-\x9f\u200b-\u200f\u2028-\u202e"
                                "\u2066-\u2069\ufeff]")


def _visible(match: re.Match[str]) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def escape(text: str, keep_newlines: bool = False) -> str:
    """'a\\x1b[2Jb' -> 'a\\\\x1b[2Jb' (shown as `a\\x1b[2Jb`); `keep_newlines` for multi-line
    output that cnncalc itself laid out."""
    pattern = _UNSAFE_KEEP_LINES if keep_newlines else _UNSAFE
    return pattern.sub(_visible, text)
