"""Names in a folded spec: local words from module paths, names for repeats, unique names."""
from __future__ import annotations

import re

from cnncalc.spec.names import MAX_LENGTH, WORD

DIGITS = re.compile(r"[0-9]+")
ARG = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
RESERVED_ARGS = frozenset({"name", "in", "repeat", "if", "in_channels"})


def is_word(text: str) -> bool:
    return len(text) <= MAX_LENGTH and WORD.fullmatch(text) is not None


def as_word(text: str) -> str:
    """`text` made a valid layer name: `0` -> `_0`, `input` (reserved) -> `input_`."""
    if text == "input":
        return "input_"
    if not WORD.fullmatch(text):
        text = "_" + re.sub(r"[^A-Za-z0-9_\-]", "_", text)
    if len(text) > MAX_LENGTH:
        text = "_" + text[-(MAX_LENGTH - 1):].lstrip("-")
    return text


def split_origin(origin: str) -> list[str]:
    """A source's dotted path as scope words (`layer1.0.conv1`), or [] when it is not one."""
    parts = origin.split(".") if origin else []
    if not parts or not all(WORD.fullmatch(p) or DIGITS.fullmatch(p) for p in parts):
        return []
    return parts


def run_name(first: str, last: str) -> str:
    """A name for copies `first` .. `last`: `5`, `6` -> `5-6`; `denselayer1`, `denselayer6`
    -> `denselayer1-6` (the common start, without a split number, said once)."""
    common = 0
    while common < min(len(first), len(last)) and first[common] == last[common]:
        common += 1
    while common and first[common - 1].isdigit():
        common -= 1
    return f"{first}-{last[common:].lstrip('_-') or last}"


def stem(name: str) -> str:
    """`denselayer12` -> `denselayer`, `layer1` -> `layer`, `7` -> ``."""
    return name.rstrip("0123456789").rstrip("_-")


def unique(names: list[str]) -> list[str]:
    """The names with later duplicates numbered (`relu`, `relu_1`), as torch.fx numbers them."""
    seen = set(names)
    taken: set[str] = set()
    out = []
    for name in names:
        if name in taken:
            number = 1
            while f"{name}_{number}" in seen or f"{name}_{number}" in taken:
                number += 1
            name = f"{name}_{number}"
        taken.add(name)
        out.append(name)
    return out


def arg_name(text: str) -> str:
    """A block argument name from a layer name and an argument (`layer-1_stride`)."""
    text = re.sub(r"[^A-Za-z0-9_]", "_", text)
    if not ARG.fullmatch(text):
        text = "_" + text
    return text + "_" if text in RESERVED_ARGS else text
