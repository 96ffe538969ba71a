"""Whole zoo networks: the NumPy forward pass and the plain torch.nn twin (tests/torch_zoo.py)
compute the same outputs from the same weights. Bound: max abs difference <= 1e-9 x
max(1, max|torch output|) in float64; the two networks with over 50M parameters (AlexNet,
VGG-16) run in float32, bound 1e-4, to keep the suite's memory low. Small inputs keep it fast."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch_weights
import torch_zoo

import cnncalc
from cnncalc.backend import run
from cnncalc.backend import weights as W

ARCH = Path(__file__).resolve().parent.parent / "architectures"
SMALL = {"lenet5": (1, 32, 32), "m5_audio": (1, 4000), "vgg16": (3, 32, 32)}


@pytest.mark.torch
@pytest.mark.parametrize("stem", sorted(torch_zoo.ZOO))
def test_zoo_forward_matches_torch(stem: str) -> None:
    torch = pytest.importorskip("torch")
    shape = SMALL.get(stem, (3, 64, 64))
    graph = cnncalc.load_graph(ARCH / f"{stem}.yaml", shape)
    weights = W.init_weights(graph, seed=0)
    model = torch_zoo.ZOO[stem][0]().eval()
    torch_weights.load_into(model, graph, weights)
    big = graph.total_params > 50_000_000
    dtype, bound = (np.float32, 1e-4) if big else (np.float64, 1e-9)
    x = np.random.default_rng(0).standard_normal((2, *shape)).astype(dtype)
    mine = run.forward(graph, x, W.cast(weights, dtype)).outputs[graph.outputs[0]]
    with torch.no_grad():
        theirs = (model if big else model.double())(torch.from_numpy(x)).numpy()
    assert mine.shape == theirs.shape and mine.dtype == dtype
    assert np.abs(mine - theirs).max() <= bound * max(1.0, np.abs(theirs).max())
