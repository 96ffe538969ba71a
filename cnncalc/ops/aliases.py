"""Other frameworks' words for cnncalc's ops and arguments, for "did you mean" hints.

Each op declares its own aliases (`Op.aliases`, `Arg.aliases`); this module only matches a
word the user wrote against them. Matching ignores case, `_`, `-` and a rank suffix such as
`2d` / `2D` anywhere in the word, so `BatchNorm2d`, `batch_norm` and `BatchNormalization`
need one or two declared words, not six.
"""
from __future__ import annotations

import re
from functools import cache
from typing import Any

from cnncalc.ops.base import Op
from cnncalc.ops.registry import ops

_RANK = re.compile(r"[123]d")

# Arguments other frameworks need and cnncalc does not: what to tell a user who writes one.
_NOT_NEEDED = {
    **dict.fromkeys(("in_channels", "in_features", "num_features", "num_channels", "normalized_shape",
                     "input_shape", "input_dim"), "cnncalc infers it from the layer's input"),
    "inplace": "cnncalc's memory model already runs in place where PyTorch can",
}


def normalise(word: str) -> str:
    return _RANK.sub("", word.lower()).replace("_", "").replace("-", "")


@cache
def _table() -> dict[str, str]:
    table: dict[str, str] = {}
    for name, op in ops().items():
        for alias in (name, *op.aliases):  # the name itself: ReLU, Dropout2d, GELU
            table[normalise(alias)] = name
    return table


def op_for(word: str) -> str | None:
    """The cnncalc op another framework calls `word`, if any (never `word` itself)."""
    name = _table().get(normalise(word))
    return name if name != word else None


def arg_for(op: Op[Any], word: str) -> str | None:
    """The argument of `op` another framework calls `word`, if any."""
    key = normalise(word)
    for arg in op.arguments:
        if any(normalise(a) == key for a in arg.aliases):
            return arg.name
    return None


def op_hint(word: str) -> str:
    """' (did you mean 'dense'? cnncalc's word for Linear)', or ''."""
    name = op_for(word) if isinstance(word, str) else None
    return f" (did you mean '{name}'? cnncalc's word for {word})" if name else ""


def arg_hint(op: Op[Any] | None, word: str) -> str:
    """' (did you mean 'filters'? cnncalc's word for out_channels)', a note for an argument
    cnncalc does not need (in_channels), or ''."""
    if not isinstance(word, str):
        return ""
    name = arg_for(op, word) if op is not None else None
    if name:
        return f" (did you mean '{name}'? cnncalc's word for {word})"
    note = _NOT_NEEDED.get(word)
    return f" ({note})" if note else ""
