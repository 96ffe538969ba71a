"""What a name may be: the one check for every name a spec gives (layers, blocks, copies).

Layer names end up in file names (`verify --save-activations`), archive members
(`init-weights`), terminal tables and JSON keys, so a name is a plain word: letters, digits,
`_` and `-`, starting with a letter or `_`. That rules out `/`, `..`, spaces, control and
escape characters before any of them can reach a path or a terminal. Scoped names join such
words with dots (`layer1.0.conv1`), and every generated name is made of them too.
"""
from __future__ import annotations

import re
import unicodedata
from typing import Any

from cnncalc.text import shown

WORD = re.compile(r"[A-Za-z_][A-Za-z0-9_\-]*")
MAX_LENGTH = 100


def name_problem(value: Any, what: str) -> str | None:
    """Why `value` cannot be a `what` name ('layer', 'block'), or None when it can."""
    if not isinstance(value, str):
        return f"a {what} name must be a word, got {shown(value)}"
    if len(value) > MAX_LENGTH:
        return f"a {what} name must be at most {MAX_LENGTH} characters, got {len(value):,}"
    if not WORD.fullmatch(value):
        return (f"a {what} name must be a word of letters, digits, _ or - starting with a letter "
                f"or _ (dots separate scopes), got {shown(value)}")
    return None


def text_problem(value: Any, what: str) -> str | None:
    """Why `value` cannot be free text shown to the user (e.g. the network's `name`)."""
    if not isinstance(value, str):
        return f"'{what}' must be a string, got {shown(value)}"
    bad = next((ch for ch in value if ch not in "\n\t" and unicodedata.category(ch) in ("Cc", "Cf")),
               None)
    if bad is not None:
        return f"'{what}' contains the control character U+{ord(bad):04X}"
    return None

