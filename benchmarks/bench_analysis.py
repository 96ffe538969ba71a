"""Time the analyses on the zoo and on a generated 10,000-layer network (a report, not a test).

    python benchmarks/bench_analysis.py [--layers 10000]

Prints wall time per stage (parse+expand+shapes, params, and each optional analysis that is
available), loading alone at N and 10 x N layers (YAML with libyaml and pure Python, expansion,
shapes; the ratio shows whether loading scales linearly), and the start-up time of
`cnncalc summary` as a subprocess, which is what a user feels. Numbers go into the README's
performance section.
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


def flat_spec(layers: int) -> str:
    """A spec written out layer by layer (no blocks): what the YAML parser sees at scale."""
    body = "".join(f"  - conv: {{filters: 16, kernel: 3, padding: 1, name: c{i}}}\n  - relu\n"
                   for i in range(layers // 2))
    return f"input: [16, 64, 64]\nlayers:\n{body}"


def report_loading(label: str, text: str) -> None:
    """Where loading spends its time: YAML (libyaml and pure Python), expansion, shapes."""
    from cnncalc.spec.document import load_spec
    from cnncalc.spec.source import gc_paused
    from cnncalc.spec.yamlload import load_text

    def yaml_only(pure: bool) -> None:
        with gc_paused():
            load_text(text, label, pure=pure)

    c_ms = best_of(lambda: yaml_only(False), 1) * 1000
    py_ms = best_of(lambda: yaml_only(True), 1) * 1000
    spec_ms = best_of(lambda: load_spec(text, label), 1) * 1000
    graph_ms = best_of(lambda: load_graph_text(text, label), 1) * 1000
    print(f"{label:<24} yaml (libyaml) {c_ms:8.1f} ms  yaml (pure) {py_ms:8.1f} ms  "
          f"yaml+expand {spec_ms:8.1f} ms  yaml+expand+shapes {graph_ms:8.1f} ms")


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
    for layers in (args.layers, 10 * args.layers):  # near-linear loading: compare the two
        report_loading(f"blocks-{layers}", generated_spec(layers))
        report_loading(f"flat-{layers}", flat_spec(layers))
    for spec in ("resnet50.yaml", "mobilenet_v2.yaml"):
        command = [sys.executable, "-m", "cnncalc", "summary", str(ROOT / "architectures" / spec)]
        elapsed = best_of(lambda: subprocess.run(command, capture_output=True, check=True))  # noqa: B023
        print(f"`cnncalc summary {spec}` end to end: {elapsed * 1000:.0f} ms")


if __name__ == "__main__":
    main()
