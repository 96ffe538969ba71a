"""An `ImportedModel` -> spec text, one layer per line (`--flat`) or folded into blocks.

The text is written by hand rather than by a YAML emitter: flow mappings on one line per
layer read like a spec a person wrote, and the few value types an importer produces
(ints, floats, bools, words, nested lists, null) have one safe spelling each.
"""
from __future__ import annotations

import math

from cnncalc.imports.model import ImportedLayer, ImportedModel


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
        return value
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


def write_spec(model: ImportedModel, flat: bool = False) -> str:
    """The spec text: folded into blocks where the source repeats itself, or flat."""
    # Folding repeated structure into `blocks:` comes in `fold.py`; until then, flat.
    return write_flat(model)
