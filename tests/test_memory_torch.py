"""Memory figures against what PyTorch really allocates on the CPU.

Method: torch.cuda is not available here, so the oracle is the CPU allocator as PyTorch's
profiler records it (`profile_memory=True`): every allocation and free with its time and size,
and every operator with its start and end. The running sum of the allocations is the memory
held at any moment of the profiled region; tensors that exist before it (input, parameters,
gradients, optimizer state) are added from their storages.

cnncalc models the tensors a runtime holds *between* kernels, so the comparison reads the
running sum at the end of every top-level operator of the forward pass and of every autograd
node (`...Backward0`) of the backward pass, before the engine frees what that node consumed:
the maximum of those is the peak cnncalc predicts. It must agree to within 1 KiB (a few bytes
of PyTorch bookkeeping and bias-gradient temporaries). The raw peak, inside kernels, is higher:
oneDNN convolutions reorder their operands into scratch buffers (5% more for the residual
net below, half as much again for the branchy one); kernel scratch is not modelled.

Also checked exactly: what a training forward leaves held for backward (except that PyTorch's
CPU dropout keeps a float mask where cnncalc counts CUDA's 1-byte bool mask), and the sizes of
parameters, gradients, buffers and Adam's two moments.

The twins hold no Python local past its last use, and the training step holds the network's
output and starts backward from a loss, as a training loop does (`outputs = model(x);
loss(outputs).backward()`): a local naming a tensor keeps it alive, which is Python, not PyTorch.
"""
from __future__ import annotations

import bisect
from collections.abc import Callable
from typing import Any

import pytest
from helpers import graph

from cnncalc.analysis.memory import analyze_memory

torch = pytest.importorskip("torch")
pytestmark = pytest.mark.torch
nn = torch.nn

RESIDUAL = """
input: [3, 64, 64]
layers:
  - conv: {filters: 16, kernel: 3, padding: 1, bias: false, name: c1}
  - bn: {name: bn1}
  - relu: {name: r1}
  - maxpool: {kernel: 2, name: p1}
  - conv: {filters: 32, kernel: 3, padding: 1, name: c2}
  - bn: {name: bn2}
  - relu: {name: r2}
  - conv: {filters: 32, kernel: 3, padding: 1, bias: false, name: c3}
  - bn: {name: bn3}
  - conv: {filters: 32, kernel: 1, bias: false, in: p1, name: sc}
  - add: {in: [bn3, sc], name: add}
  - relu: {name: r3}
  - gap: {name: gap}
  - flatten: {name: flat}
  - dropout: {rate: 0.5, name: drop}
  - dense: {units: 10, name: fc}
"""


class Residual(nn.Module):  # type: ignore[misc]
    def __init__(self) -> None:
        super().__init__()
        self.c1, self.bn1 = nn.Conv2d(3, 16, 3, padding=1, bias=False), nn.BatchNorm2d(16)
        self.c2, self.bn2 = nn.Conv2d(16, 32, 3, padding=1), nn.BatchNorm2d(32)
        self.c3, self.bn3 = nn.Conv2d(32, 32, 3, padding=1, bias=False), nn.BatchNorm2d(32)
        self.sc = nn.Conv2d(16, 32, 1, bias=False)
        self.drop, self.fc = nn.Dropout(0.5), nn.Linear(32, 10)

    def forward(self, x: Any) -> Any:
        x = nn.functional.max_pool2d(torch.relu_(self.bn1(self.c1(x))), 2)
        y = self.bn3(self.c3(torch.relu_(self.bn2(self.c2(x)))))
        y += self.sc(x)  # in place, as torchvision's blocks
        y = torch.relu_(y)
        return self.fc(self.drop(torch.flatten(nn.functional.adaptive_avg_pool2d(y, 1), 1)))


UNETISH = """
input: [3, 32, 32]
layers:
  - conv: {filters: 8, kernel: 3, padding: 1, bias: false, name: c1}
  - bn: {name: bn1}
  - relu: {name: enc}
  - maxpool: {kernel: 2, name: down}
  - conv: {filters: 16, kernel: 3, padding: 1, name: c2}
  - relu: {name: r2}
  - deconv: {filters: 8, kernel: 2, stride: 2, name: up}
  - concat: {in: [up, enc], name: cat}
  - conv: {filters: 8, kernel: 3, padding: 1, name: c3}
  - upsample: {scale: 2, name: big}
  - sigmoid: {name: out}
"""


class Unetish(nn.Module):  # type: ignore[misc]
    def __init__(self) -> None:
        super().__init__()
        self.c1, self.bn1 = nn.Conv2d(3, 8, 3, padding=1, bias=False), nn.BatchNorm2d(8)
        self.c2, self.up = nn.Conv2d(8, 16, 3, padding=1), nn.ConvTranspose2d(16, 8, 2, 2)
        self.c3 = nn.Conv2d(16, 8, 3, padding=1)

    def joined(self, x: Any) -> Any:
        enc = torch.relu_(self.bn1(self.c1(x)))
        return torch.cat([self.up(torch.relu_(self.c2(nn.functional.max_pool2d(enc, 2)))), enc], 1)

    def forward(self, x: Any) -> Any:
        up = nn.functional.interpolate(self.c3(self.joined(x)), scale_factor=2, mode="nearest")
        return torch.sigmoid(up)


BRANCHY = """
input: [3, 32, 32]
layers:
  - conv: {filters: 8, kernel: 3, padding: 1, bias: false, name: c1}
  - bn: {name: bn1}
  - relu: {name: enc}
  - conv: {filters: 8, kernel: 3, padding: 1, name: c2}
  - relu: {name: r2}
  - concat: {in: [enc, r2], name: cat}
  - conv: {filters: 4, kernel: 1, name: c3}
  - sigmoid: {name: out}
"""


class Branchy(nn.Module):  # type: ignore[misc]
    def __init__(self) -> None:
        super().__init__()
        self.c1, self.bn1 = nn.Conv2d(3, 8, 3, padding=1, bias=False), nn.BatchNorm2d(8)
        self.c2, self.c3 = nn.Conv2d(8, 8, 3, padding=1), nn.Conv2d(16, 4, 1)

    def joined(self, x: Any) -> Any:
        enc = torch.relu_(self.bn1(self.c1(x)))
        return torch.cat([enc, torch.relu_(self.c2(enc))], 1)

    def forward(self, x: Any) -> Any:
        # No local outlives its last use (a local would hold its tensor: Python, not PyTorch).
        return torch.sigmoid(self.c3(self.joined(x)))


OPTION_A = """
input: [8, 16, 16]
layers:
  - conv: {filters: 16, kernel: 3, stride: 2, padding: 1, bias: false, name: c1}
  - bn: {name: bn1}
  - slice: {axis: 1, step: 2, in: input, name: rows}
  - slice: {axis: 2, step: 2, name: cols}
  - channel_pad: {before: 4, after: 4, name: shortcut}
  - add: {in: [bn1, shortcut], name: join}
  - relu: {name: r1}
  - conv: {filters: 16, kernel: 3, padding: 1, name: c2}
  - scale: {init: 0.1, name: gamma}
  - drop_path: {rate: 0.5, name: drop}
  - add: {in: [drop, r1], name: join2}
  - gap: {name: gap}
  - flatten: {name: flat}
  - dense: {units: 10, name: fc}
"""


class OptionA(nn.Module):  # type: ignore[misc]
    """A ResNet option-A shortcut (x[:, :, ::2, ::2], F.pad on the channels) and a ConvNeXt-style
    layer scale and drop path (timm's drop_path) on a residual branch."""

    def __init__(self) -> None:
        super().__init__()
        self.c1, self.bn1 = nn.Conv2d(8, 16, 3, 2, 1, bias=False), nn.BatchNorm2d(16)
        self.c2 = nn.Conv2d(16, 16, 3, padding=1)
        self.gamma = nn.Parameter(torch.full((16,), 0.1))
        self.fc = nn.Linear(16, 10)

    def drop_path(self, x: Any) -> Any:
        if not self.training:
            return x
        keep = x.new_empty((x.shape[0], 1, 1, 1)).bernoulli_(0.5).div_(0.5)
        return x * keep

    def block(self, x: Any) -> Any:
        y = self.bn1(self.c1(x))
        y += nn.functional.pad(x[:, :, ::2, ::2], (0, 0, 0, 0, 4, 4))
        return torch.relu_(y)

    def forward(self, x: Any) -> Any:
        r1 = self.block(x)
        y = self.drop_path(self.gamma[:, None, None] * self.c2(r1))
        y += r1
        return self.fc(torch.flatten(nn.functional.adaptive_avg_pool2d(y, 1), 1))


def nbytes(t: Any) -> int:
    return int(t.untyped_storage().nbytes())


class Measured:
    """Bytes allocated inside a profiled region: at the raw peak, at the peak between kernels
    (ends of top-level ops and of autograd nodes), and still held at the end."""

    def __init__(self, fn: Callable[[], Any]) -> None:
        from torch.profiler import ProfilerActivity, profile

        with profile(activities=[ProfilerActivity.CPU], profile_memory=True) as prof:
            self.result = fn()
        try:
            events = list(prof.profiler.kineto_results.events())
        except AttributeError:  # pragma: no cover - a torch without this profiler interface
            pytest.skip("this torch's profiler does not expose its events")
        allocs = sorted((e.start_ns(), e.nbytes()) for e in events if e.name() == "[memory]")
        ops = [(e.start_ns(), e.start_ns() + e.duration_ns(), e.name()) for e in events
               if e.name() != "[memory]"]
        top = [end for start, end, name in ops if not name.startswith("autograd::engine")
               and not any(s <= start and end <= e and (s, e) != (start, end) for s, e, _ in ops)]
        nodes = [end for _, end, name in ops if name.endswith("Backward0")]
        times, totals, total = [], [], 0
        for time, size in allocs:
            total += size
            times.append(time)
            totals.append(total)
        self.raw = max(totals, default=0)
        self.held = total
        self.between = max((totals[i] for i in (bisect.bisect_right(times, t) - 1
                                                for t in top + nodes) if i >= 0), default=0)


NETS = [(RESIDUAL, Residual, (3, 64, 64)), (BRANCHY, Branchy, (3, 32, 32)),
        (UNETISH, Unetish, (3, 32, 32)), (OPTION_A, OptionA, (8, 16, 16))]
# The training peak of OptionA is not modelled to PyTorch's byte yet: its backward peaks in the
# layer scale's MulBackward0, whose gamma gradient leaves the node unreduced (input-sized; the
# engine sums it to gamma's shape afterwards), and PyTorch's engine keeps the first gradient
# reaching a fork (r1) as the accumulation buffer where cnncalc allocates a new one.
TRAINING_PEAK_NETS = NETS[:3]


@pytest.mark.parametrize("spec, model, shape", NETS)
@pytest.mark.parametrize("batch", [4, 16])
def test_inference_peak_equals_pytorch(spec: str, model: Any, shape: tuple[int, ...],
                                       batch: int) -> None:
    torch.manual_seed(0)
    net, x = model().eval(), torch.randn(batch, *shape)

    def forward() -> None:
        with torch.no_grad():
            net(x)

    measured = Measured(forward)
    predicted = analyze_memory(graph(spec), batch=batch).inference_peak_bytes
    assert abs(nbytes(x) + measured.between - predicted) <= 1024
    assert measured.raw >= measured.between


@pytest.mark.parametrize("spec, model, shape", TRAINING_PEAK_NETS)
def test_training_activation_peak_equals_pytorch(spec: str, model: Any,
                                                 shape: tuple[int, ...]) -> None:
    batch = 8
    torch.manual_seed(0)
    net, x = model().train(), torch.randn(batch, *shape)
    w = torch.randn(batch, *graph(spec).layers[-1].out_shape)  # a loss: sum(outputs * w)
    (net(x) * w).sum().backward()  # warm-up: the gradients exist, as in a running loop

    def step() -> Any:
        outputs = net(x)
        (outputs * w).sum().backward()
        return outputs

    measured = Measured(step)
    t = analyze_memory(graph(spec), batch=batch, training=True).training
    assert t is not None
    assert abs(nbytes(x) + measured.between - t.activation_peak_bytes) <= 1024


@pytest.mark.parametrize("spec, model, shape", NETS)
def test_training_forward_keeps_what_cnncalc_says(spec: str, model: Any,
                                                  shape: tuple[int, ...]) -> None:
    batch = 8
    torch.manual_seed(0)
    net, x = model().train(), torch.randn(batch, *shape)
    measured = Measured(lambda: net(x))
    g = graph(spec)
    t = analyze_memory(g, batch=batch, training=True).training
    assert t is not None
    cpu_mask = sum(3 * layer.out_size * batch for layer in g.layers if layer.op_name == "dropout")
    output_saved = g.layers[-1].op_name == "sigmoid"  # sigmoid keeps its output
    # Held after forward: everything saved (the input was allocated before) + the output.
    expected = t.saved_bytes - nbytes(x) + (0 if output_saved else nbytes(measured.result))
    assert measured.held == expected + cpu_mask


def test_training_weights_gradients_and_adam_state_equal_pytorch() -> None:
    batch = 16
    torch.manual_seed(0)
    net, x = Residual().train(), torch.randn(batch, 3, 64, 64)
    optimizer = torch.optim.Adam(net.parameters())
    net(x).sum().backward()
    optimizer.step()
    params = sum(nbytes(p) for p in net.parameters())
    grads = sum(nbytes(p.grad) for p in net.parameters())
    moments = sum(nbytes(t) for state in optimizer.state.values()
                  for key, t in state.items() if key in ("exp_avg", "exp_avg_sq"))
    buffers = sum(nbytes(b) for n, b in net.named_buffers() if "num_batches" not in n)
    t = analyze_memory(graph(RESIDUAL), batch=batch, training=True, optimizer="adam").training
    assert t is not None
    assert (t.params_bytes, t.gradients_bytes, t.optimizer_bytes, t.buffers_bytes) == (
        params, grads, moments, buffers)


@pytest.mark.parametrize("padding, output_padding", [(1, 0), (0, 1), (1, 1)])
def test_a_cropping_deconv_holds_only_its_output(padding: int, output_padding: int) -> None:
    # PyTorch's transposed conv writes into an output of the cropped size (its scratch is freed
    # inside the kernel); cnncalc predicts that, and the NumPy kernel (verify) must not keep the
    # uncropped buffer alive behind a view of it.
    from cnncalc.backend.verify import verify

    spec = (f"input: [1, 4]\nlayers:\n  - deconv: {{filters: 1, kernel: 3, stride: 2, "
            f"padding: {padding}, output_padding: {output_padding}}}\n")
    net = nn.ConvTranspose1d(1, 1, 3, stride=2, padding=padding,
                             output_padding=output_padding).double()
    x = torch.randn(1, 1, 4, dtype=torch.float64)

    def forward() -> None:
        with torch.no_grad():
            net(x)

    measured = Measured(forward)
    g = graph(spec)
    predicted = analyze_memory(g, batch=1, dtype="float64").inference_peak_bytes
    assert nbytes(x) + measured.between == predicted
    report = verify(g, dtype="float64")
    assert [r for r in report.failures if r.check == "memory"] == []
