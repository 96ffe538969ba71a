"""References between layers, and the values of block arguments, before names are resolved.

Names may be used before they are declared (that is how a cycle can even be written), so the
expander records references and resolves them once every scope is complete.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from cnncalc.problems import Loc

INPUT = "input"
BROKEN = "\0broken"  # stands for the output of an item that had an error (no cascading errors)


@dataclass(frozen=True)
class LayerRef:
    """The output of a known layer (or INPUT / BROKEN)."""

    id: str


@dataclass(frozen=True)
class NameRef:
    """A name written by the user, to be looked up in `scope` once expansion is done."""

    scope: Scope
    name: str
    loc: Loc


Ref = LayerRef | NameRef


@dataclass(frozen=True)
class Binding:
    """A block argument's value, with the scope it was written in (for layer-name arguments)."""

    value: Any
    loc: Loc
    scope: Scope


@dataclass(frozen=True)
class RefValue:
    """`$in` passed on as a block argument."""

    ref: Ref


@dataclass(frozen=True)
class Deferred:
    """`${expr}` that uses `in_channels`: evaluated when the block input's shape is known."""

    text: str
    loc: Loc
    env: tuple[tuple[str, Any], ...]  # argument values the expression may use
    block_input: Ref


@dataclass(eq=False)
class Scope:
    """The names visible to one list of items: the top level or one block instance."""

    prefix: str  # prepended to local names to make global layer names, e.g. "layer1.0."
    input_ref: Ref | None = None  # `$in`; None at top level
    args: dict[str, Binding] = field(default_factory=dict)
    names: dict[str, Ref] = field(default_factory=dict)
    children: dict[str, Scope] = field(default_factory=dict)  # block instances, for dotted names
    block: str | None = None
    parent: Scope | None = None
