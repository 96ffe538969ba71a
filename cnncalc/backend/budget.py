"""How much memory a verify run needs, estimated before it starts, and the default limit.

The estimate adds up what the run holds at once: the weights (the float32 values drawn or
loaded, plus the copy in the run's dtype), the input, and the larger of the forward pass
(the predicted activation peak plus the largest workspace any layer's kernels need, from
`Op.workspace`) and the receptive-field probe. It is meant to be an upper bound: verify
checks that the measured workspace stays under it.
"""
from __future__ import annotations

from dataclasses import dataclass
from math import prod
from typing import TYPE_CHECKING

from cnncalc.analysis.memory import analyze_memory
from cnncalc.spec.dtypes import DTYPE_BYTES

if TYPE_CHECKING:
    from cnncalc.graph import Graph

GiB = 2**30
FALLBACK_LIMIT = 8 * GiB  # when the available memory cannot be read
SHARE_OF_AVAILABLE = 0.8


@dataclass(frozen=True)
class Estimate:
    weights: int
    inputs: int
    activations: int
    workspace: int
    workspace_layer: str
    probe: int

    @property
    def total(self) -> int:
        return self.weights + self.inputs + max(self.activations + self.workspace, self.probe)


def estimate(graph: Graph, batch: int, dtype: str, probe: int = 0) -> Estimate:
    """For a run of `batch` samples in `dtype` ("float32" or "float64")."""
    itemsize = DTYPE_BYTES[dtype]
    values = graph.total_params + graph.total_buffers
    largest = max((t.size for layer in graph.layers for t in layer.tensors), default=0)
    # float32 values, their copy in the run's dtype, one tensor being replaced by calibration
    weights = values * 4 + (values * itemsize if itemsize != 4 else 0) + largest * itemsize
    work = [(layer.op.workspace(layer), layer.name) for layer in graph.layers]
    most, where = max(work, default=(0, ""))
    peak = analyze_memory(graph, batch, dtype).inference_peak_bytes
    return Estimate(weights, 2 * batch * prod(graph.input_shape) * itemsize, peak,
                    most * batch * itemsize, where, probe)


def available() -> int | None:
    """The memory the system can give without swapping (Linux MemAvailable), if known."""
    try:
        with open("/proc/meminfo", encoding="ascii") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        return None
    return None


def default_limit() -> tuple[int, str]:
    """The limit and how it was chosen (for the refusal message)."""
    free = available()
    if free is None:
        return FALLBACK_LIMIT, "the default limit"
    return int(free * SHARE_OF_AVAILABLE), f"{int(SHARE_OF_AVAILABLE * 100)}% of the available memory"
