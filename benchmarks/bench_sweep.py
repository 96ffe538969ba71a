"""Time a 1,000-variant sweep of ResNet-50 (40 widths x 25 resolutions) with `--jobs N`.

    PYTHONPATH=. python benchmarks/bench_sweep.py [--jobs 2] [--variants 1000]

The issue's target: 1,000 variants in under 60 s on 2 cores.
"""
from __future__ import annotations

import argparse
import re
import sys
import time
from pathlib import Path

from cnncalc.sweep import Job, grid, run_local

ROOT = Path(__file__).resolve().parent.parent


def resnet50_with_knobs() -> str:
    """ResNet-50 with a width multiplier on every stage and the input side as variables."""
    text = (ROOT / "architectures" / "resnet50.yaml").read_text()
    text = text.replace("input: [3, 224, 224]", "vars: {width: 1.0, res: 224}\ninput: [3, $res, $res]")
    text = re.sub(r"stage: \{width: (\d+),", r'stage: {width: "${make_divisible(\1 * width, 8)}",', text)
    return text.split("checks:")[0]  # the reference numbers hold only at width 1, res 224


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--variants", type=int, default=1000)
    args = parser.parse_args()
    widths = [round(0.25 + 0.05 * i, 2) for i in range(40)]
    sides = [96 + 16 * i for i in range(25)]
    variants = grid([("width", widths), ("res", sides)])[: args.variants]
    text = resnet50_with_knobs()
    jobs = [Job(text, "resnet50-knobs.yaml", v) for v in variants]
    start = time.perf_counter()
    rows = list(run_local(jobs, args.jobs))
    elapsed = time.perf_counter() - start
    errors = sum(1 for r in rows if r["error"])
    print(f"{len(rows)} variants of ResNet-50, --jobs {args.jobs}: {elapsed:.1f} s "
          f"({1000 * elapsed / len(rows):.1f} ms per variant), {errors} did not build")
    return 0


if __name__ == "__main__":
    sys.exit(main())
