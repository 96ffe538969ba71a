"""Time the analyses on the zoo and on a generated 10,000-layer network (a report, not a test).

    python benchmarks/bench_analysis.py [--layers 10000]

Prints wall time per stage (parse+expand+shapes, params, and each optional analysis that is
available) and the start-up time of `cnncalc summary` as a subprocess, which is what a user
feels. Numbers go into the README's performance section.
"""
from __future__ import annotations

import argparse
import importlib
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from cnncalc import load_graph_text  # noqa: E402

ANALYSES = (("cost", "analyze_cost"), ("memory", "analyze_memory"), ("rf", "analyze_rf"))


def generated_spec(layers: int) -> str:
    """A deep residual chain: conv/bn/relu units with an add every 4 layers."""
    units = layers // 4
    return (
        "input: [16, 64, 64]\n"
        "blocks:\n"
        "  unit:\n"
        "    layers:\n"
        "      - conv: {filters: 16, kernel: 3, padding: 1, bias: false}\n"
        "      - bn\n"
        "      - relu\n"
        "      - add: {in: [relu1, $in]}\n"
        f"layers:\n  - unit: {{repeat: {units}}}\n"
    )


def best_of(fn, repeats: int = 3) -> float:  # type: ignore[no-untyped-def]
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return best


def report(label: str, text: str) -> None:
    graph = load_graph_text(text, label)
    load_ms = best_of(lambda: load_graph_text(text, label)) * 1000
    parts = [f"{label:<24} {len(graph.layers):>6} layers  load+shapes {load_ms:7.1f} ms"]
    def count() -> int:  # the parameter rule of every layer, uncached
        return sum(t.size for layer in graph.layers for t in layer.op.tensors(layer))

    parts.append(f"params {best_of(count) * 1000:7.1f} ms")
    for module, function in ANALYSES:
        try:
            analyze = getattr(importlib.import_module(f"cnncalc.analysis.{module}"), function)
        except (ImportError, AttributeError):
            continue
        parts.append(f"{module} {best_of(lambda: analyze(graph)) * 1000:7.1f} ms")  # noqa: B023
    print("  ".join(parts))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--layers", type=int, default=10_000)
    args = parser.parse_args()
    for path in sorted((ROOT / "architectures").glob("*.yaml")):
        report(path.name, path.read_text())
    report(f"generated-{args.layers}", generated_spec(args.layers))
    for spec in ("resnet50.yaml", "mobilenet_v2.yaml"):
        command = [sys.executable, "-m", "cnncalc", "summary", str(ROOT / "architectures" / spec)]
        elapsed = best_of(lambda: subprocess.run(command, capture_output=True, check=True))  # noqa: B023
        print(f"`cnncalc summary {spec}` end to end: {elapsed * 1000:.0f} ms")


if __name__ == "__main__":
    main()
