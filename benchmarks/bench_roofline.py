"""Measure this machine's CPU roofline (peak FLOP/s from a BLAS GEMM, bandwidth from a large
copy) with PyTorch, write it as a cnncalc device file, and compare cnncalc's latency lower
bounds with PyTorch's measured time per layer type.

    PYTHONPATH=. python benchmarks/bench_roofline.py [--out cpu.yaml] [--threads N]

The bound must stay below the measured time (it is a bound); the ratio says how close eager
PyTorch gets to this machine's roofline.
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))


def best_time(fn: Any, repeat: int = 7, number: int = 3) -> float:
    """The fastest of `repeat` runs of `number` calls, per call (the least disturbed run)."""
    fn()
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        for _ in range(number):
            fn()
        best = min(best, (time.perf_counter() - start) / number)
    return best


def measure_peak(n: int = 2048) -> float:
    """FLOP/s of a float32 n x n GEMM (2 n^3 FLOPs)."""
    import torch

    a, b = torch.randn(n, n), torch.randn(n, n)
    out = torch.empty(n, n)
    return 2 * n**3 / best_time(lambda: torch.mm(a, b, out=out))


def measure_bandwidth(mib: int = 256) -> float:
    """Bytes/s of a large copy (it reads and writes every byte: 2 x size crosses the bus)."""
    import torch

    src = torch.empty(mib * 2**20 // 4)
    dst = torch.empty_like(src)
    return 2 * src.numel() * 4 / best_time(lambda: dst.copy_(src))


def device_yaml(peak: float, bandwidth: float, factor: float = 1.0) -> str:
    return (f"name: this-cpu\npeak_flops: {{float32: {peak * factor:.6e}}}\n"
            f"bandwidth: {bandwidth * factor:.6e}\n"
            f"source: measured by benchmarks/bench_roofline.py (GEMM, copy) x {factor}\n")


LAYERS = {  # op -> (spec layer, input shape)
    "conv 3x3": ("conv: {filters: 64, kernel: 3, padding: 1}", (64, 56, 56)),
    "conv 1x1": ("conv: {filters: 256, kernel: 1}", (64, 56, 56)),
    "dense": ("dense: 1000", (2048,)),
    "relu": ("relu", (64, 112, 112)),
    "bn": ("bn", (64, 112, 112)),
    "maxpool": ("maxpool: {kernel: 3, stride: 2, padding: 1}", (64, 112, 112)),
    "add": ("add: {in: [input, input]}", (256, 56, 56)),
}


def torch_layer(graph: Any) -> Any:
    """The one layer of `graph` as a torch module (eval mode)."""
    from torch import nn

    layer = graph.layers[0]
    a, shape = layer.args, layer.in_shapes[0]
    if layer.op_name == "conv":
        k = a["kernel"] if isinstance(a["kernel"], int) else a["kernel"][0]
        p = a["padding"] if isinstance(a["padding"], int) else 0
        return nn.Conv2d(shape[0], a["filters"], k, padding=p)
    if layer.op_name == "dense":
        return nn.Linear(shape[0], a["units"])
    if layer.op_name == "relu":
        return nn.ReLU()
    if layer.op_name == "bn":
        return nn.BatchNorm2d(shape[0]).eval()
    if layer.op_name == "maxpool":
        return nn.MaxPool2d(3, 2, 1)
    if layer.op_name == "add":
        return _Add()
    raise KeyError(layer.op_name)


class _Add:
    def __call__(self, x: Any) -> Any:
        return x + x


def compare(device_text: str) -> list[tuple[str, float, float]]:
    """(layer type, cnncalc bound, measured torch time) for each entry of LAYERS."""
    import torch

    from cnncalc import load_graph_text
    from cnncalc.analysis.roofline import analyze_roofline
    from cnncalc.devices import parse_device

    device = parse_device(device_text, "cpu.yaml")
    rows = []
    for label, (layer, shape) in LAYERS.items():
        spec = f"input: {list(shape)}\nlayers:\n  - {layer}\n"
        graph = load_graph_text(spec, "layer.yaml")
        bound = analyze_roofline(graph, device).latency_bound_s
        module, x = torch_layer(graph), torch.randn(1, *shape)
        with torch.no_grad():
            measured = best_time(lambda m=module, v=x: m(v))
        rows.append((label, bound, measured))
    return rows


def main() -> int:
    import torch

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", help="write the measured device file here")
    parser.add_argument("--threads", type=int, default=None)
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    peak, bandwidth = measure_peak(), measure_bandwidth()
    print(f"threads {torch.get_num_threads()}: peak {peak / 1e9:.1f} GFLOP/s (float32 GEMM), "
          f"bandwidth {bandwidth / 1e9:.1f} GB/s (copy)")
    text = device_yaml(peak, bandwidth)
    if args.out:
        Path(args.out).write_text(text)
    print(f"{'layer':10} {'bound':>10} {'torch':>10} {'torch/bound':>11}")
    for label, bound, measured in compare(text):
        print(f"{label:10} {bound * 1e6:8.1f}us {measured * 1e6:8.1f}us {measured / bound:10.2f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
