"""torchvision -> ONNX (PyTorch's exporter) -> `read_onnx` -> spec: the same parameters,
buffers, MACs and output shapes as the torch model, layer by layer where a layer is one
module; and with batch norm folded by the exporter, fewer parameters by exactly the folded BN.

The torch figures come from the model itself (forward hooks, tests/torch_zoo.py), never from
the ONNX file.
"""
from __future__ import annotations

import io
import warnings
from pathlib import Path
from typing import Any

import pytest
import torch_zoo

from cnncalc.analysis.cost import analyze_cost
from cnncalc.graph import Graph, load_graph_text
from cnncalc.imports.model import ImportedModel
from cnncalc.imports.write import write_spec

pytest.importorskip("onnx")
torch = pytest.importorskip("torch")
torchvision = pytest.importorskip("torchvision")

from cnncalc.imports.onnx_source import read_onnx, word  # noqa: E402

pytestmark = pytest.mark.torch

# Fast enough to export in a test (a few seconds each); together every mapping PyTorch's
# exporter produces for CNNs: Clip (relu6), HardSigmoid/HardSwish and SE gates, x*sigmoid(x),
# Concat, the Shape/Gather side graphs and channel shuffle, ReduceMean, LayerNormalization on
# a channels-last tensor, MatMul+Add (channel_dense), Gelu and the per-channel layer scale.
# (googlenet without its auxiliary heads: they never run in eval mode, so no export has them.)
MODELS = ["resnet18", "mobilenet_v2", "mobilenet_v3_large", "efficientnet_b0", "squeezenet1_1",
          "shufflenet_v2_x1_0", "googlenet", "regnet_y_400mf", "mnasnet1_0", "convnext_tiny"]
OPTIONS: dict[str, dict[str, Any]] = {"googlenet": {"aux_logits": False, "init_weights": False}}
SIZE = (3, 128, 128)  # the figures are compared at one input size; a small one runs faster


def _export(model: Any, path: Path, keep_bn: bool) -> None:
    options: dict[str, Any] = {"dynamo": False}
    if keep_bn:
        options.update(training=torch.onnx.TrainingMode.PRESERVE, do_constant_folding=False)
    buffer = io.BytesIO()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(model, torch.zeros(1, *SIZE), buffer, **options)
    path.write_bytes(buffer.getvalue())


def _module_shapes(model: Any) -> dict[str, list[tuple[int, ...]]]:
    """Every output shape (no batch) of every named module, one per call."""
    found: dict[str, list[tuple[int, ...]]] = {}
    handles = []
    for name, module in model.named_modules():
        def hook(m: Any, inputs: Any, out: Any, name: str = name) -> None:
            if isinstance(out, torch.Tensor):
                found.setdefault(name, []).append(tuple(out.shape[1:]))
        if name:
            handles.append(module.register_forward_hook(hook))
    with torch.no_grad():
        model(torch.zeros(1, *SIZE))
    for handle in handles:
        handle.remove()
    return found


def _imported(name: str, tmp: Path, keep_bn: bool = True) -> tuple[Any, ImportedModel, Graph]:
    torch.manual_seed(0)
    model = getattr(torchvision.models, name)(**OPTIONS.get(name, {})).eval()
    path = tmp / f"{name}.onnx"
    _export(model, path, keep_bn)
    imported = read_onnx(str(path), None)
    return model, imported, load_graph_text(write_spec(imported, flat=True), f"{name}.yaml")


@pytest.mark.parametrize("name", MODELS)
def test_torchvision_through_onnx_gives_the_torch_numbers(name: str, tmp_path: Path) -> None:
    model, imported, g = _imported(name, tmp_path)
    trace = torch_zoo.trace(model, SIZE)
    assert g.total_params == torch_zoo.count_params(model)
    assert g.total_buffers == torch_zoo.count_buffers(model)
    assert analyze_cost(g).total_macs == trace.macs
    assert list(g.output_shapes.values()) == [trace.output]
    # Every layer that is a whole module called once has that module's output shape (a
    # channels-last module output, ConvNeXt's Linear, is compared with its channels first).
    shapes = _module_shapes(model)
    checked = 0
    for layer in imported.layers:
        seen = shapes.get(layer.origin, [])
        if len(seen) != 1 or layer.name != word(layer.origin):
            continue
        mine = g.layer(layer.name).out_shape
        theirs = seen[0]
        assert mine in (theirs, (theirs[-1], *theirs[:-1])), (layer.name, mine, theirs)
        checked += 1
    assert checked >= len(imported.layers) // 3  # most layers are whole modules
    assert not any("folded into them" in note for note in imported.notes)  # BN was kept


def test_layer_names_are_the_module_paths(tmp_path: Path) -> None:
    _, imported, g = _imported("resnet18", tmp_path)
    names = [layer.name for layer in imported.layers]
    assert names[:4] == ["conv1", "bn1", "relu", "maxpool"]
    assert "layer1_0_conv1" in names and "layer4_1_bn2" in names and "fc" in names
    origins = {layer.name: layer.origin for layer in imported.layers}
    assert origins["layer2_0_downsample_0"] == "layer2.0.downsample.0"
    assert origins["layer1_0_add"] == "layer1.0"


def test_folded_batch_norm_costs_exactly_the_folded_parameters(tmp_path: Path) -> None:
    model, imported, g = _imported("resnet18", tmp_path, keep_bn=False)
    norms = [m for m in model.modules() if isinstance(m, torch.nn.BatchNorm2d)]
    channels = sum(m.num_features for m in norms)
    # Each BN's 2C scale and shift became a C-element bias of the (bias-free) conv before it.
    assert all(m.bias is None for m in model.modules() if isinstance(m, torch.nn.Conv2d))
    assert g.total_params == torch_zoo.count_params(model) - channels
    assert g.total_buffers == torch_zoo.count_buffers(model) - 2 * channels == 0
    assert not any(layer.op == "bn" for layer in imported.layers)
    assert analyze_cost(g).total_macs == torch_zoo.count_macs(model, SIZE)
    assert len(imported.notes) == 1 and "folded" in imported.notes[0]
    assert f"{channels:,} parameters and {2 * channels:,} buffers" in imported.notes[0]
