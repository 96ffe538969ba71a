"""ResNet-50 forward from the NumPy kernels vs PyTorch CPU eager.

Builds ResNet-50 (v1.5: stride on the 3x3 conv of each bottleneck) directly from
``cnncalc.backend.kernels`` -- conv / batch norm / relu / max pool / residual add, random
He-init weights and random BN statistics, no cnncalc graph -- times it, and when torch is
importable times the same network (same weights) with ``torch.nn.functional`` in eval mode
and prints both times and the ratio. It also checks the two outputs agree.

    python benchmarks/bench_kernels.py [--repeats 10] [--rounds 3] [--batch 1] [--size 224]
                                       [--profile]
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections import defaultdict
from collections.abc import Callable
from typing import Any

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

from cnncalc.backend import kernels as K  # noqa: E402

DT = np.float32
STAGES = ((64, 3, 1), (128, 4, 2), (256, 6, 2), (512, 3, 2))  # (width, blocks, stride)


def _conv_w(rng: np.random.Generator, cout: int, cin: int, k: int) -> np.ndarray:
    # He (Kaiming normal, fan_in) init keeps activations O(1) through 50 layers.
    return (rng.standard_normal((cout, cin, k, k)) * np.sqrt(2.0 / (cin * k * k))).astype(DT)


def _bn(rng: np.random.Generator, c: int) -> dict[str, np.ndarray]:
    return {
        "mean": (rng.standard_normal(c) * 0.1).astype(DT),
        "var": rng.uniform(0.5, 1.5, c).astype(DT),
        "gamma": rng.uniform(0.5, 1.0, c).astype(DT),
        "beta": (rng.standard_normal(c) * 0.1).astype(DT),
    }


def build(seed: int = 0) -> dict[str, Any]:
    """Random ResNet-50 parameters: stem + 16 bottlenecks (fc head left out: conv trunk)."""
    rng = np.random.default_rng(seed)
    net: dict[str, Any] = {"stem": _conv_w(rng, 64, 3, 7), "stem_bn": _bn(rng, 64), "blocks": []}
    cin = 64
    for width, n, stride in STAGES:
        for i in range(n):
            blk = {
                "stride": stride if i == 0 else 1,
                "w1": _conv_w(rng, width, cin, 1),
                "bn1": _bn(rng, width),
                "w2": _conv_w(rng, width, width, 3),
                "bn2": _bn(rng, width),
                "w3": _conv_w(rng, width * 4, width, 1),
                "bn3": _bn(rng, width * 4),
            }
            if i == 0:
                blk["wd"] = _conv_w(rng, width * 4, cin, 1)
                blk["bnd"] = _bn(rng, width * 4)
            net["blocks"].append(blk)
            cin = width * 4
    return net


class _Timer:
    """Optional per-op wall-clock accumulator for --profile."""

    def __init__(self, on: bool) -> None:
        self.on = on
        self.t: dict[str, float] = defaultdict(float)

    def __call__(self, name: str, fn: Callable[..., np.ndarray], *a: Any, **kw: Any) -> np.ndarray:
        if not self.on:
            return fn(*a, **kw)
        t0 = time.perf_counter()
        r = fn(*a, **kw)
        self.t[name] += time.perf_counter() - t0
        return r


def forward_numpy(net: dict[str, Any], x: np.ndarray, tm: _Timer | None = None) -> np.ndarray:
    tm = tm or _Timer(False)

    def bn(y: np.ndarray, p: dict[str, np.ndarray]) -> np.ndarray:
        # In place on the fresh conv output (nothing else holds it).
        return tm("bn", K.batch_norm_inference, y, p["mean"], p["var"], p["gamma"], p["beta"], 1e-5, out=y)

    def relu_(y: np.ndarray) -> np.ndarray:
        return tm("relu", K.relu, y, out=y)  # in place, as torchvision's ReLU(inplace=True)

    y = tm("conv7x7", K.conv, x, net["stem"], None, 2, 3)
    y = relu_(bn(y, net["stem_bn"]))
    y = tm("maxpool", K.max_pool, y, 3, 2, 1)
    for blk in net["blocks"]:
        s = blk["stride"]
        h = relu_(bn(tm("conv1x1", K.conv, y, blk["w1"]), blk["bn1"]))
        h = relu_(bn(tm("conv3x3", K.conv, h, blk["w2"], None, s, 1), blk["bn2"]))
        h = bn(tm("conv1x1", K.conv, h, blk["w3"]), blk["bn3"])
        idt = bn(tm("conv1x1", K.conv, y, blk["wd"], None, s), blk["bnd"]) if "wd" in blk else y
        h = tm("add", np.add, h, idt, out=h)
        y = relu_(h)
    return y


def forward_torch(net: dict[str, Any], x: Any) -> Any:
    import torch
    import torch.nn.functional as F

    if "_torch" not in net:  # convert the weights once, cache them on the net dict
        conv = {}

        def t(a: np.ndarray) -> Any:
            return torch.from_numpy(np.ascontiguousarray(a))

        def tbn(p: dict[str, np.ndarray]) -> tuple[Any, ...]:
            return (t(p["mean"]), t(p["var"]), t(p["gamma"]), t(p["beta"]))

        conv["stem"] = (t(net["stem"]), tbn(net["stem_bn"]))
        blocks = []
        for blk in net["blocks"]:
            tb = {k: (t(v) if k.startswith("w") else v) for k, v in blk.items() if not k.startswith("bn")}
            for k in ("bn1", "bn2", "bn3", "bnd"):
                if k in blk:
                    tb[k] = tbn(blk[k])
            blocks.append(tb)
        net["_torch"] = (conv, blocks)
    conv, blocks = net["_torch"]

    def bn(y: Any, p: tuple[Any, ...]) -> Any:
        return F.batch_norm(y, p[0], p[1], p[2], p[3], False, 0.0, 1e-5)

    w, p = conv["stem"]
    y = F.relu(bn(F.conv2d(x, w, None, 2, 3), p), inplace=True)
    y = F.max_pool2d(y, 3, 2, 1)
    for blk in blocks:
        s = blk["stride"]
        h = F.relu(bn(F.conv2d(y, blk["w1"]), blk["bn1"]), inplace=True)
        h = F.relu(bn(F.conv2d(h, blk["w2"], None, s, 1), blk["bn2"]), inplace=True)
        h = bn(F.conv2d(h, blk["w3"]), blk["bn3"])
        idt = bn(F.conv2d(y, blk["wd"], None, s), blk["bnd"]) if "wd" in blk else y
        h += idt
        y = F.relu(h, inplace=True)
    return y


def _time(fn: Callable[[], Any], repeats: int, warmup: int = 2) -> list[float]:
    for _ in range(warmup):
        fn()
    ts = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        ts.append(time.perf_counter() - t0)
    return ts


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=10)
    ap.add_argument("--rounds", type=int, default=3, help="alternating numpy/torch blocks")
    ap.add_argument("--batch", type=int, default=1)
    ap.add_argument("--size", type=int, default=224)
    ap.add_argument("--profile", action="store_true", help="per-op time breakdown (numpy)")
    args = ap.parse_args(argv)

    net = build()
    x = np.random.default_rng(1).standard_normal((args.batch, 3, args.size, args.size)).astype(DT)

    with K.count_macs() as mc:
        y_np = forward_numpy(net, x)
    print(f"ResNet-50 trunk, input {x.shape} float32, output {y_np.shape}")
    print(f"conv MACs per sample (GEMM-measured): {mc.per_sample / 1e9:.3f} G")

    try:
        import torch
    except ImportError:
        torch = None  # type: ignore[assignment]

    run_np = lambda: forward_numpy(net, x)  # noqa: E731
    if torch is None:
        ts_np = _time(run_np, args.repeats)
        print(f"numpy kernels : median {np.median(ts_np) * 1e3:8.2f} ms   min {min(ts_np) * 1e3:8.2f} ms")
        print("torch not importable: no comparison")
    else:
        tx = torch.from_numpy(x)
        with torch.no_grad():
            y_t = forward_torch(net, tx).numpy()
            run_t = lambda: forward_torch(net, tx)  # noqa: E731
            # Alternate blocks of runs so background load on the machine hits both alike.
            # Not run-by-run: the BLAS and OpenMP worker pools spin-wait after each call
            # and would steal the cores from each other.
            ts_np, ts_t = [], []
            for _ in range(args.rounds):
                ts_np += _time(run_np, args.repeats)
                ts_t += _time(run_t, args.repeats)
        med_np, med_t = float(np.median(ts_np)), float(np.median(ts_t))
        rel = float(np.max(np.abs(y_np - y_t)) / (np.max(np.abs(y_t)) + 1e-30))
        print(f"numpy kernels : median {med_np * 1e3:8.2f} ms   min {min(ts_np) * 1e3:8.2f} ms")
        print(
            f"torch eager   : median {med_t * 1e3:8.2f} ms   min {min(ts_t) * 1e3:8.2f} ms"
            f"   ({torch.get_num_threads()} threads)"
        )
        print(f"max |diff| / max |y| = {rel:.2e}")
        print(f"ratio numpy / torch: median {med_np / med_t:.2f}x   min {min(ts_np) / min(ts_t):.2f}x")

    if args.profile:
        tm = _Timer(True)
        for _ in range(args.repeats):
            forward_numpy(net, x, tm)
        print("numpy per-op breakdown (mean per forward):")
        for k, v in sorted(tm.t.items(), key=lambda kv: -kv[1]):
            print(f"    {k:10s} {v / args.repeats * 1e3:8.2f} ms")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
