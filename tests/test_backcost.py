"""The backward's compute (analysis/backcost.py, `flops --training`): hand-worked networks, and
PyTorch's own FLOP counter over a real forward + backward of the zoo's PyTorch twins."""
from __future__ import annotations

from pathlib import Path

import pytest
import torch_zoo

from cnncalc.analysis.backcost import analyze_training_cost
from cnncalc.graph import load_graph, load_graph_text
from cnncalc.report.counting import BACKWARD_END, BACKWARD_START, backward_table

ROOT = Path(__file__).resolve().parent.parent
ARCH = ROOT / "architectures"

SMALL = """
input: [3, 8, 8]
layers:
  - conv: {name: c1, filters: 4, kernel: 3, padding: 1}
  - relu: {name: r1}
  - conv: {name: c2, filters: 2, kernel: 3, stride: 2, padding: 1, bias: false}
  - flatten: {name: fl}
  - dense: {name: fc, units: 5}
"""


def test_hand_worked_network_without_the_input_gradient() -> None:
    cost = analyze_training_cost(load_graph_text(SMALL))
    c1, r1, c2, fl, fc = cost.backward
    # c1: 4x8x8 outputs x 3 channels x 9 taps = 6,912 MACs; its input is the network input,
    # so only the weight gradient (6,912 MACs) and the bias gradient (256 adds).
    assert (c1.grad_input_macs, c1.grad_weight_macs) == (0, 6912)
    assert (c1.grad_input_flops, c1.grad_weight_flops) == (0, 2 * 6912 + 256)
    assert (r1.grad_input_flops, r1.grad_weight_flops) == (256, 0)  # 1 compare per value
    # c2: 2x4x4 outputs x 4 channels x 9 taps = 1,152, once for each gradient; no bias.
    assert (c2.grad_input_macs, c2.grad_weight_macs) == (1152, 1152)
    assert (c2.grad_input_flops, c2.grad_weight_flops) == (2304, 2304)
    assert fl.flops == 0
    # fc: 32 x 5 = 160 each, + 5 bias adds.
    assert (fc.grad_input_macs, fc.grad_weight_macs) == (160, 160)
    assert (fc.grad_input_flops, fc.grad_weight_flops) == (320, 325)
    assert cost.backward_macs == 6912 + 2304 + 320
    assert cost.backward_flops == 256 + 13824 + 256 + 4608 + 645
    assert cost.total_flops == cost.forward.total_flops + cost.backward_flops
    assert cost.total_macs == 9536 + (6912 + 1152 + 160)


def test_the_input_gradient_adds_the_first_layers_grad_input() -> None:
    without = analyze_training_cost(load_graph_text(SMALL))
    with_input = analyze_training_cost(load_graph_text(SMALL), input_grad=True)
    assert with_input.backward[0].grad_input_macs == 6912
    assert with_input.backward_flops - without.backward_flops == 2 * 6912
    assert with_input.input_grad and not without.input_grad


def test_layers_before_the_first_weight_have_no_backward() -> None:
    cost = analyze_training_cost(load_graph_text("""
input: [2, 8, 8]
layers:
  - maxpool: {name: p, kernel: 2}
  - relu: {name: r}
  - conv: {name: c, filters: 3, kernel: 1}
  - relu: {name: r2}
"""))
    p, r, c, r2 = cost.backward
    assert p.flops == r.flops == 0 and p.how == ""
    assert c.grad_input_macs == 0 and c.grad_weight_macs == 3 * 16 * 2
    assert r2.grad_input_flops == 48


def test_a_fork_sums_its_gradients_once_per_extra_reader() -> None:
    cost = analyze_training_cost(load_graph_text("""
input: [2, 4, 4]
layers:
  - conv: {name: c, filters: 3, kernel: 1}
  - conv: {name: a, filters: 3, kernel: 1, bias: false}
  - conv: {name: b, in: c, filters: 3, kernel: 1, bias: false}
  - add: {name: s, in: [a, b, c]}
"""))
    # 'c' (3x4x4 = 48 values) is read by a, b and s: two sums of 48; add itself passes it on.
    c, a, b, s = cost.backward
    assert a.grad_input_flops == 2 * 48 * 3
    assert b.grad_input_flops == 2 * 48 * 3 + 48
    assert s.grad_input_flops == 48
    assert "summing the gradient of 'c'" in s.how


def test_batch_multiplies_every_figure() -> None:
    one = analyze_training_cost(load_graph_text(SMALL))
    three = analyze_training_cost(load_graph_text(SMALL), batch=3)
    assert three.backward_macs == 3 * one.backward_macs
    assert three.grad_input_flops == 3 * one.grad_input_flops
    assert three.grad_weight_flops == 3 * one.grad_weight_flops


def test_every_op_declares_its_backward_and_the_doc_table_is_current() -> None:
    doc = (ROOT / "docs" / "counting.md").read_text()
    assert doc.split(BACKWARD_START + "\n")[1].split("\n" + BACKWARD_END)[0] == backward_table()
    for line in backward_table().splitlines()[2:]:
        assert line.split("|")[3].strip(), line  # every op says what its backward does


def test_broadcast_and_multiply_backward() -> None:
    cost = analyze_training_cost(load_graph_text("""
input: [4, 3, 3]
layers:
  - conv: {name: c, filters: 4, kernel: 1}
  - gap: {name: g}
  - multiply: {name: m, in: [c, g]}
"""))
    m = cost.layer("m")
    # 2 inputs: 2 x 1 multiplies per output value (36), + the gate's broadcast sum 36 - 4.
    assert m.grad_input_flops == 2 * 36 + 32 + 36  # + the second reader of 'c' sums 36


# ---------------------------------------------------------------------------- PyTorch

TORCH_CASES = [
    # (zoo name, input shape for a fast run, with the input's gradient)
    ("lenet5", (1, 32, 32), False),
    ("lenet5", (1, 32, 32), True),
    ("resnet18", (3, 64, 64), False),
    ("resnet18", (3, 64, 64), True),
    ("mobilenet_v2", (3, 64, 64), False),  # grouped (depthwise) convs
    ("unet", (3, 32, 32), False),  # transposed convs
    ("m5_audio", (1, 4000), True),  # 1-D
]


def _torch_backward_flops(name: str, shape: tuple[int, ...], input_grad: bool) -> tuple[int, int]:
    """(forward, backward) FLOPs PyTorch's FlopCounterMode counts over a real training step."""
    torch = pytest.importorskip("torch")
    from torch.utils.flop_counter import FlopCounterMode

    build = torch_zoo.ZOO[name][0]
    torch.manual_seed(0)
    model = build()
    model.train()
    x = torch.randn(1, *shape, requires_grad=input_grad)
    with FlopCounterMode(display=False) as forward_only, torch.no_grad():
        model(x)
    with FlopCounterMode(display=False) as both:
        model(x).sum().backward()
    forward = forward_only.get_total_flops()
    return forward, both.get_total_flops() - forward


@pytest.mark.torch
@pytest.mark.parametrize("name, shape, input_grad", TORCH_CASES)
def test_backward_macs_equal_pytorchs_flop_counter(name: str, shape: tuple[int, ...],
                                                   input_grad: bool) -> None:
    forward, backward = _torch_backward_flops(name, shape, input_grad)
    graph = load_graph(ARCH / f"{name}.yaml", shape)
    cost = analyze_training_cost(graph, input_grad=input_grad)
    # PyTorch counts 2 FLOPs per multiply-accumulate of convolutions and matrix products only.
    # Its grad-weight rule for a grouped conv ignores the groups (torch 2.13/2.14
    # flop_counter.conv_backward_flop treats it as one group of in x out channels): it counts
    # `groups` times the products a grouped conv's weight gradient really has.
    over = sum((layer.attrs.groups - 1) * cost.backward[layer.index].grad_weight_macs
               for layer in graph.layers if layer.op_name in ("conv", "deconv"))
    assert forward == 2 * cost.forward.total_macs
    assert backward == 2 * (cost.backward_macs + over)


# ---------------------------------------------------------------------------- NumPy backward

MEASURED_CASES = [
    # every op with MACs: conv 1-D/2-D/3-D (strided, dilated, grouped, depthwise), deconv, dense
    """input: [3, 11, 9]
layers:
  - conv: {name: a, filters: 4, kernel: [3, 2], stride: 2, padding: 1}
  - relu: {name: r}
  - conv: {name: b, filters: 6, kernel: 3, dilation: 2, padding: same, groups: 2, bias: false}
  - conv: {name: d, groups: depthwise, kernel: 3, padding: 1}
  - deconv: {name: up, filters: 3, kernel: 3, stride: 2, padding: 1, output_padding: 1}
  - flatten: {name: f}
  - dense: {name: fc, units: 7}
""",
    """input: [2, 17]
layers:
  - conv: {name: a, filters: 5, kernel: 4, stride: 3}
  - deconv: {name: b, filters: 2, kernel: 3, groups: 1}
""",
    """input: [2, 5, 6, 4]
layers:
  - maxpool: {name: p, kernel: 1}
  - conv: {name: a, filters: 3, kernel: 2, padding: 1}
  - deconv: {name: b, filters: 4, kernel: 2, stride: 2}
""",
]


@pytest.mark.parametrize("input_grad", [False, True])
@pytest.mark.parametrize("spec", MEASURED_CASES + ["resnet18", "mobilenet_v2", "unet"])
def test_backward_macs_equal_what_the_numpy_backward_multiplies(spec: str, input_grad: bool) -> None:
    import numpy as np

    from cnncalc.backend import weights as W
    from cnncalc.backend.backward import run_backward

    small = {"resnet18": (3, 32, 32), "mobilenet_v2": (3, 32, 32), "unet": (3, 16, 16)}
    graph = (load_graph(ARCH / f"{spec}.yaml", small[spec]) if spec in small
             else load_graph_text(spec))
    batch = 2
    rng = np.random.default_rng(0)
    x = rng.standard_normal((batch, *graph.input_shape))
    seeds = {name: rng.standard_normal((batch, *graph.shape_of(name))) for name in graph.outputs}
    run = run_backward(graph, W.random_weights(graph), x, seeds, input_grad=input_grad,
                       count_macs=True)
    cost = analyze_training_cost(graph, batch, input_grad)
    expected = {layer.name: layer.macs for layer in cost.backward if layer.macs}
    assert run.macs == expected
