"""An `ImportedModel` -> spec text, one layer per line (`--flat`) or folded into blocks.

The text is written by hand rather than by a YAML emitter: flow mappings on one line per
layer read like a spec a person wrote, and the few value types an importer produces
(ints, floats, bools, words, nested lists, null) have one safe spelling each.
"""
from __future__ import annotations

import json
import math
import re

from cnncalc.gcpause import gc_paused
from cnncalc.imports.blocks import entry_of, shown
from cnncalc.imports.fold import Folded, fold
from cnncalc.imports.items import Block, Entry, Expr, Instance, Ref, Run, Use
from cnncalc.imports.model import ImportedLayer, ImportedModel

_PLAIN = re.compile(r"\$?[A-Za-z_][A-Za-z0-9_.\-]*")
_YAML_WORDS = frozenset({"true", "false", "yes", "no", "on", "off", "y", "n", "null"})


def scalar(value: object) -> str:
    """One argument value as YAML that cnncalc reads back as the same value."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError(f"cannot write the non-finite number {value!r}")
        text = repr(value)
        # YAML 1.1 reads `1e-05` as a string: give the mantissa a dot.
        if "e" in text and "." not in text.split("e")[0]:
            mantissa, exponent = text.split("e")
            text = f"{mantissa}.0e{exponent}"
        return text
    if isinstance(value, str):
        if _PLAIN.fullmatch(value) and value.lower() not in _YAML_WORDS:
            return value
        return json.dumps(value)  # a YAML double-quoted string
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(scalar(item) for item in value) + "]"
    raise TypeError(f"cannot write {type(value).__name__} values")


def layer_line(layer: ImportedLayer, previous: str) -> str:
    """`- conv: {filters: 64, kernel: 3, name: conv1}`; `in:` only where it is not the previous."""
    items = [f"{key}: {scalar(value)}" for key, value in layer.args.items()]
    items.append(f"name: {layer.name}")
    if layer.inputs != [previous]:
        inputs = layer.inputs[0] if len(layer.inputs) == 1 else layer.inputs
        items.append(f"in: {scalar(inputs)}")
    return f"  - {layer.op}: {{{', '.join(items)}}}"


def header(model: ImportedModel) -> list[str]:
    lines = [f"# Imported by cnncalc from {model.source}."]
    lines += [f"# Note: {note}" for note in model.notes]
    lines += ["cnncalc: 1", f"name: {model.name}"]
    shape = scalar(model.input_shape)
    lines.append(f"input: {{shape: {shape}, layout: channels_last}}" if model.channels_last
                 else f"input: {shape}")
    return lines


def write_flat(model: ImportedModel) -> str:
    """The spec with one layer per op, in running order."""
    lines = header(model) + ["layers:"]
    previous = "input"
    for layer in model.layers:
        lines.append(layer_line(layer, previous))
        previous = layer.name
    if model.outputs != [previous]:
        lines.append(f"outputs: {scalar(model.outputs)}")
    return "\n".join(lines) + "\n"


def value_text(value: object) -> str:
    if isinstance(value, Ref):
        return value.text
    if isinstance(value, Use):
        return f"${value.arg}"
    if isinstance(value, Expr):
        return json.dumps(value.text)
    return scalar(value)


def entry_line(entry: Entry, previous: str, blocks: dict[str, Block], indent: str) -> str:
    """`- conv: {filters: $filters, name: conv1, in: [bn2, $in]}`; arguments a block would
    take by default and `in:` that is the previous line are left out."""
    block = blocks.get(entry.kind)
    items = [f"{key}: {value_text(value)}" for key, value in entry.args.items()
             if block is None or key not in block.args or isinstance(value, (Ref, Use))
             or shown(value) != shown(block.args[key])]
    if entry.repeat is not None:
        items.append(f"repeat: {value_text(entry.repeat)}")
    if entry.cond is not None:
        items.append(f"if: {value_text(entry.cond)}")
    items.append(f"name: {entry.name}")
    if entry.refs != [previous]:
        items.append(f"in: {entry.refs[0] if len(entry.refs) == 1 else scalar(entry.refs)}")
    return f"{indent}- {entry.kind}: {{{', '.join(items)}}}"


def block_order(folded: Folded) -> list[Block]:
    """Blocks in the order a reader meets them: by first use, outer before inner."""
    by_name = {block.name: block for block in folded.blocks}
    order: dict[str, Block] = {}
    firsts = [item.copies[0] if isinstance(item, Run) else item for item in reversed(folded.body)]
    stack = [item.block for item in firsts if isinstance(item, Instance)]
    while stack:
        block = stack.pop()
        if block is None or block.name in order:
            continue
        order[block.name] = block
        stack.extend(by_name[e.kind] for e in reversed(block.layers) if e.kind in by_name)
    return list(order.values())


def write_folded(model: ImportedModel, folded: Folded) -> str:
    """The spec with the model's repeated structure as blocks (see `fold.py`)."""
    blocks = block_order(folded)
    by_name = {block.name: block for block in blocks}
    lines = header(model)
    if blocks:
        lines.append("blocks:")
    for block in blocks:
        lines.append(f"  {block.name}:  # used {block.uses} times")
        if block.args:
            args = ", ".join(f"{key}: {value_text(value)}" for key, value in block.args.items())
            lines.append(f"    args: {{{args}}}")
        lines.append("    layers:")
        previous = "$in"
        for entry in block.layers:
            lines.append(entry_line(entry, previous, by_name, "      "))
            previous = entry.name
    table = {"input": "input", **folded.names}
    table.update({item.output: item.name for item in folded.body})
    lines.append("layers:")
    previous = "input"
    for item in folded.body:
        entry = entry_of(item, table)
        lines.append(entry_line(entry, previous, by_name, "  "))
        previous = entry.name
    outputs = [table[name] for name in model.outputs]
    if outputs != [previous]:
        lines.append(f"outputs: {scalar(outputs)}")
    return "\n".join(lines) + "\n"


def write_spec(model: ImportedModel, flat: bool = False) -> str:
    """The spec text: folded into blocks where the source repeats itself, or flat."""
    if flat:
        return write_flat(model)
    with gc_paused():  # many small objects, none of them cyclic garbage
        return write_folded(model, fold(model))
