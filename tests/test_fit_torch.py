"""`cnncalc fit` against PyTorch's CPU allocator: the batch it finds runs within the budget
(to the memory model's documented 1 KiB tolerance, tests/test_memory_torch.py) and one more
sample does not."""
from __future__ import annotations

import pytest
from helpers import graph
from test_memory_torch import RESIDUAL, Measured, Residual, nbytes

from cnncalc.analysis.fit import fit_batch

torch = pytest.importorskip("torch")
pytestmark = pytest.mark.torch

TOLERANCE = 1024


def measured_inference(batch: int) -> int:
    """Weights + buffers + the input + the activation peak between kernels, as PyTorch holds them."""
    torch.manual_seed(0)
    net, x = Residual().eval(), torch.randn(batch, 3, 64, 64)

    def forward() -> None:
        with torch.no_grad():
            net(x)

    weights = sum(nbytes(p) for p in net.parameters())
    buffers = sum(nbytes(b) for n, b in net.named_buffers() if not n.endswith("num_batches_tracked"))
    return weights + buffers + nbytes(x) + Measured(forward).between


@pytest.mark.parametrize("limit", [6 * 2**20])
def test_found_batch_fits_under_pytorch_and_one_more_does_not(limit: int) -> None:
    result = fit_batch(graph(RESIDUAL), limit)
    assert result.value >= 1
    assert measured_inference(result.value) <= limit + TOLERANCE
    assert measured_inference(result.value + 1) > limit - TOLERANCE
