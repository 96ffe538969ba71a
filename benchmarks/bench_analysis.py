"""Time the analyses on the zoo and on generated deep and wide networks (a report, not a test).

    python benchmarks/bench_analysis.py [--sizes 10000,100000] [--no-zoo]

Prints, as plain text lines:
- per zoo network: load+shapes and each analysis;
- per generated family (a ReLU/conv chain, a residual network, a wide add and a wide concat
  of thousands of inputs) and size: load+shapes (the spec's part) and each analysis as a
  library call: `summary` (what the summary table needs: cost, memory, receptive fields
  without their warnings), `rf` (receptive fields and their warnings), `memory` (inference
  and training) and `flops`; then time(largest) / time(smallest) per analysis;
- the start-up of `cnncalc summary` as a subprocess against the interpreter floor
  (`python -c "import yaml, click"`), in wall time.
Analyses are timed in CPU seconds of the process (best of a few runs), which a busy machine
disturbs far less than wall time; on an idle machine the two agree.
Numbers go into the README's performance section.
"""
from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from cnncalc import Graph, load_graph_text  # noqa: E402
from cnncalc.analysis.cost import analyze_cost  # noqa: E402
from cnncalc.analysis.memory import analyze_memory  # noqa: E402
from cnncalc.analysis.rf import analyze_rf  # noqa: E402


def chain_spec(layers: int) -> str:
    """A plain sequential network: conv, bn, relu, relu (in place on in place), repeated."""
    return ("input: [8, 32, 32]\nblocks:\n  unit:\n    layers:\n"
            "      - conv: {filters: 8, kernel: 3, padding: 1, bias: false}\n"
            "      - bn\n      - relu\n      - relu\n"
            f"layers:\n  - unit: {{repeat: {layers // 4}}}\n")


def relu_chain_spec(layers: int) -> str:
    """One conv, then ReLUs each computed in place on the same buffer."""
    return ("input: [8, 32, 32]\nblocks:\n  unit:\n    layers:\n      - relu\n"
            f"layers:\n  - conv: {{filters: 8, kernel: 3}}\n  - unit: {{repeat: {layers - 1}}}\n")


def residual_spec(layers: int) -> str:
    """A deep residual chain: conv/bn/relu units with an add every 4 layers."""
    return ("input: [16, 64, 64]\nblocks:\n  unit:\n    layers:\n"
            "      - conv: {filters: 16, kernel: 3, padding: 1, bias: false}\n"
            "      - bn\n      - relu\n      - add: {in: [relu1, $in]}\n"
            f"layers:\n  - unit: {{repeat: {layers // 4}}}\n")


def wide_spec(layers: int, merge: str) -> str:
    """`layers - 1` parallel 3x3 convs of the input merged by one add or concat."""
    lines = ["input: [4, 16, 16]", "layers:"]
    lines += [f"  - conv: {{filters: 4, kernel: 3, padding: 1, in: input, name: b{i}}}"
              for i in range(layers - 1)]
    lines.append(f"  - {merge}: {{in: [{', '.join(f'b{i}' for i in range(layers - 1))}]}}")
    return "\n".join(lines) + "\n"


FAMILIES: dict[str, Callable[[int], str]] = {
    "chain": chain_spec,
    "relu-chain": relu_chain_spec,
    "residual": residual_spec,
    "wide-add": lambda n: wide_spec(n, "add"),
    "wide-concat": lambda n: wide_spec(n, "concat"),
}


def summary_calls(graph: Graph) -> None:
    analyze_cost(graph)
    analyze_memory(graph)
    rf = analyze_rf(graph)
    for layer in graph.layers:
        rf[layer.name].size  # noqa: B018  (the table's RF column)
    graph.total_params  # noqa: B018


ANALYSES: dict[str, Callable[[Graph], object]] = {
    "summary": summary_calls,
    "rf": lambda g: analyze_rf(g).warnings,
    "memory": lambda g: analyze_memory(g, training=True),
    "flops": analyze_cost,
}


def fresh(graph: Graph) -> Graph:
    """A graph with no cached per-layer figures, so every analysis pays its own way."""
    for layer in graph.layers:
        for cached in ("tensors", "params", "buffers"):
            layer.__dict__.pop(cached, None)
    graph.__dict__.pop("consumers", None)
    return graph


def best_of(fn: Callable[[], object], repeats: int, clock: Callable[[], float] = time.process_time
            ) -> float:
    """The best of `repeats` runs, in CPU seconds of this process by default: on a shared
    machine wall time mostly measures the neighbours."""
    best = float("inf")
    for _ in range(repeats):
        start = clock()
        fn()
        best = min(best, clock() - start)
    return best


def zoo(repeats: int) -> None:
    for path in sorted((ROOT / "architectures").glob("*.yaml")):
        text = path.read_text()
        graph = load_graph_text(text, path.name)
        parts = [f"{path.name:<22} {len(graph.layers):>4} layers",
                 f"load+shapes {best_of(lambda: load_graph_text(text, path.name), repeats) * 1000:7.1f} ms"]  # noqa: B023
        for name, analyze in ANALYSES.items():
            ms = best_of(lambda: analyze(fresh(graph)), repeats) * 1000  # noqa: B023
            parts.append(f"{name} {ms:6.1f} ms")
        print("  ".join(parts), flush=True)


def scale(sizes: list[int], families: list[str]) -> None:
    for family in families:
        times: dict[int, dict[str, float]] = {}
        for n in sizes:
            text = FAMILIES[family](n)
            start = time.process_time()
            graph = load_graph_text(text, family)
            load = time.process_time() - start
            times[n] = {}
            parts = [f"{family:<11} {len(graph.layers):>6} layers  load+shapes {load:6.2f} s"]
            for name, analyze in ANALYSES.items():
                times[n][name] = best_of(lambda: analyze(fresh(graph)), 1 if n > 20_000 else 2)  # noqa: B023
                parts.append(f"{name} {times[n][name]:6.3f} s")
            print("  ".join(parts), flush=True)

        small, big = min(sizes), max(sizes)
        if small != big:
            ratios = "  ".join(f"{name} {times[big][name] / times[small][name]:5.1f}"
                               for name in ANALYSES)
            print(f"{family:<11} time({big}) / time({small}):  {ratios}", flush=True)


def startup(repeats: int) -> None:
    """Whole-process wall time, both sides with compiled bytecode as an installed package has
    (PYTHONDONTWRITEBYTECODE would make every run recompile cnncalc's modules, ~110 ms, and
    measure the compiler instead), and cnncalc found through PYTHONPATH."""
    cache = tempfile.mkdtemp(prefix="cnncalc-pyc-")
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    env.update(PYTHONPYCACHEPREFIX=cache,
               PYTHONPATH=os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")])))
    floor_cmd = [sys.executable, "-c", "import yaml, click"]
    commands = {spec: [sys.executable, "-m", "cnncalc", "summary", str(ROOT / "architectures" / spec)]
                for spec in ("resnet50.yaml", "mobilenet_v2.yaml")}
    for command in (floor_cmd, *commands.values()):  # warm the bytecode cache
        subprocess.run(command, capture_output=True, check=True, env=env)
    # floor and command measured alternately so that a change in load hits both
    floors: list[float] = []
    elapsed: dict[str, list[float]] = {spec: [] for spec in commands}
    for _ in range(repeats):
        floors.append(wall(lambda: subprocess.run(floor_cmd, check=True, env=env)))
        for spec, command in commands.items():
            elapsed[spec].append(wall(lambda c=command: subprocess.run(
                c, capture_output=True, check=True, env=env)))
    shutil.rmtree(cache, ignore_errors=True)
    floor = min(floors)
    print(f"interpreter floor (import yaml, click): {floor * 1000:.0f} ms (best of {repeats})")
    for spec, times in elapsed.items():
        best = min(times)
        print(f"`cnncalc summary {spec}`: {best * 1000:.0f} ms = {best / floor:.2f} x floor")


def wall(fn: Callable[[], object]) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def flat_spec(layers: int) -> str:
    """A spec written out layer by layer (no blocks): what the YAML parser sees at scale."""
    body = "".join(f"  - conv: {{filters: 16, kernel: 3, padding: 1, name: c{i}}}\n  - relu\n"
                   for i in range(layers // 2))
    return f"input: [16, 64, 64]\nlayers:\n{body}"


def loading(sizes: list[int], repeats: int) -> None:
    """Where loading spends its time: YAML (libyaml and pure Python), expansion, shapes."""
    from cnncalc.graph import load_spec
    from cnncalc.spec.yamlload import load_text

    print("loading (CPU seconds): yaml with libyaml / pure-Python yaml / yaml+expand / +shapes")
    for n in sizes:
        for label, text in ((f"flat-{n}", flat_spec(n)), (f"residual-{n}", residual_spec(n))):
            times = [best_of(lambda: load_text(text, label, pure=False), repeats),  # noqa: B023
                     best_of(lambda: load_text(text, label, pure=True), 1),  # noqa: B023
                     best_of(lambda: load_spec(text, label), repeats),  # noqa: B023
                     best_of(lambda: load_graph_text(text, label), repeats)]  # noqa: B023
            print(f"  {label:<18} " + "  ".join(f"{t:8.3f}" for t in times))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", default="10000,100000", help="generated network sizes")
    parser.add_argument("--families", default=",".join(FAMILIES))
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--no-zoo", action="store_true")
    args = parser.parse_args()
    if not args.no_zoo:
        zoo(args.repeats)
    scale([int(n) for n in args.sizes.split(",")], args.families.split(","))
    loading([int(n) for n in args.sizes.split(",")][:1], 1)
    startup(args.repeats)


if __name__ == "__main__":
    main()
