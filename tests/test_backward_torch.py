"""Gradients against PyTorch autograd (float64): every op on its own (each case of
tests/forward_cases.py: the layer `op` given the real inputs it receives), and whole zoo
networks end to end (input gradient and every weight gradient, eval mode: batch norm with its
running statistics, as cnncalc's forward). Bounds: max abs difference <= 1e-10 (per op) and
1e-9 (zoo) x max(1, max |torch gradient|); the two networks with over 50M parameters (AlexNet,
VGG-16) run in float32, bound 1e-4, to keep the suite's memory and time low."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch_ops
import torch_weights
import torch_zoo
from forward_cases import CASES, Case
from helpers import graph

import cnncalc
from cnncalc.backend import run
from cnncalc.backend import weights as W
from cnncalc.backend.backward import run_backward

ARCH = Path(__file__).resolve().parent.parent / "architectures"


def close(mine: np.ndarray | None, theirs: np.ndarray, bound: float, what: str) -> None:
    assert mine is not None and mine.shape == theirs.shape, (what, None if mine is None else mine.shape)
    err = float(np.abs(mine - theirs).max())
    assert err <= bound * max(1.0, float(np.abs(theirs).max())), f"{what}: max abs error {err:.3g}"


@pytest.mark.torch
@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_op_backward_matches_torch_autograd(case: Case) -> None:
    torch = pytest.importorskip("torch")
    g = graph(f"input: {list(case.shape)}\nlayers:\n  {case.layers}\n")
    layer = g.layer("op")
    rng = np.random.default_rng(0)
    x = rng.standard_normal((2, *case.shape)) * case.scale
    weights = W.cast(W.random_weights(g, 0), np.float64)
    sources = [name for name in layer.inputs if name != "input"]
    kept = run.forward(g, x, weights, keep=(*sources, "op")).kept
    inputs = [x if name == "input" else kept[name] for name in layer.inputs]
    mine = {t.name: weights[f"op.{t.name}"] for t in layer.tensors}
    r = rng.standard_normal(kept["op"].shape)
    grads, wgrads = layer.op.backward(layer, list(inputs), kept["op"], mine, r)

    leaves = [torch.tensor(v, requires_grad=True) for v in inputs]
    tw = {k: torch.tensor(v, requires_grad=any(t.name == k and t.trainable for t in layer.tensors))
          for k, v in mine.items()}
    y = torch_ops.torch_layer(layer, leaves, tw)
    close(y.detach().numpy(), kept["op"], 1e-10, "forward")
    (y * torch.from_numpy(r)).sum().backward()
    # torch's hardsigmoid backward multiplies by the float32 constant 1.0f/6.0f even in float64
    # (0.16666667163...); finite differences confirm the exact 1/6 used here.
    bound = 1e-7 if "hardsigmoid" in case.layers else 1e-10
    for i, leaf in enumerate(leaves):
        close(grads[i], leaf.grad.numpy(), bound, f"input {i}")
    trainable = {t.name for t in layer.tensors if t.trainable}
    assert set(wgrads) == trainable
    for name in trainable:
        close(wgrads[name], tw[name].grad.numpy(), 1e-10, name)


SMALL = {"lenet5": (1, 32, 32), "m5_audio": (1, 4000), "vgg16": (3, 32, 32), "alexnet": (3, 64, 64)}


@pytest.mark.torch
@pytest.mark.parametrize("stem", sorted(torch_zoo.ZOO))
def test_zoo_backward_matches_torch_autograd(stem: str) -> None:
    torch = pytest.importorskip("torch")
    shape = SMALL.get(stem, (3, 32, 32))
    g = cnncalc.load_graph(ARCH / f"{stem}.yaml", shape)
    weights = W.init_weights(g, seed=0)
    model = torch_zoo.ZOO[stem][0]().eval()
    torch_weights.load_into(model, g, weights)
    big = g.total_params > 50_000_000
    dtype, bound = (np.float32, 1e-4) if big else (np.float64, 1e-9)
    if not big:
        model.double()
    rng = np.random.default_rng(0)
    # Batch 1 keeps the zoo fast; the per-op cases above and verify --training run batches > 1.
    x = rng.standard_normal((1, *shape)).astype(dtype)
    out = g.outputs[0]
    r = rng.standard_normal((1, *g.by_name[out].out_shape)).astype(dtype)
    mine = run_backward(g, weights, x, {out: r}, dtype=dtype.__name__)

    xt = torch.tensor(x, requires_grad=True)
    y = model(xt)
    (y * torch.from_numpy(r)).sum().backward()
    close(mine.outputs[out], y.detach().numpy(), bound, "output")
    close(mine.inputs[0], xt.grad.numpy(), bound, "input gradient")
    modules = [m for _, m in model.named_modules()
               if any(type(m).__name__ in names for names in torch_weights._KINDS.values())]
    layers = [layer for layer in g.layers if layer.tensors]
    checked = 0
    for layer, module in zip(layers, modules, strict=True):
        for t in layer.tensors:
            if t.trainable:
                close(mine.weights[f"{layer.name}.{t.name}"], getattr(module, t.name).grad.numpy(), bound,
                      f"{layer.name}.{t.name}")
                checked += 1
    assert checked == len(mine.weights) > 0
