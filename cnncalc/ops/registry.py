"""The op registry: op name -> op object. Family modules register their ops on import."""
from __future__ import annotations

from typing import Any, TypeVar

from cnncalc.ops.base import Op

_OPS: dict[str, Op[Any]] = {}
_FAMILIES = ("conv", "pool", "dense", "norm", "activation", "merge", "reshape", "upsample")
_loaded = False

T = TypeVar("T", bound=type)


def register(cls: T) -> T:
    """Class decorator: make one instance of the op available under its name."""
    op = cls()
    if op.name in _OPS:
        raise RuntimeError(f"op '{op.name}' registered twice")
    _OPS[op.name] = op
    return cls


def ops() -> dict[str, Op[Any]]:
    """Every op, by name (imports the op family modules once)."""
    global _loaded
    if not _loaded:
        import importlib

        for family in _FAMILIES:
            importlib.import_module(f"cnncalc.ops.{family}")
        _loaded = True
    return _OPS
