"""The effective receptive field (backend/erf.py, erfstats.py): the closed form of stacked
uniform convolutions, a hand convolution of strided and dilated kernels, PyTorch autograd."""
from __future__ import annotations

import numpy as np
import pytest
import torch_weights
import torch_zoo
from helpers import ARCH

from cnncalc.backend import weights as W
from cnncalc.backend.erf import ErfError, compute_erf
from cnncalc.backend.erfstats import axis_stats, half_width
from cnncalc.backend.verify import sample_input
from cnncalc.graph import load_graph, load_graph_text


def _stack(n: int, k: int, rank: int, channels: int = 2) -> str:
    """n stride-1 k-wide convs without padding on an input large enough that the centre unit's
    field stays inside it."""
    size = n * (k - 1) + 5
    layers = "\n".join(f"  - conv: {{name: c{i}, filters: {channels}, kernel: {k}, bias: false}}"
                       for i in range(n))
    return f"input: [{channels}, {', '.join([str(size)] * rank)}]\nlayers:\n{layers}\n"


def _ones(graph) -> dict[str, np.ndarray]:  # type: ignore[no-untyped-def]
    return {key: np.ones(shape) for key, (_, shape) in W.expected(graph).items()}


@pytest.mark.parametrize("n, k, rank", [(1, 3, 2), (2, 3, 2), (4, 3, 2), (3, 5, 2), (2, 4, 2),
                                        (5, 3, 1), (3, 2, 1), (2, 3, 3)])
def test_stacked_uniform_convolutions_give_variance_n_k2_minus_1_over_12(n: int, k: int,
                                                                         rank: int) -> None:
    graph = load_graph_text(_stack(n, k, rank))
    result = compute_erf(graph, weights=_ones(graph), samples=2, linear=True)
    variance = n * (k * k - 1) / 12
    for axis in result.axes:
        assert axis.std ** 2 == pytest.approx(variance, rel=1e-12)
        assert axis.rf == n * (k - 1) + 1
    assert result.map.sum() == pytest.approx(1.0)
    # Exactly the n-fold convolution of the box: a binomial-like discrete Gaussian.
    profile = np.ones(1)
    for _ in range(n):
        profile = np.convolve(profile, np.ones(k))
    size = graph.input_shape[1]
    lo = int(result.centre[0] - (n * (k - 1)) / 2)
    line = np.zeros(size)
    line[lo:lo + profile.size] = profile / profile.sum()
    expected = line
    for _ in range(rank - 1):
        expected = np.multiply.outer(expected, line)
    np.testing.assert_allclose(result.map, expected, rtol=0, atol=1e-14)


def test_strided_and_dilated_kernels_compose_as_a_hand_convolution() -> None:
    graph = load_graph_text("""
input: [1, 40]
layers:
  - conv: {name: a, filters: 1, kernel: 3, stride: 2, bias: false}
  - conv: {name: b, filters: 1, kernel: 3, dilation: 2, bias: false}
""")
    rng = np.random.default_rng(3)
    wa, wb = rng.uniform(0.5, 2, 3), rng.uniform(0.5, 2, 3)
    weights = {"a.weight": wa.reshape(1, 1, 3), "b.weight": wb.reshape(1, 1, 3)}
    unit = 5
    result = compute_erf(graph, "b", (unit,), weights=weights, samples=1, linear=True)
    # b's unit u reads a at u + 2 t (t = 0, 1, 2); a's unit j reads the input at 2 j + s.
    hand = np.zeros(40)
    for t in range(3):
        for s in range(3):
            hand[2 * (unit + 2 * t) + s] += wb[t] * wa[s]
    np.testing.assert_allclose(result.map, hand / hand.sum(), rtol=0, atol=1e-14)
    assert result.centre == (2 * unit + 5,)  # field [2u, 2(u + 4) + 2]
    assert result.axes[0].rf == 11


def test_half_widths_are_distances_to_pixels_holding_the_mass() -> None:
    p = np.array([0.0, 0.1, 0.2, 0.4, 0.2, 0.1, 0.0])
    assert half_width(p, 3.0, 0.4) == 0.0
    assert half_width(p, 3.0, 0.68) == 1.0  # 0.8 within 1
    assert half_width(p, 3.0, 0.95) == 2.0  # 1.0 within 2
    q = np.array([0.25, 0.25, 0.25, 0.25])
    assert half_width(q, 1.5, 0.5) == 0.5 and half_width(q, 1.5, 0.95) == 1.5
    stats = axis_stats(np.outer(p, q), (3.0, 1.5), (7, 4))
    assert stats[0].std == pytest.approx(np.sqrt(0.1 * 4 + 0.2 * 1 + 0.2 * 1 + 0.1 * 4))
    assert stats[1].r95 == 1.5 and stats[1].ratio == 1.0


def test_errors_name_what_is_wrong() -> None:
    graph = load_graph(ARCH / "lenet5.yaml")
    with pytest.raises(ErfError, match="no spatial axes"):
        compute_erf(graph, "c5", samples=1)
    with pytest.raises(ErfError, match="out of range along spatial axis 2"):
        compute_erf(graph, "c3", (1, 10), samples=1)
    with pytest.raises(ErfError, match="has 2 spatial axes"):
        compute_erf(graph, "c3", (1,), samples=1)


# ---------------------------------------------------------------------------- PyTorch

TORCH_CASES = [("resnet18", "layer4"), ("mobilenet_v2", "features")]


@pytest.mark.torch
@pytest.mark.parametrize("name, module", TORCH_CASES)
def test_map_equals_torch_autograd(name: str, module: str) -> None:
    torch = pytest.importorskip("torch")
    graph = load_graph(ARCH / f"{name}.yaml", (3, 64, 64))
    weights = W.init_weights(graph, 0)
    result = compute_erf(graph, weights=weights, samples=1, seed=4)
    model = torch_zoo.ZOO[name][0]()
    torch_weights.load_into(model, graph, weights)
    model = model.double().eval()
    found = {}
    getattr(model, module).register_forward_hook(lambda m, i, o: found.setdefault("out", o))
    x = torch.from_numpy(sample_input(graph, 1, 4, np.float64)).requires_grad_(True)
    model(x)
    i, j = result.unit
    found["out"][0, :, i, j].sum().backward()
    theirs = x.grad.abs().sum(dim=1)[0].numpy()
    np.testing.assert_allclose(result.map, theirs / theirs.sum(), rtol=1e-9, atol=1e-15)
