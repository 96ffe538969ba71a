"""The element types a spec may name (`dtype:`), with their size in bytes (SPEC.md)."""
from __future__ import annotations

DTYPE_BYTES = {"float32": 4, "float16": 2, "bfloat16": 2, "int8": 1, "float64": 8}
