"""`cnncalc import` of torchvision models: params, buffers, MACs and every layer's shape.

Oracles (tests/torch_import_oracle.py): PyTorch's own parameter and buffer counts, the shapes
fx propagates through each node (independently of the importer), and torchvision's published
`_ops`. `_ops` counts the multiply-accumulates of convolutions and matrix products (bias
excluded), in G, rounded to 3 decimals, at the resolution of the weights' transforms
(`crop_size`: 299 for inception_v3, 384 for efficientnet_v2_s): exactly cnncalc's MACs.
"""
from __future__ import annotations

import functools
import json
import warnings

import pytest

torch = pytest.importorskip("torch")
tv = pytest.importorskip("torchvision")

from torch_import_oracle import imported_graph, node_shapes, used_counts  # noqa: E402

from cnncalc.analysis.cost import analyze_cost  # noqa: E402
from cnncalc.cli import main  # noqa: E402

MODELS = ["regnet_y_400mf", "convnext_tiny", "efficientnet_v2_s", "mnasnet1_0",
          "wide_resnet50_2", "vgg16_bn", "googlenet", "densenet121", "mobilenet_v3_large",
          "shufflenet_v2_x1_0", "squeezenet1_1", "inception_v3", "resnet18", "resnet50",
          "alexnet", "efficientnet_b0", "mobilenet_v2"]
# What the eval-mode forward never calls (auxiliary classifiers): left out, said in a note.
UNUSED = {"googlenet": ("aux1.", "aux2."), "inception_v3": ("AuxLogits.",)}


@functools.cache
def model_and_size(name: str, device: str = "meta") -> tuple[object, int, float | None]:
    """The model (built once; on the meta device: shapes without arithmetic or weight
    initialisation), the resolution torchvision measured it at, its `_ops`."""
    weights = tv.models.get_model_weights(name).DEFAULT
    options = {"init_weights": False} if name in UNUSED else {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            with torch.device(device):
                model = getattr(tv.models, name)(**options).eval()
        except NotImplementedError:  # regnet reads a weight while initialising: build it for real
            model = getattr(tv.models, name)(**options).eval()
    return model, int(weights.transforms().crop_size[0]), weights.meta.get("_ops")


@pytest.mark.parametrize("name", MODELS)
def test_torchvision_model_imports_exactly(name: str) -> None:
    model, size, ops = model_and_size(name)
    shape = [3, size, size]
    graph, origin, notes = imported_graph(model, shape, f"torchvision.models:{name}")
    unused = UNUSED.get(name, ())
    assert (graph.total_params, graph.total_buffers) == used_counts(model, unused)
    # A note says which modules were left out and how many parameters they hold.
    assert len(notes) == len(unused)
    for prefix, note in zip(unused, notes):
        left_out = sum(p.numel() for n, p in model.named_parameters() if n.startswith(prefix))
        assert note.startswith(prefix.rstrip(".")) and f"{left_out:,} parameters" in note
    macs = analyze_cost(graph).total_macs
    assert ops is not None and round(macs / 1e9, 3) == ops
    shapes = node_shapes(model, shape)
    last = {node: layer for layer, node in origin.items()}
    checked = [layer for layer in graph.layers if last[origin[layer.name]] == layer.name]
    for layer in checked:
        assert layer.out_shape == shapes[origin[layer.name]], layer.name
    assert len(checked) >= len(graph.layers) - 1
    assert list(graph.output_shapes.values()) == [(1000,)]


def test_layer_names_follow_module_paths() -> None:
    model, size, _ = model_and_size("resnet50")
    graph, origin, _ = imported_graph(model, [3, size, size])
    names = [layer.name for layer in graph.layers]
    assert names[:4] == ["conv1", "bn1", "relu", "maxpool"]
    assert "layer1_0_conv1" in names and "layer4_2_bn3" in names and "fc" in names
    assert "layer1_0_add" in names          # the residual sum, named in its block's scope
    assert origin["layer1_0_conv1"] == "layer1_0_conv1"


def test_convnext_maps_the_channels_last_block() -> None:
    model, _, _ = model_and_size("convnext_tiny", "cpu")   # real values: the layer scale's init
    graph, _, _ = imported_graph(model, [3, 64, 64])
    ops = {layer.name: layer.op_name for layer in graph.layers}
    assert ops["features_1_0_block_2"] == "layernorm"      # LayerNorm after permute(0, 2, 3, 1)
    assert ops["features_1_0_block_3"] == "channel_dense"  # Linear on channels-last
    assert ops["features_1_0_layer_scale"] == "scale"
    assert ops["features_1_0_stochastic_depth"] == "drop_path"
    assert ops["features_0_1"] == "layernorm"               # torchvision's LayerNorm2d
    scale = graph.layer("features_1_0_layer_scale")
    assert scale.args["init"] == pytest.approx(1e-6)
    rates = [layer.args["rate"] for layer in graph.layers if layer.op_name == "drop_path"]
    assert rates[0] == 0.0 and rates[-1] == pytest.approx(0.1)


def test_shufflenet_channel_shuffle_and_split() -> None:
    model, size, _ = model_and_size("shufflenet_v2_x1_0")
    graph, _, _ = imported_graph(model, [3, size, size])
    shuffles = [layer for layer in graph.layers if layer.op_name == "channel_shuffle"]
    assert len(shuffles) == 16 and all(layer.args["groups"] == 2 for layer in shuffles)
    slices = [layer for layer in graph.layers if layer.op_name == "slice"]
    assert len(slices) == 2 * 13   # x.chunk(2, dim=1) in each of the 13 stride-1 units


# -- the command ---------------------------------------------------------------------------------

def test_import_command_writes_a_spec_that_loads(tmp_path, capsys) -> None:
    out = tmp_path / "r18.yaml"
    assert main(["import", "torchvision.models:resnet18", "--input", "3,224,224",
                 "-o", str(out)]) == 0
    err = capsys.readouterr().err
    assert "11,689,512 params" in err and "9,600 buffers" in err and str(out) in err
    assert out.read_text().startswith("# Imported by cnncalc from torchvision.models:resnet18")
    assert main(["params", str(out), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["total_params"] == 11_689_512
    # An existing file is kept unless --force.
    assert main(["import", "torchvision.models:resnet18", "--input", "3,64,64", "-o", str(out)]) == 2
    assert "--force" in capsys.readouterr().err
    assert main(["import", "torchvision.models:resnet18", "--input", "3,64,64", "-o", str(out),
                 "--force", "--name", "small"]) == 0
    assert "name: small" in out.read_text() and "[3, 64, 64]" in out.read_text()


def test_import_to_stdout_and_from_an_example_input(tmp_path, capsys) -> None:
    import numpy as np

    example = tmp_path / "x.npy"
    np.save(example, np.zeros((2, 3, 32, 32), dtype=np.float32))
    assert main(["import", "torchvision.models:squeezenet1_1", "--example-input", str(example),
                 "-o", "-", "--flat"]) == 0
    captured = capsys.readouterr()
    assert "input: [3, 32, 32]" in captured.out and "standard output" in captured.err
