"""Random specs never crash: every one loads, or is rejected with located problems.

Specs are drawn from the real vocabulary (op names, argument names, plausible and absurd
values, names and `in` references, blocks) so the generator reaches deep into the loader,
the expander and every op's `infer`, and then runs every analysis on what loads.
"""
from __future__ import annotations

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cnncalc import SpecError, load_graph_text
from cnncalc.analysis.cost import analyze_cost
from cnncalc.analysis.memory import analyze_memory
from cnncalc.analysis.rf import analyze_rf
from cnncalc.ops.registry import ops

OPS = sorted(ops())
ARG_NAMES = sorted({a.name for op in ops().values() for a in op.arguments} | {"name", "in", "repeat"})
NAMES = ["a", "b", "c", "input", "$in", "$x", "a.0", "nope"]
scalars = st.one_of(st.integers(-3, 9), st.sampled_from([0.5, 1.5, True, False, None, "same", "valid",
                                                         "depthwise", "channels", "linear", "all",
                                                         "${x * 2}", "${in_channels}", "$x", "x"]))
values = st.one_of(scalars, st.lists(st.integers(-1, 4), max_size=4),
                   st.lists(st.lists(st.integers(0, 2), min_size=2, max_size=2), max_size=3),
                   st.lists(st.sampled_from(NAMES), min_size=1, max_size=3))
args = st.dictionaries(st.sampled_from(ARG_NAMES), values, max_size=4)
small = st.one_of(st.integers(0, 4), st.sampled_from(["same", "valid", "depthwise", "linear",
                                                      "channels", True, False]),
                  st.lists(st.integers(0, 3), min_size=1, max_size=3))


def own_arguments(op: str, wiring: bool = True) -> st.SearchStrategy[dict]:
    """Arguments of the op itself (required ones always given): the loader accepts most."""
    declared = ops()[op].arguments
    required = {a.name: small for a in declared if a.required}
    optional = {a.name: small for a in declared if not a.required}
    if op == "lrn":  # k = alpha = 0 divides 0 by 0, in PyTorch too: not a cnncalc question
        optional["k"] = st.integers(1, 4)
    if wiring:
        optional["name"] = st.sampled_from(["a", "b", "c"])
        optional["in"] = st.lists(st.sampled_from(NAMES[:4]), min_size=1, max_size=3)
    return st.fixed_dictionaries(required, optional=optional).map(lambda a, op=op: {op: a})


items = st.one_of(st.sampled_from(OPS + ["blk"]),
                  st.builds(lambda op, a: {op: a}, st.sampled_from(OPS + ["blk", "cnv"]),
                            st.one_of(args, scalars)),
                  st.sampled_from(OPS).flatmap(own_arguments))
shapes = st.lists(st.integers(1, 12), min_size=1, max_size=4)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(shapes, st.lists(items, min_size=1, max_size=8), st.lists(items, min_size=1, max_size=3),
       st.booleans())
def test_random_specs_load_or_fail_cleanly(shape, layers, block_layers, with_block) -> None:
    spec = {"input": shape, "layers": layers}
    if with_block:
        spec["blocks"] = {"blk": {"args": {"x": 2}, "layers": block_layers}}
    text = yaml.safe_dump(spec, sort_keys=False)
    try:
        graph = load_graph_text(text, "fuzz.yaml")
    except SpecError as exc:
        assert exc.problems
        for problem in exc.problems:
            assert problem.loc.file == "fuzz.yaml" and problem.loc.line >= 1
            assert problem.message and problem.level == "error"
        return
    analyze_cost(graph)
    analyze_memory(graph, training=True)
    analyze_rf(graph)


def check_or_analyse(text: str) -> bool:
    """Load `text`; on success run every analysis. True if it loaded."""
    try:
        graph = load_graph_text(text, "fuzz.yaml")
    except SpecError as exc:
        assert exc.problems and all(p.loc.file == "fuzz.yaml" for p in exc.problems)
        return False
    analyze_cost(graph)
    analyze_memory(graph, training=True)
    analyze_rf(graph)
    return True


UNARY = [name for name, op in sorted(ops().items()) if op.min_inputs == 1]


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.integers(3, 16), min_size=2, max_size=4),
       st.lists(st.sampled_from(UNARY).flatmap(lambda op: own_arguments(op, wiring=False)),
                min_size=1, max_size=5))
def test_random_chains_of_valid_ops(shape, layers) -> None:
    # Mostly valid chains reach every op's shape, cost, memory and receptive-field rules.
    check_or_analyse(yaml.safe_dump({"input": shape, "layers": layers}, sort_keys=False))


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.integers(3, 12), min_size=2, max_size=4),
       st.lists(st.sampled_from(UNARY).flatmap(lambda op: own_arguments(op, wiring=False)),
                min_size=1, max_size=4),
       st.integers(1, 3))
def test_random_valid_chains_pass_verify(shape, layers, batch) -> None:
    # The analysis and the NumPy forward pass must agree on every random network that loads:
    # shapes, weights read, MACs performed, memory peak and measured receptive fields; at
    # batch 1 and beyond (kernels that lay out or allocate by the batch).
    from cnncalc.backend.verify import rf_plans, verify

    try:
        graph = load_graph_text(yaml.safe_dump({"input": shape, "layers": layers}), "fuzz.yaml")
    except SpecError:
        return
    last = graph.layers[-1].name
    report = verify(graph, batch=batch, dtype="float64", plans=rf_plans(graph, [last], 2**30))
    assert report.ok, [(r.check, r.layer, r.expected, r.measured, r.note) for r in report.failures]
