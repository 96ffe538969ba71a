"""Time folding imported models into blocks (a report, not a test): the import writer must
stay linear up to cnncalc's 100,000-layer limit.

    python benchmarks/bench_import_fold.py [--sizes 1000,10000,100000]

For each family and size it prints the CPU seconds of `write_spec` (folding and writing;
best of a few runs) and, at the end, time(largest) / time(smallest) against the size ratio:
linear work gives a ratio near the size ratio, quadratic work its square. Families:
- `modules`: residual blocks with torch-like module paths (`layer1.0.conv1`), stages of 8;
- `graph`: the same network with no hierarchy (ONNX-like names), folded from the graph alone;
- `unique`: a chain whose convolutions all differ (nothing to fold: the worst case for the
  repeat search).
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from cnncalc.imports.model import ImportedLayer, ImportedModel  # noqa: E402
from cnncalc.imports.write import write_spec  # noqa: E402


def residual(layers: int, hierarchy: bool) -> ImportedModel:
    """Blocks of conv-bn-relu-conv-bn-add-relu (7 layers), 8 to a stage."""
    out: list[ImportedLayer] = []
    x = "input"
    block = 0
    while len(out) + 7 <= layers:
        where = f"layer{block // 8}.{block % 8}"
        made = x
        for name, op, args, extra in [("conv1", "conv", {"filters": 16, "kernel": 3, "padding": 1}, None),
                                      ("bn1", "bn", {}, None), ("relu", "relu", {}, None),
                                      ("conv2", "conv", {"filters": 16, "kernel": 3, "padding": 1}, None),
                                      ("bn2", "bn", {}, None), ("add", "add", {}, x),
                                      ("relu_1", "relu", {}, None)]:
            flat = f"{where.replace('.', '_')}_{name}"
            inputs = [made] if extra is None else [made, extra]
            out.append(ImportedLayer(flat, op, args, inputs, f"{where}.{name}" if hierarchy else ""))
            made = flat
        x = made
        block += 1
    return ImportedModel("bench", "a benchmark", [16, 8, 8], out, [x])


def unique(layers: int) -> ImportedModel:
    out = [ImportedLayer(f"conv{i}", "conv", {"filters": 1 + i, "kernel": 1},
                         [f"conv{i - 1}" if i else "input"]) for i in range(layers)]
    return ImportedModel("bench", "a benchmark", [3, 4, 4], out, [out[-1].name])


def cpu(model: ImportedModel, runs: int) -> float:
    best = float("inf")
    for _ in range(runs):
        start = time.process_time()
        write_spec(model)
        best = min(best, time.process_time() - start)
    return best


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", default="1000,10000,100000")
    sizes = [int(s) for s in parser.parse_args().sizes.split(",")]
    families = {"modules": lambda n: residual(n, True), "graph": lambda n: residual(n, False),
                "unique": unique}
    for family, make in families.items():
        times = []
        for size in sizes:
            model = make(size)
            seconds = cpu(model, 3 if size <= 10_000 else 1)
            times.append(seconds)
            lines = write_spec(model).count("\n")
            print(f"{family:8} {len(model.layers):>7,} layers  {seconds:7.3f} s  "
                  f"({lines:,} lines folded)")
        print(f"{family:8} time ratio {times[-1] / max(times[0], 1e-9):7.1f} for a size ratio "
              f"{sizes[-1] / sizes[0]:.0f}")


if __name__ == "__main__":
    main()
