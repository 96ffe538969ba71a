"""What a folded spec is made of: layers, block instances and repeats (the items of a layer
list), the block definitions instances share, and the lines they are written as.

An item keeps the imported layers it stands for, so the writer can say which folded name
each imported layer got; tensors are named by the imported layer that makes them (or
`input`) until the writer turns them into what a scope can see (`conv1`, `$in`, `$skip`).
"""
from __future__ import annotations

from dataclasses import dataclass, field

from cnncalc.imports.model import ImportedLayer

REQUIRED = "required"  # a block argument without a default


@dataclass(frozen=True)
class Tensor:
    """A block argument whose value is a layer: an input the block reads besides `$in`."""

    name: str  # the imported layer's name, or `input`


@dataclass(frozen=True)
class Ref:
    """A layer as a scope writes it: a local name, `$in`, `$skip`, `input`."""

    text: str


@dataclass(frozen=True)
class Use:
    """`$arg` inside a block definition."""

    arg: str


@dataclass(frozen=True)
class Expr:
    """`"${expr}"` over a block's arguments."""

    text: str


@dataclass(eq=False)
class Leaf:
    """One imported layer."""

    name: str
    layer: ImportedLayer
    index: int  # its place in running order

    @property
    def output(self) -> str:
        return self.layer.name

    @property
    def lo(self) -> int:
        return self.index

    @property
    def hi(self) -> int:
        return self.index

    def reads(self) -> list[str]:
        return self.layer.inputs


@dataclass(eq=False)
class Instance:
    """A use of a block: a subgraph with one input (`$in`), maybe more inputs passed as
    arguments (`extras`), and one output, its last item's."""

    name: str
    body: list[Item]
    main_in: str
    extras: list[str]
    hint: str = ""  # what to call its block if it gets one
    block: Block | None = None
    call: dict[str, object] = field(default_factory=dict)  # every argument of `block`

    @property
    def output(self) -> str:
        return self.body[-1].output

    @property
    def lo(self) -> int:
        return self.body[0].lo

    @property
    def hi(self) -> int:
        return self.body[-1].hi

    def reads(self) -> list[str]:
        return [self.main_in, *self.extras]


@dataclass(eq=False)
class Run:
    """Copies of one layer or one block instance, each reading the previous: `repeat: N`."""

    name: str
    copies: list[Leaf | Instance]

    @property
    def output(self) -> str:
        return self.copies[-1].output

    @property
    def lo(self) -> int:
        return self.copies[0].lo

    @property
    def hi(self) -> int:
        return self.copies[-1].hi

    def reads(self) -> list[str]:
        return self.copies[0].reads()


Item = Leaf | Instance | Run


@dataclass
class Entry:
    """One line of a layer list as written: `- kind: {args, repeat, if, name, in}`."""

    kind: str
    args: dict[str, object]  # plain values, `Ref` (a layer), `Use` (a block argument), `Expr`
    name: str
    refs: list[str]  # what it reads, as the scope writes it
    repeat: int | Use | None = None
    cond: Use | None = None  # `if: $arg`: an item some instances of the block leave out


@dataclass(eq=False)
class Block:
    """A block definition: `args:` (name -> default or REQUIRED) and its layer lines."""

    name: str
    args: dict[str, object]
    layers: list[Entry]
    uses: int = 0
