"""The zoo specs in architectures/ against published figures and, when torch is installed,
against plain torch.nn builds of the same networks (tests/torch_zoo.py).

Published figures: torchvision's documented parameter counts and the usual MAC counts
(conv + linear multiply-accumulates, bias excluded). The U-Net and M5 figures are not
published for exactly these variants; they were computed with torch_zoo and are checked
against torch again below whenever torch is importable.
"""
from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any, NamedTuple

import pytest
import torch_zoo
from helpers import hand_weights

import cnncalc

ARCH = Path(__file__).resolve().parent.parent / "architectures"


class Ref(NamedTuple):
    params: int
    buffers: int  # batch-norm running mean + variance
    output: tuple[int, ...]
    macs: int


REFERENCE: dict[str, Ref] = {
    "lenet5": Ref(61_706, 0, (10,), 416_520),
    "alexnet": Ref(61_100_840, 0, (1000,), 714_188_480),
    "vgg16": Ref(138_357_544, 0, (1000,), 15_470_264_320),
    "resnet18": Ref(11_689_512, 9_600, (1000,), 1_814_073_344),
    "resnet50": Ref(25_557_032, 53_120, (1000,), 4_089_184_256),
    "mobilenet_v2": Ref(3_504_872, 34_112, (1000,), 300_774_272),
    "densenet121": Ref(7_978_856, 83_648, (1000,), 2_834_161_664),
    "efficientnet_b0": Ref(5_288_548, 42_016, (1000,), 385_814_752),
    "unet": Ref(31_037_698, 11_776, (2, 256, 256), 48_171_581_440),
    "m5_audio": Ref(559_114, 2_048, (10,), 277_502_976),
}

# Shapes of the main named layers (block outputs), channels-first, no batch.
LAYER_SHAPES: dict[str, dict[str, tuple[int, ...]]] = {
    "lenet5": {"c1": (6, 28, 28), "s2": (6, 14, 14), "c3": (16, 10, 10), "s4": (16, 5, 5),
               "c5": (120,), "f6": (84,), "logits": (10,)},
    "alexnet": {"conv1": (64, 55, 55), "conv2": (192, 27, 27), "conv3": (384, 13, 13),
                "conv4": (256, 13, 13), "conv5": (256, 13, 13), "features": (256, 6, 6),
                "avgpool": (256, 6, 6), "fc6": (4096,), "fc7": (4096,), "classifier": (1000,)},
    "vgg16": {"block1": (64, 112, 112), "block2": (128, 56, 56), "block3": (256, 28, 28),
              "block4": (512, 14, 14), "features": (512, 7, 7), "avgpool": (512, 7, 7),
              "fc6": (4096,), "fc7": (4096,), "classifier": (1000,)},
    "resnet18": {"conv1": (64, 112, 112), "bn1": (64, 112, 112), "maxpool": (64, 56, 56),
                 "layer1": (64, 56, 56), "layer2": (128, 28, 28), "layer3": (256, 14, 14),
                 "layer4": (512, 7, 7), "avgpool": (512, 1, 1), "fc": (1000,)},
    "resnet50": {"conv1": (64, 112, 112), "bn1": (64, 112, 112), "maxpool": (64, 56, 56),
                 "layer1": (256, 56, 56), "layer2": (512, 28, 28), "layer3": (1024, 14, 14),
                 "layer4": (2048, 7, 7), "avgpool": (2048, 1, 1), "fc": (1000,)},
    "mobilenet_v2": {"stem": (32, 112, 112), "stage1": (16, 112, 112), "stage2": (24, 56, 56),
                     "stage3": (32, 28, 28), "stage4": (64, 14, 14), "stage5": (96, 14, 14),
                     "stage6": (160, 7, 7), "stage7": (320, 7, 7), "features": (1280, 7, 7),
                     "classifier": (1000,)},
    "densenet121": {"conv0": (64, 112, 112), "pool0": (64, 56, 56),
                    "denseblock1": (256, 56, 56), "transition1": (128, 28, 28),
                    "denseblock2": (512, 28, 28), "transition2": (256, 14, 14),
                    "denseblock3": (1024, 14, 14), "transition3": (512, 7, 7),
                    "denseblock4": (1024, 7, 7), "norm5": (1024, 7, 7), "classifier": (1000,)},
    "efficientnet_b0": {"stem": (32, 112, 112), "stage1": (16, 112, 112),
                        "stage2": (24, 56, 56), "stage3": (40, 28, 28), "stage4": (80, 14, 14),
                        "stage5": (112, 14, 14), "stage6": (192, 7, 7), "stage7": (320, 7, 7),
                        "features": (1280, 7, 7), "avgpool": (1280, 1, 1),
                        "classifier": (1000,)},
    "unet": {"enc1": (64, 256, 256), "enc2": (128, 128, 128), "enc3": (256, 64, 64),
             "enc4": (512, 32, 32), "bottleneck": (1024, 16, 16), "dec4.up": (512, 32, 32),
             "dec4": (512, 32, 32), "dec3": (256, 64, 64), "dec2": (128, 128, 128),
             "dec1": (64, 256, 256), "head": (2, 256, 256)},
    "m5_audio": {"block1": (128, 1995), "block2": (128, 498), "block3": (256, 124),
                 "block4": (512, 31), "logits": (10,)},
}

# cnncalc layer name -> the torch_zoo module whose output it is.
TORCH_NAMES: dict[str, dict[str, str]] = {
    "lenet5": {"c1": "features.0", "s2": "features.2", "c3": "features.3", "s4": "features.5",
               "c5": "classifier.1", "f6": "classifier.3", "logits": "classifier.5"},
    "alexnet": {"conv1": "features.0", "conv2": "features.3", "conv3": "features.6",
                "conv4": "features.8", "conv5": "features.10", "features": "features",
                "avgpool": "avgpool", "fc6": "classifier.1", "fc7": "classifier.4",
                "classifier": "classifier"},
    "vgg16": {"block1": "features.4", "block2": "features.9", "block3": "features.16",
              "block4": "features.23", "features": "features", "avgpool": "avgpool",
              "fc6": "classifier.0", "fc7": "classifier.3", "classifier": "classifier"},
    "resnet18": {n: n for n in LAYER_SHAPES["resnet18"]},
    "resnet50": {n: n for n in LAYER_SHAPES["resnet50"]},
    # features.k is the k-th block; the stages end after blocks 1, 3, 6, 10, 13, 16, 17
    "mobilenet_v2": {"stem": "features.0", "stage1": "features.1", "stage2": "features.3",
                     "stage3": "features.6", "stage4": "features.10", "stage5": "features.13",
                     "stage6": "features.16", "stage7": "features.17",
                     "features": "features.18", "classifier": "classifier"},
    "densenet121": {**{n: f"features.{n}" for n in LAYER_SHAPES["densenet121"]
                       if n != "classifier"}, "classifier": "classifier"},
    "efficientnet_b0": {"stem": "features.0", **{f"stage{k}": f"features.{k}" for k in range(1, 8)},
                        "features": "features.8", "avgpool": "avgpool",
                        "classifier": "classifier"},
    "unet": {n: n for n in LAYER_SHAPES["unet"]},
    "m5_audio": {"block1": "features.3", "block2": "features.7", "block3": "features.11",
                 "block4": "features.15", "logits": "fc"},
}

ZOO = sorted(REFERENCE)


@cache
def graph(name: str) -> cnncalc.Graph:
    return cnncalc.load_graph(ARCH / f"{name}.yaml")


def test_every_zoo_spec_has_reference_numbers() -> None:
    assert sorted(p.stem for p in ARCH.glob("*.yaml")) == ZOO


@pytest.mark.parametrize("name", ZOO)
def test_params_and_buffers(name: str) -> None:
    g, ref = graph(name), REFERENCE[name]
    assert g.total_params == ref.params
    assert g.total_buffers == ref.buffers


@pytest.mark.parametrize("name", ZOO)
def test_output_shape(name: str) -> None:
    g = graph(name)
    assert list(g.output_shapes.values()) == [REFERENCE[name].output]


@pytest.mark.parametrize("name", ZOO)
def test_macs(name: str) -> None:
    from cnncalc.analysis.cost import analyze_cost

    assert analyze_cost(graph(name)).total_macs == REFERENCE[name].macs


@pytest.mark.parametrize("name", ZOO)
def test_named_layer_shapes(name: str) -> None:
    g = graph(name)
    got = {layer: g.layer(layer).out_shape for layer in LAYER_SHAPES[name]}
    assert got == LAYER_SHAPES[name]


@pytest.mark.parametrize("name", ZOO)
def test_layers_sum_to_totals(name: str) -> None:
    """Every layer's weights by the textbook formula (tests/helpers.hand_weights, from the
    layer's arguments and input shape only) add up to the published totals."""
    g, ref = graph(name), REFERENCE[name]
    per_layer = {layer.name: hand_weights(layer) for layer in g.layers}
    wrong = {layer.name: ((layer.params, layer.buffers), per_layer[layer.name]) for layer in g.layers
             if (layer.params, layer.buffers) != per_layer[layer.name]}
    assert not wrong, wrong
    assert sum(p for p, _ in per_layer.values()) == ref.params
    assert sum(b for _, b in per_layer.values()) == ref.buffers
    assert len(per_layer) == len(g.layers)  # layer names are unique


# ---------------------------------------------------------------------------- torch oracle

@cache
def torch_model(name: str) -> Any:
    pytest.importorskip("torch")
    build, _, _ = torch_zoo.ZOO[name]
    return build()


@cache
def torch_trace(name: str) -> torch_zoo.Trace:
    """One forward pass of the torch twin, with every module's output recorded."""
    _, input_shape, _ = torch_zoo.ZOO[name]
    return torch_zoo.trace(torch_model(name), input_shape)


@pytest.mark.torch
@pytest.mark.parametrize("name", ZOO)
def test_totals_match_torch(name: str) -> None:
    model, g, ref = torch_model(name), graph(name), REFERENCE[name]
    _, input_shape, output = torch_zoo.ZOO[name]
    assert torch_zoo.count_params(model) == g.total_params == ref.params
    assert torch_zoo.count_buffers(model) == g.total_buffers == ref.buffers
    assert torch_trace(name).output == output == ref.output
    assert g.input_shape == input_shape


@pytest.mark.torch
@pytest.mark.parametrize("name", ZOO)
def test_torch_twin_gives_reference_macs(name: str) -> None:
    assert torch_trace(name).macs == REFERENCE[name].macs


@pytest.mark.torch
@pytest.mark.parametrize("name", ZOO)
def test_weighted_layers_match_torch_one_to_one(name: str) -> None:
    """Every conv/deconv/dense/bn, in order: same kind, params, buffers and output shape."""
    g = graph(name)
    expected = [(kind, params, buffers, shape)
                for _, kind, params, buffers, shape in torch_trace(name).weighted]
    got = [(layer.op_name, layer.params, layer.buffers, layer.out_shape)
           for layer in g.layers if layer.op_name in ("conv", "deconv", "dense", "bn")]
    assert len(got) == len(expected)
    for index, (mine, theirs) in enumerate(zip(got, expected)):
        assert mine == theirs, f"weighted layer #{index} (torch {torch_trace(name).weighted[index][0]})"


@pytest.mark.torch
@pytest.mark.parametrize("name", ZOO)
def test_named_layer_shapes_match_torch(name: str) -> None:
    g, shapes = graph(name), torch_trace(name).shapes
    for layer, module in TORCH_NAMES[name].items():
        assert g.layer(layer).out_shape == shapes[module], f"{layer} vs torch {module}"
