"""Forward pass of a zoo network: cnncalc's NumPy backend (the graph from
architectures/MODEL.yaml, run by cnncalc.backend.run) vs PyTorch CPU eager (the plain torch.nn
twin in tests/torch_zoo.py) with the same weights, on the same machine. Also times a whole
`cnncalc verify` of the spec, split into weights + calibration / forward / checks.

    python benchmarks/bench_forward.py [--model resnet50|mobilenet_v2|efficientnet_b0|...]
                                       [--repeats 10] [--rounds 3] [--batch 1] [--size 224]
                                       [--no-verify]

Runs alternate in blocks (numpy, torch, numpy, ...) so background load hits both alike; the
medians and the ratio are printed. Not a test: timings depend on the machine.
"""
from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))  # torch_zoo, torch_weights

import cnncalc  # noqa: E402
from cnncalc.backend import run  # noqa: E402
from cnncalc.backend import weights as W  # noqa: E402


def timed(fn: Callable[[], Any], repeats: int, warmup: int = 2) -> list[float]:
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return times


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="resnet50", help="a stem of architectures/*.yaml")
    parser.add_argument("--repeats", type=int, default=10)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--batch", type=int, default=1)
    parser.add_argument("--size", type=int, default=224)
    parser.add_argument("--no-verify", action="store_true", help="skip timing `cnncalc verify`")
    args = parser.parse_args(argv)

    spec = ROOT / "architectures" / f"{args.model}.yaml"
    graph = cnncalc.load_graph(spec, (3, args.size, args.size))
    weights = W.init_weights(graph, seed=0)
    x = np.random.default_rng(1).standard_normal((args.batch, *graph.input_shape), dtype=np.float32)
    numpy_run = lambda: run.forward(graph, x, weights)  # noqa: E731
    print(f"{args.model}, input {x.shape} float32, {graph.total_params:,} parameters")

    try:
        import torch
        import torch_weights
        import torch_zoo
    except ImportError:
        times = timed(numpy_run, args.repeats)
        print(f"cnncalc numpy : median {statistics.median(times) * 1e3:8.1f} ms")
        print("torch not importable: no comparison")
        return 0

    model = torch_zoo.ZOO[args.model][0]().eval()
    torch_weights.load_into(model, graph, weights)
    tx = torch.from_numpy(x)
    with torch.no_grad():
        mine = numpy_run().outputs[graph.outputs[0]]
        theirs = model(tx).numpy()
        print(f"max |numpy - torch| / max |torch| = "
              f"{np.abs(mine - theirs).max() / np.abs(theirs).max():.2e}")
        torch_run = lambda: model(tx)  # noqa: E731
        # Blocks, not run-by-run: the BLAS and OpenMP thread pools spin-wait after each call
        # and would steal the cores from each other.
        ours, torchs = [], []
        for _ in range(args.rounds):
            ours += timed(numpy_run, args.repeats)
            torchs += timed(torch_run, args.repeats)
    a, b = statistics.median(ours), statistics.median(torchs)
    print(f"cnncalc numpy : median {a * 1e3:8.1f} ms   min {min(ours) * 1e3:8.1f} ms")
    print(f"torch eager   : median {b * 1e3:8.1f} ms   min {min(torchs) * 1e3:8.1f} ms   "
          f"({torch.get_num_threads()} threads)")
    print(f"ratio numpy / torch: median {a / b:.2f}x   min {min(ours) / min(torchs):.2f}x")

    if not args.no_verify:
        verify_split(spec, args.batch, args.rounds)
    return 0


def verify_split(spec: Path, batch: int, rounds: int) -> None:
    """Where a `verify` run's time goes (in this process, median of `rounds` runs), then one
    whole `cnncalc verify` process at the default size for the total a user waits."""
    from cnncalc.backend import verify as V

    graph = cnncalc.load_graph(spec)
    splits = []
    for _ in range(rounds):
        plans, _ = V.prepare(graph, batch=batch, rf_layers=[], limit=2**40)
        start = time.perf_counter()
        report = V.verify(graph, batch=batch, plans=plans)
        total = time.perf_counter() - start
        w, f = report.seconds["weights"], report.seconds["forward"]
        splits.append((total, w, f, total - w - f))
        if not report.ok:
            print(f"verify FAILED: {[r.check for r in report.failures]}")
    total, w, f, rest = (statistics.median(col) for col in zip(*splits))
    print(f"verify split (batch {batch}, median of {rounds}): total {total * 1e3:.0f} ms = "
          f"weights+calibration {w * 1e3:.0f} ms ({w / total:.0%}) + forward {f * 1e3:.0f} ms "
          f"({f / total:.0%}) + checks {rest * 1e3:.0f} ms ({rest / total:.0%})")
    start = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "cnncalc", "verify", str(spec)],
                          capture_output=True, text=True, env={**os.environ, "PYTHONPATH": str(ROOT)})
    print(f"cnncalc verify {spec.name}: exit {done.returncode} in "
          f"{time.perf_counter() - start:.2f} s (whole process)")
    print(done.stdout.strip().splitlines()[-1] if done.stdout else done.stderr)


if __name__ == "__main__":
    raise SystemExit(main())
