"""Backward pass of a zoo network: cnncalc's NumPy backward (cnncalc.backend.backward) vs
PyTorch CPU eager autograd (the plain torch.nn twin in tests/torch_zoo.py) with the same
weights, float32, on the same threads.

    python benchmarks/bench_backward.py [--model resnet50] [--size 224] [--batch 1]
                                        [--repeats 5] [--rounds 3] [--threads N]

What is timed is the backward alone, as a training step runs it: the gradients of
sum(output * R) w.r.t. every weight (not the input, which needs none), from a forward that
kept what backward needs. Both run in eval mode (batch norm with its running statistics,
cnncalc's forward). The NumPy side's backward time comes from `run_backward`'s own clock;
torch's is `loss.backward()` after an untimed forward. Blocks alternate (numpy, torch, ...)
so background load hits both alike; medians and the ratio are printed. Not a test: timings
depend on the machine.
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path
from typing import Any


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--model", default="resnet50", help="a stem of architectures/*.yaml")
    parser.add_argument("--size", type=int, default=224)
    parser.add_argument("--batch", type=int, default=1)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--threads", type=int, default=None,
                        help="BLAS and torch threads (default: both libraries' defaults)")
    args = parser.parse_args(argv)
    if args.threads:  # before NumPy loads its BLAS
        for name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
            os.environ[name] = str(args.threads)

    import numpy as np

    root = Path(__file__).resolve().parents[1]
    sys.path[:0] = [str(root), str(root / "tests")]  # cnncalc; torch_zoo, torch_weights
    import cnncalc
    from cnncalc.backend import weights as W
    from cnncalc.backend.backward import run_backward

    graph = cnncalc.load_graph(root / "architectures" / f"{args.model}.yaml", (3, args.size, args.size))
    weights = W.init_weights(graph, seed=0)
    rng = np.random.default_rng(1)
    x = rng.standard_normal((args.batch, *graph.input_shape), dtype=np.float32)
    out = graph.outputs[0]
    r = rng.standard_normal((args.batch, *graph.by_name[out].out_shape), dtype=np.float32)

    def numpy_backward() -> float:
        result = run_backward(graph, weights, x, {out: r}, dtype="float32", input_grad=False)
        return result.seconds["backward"]

    print(f"{args.model}, input {x.shape} float32, {graph.total_params:,} parameters")
    try:
        import torch
        import torch_weights
        import torch_zoo
    except ImportError:
        times = [numpy_backward() for _ in range(args.repeats)]
        print(f"cnncalc numpy backward: median {statistics.median(times) * 1e3:8.1f} ms")
        print("torch not importable: no comparison")
        return 0
    if args.threads:
        torch.set_num_threads(args.threads)
    model: Any = torch_zoo.ZOO[args.model][0]().eval()
    torch_weights.load_into(model, graph, weights)
    tx, tr = torch.from_numpy(x), torch.from_numpy(r)

    def torch_backward() -> float:
        model.zero_grad(set_to_none=True)
        loss = (model(tx) * tr).sum()
        start = time.perf_counter()
        loss.backward()
        return time.perf_counter() - start

    mine = run_backward(graph, weights, x, {out: r}, dtype="float32", input_grad=False).weights
    torch_backward()
    # float32 rounding grows with depth: the first layer's gradient differs most (tests compare
    # in float64 to 1e-9).
    modules = [m for m in model.modules() if getattr(m, "weight", None) is not None]
    layers = [layer for layer in graph.layers if layer.tensors]
    for which, layer, module in (("first", layers[0], modules[0]), ("last", layers[-1], modules[-1])):
        theirs, ours = module.weight.grad.numpy(), mine[f"{layer.name}.weight"]
        print(f"{which} layer's weight gradient ({layer.name}): max |numpy - torch| / max |torch| = "
              f"{np.abs(ours - theirs).max() / np.abs(theirs).max():.2e}")
    numpy_times: list[float] = []
    torch_times: list[float] = []
    for _ in range(args.rounds):
        numpy_backward()  # warm-up of the block (thread pools, allocator)
        numpy_times += [numpy_backward() for _ in range(args.repeats)]
        torch_backward()
        torch_times += [torch_backward() for _ in range(args.repeats)]
    a, b = statistics.median(numpy_times), statistics.median(torch_times)
    print(f"cnncalc numpy backward: median {a * 1e3:8.1f} ms   min {min(numpy_times) * 1e3:8.1f} ms")
    print(f"torch eager backward  : median {b * 1e3:8.1f} ms   min {min(torch_times) * 1e3:8.1f} ms   "
          f"({torch.get_num_threads()} threads)")
    print(f"ratio numpy / torch: median {a / b:.2f}x   min {min(numpy_times) / min(torch_times):.2f}x")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
