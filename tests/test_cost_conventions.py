"""Peer conventions: torchinfo's Mult-Adds and Estimated Total Size, fvcore's flops and activation
count, reproduced from the graph; checked against the tools themselves when installed."""
from __future__ import annotations

import logging
import warnings

import pytest
import torch_zoo
from helpers import ARCH, graph

from cnncalc.analysis.conventions import CONVENTIONS, NOTES, peer_count, peer_memory
from cnncalc.analysis.cost import analyze_cost
from cnncalc.graph import load_graph

RESNET18 = ARCH / "resnet18.yaml"


def test_torchinfo_resnet18_by_hand() -> None:
    g = load_graph(RESNET18)
    peer = peer_count(g, "torchinfo")
    # Its 20 batch norms count their 9,600 parameters, the fc its 1,000 biases.
    assert peer.total_theirs == 1_814_073_344 + 9_600 + 1_000 == 1_814_083_944
    assert peer.total_ours == analyze_cost(g).total_macs
    fc = next(layer for layer in peer.layers if layer.name == "fc")
    assert (fc.ours, fc.theirs) == (512_000, 513_000) and "bias" in fc.note
    lines = {line.label: line.theirs for line in peer_memory(g, "torchinfo", batch=2).lines}
    assert lines["Input size"] == 2 * 3 * 224 * 224 * 4
    assert lines["Params size"] == 11_689_512 * 4
    assert lines["Estimated Total Size"] == (lines["Input size"] + lines["Params size"]
                                             + lines["Forward/backward pass size"])
    assert f"{lines['Estimated Total Size'] / 1e6:.2f}" == "127.46"  # torchinfo prints this


def test_torchinfo_charges_a_transposed_conv_per_output_position() -> None:
    g = graph("input: [2, 4, 4]\nlayers:\n  - deconv: {filters: 3, kernel: 2, stride: 2}\n")
    (layer,) = peer_count(g, "torchinfo").layers
    # 2*3*2*2 weights + 3 biases = 27 parameters x 8*8 output positions; true MACs: 32 inputs x 12.
    assert (layer.theirs, layer.ours) == (27 * 64, 32 * 12)
    assert "output positions" in layer.note


def test_fvcore_resnet18_by_hand() -> None:
    g = load_graph(RESNET18)
    bn_values = sum(layer.out_size for layer in g.layers if layer.op_name == "bn")
    peer = peer_count(g, "fvcore")
    # MACs + batch norm 2 per value (eval) + the 512x7x7 values the 2-D adaptive pool reads.
    assert peer.total_theirs == 1_814_073_344 + 2 * bn_values + 512 * 7 * 7 == 1_819_065_856
    assert peer_count(g, "fvcore", training=True).total_theirs == (
        1_814_073_344 + 5 * bn_values + 512 * 7 * 7)
    (activations,) = peer_memory(g, "fvcore").lines
    assert activations.theirs == sum(layer.out_size for layer in g.layers
                                     if layer.op_name in ("conv", "dense")) == 2_484_712


def test_fvcore_skips_what_it_does_not_know() -> None:
    g = graph("""
        input: [4, 16]
        layers:
          - conv: {filters: 4, kernel: 3, padding: 1}
          - relu
          - maxpool: 2
          - upsample: 2
          - gap
    """)
    peer = peer_count(g, "fvcore")
    assert [layer.note for layer in peer.layers if layer.op_name in ("upsample", "gap")] == [
        "1-D/3-D upsampling unsupported", "1-D/3-D pooling unsupported"]
    # fvcore itself, on the same network: the same figure per module and in total, and the
    # ops cnncalc says it skips are the ones it reports as unsupported.
    torch = pytest.importorskip("torch")
    fvcore_nn = pytest.importorskip("fvcore.nn")
    nn = torch.nn
    model = nn.Sequential(nn.Conv1d(4, 4, 3, padding=1), nn.ReLU(), nn.MaxPool1d(2),
                          nn.Upsample(scale_factor=2), nn.AdaptiveAvgPool1d(1)).eval()
    logging.disable(logging.WARNING)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            flops = fvcore_nn.FlopCountAnalysis(model, torch.zeros(1, 4, 16))
            flops.unsupported_ops_warnings(False)
            total, by_module, unsupported = flops.total(), flops.by_module(), flops.unsupported_ops()
    finally:
        logging.disable(logging.NOTSET)
    assert total == peer.total_theirs == 4 * 16 * (4 * 3)  # the conv's MACs, nothing else
    assert [layer.theirs for layer in peer.layers] == [by_module[str(i)] for i in range(5)]
    assert {"aten::upsample_nearest1d", "aten::adaptive_avg_pool1d"} <= set(unsupported)


def test_batch_scales_peer_figures() -> None:
    g = load_graph(RESNET18)
    assert peer_count(g, "torchinfo", batch=3).total_theirs == 3 * peer_count(g, "torchinfo").total_theirs


def test_every_convention_is_explained() -> None:
    assert set(NOTES) == set(CONVENTIONS)
    with pytest.raises(ValueError):
        peer_count(load_graph(RESNET18), "thop")


# ---------------------------------------------------------------------------- the tools themselves


@pytest.mark.torch
@pytest.mark.parametrize("name", torch_zoo.ZOO)
def test_torchinfo_itself(name: str) -> None:
    pytest.importorskip("torch")
    torchinfo = pytest.importorskip("torchinfo")
    build, shape, _ = torch_zoo.ZOO[name]
    g, batch = load_graph(ARCH / f"{name}.yaml"), 2
    stats = torchinfo.summary(build().eval(), input_size=(batch, *shape), verbose=0)
    assert stats.total_mult_adds == peer_count(g, "torchinfo", batch).total_theirs
    lines = {line.label: line.theirs for line in peer_memory(g, "torchinfo", batch).lines}
    assert stats.total_output_bytes == lines["Forward/backward pass size"]
    assert stats.total_param_bytes == lines["Params size"]
    # torchinfo measures the input with sys.getsizeof: the storage plus its Python object.
    assert 0 <= stats.total_input - lines["Input size"] <= 128


@pytest.mark.torch
@pytest.mark.parametrize("name", torch_zoo.ZOO)
def test_fvcore_itself(name: str) -> None:
    torch = pytest.importorskip("torch")
    fvcore_nn = pytest.importorskip("fvcore.nn")
    build, shape, _ = torch_zoo.ZOO[name]
    g = load_graph(ARCH / f"{name}.yaml")
    model, x = build().eval(), torch.zeros(2, *shape)
    logging.disable(logging.WARNING)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            flops = fvcore_nn.FlopCountAnalysis(model, x)
            acts = fvcore_nn.ActivationCountAnalysis(model, x)
            for analysis in (flops, acts):
                analysis.unsupported_ops_warnings(False)
                analysis.uncalled_modules_warnings(False)
            assert flops.total() == peer_count(g, "fvcore", batch=2).total_theirs
            assert acts.total() == peer_memory(g, "fvcore", batch=2).lines[0].theirs
    finally:
        logging.disable(logging.NOTSET)
