"""Lecture examples 1, 2, 4 and 6 (shared/lecture-examples.md) reproduced by the NumPy forward
pass, with the lecture's own numbers, through the library and through `cnncalc verify`."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import cnncalc
from cnncalc.backend import run
from cnncalc.cli import main

LECTURE = Path(__file__).resolve().parent.parent / "architectures" / "lecture"


def forward(stem: str, x: np.ndarray, weights: dict[str, np.ndarray], dtype: str = "float64"):
    g = cnncalc.load_graph(LECTURE / f"{stem}.yaml")
    cast = {k: v.astype(dtype) for k, v in weights.items()}
    result = run.forward(g, x.astype(dtype)[None], cast, keep=tuple(layer.name for layer in g.layers))
    return {name: y[0] for name, y in result.kept.items()}


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_01_edge_detector(dtype: str) -> None:
    x = np.tile([0, 0, 0, 255, 255], (5, 1))[None]  # 1 channel, every row [0 0 0 255 255]
    kernel = np.tile([-1, 0, 1], (3, 1))[None, None]  # every row [-1 0 1], no bias
    y = forward("01_edge_detector", x, {"edges.weight": kernel}, dtype)["edges"]
    assert y.shape == (1, 3, 3)
    assert np.array_equal(y[0], np.tile([0, 765, 765], (3, 1)))


def _example2() -> np.ndarray:
    return np.array([[[1, 2, 3, 4], [5, 6, 7, 8], [9, 8, 7, 6], [5, 4, 3, 2]],
                     [[2, 1, 0, 1], [3, 2, 1, 0], [4, 3, 2, 1], [5, 4, 3, 2]]])


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_02_multichannel_conv(dtype: str) -> None:
    kernel = np.stack([np.ones((3, 3)), np.zeros((3, 3))])[None]  # ones on channel 1, zeros on 2
    before = forward("02_multichannel_conv", _example2(),
                     {"conv.weight": kernel, "conv.bias": np.array([0.0])}, dtype)
    assert np.array_equal(before["conv"][0], [[48, 51], [54, 51]])
    after = forward("02_multichannel_conv", _example2(),
                    {"conv.weight": kernel, "conv.bias": np.array([-45.0])}, dtype)
    assert np.array_equal(after["relu"][0], [[3, 6], [9, 6]])


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_04_maxpool(dtype: str) -> None:
    x = np.array([[[1, 3, 2, 4], [5, 6, 7, 8], [9, 2, 1, 3], [4, 5, 6, 7]]])
    y = forward("04_maxpool", x, {}, dtype)["pool"]
    assert np.array_equal(y[0], [[6, 8], [9, 7]])
    assert y.size == 4 and x.size == 16


def test_06_pointwise_conv() -> None:
    x = np.random.default_rng(6).integers(0, 9, (3, 4, 4)).astype(float)
    x[:, 1, 2] = [5, 3, 7]
    weights = {"conv.weight": np.array([[0.5, -0.3, 0.2], [0.1, 0.4, -0.2]]).reshape(2, 3, 1, 1),
               "conv.bias": np.array([1.0, 0.0])}
    y = forward("06_pointwise_conv", x, weights)
    assert y["relu"].shape == (2, 4, 4)
    assert y["conv"][:, 1, 2] == pytest.approx([4.0, 0.3], abs=1e-12)
    assert y["relu"][:, 1, 2] == pytest.approx([4.0, 0.3], abs=1e-12)  # both survive ReLU
    # A 1x1 conv mixes channels at each position: every position is the same dot product.
    assert np.allclose(y["conv"], np.einsum("oc,chw->ohw", weights["conv.weight"][:, :, 0, 0], x)
                       + weights["conv.bias"][:, None, None])


def test_02_through_the_cli(tmp_path: Path) -> None:
    """verify --weights --input-file --save-output on the lecture spec, input written H x W x D as
    in the lecture (the spec's input is channels_last)."""
    np.savez(tmp_path / "w.npz", **{"conv.weight": np.stack([np.ones((3, 3)), np.zeros((3, 3))])[None],
                                    "conv.bias": np.array([-45.0])})
    np.save(tmp_path / "x.npy", np.moveaxis(_example2(), 0, -1).astype(float))  # 4 x 4 x 2
    code = main(["verify", str(LECTURE / "02_multichannel_conv.yaml"), "--weights", str(tmp_path / "w.npz"),
                 "--input-file", str(tmp_path / "x.npy"), "--save-output", str(tmp_path / "y.npy"),
                 "--dtype", "float64"])
    assert code == 0
    assert np.array_equal(np.load(tmp_path / "y.npy")[0, 0], [[3, 6], [9, 6]])
