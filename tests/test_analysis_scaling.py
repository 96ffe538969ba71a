"""Complexity guard: every analysis does work proportional to the number of layers. Counted in
Python function calls (deterministic, unlike seconds): ten times the layers may cost at most
eleven times the calls, for chains, residual networks and wide merges."""
from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from types import FrameType
from typing import Any

import pytest

from cnncalc import Graph, load_graph_text
from cnncalc.analysis.cost import analyze_cost
from cnncalc.analysis.memory import analyze_memory
from cnncalc.analysis.rf import analyze_rf

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "benchmarks"))
from bench_analysis import FAMILIES, fresh  # noqa: E402

ANALYSES: dict[str, Callable[[Graph], object]] = {
    "flops": analyze_cost,
    "memory": lambda g: analyze_memory(g, training=True),
    "rf": lambda g: analyze_rf(g).warnings,
}
SIZES = {"chain": 200, "relu-chain": 200, "residual": 200, "wide-add": 60, "wide-concat": 60}


def calls(fn: Callable[[], object]) -> int:
    count = 0

    def profile(frame: FrameType, event: str, arg: Any) -> None:
        nonlocal count
        if event in ("call", "c_call"):
            count += 1

    sys.setprofile(profile)
    try:
        fn()
    finally:
        sys.setprofile(None)
    return count


@pytest.mark.parametrize("family", sorted(SIZES))
def test_ten_times_the_layers_at_most_eleven_times_the_work(family: str) -> None:
    small_n = SIZES[family]
    small = load_graph_text(FAMILIES[family](small_n), family)
    large = load_graph_text(FAMILIES[family](10 * small_n), family)
    for name, analyze in ANALYSES.items():
        a = calls(lambda: analyze(fresh(small)))  # noqa: B023
        b = calls(lambda: analyze(fresh(large)))  # noqa: B023
        assert b <= 11 * a, (family, name, a, b, b / a)
