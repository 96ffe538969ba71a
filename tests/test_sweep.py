"""`cnncalc sweep`: grids, rows equal to the single-spec commands, parallel and dask runs
identical to one process, and the Pareto front against a brute-force definition."""
from __future__ import annotations

import json

import pytest
from helpers import ARCH, run_ok

from cnncalc import load_graph
from cnncalc.analysis.cost import analyze_cost
from cnncalc.analysis.memory import analyze_memory
from cnncalc.cli import main
from cnncalc.sweep import Job, analyze_variant, grid, mark_pareto, parse_objectives, run_local

SPEC = ARCH / "examples" / "width_multiplier.yaml"


def test_grid_product_and_zip() -> None:
    axes = [("a", [1, 2]), ("b", [0.5, 0.75, 1.0])]
    assert grid(axes) == [{"a": a, "b": b} for a in (1, 2) for b in (0.5, 0.75, 1.0)]
    assert grid([("a", [1, 2]), ("b", [3, 4])], zipped=True) == [{"a": 1, "b": 3}, {"a": 2, "b": 4}]
    with pytest.raises(ValueError, match="same number of values"):
        grid(axes, zipped=True)


def test_rows_match_the_single_spec_commands(capsys) -> None:  # type: ignore[no-untyped-def]
    doc = json.loads(run_ok(capsys, "sweep", str(SPEC), "--set", "width=0.5,2", "--set",
                            "res=32,48", "--json"))
    assert doc["variables"] == ["width", "res"] and len(doc["variants"]) == 4
    for row in doc["variants"]:
        values = row["values"]
        args = [f"--set=width={values['width']}", f"--set=res={values['res']}"]
        summary = json.loads(run_ok(capsys, "summary", str(SPEC), "--json", *args))
        memory = json.loads(run_ok(capsys, "memory", str(SPEC), "--json", *args))
        assert row["total_params"] == summary["total_params"]
        assert row["total_macs"] == summary["total_macs"]
        assert row["inference_peak_bytes"] == memory["memory"]["inference_peak_bytes"]
        assert row["training_bytes"] == memory["memory"]["training_bytes"]
        assert row["rf"] == 5  # two 3x3 convs before the global pool
        expected = 0 if main(["check", str(SPEC), *args]) == 0 else 1
        capsys.readouterr()
        assert (row["checks"] == "pass") == (expected == 0)
    assert [r["checks"] for r in doc["variants"]] == ["pass", "pass", "fail", "fail"]


def test_parallel_results_are_identical_to_one_process() -> None:
    text = (ARCH / "resnet18.yaml").read_text().replace(
        "input: [3, 224, 224]", "vars: {res: 224}\ninput: [3, $res, $res]")
    jobs = [Job(text, "r.yaml", {"res": r}) for r in (64, 96, 128, 160, 224, 33)]
    one = list(run_local(jobs, 1))
    assert list(run_local(jobs, 2)) == one
    g = load_graph(ARCH / "resnet18.yaml", (3, 96, 96))
    assert one[1]["total_macs"] == analyze_cost(g).total_macs
    assert one[1]["training_bytes"] == analyze_memory(g, training=True).training.total_bytes  # type: ignore[union-attr]


def test_a_variant_that_does_not_build_is_a_row_with_its_error() -> None:
    text = (ARCH / "unet.yaml").read_text().replace(
        "input: [3, 256, 256]", "vars: {res: 256}\ninput: [3, $res, $res]")
    ok, bad = (analyze_variant(Job(text, "u.yaml", {"res": r})) for r in (256, 100))
    assert ok["error"] is None and ok["checks"] in ("pass", "fail", "none")
    assert bad["error"] and bad["total_params"] is None and bad["checks"] is None


def _brute_front(points: list[tuple[float, ...]]) -> list[bool]:
    def dominates(p: tuple[float, ...], q: tuple[float, ...]) -> bool:
        return all(a <= b for a, b in zip(p, q)) and any(a < b for a, b in zip(p, q))
    return [not any(dominates(q, p) for q in points) for p in points]


def test_pareto_front_against_the_definition() -> None:
    import random

    rnd = random.Random(3)
    for _ in range(50):
        rows = [{"values": {"w": i}, "total_macs": rnd.randint(0, 5), "rf": rnd.randint(0, 5)}
                for i in range(12)]
        mark_pareto(rows, parse_objectives("total_macs,max:rf", ["w"]))
        assert [r["pareto"] for r in rows] == _brute_front([(r["total_macs"], -r["rf"]) for r in rows])


def test_pareto_and_device_in_the_cli(capsys) -> None:  # type: ignore[no-untyped-def]
    doc = json.loads(run_ok(capsys, "sweep", str(SPEC), "--set", "width=0.5,1,2", "--set",
                            "res=32,64", "--pareto", "total_macs,max:res", "--device", "t4",
                            "--json", "--jobs", "2"))
    front = [(r["values"]["width"], r["values"]["res"]) for r in doc["variants"] if r["pareto"]]
    assert front == [(0.5, 32), (0.5, 64)]
    assert all(r["latency_bound_s"] > 0 for r in doc["variants"])
    doc = json.loads(run_ok(capsys, "sweep", str(SPEC), "--set", "width=0.5,1", "--input", "3,16,16",
                            "--json"))
    assert [r["inference_peak_bytes"] for r in doc["variants"]] == [
        analyze_memory(load_graph(SPEC, (3, 16, 16), {"width": w})).inference_peak_bytes for w in (0.5, 1)]
    csv = run_ok(capsys, "sweep", str(SPEC), "--set", "width=0.5,1", "--format", "csv")
    assert csv.splitlines()[0].startswith("width,params,MACs,RF")


@pytest.mark.parametrize("args, message", [
    (["--set", "widht=1,2"], "did you mean 'width'"), (["--set", "width="], "NAME=V1,V2"),
    (["--set", "width=1,x"], "expected a number"), (["--zip", "--set", "width=1,2", "--set", "res=3"],
                                                    "same number"),
    (["--pareto", "macs"], "unknown key 'macs'"), (["--executor", "dask"], "--scheduler"),
])
def test_usage_errors(args: list[str], message: str, capsys) -> None:  # type: ignore[no-untyped-def]
    assert main(["sweep", str(SPEC), *args]) == 2
    assert message in capsys.readouterr().err


def test_dask_cluster_gives_the_same_rows(capsys) -> None:  # type: ignore[no-untyped-def]
    distributed = pytest.importorskip("distributed")
    jobs = [Job(SPEC.read_text(), "w.yaml", v) for v in grid([("width", [0.5, 1, 2]), ("res", [32, 40])])]
    from cnncalc.sweep import run_dask

    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address=None) as cluster:
        rows = list(run_dask(jobs, cluster.scheduler_address))
        assert main(["sweep", str(SPEC), "--set", "width=0.5,1,2", "--set", "res=32,40", "--json",
                     "--executor", "dask", "--scheduler", cluster.scheduler_address]) == 0
    assert rows == list(run_local(jobs, 1))
    cli_rows = json.loads(capsys.readouterr().out)["variants"]
    assert cli_rows == json.loads(json.dumps(rows))
