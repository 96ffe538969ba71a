"""Names a spec may use for memory figures: element types (`dtype:`) with their size in bytes
(SPEC.md), and optimizers (`checks: {memory: {optimizer: ...}}`) with their state size."""
from __future__ import annotations

DTYPE_BYTES = {"float32": 4, "float16": 2, "bfloat16": 2, "int8": 1, "float64": 8}
# Optimizer state, in tensors the size of the parameters: SGD with momentum keeps a velocity,
# Adam and AdamW keep the first and second moments.
OPTIMIZER_STATES = {"sgd": 0, "momentum": 1, "adam": 2, "adamw": 2}
