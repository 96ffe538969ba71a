"""Design-space sweeps: every variant of a spec over a grid of `vars:` values, analysed in
parallel processes (or on a dask.distributed cluster), with an optional Pareto front.

Each variant row has its `values` and the keys the single-spec commands use: `total_params`,
`total_macs`, `total_flops`, `rf` (the smallest axis of the receptive field of the last
layer that is not global, as `checks: {rf: ...}` reads it) and `rf_layer`,
`inference_peak_bytes`, `training_bytes` (one training step with `optimizer`),
`latency_bound_s` (with a device), `checks` ("pass", "fail" or "none") and `failed_checks`.
A variant that does not build has `error` (its first problem) and None elsewhere.
"""
from __future__ import annotations

import itertools
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from fractions import Fraction
from typing import TYPE_CHECKING, Any

from cnncalc.analysis.memory import analyze_memory
from cnncalc.analysis.roofline import analyze_roofline
from cnncalc.checks.measure import Figures, run_checks
from cnncalc.graph import graph_in_layout
from cnncalc.problems import SpecError, did_you_mean

if TYPE_CHECKING:
    from cnncalc.devices import Device

Number = int | float
# Keys a --pareto objective may name besides the variables.
METRICS = ("total_params", "total_macs", "total_flops", "rf", "inference_peak_bytes",
           "training_bytes", "latency_bound_s")


@dataclass(frozen=True)
class Job:
    """One variant to analyse: everything a worker process needs (picklable)."""

    text: str
    file: str
    values: dict[str, Number]
    device: Device | None = None
    optimizer: str = "adam"
    input_shape: tuple[int, ...] | None = None  # replaces the spec's, in the spec's layout


def grid(axes: Sequence[tuple[str, Sequence[Number]]], zipped: bool = False) -> list[dict[str, Number]]:
    """The variants: the cartesian product of the axes (first axis slowest), or with `zipped`
    the i-th value of every axis together (all axes the same length)."""
    names = [name for name, _ in axes]
    if zipped:
        lengths = {len(values) for _, values in axes}
        if len(lengths) > 1:
            raise ValueError("--zip needs the same number of values for every variable, got "
                             + ", ".join(f"{name}: {len(values)}" for name, values in axes))
        combos: Iterable[tuple[Number, ...]] = zip(*(values for _, values in axes))
    else:
        combos = itertools.product(*(values for _, values in axes))
    return [dict(zip(names, combo)) for combo in combos]


def analyze_variant(job: Job) -> dict[str, Any]:
    """One row of the sweep (runs in a worker process)."""

    row: dict[str, Any] = {"values": dict(job.values)}
    try:
        graph = graph_in_layout(job.text, job.file, job.input_shape, job.values)
    except SpecError as exc:
        first = exc.problems[0]
        row.update(dict.fromkeys(METRICS), rf_layer=None, checks=None, failed_checks=[],
                   error=f"{first.loc}: {first.message}")
        return row
    figures = Figures(graph)
    results = run_checks(graph, list(graph.spec.parsed_checks), figures)
    rf_layer = figures.default_rf_layer() if len(graph.input_shape) > 1 else None
    sizes = figures.rf_sizes(rf_layer) if rf_layer else None
    rf = min(sizes) if sizes else None
    memory = analyze_memory(graph, training=True, optimizer=job.optimizer)  # inference peak too
    training = memory.training
    assert training is not None
    row.update(
        total_params=graph.total_params, total_macs=figures.cost.total_macs,
        total_flops=figures.cost.total_flops,
        rf=(None if rf is None else int(rf) if Fraction(rf).denominator == 1 else float(rf)),
        rf_layer=rf_layer,
        inference_peak_bytes=memory.inference_peak_bytes,
        training_bytes=training.total_bytes, latency_bound_s=None,
        checks="none" if not results else "pass" if all(r.passed for r in results) else "fail",
        failed_checks=[r.message for r in results if not r.passed], error=None)
    if job.device is not None:
        row["latency_bound_s"] = analyze_roofline(graph, job.device, cost=figures.cost).latency_bound_s
    return row


def run_local(jobs: Sequence[Job], workers: int = 1) -> Iterator[dict[str, Any]]:
    """Rows in the order of `jobs`; `workers` > 1 uses that many processes."""
    if workers <= 1 or len(jobs) <= 1:
        yield from map(analyze_variant, jobs)
        return
    from concurrent.futures import ProcessPoolExecutor

    chunk = max(1, len(jobs) // (workers * 8))
    with ProcessPoolExecutor(max_workers=workers) as pool:
        yield from pool.map(analyze_variant, jobs, chunksize=chunk)


def run_dask(jobs: Sequence[Job], scheduler: str | Any) -> Iterator[dict[str, Any]]:
    """Rows from a dask.distributed cluster (`scheduler`: its address, or a Client), in the
    order of `jobs`; each row is yielded as soon as every earlier one has arrived."""
    from distributed import Client, as_completed

    # dask ships no type hints for these calls
    client = scheduler if isinstance(scheduler, Client) else Client(scheduler)  # type: ignore[no-untyped-call]
    try:
        futures = client.map(analyze_variant, list(jobs), pure=False)
        index = {future.key: i for i, future in enumerate(futures)}
        done: dict[int, dict[str, Any]] = {}
        following = 0
        for future in as_completed(futures):  # type: ignore[no-untyped-call]
            done[index[future.key]] = future.result()
            while following in done:
                yield done.pop(following)
                following += 1
    finally:
        if client is not scheduler:
            client.close()  # type: ignore[no-untyped-call]


def parse_objectives(text: str, names: Iterable[str]) -> list[tuple[str, bool]]:
    """`total_macs,max:rf` -> [("total_macs", False), ("rf", True)] (True: maximise)."""
    known = [*METRICS, *names]
    found = []
    for part in text.split(","):
        part = part.strip()
        maximise = part.startswith("max:")
        key = part.removeprefix("max:").removeprefix("min:")
        if key not in known:
            raise ValueError(f"--pareto: unknown key '{key}'{did_you_mean(key, known)} (one of "
                             f"{', '.join(known)}; prefix max: to maximise)")
        found.append((key, maximise))
    if len(found) < 2:
        raise ValueError("--pareto needs at least two keys, e.g. total_macs,max:rf")
    return found


def mark_pareto(rows: list[dict[str, Any]], objectives: list[tuple[str, bool]]) -> None:
    """Set row["pareto"]: no other row is at least as good in every objective and better in
    one. Rows missing a value (errors, global receptive fields) are never on the front."""
    def point(row: dict[str, Any]) -> tuple[float, ...] | None:
        out = []
        for key, maximise in objectives:
            value = row["values"].get(key, row.get(key))
            if value is None:
                return None
            out.append(-value if maximise else value)
        return tuple(out)

    points = [point(row) for row in rows]
    for row, mine in zip(rows, points):
        row["pareto"] = mine is not None and not any(
            other is not None and other != mine and all(o <= m for o, m in zip(other, mine))
            for other in points)

