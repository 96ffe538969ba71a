"""Memory: hand-worked figures, and the inference peak against a brute-force execution on real
NumPy buffers (freed by reference, in-place detected with np.shares_memory, measured both by
counting distinct buffers and with tracemalloc) over random graphs."""
from __future__ import annotations

import random
import tracemalloc
from collections import Counter
from typing import Any

import numpy as np
import pytest
from helpers import ARCH, graph

from cnncalc.analysis.memory import analyze_memory, recorded, saved_bytes
from cnncalc.graph import Graph, load_graph

SMALL_CNN = ARCH / "lecture" / "05_small_cnn.yaml"
KIB = 1024


def test_small_cnn_inference_by_hand() -> None:
    mem = analyze_memory(load_graph(SMALL_CNN))
    # input 64x64x3 (48 KiB); conv1 32x64x64 (512 KiB), relu1 in place on it; pool1 32x32x32
    # (128 KiB): all live while pool1 runs.
    assert mem.input_bytes == 48 * KIB
    assert mem.inference_peak_bytes == (48 + 512 + 128) * KIB
    assert mem.inference_peak_layer == "pool1"
    # conv1 was overwritten by relu1 (in place): its storage is listed once, as relu1.
    assert mem.inference_live == ("input", "relu1", "pool1")
    assert mem.inplace == ("relu1", "relu2", "relu3")
    assert mem.layer("flatten").storage == "view of pool2"
    assert mem.params_bytes == 2_116_801 * 4 and mem.buffers_bytes == 0
    assert mem.activations_sum_bytes == 4 * sum(layer.out_size for layer in load_graph(SMALL_CNN).layers)
    assert mem.inference_total_bytes == mem.params_bytes + mem.inference_peak_bytes


def test_small_cnn_saved_for_backward_by_hand() -> None:
    t = analyze_memory(load_graph(SMALL_CNN), training=True, optimizer="adam").training
    assert t is not None
    # conv1 keeps the input (48K); relu1 its output (512K, in place on conv1's); pool1 its input
    # (relu1's, already counted) + int64 indices 32*32*32*8 (256K); conv2 pool1's output
    # (128K); relu2 its output (256K); pool2 + indices 64*16*16*8 (128K); fc1 the flattened
    # pool2 (a view: 64K); relu3 its output (512 B), which fc2 keeps too; prob its output (4 B).
    assert t.saved_bytes == (48 + 512 + 256 + 128 + 256 + 128 + 64) * KIB + 512 + 4
    assert t.params_bytes == t.gradients_bytes == 2_116_801 * 4
    assert t.optimizer_bytes == 2 * t.params_bytes
    assert t.total_bytes == (t.params_bytes + t.gradients_bytes + t.optimizer_bytes
                             + t.buffers_bytes + t.saved_bytes + t.transient_bytes)
    assert t.transient_bytes > 0 and t.peak_phase in ("forward", "backward")


@pytest.mark.parametrize("optimizer, states", [("sgd", 0), ("momentum", 1), ("adam", 2),
                                               ("adamw", 2)])
def test_optimizer_state(optimizer: str, states: int) -> None:
    t = analyze_memory(load_graph(SMALL_CNN), training=True, optimizer=optimizer).training
    assert t is not None and t.optimizer_bytes == states * t.params_bytes


def test_batch_scales_activations_and_dtype_everything() -> None:
    g = load_graph(SMALL_CNN)
    one, eight = analyze_memory(g), analyze_memory(g, batch=8)
    assert eight.params_bytes == one.params_bytes
    assert eight.inference_peak_bytes == 8 * one.inference_peak_bytes
    half = analyze_memory(g, dtype="float16", training=True)
    full = analyze_memory(g, training=True)
    assert half.dtype_bytes == 2 and half.params_bytes * 2 == full.params_bytes
    assert half.inference_peak_bytes * 2 == full.inference_peak_bytes
    # Max-pool indices stay int64 whatever the dtype, so saved activations do not halve.
    assert half.training and full.training
    assert half.training.saved_bytes * 2 > full.training.saved_bytes
    with pytest.raises(ValueError):
        analyze_memory(g, dtype="float8")
    with pytest.raises(ValueError):
        analyze_memory(g, optimizer="lion")


def test_no_inplace_never_shares() -> None:
    g = load_graph(SMALL_CNN)
    plain = analyze_memory(g, inplace=False)
    assert plain.inplace == () and all(not m.storage.startswith("in place") for m in plain.layers)
    # relu1 gets its own 512 KiB next to conv1's, beside the 48 KiB input.
    assert (plain.inference_peak_bytes, plain.inference_peak_layer) == ((48 + 2 * 512) * KIB, "relu1")


def test_layers_before_the_first_weight_record_nothing() -> None:
    g = graph("""
        input: [3, 8, 8]
        layers:
          - relu: {name: r}
          - maxpool: {kernel: 2, name: p}
          - conv: {filters: 4, kernel: 3, name: c}
          - relu: {name: r2}
    """)
    keeps = recorded(g)
    assert set(keeps) == {"c", "r2"}
    t = analyze_memory(g, training=True).training
    assert t is not None
    # conv keeps its input (p: 3*4*4 values), the ReLU its output (4*2*2): 4 bytes each.
    assert t.saved_bytes == 4 * (3 * 4 * 4 + 4 * 2 * 2)


def test_inplace_is_refused_where_backward_needs_the_input() -> None:
    g = graph("""
        input: [3, 8, 8]
        layers:
          - conv: {filters: 4, kernel: 1, name: c}
          - sigmoid: {name: s}
          - relu: {name: r}
          - silu: {name: f}
    """)
    inference, training = analyze_memory(g, training=True), analyze_memory(g, training=True).training
    assert inference.inplace == ("r", "f")
    assert training is not None
    # sigmoid keeps its output, so the ReLU may not overwrite it; silu keeps its own input.
    assert training.inplace == ()


# ---------------------------------------------------------------------------- brute force


def _buffer(a: np.ndarray) -> np.ndarray:
    return a if a.base is None else a.base


def execute(g: Graph, training: bool = False, inplace: bool = True) -> dict[str, Any]:
    """Run `g` on real uint8 buffers (one element per byte of the real tensor), layer by layer,
    holding the input and outputs, freeing a tensor once its last reader ran (or, in training,
    once forward is over if a layer saves it), views as NumPy views, and an in-place op writing
    into an input buffer that no live tensor still to be read (or saved) shares.

    Returns the peak of distinct live buffers, where it happened, the tensors that existed
    then, and the buffers kept for backward at the end of the forward pass (training)."""
    width = 4
    pinned = {"input", *g.outputs}
    keeps = recorded(g) if training else {}
    kept_names = {layer.inputs[s.index] if s.kind == "input" else layer.name
                  for layer in g.layers for s in keeps.get(layer.name, []) if s.kind != "extra"}
    remaining = Counter(src for layer in g.layers for src in dict.fromkeys(layer.inputs))
    env = {"input": np.ones(int(np.prod(g.input_shape)) * width, np.uint8)}
    extras: list[np.ndarray] = []
    peak, peak_layer, peak_live = -1, "", ()
    for layer in g.layers:
        size = layer.out_size * width
        mode = layer.op.output_storage(layer, training)
        if mode == "view":
            env[layer.name] = env[layer.inputs[0]][:size]
        elif mode == "inplace" and inplace and not any(
                s.kind == "input" for s in keeps.get(layer.name, [])):
            env[layer.name] = _overwritable(layer, env, remaining, pinned | kept_names, size)
        else:
            env[layer.name] = np.ones(size, np.uint8)  # touched, so the pages really exist
        for s in keeps.get(layer.name, []):
            if s.kind == "extra":
                extras.append(np.ones(saved_bytes(s, 1, width), np.uint8))
        live = {id(_buffer(a)): _buffer(a).nbytes for a in [*env.values(), *extras]}
        if sum(live.values()) > peak:
            peak, peak_layer, peak_live = sum(live.values()), layer.name, tuple(env)
        for name in dict.fromkeys(layer.inputs):
            remaining[name] -= 1
        for name in [*dict.fromkeys(layer.inputs), layer.name]:
            if remaining[name] == 0 and name not in pinned and name not in kept_names:
                env.pop(name, None)
    kept = {id(_buffer(env[t])): _buffer(env[t]).nbytes for t in kept_names}
    return {"peak": peak, "layer": peak_layer, "live": peak_live,
            "saved": sum(kept.values()) + sum(a.nbytes for a in extras)}


def _overwritable(layer: Any, env: dict[str, np.ndarray], remaining: Counter[str],
                  held: set[str], size: int) -> np.ndarray:
    """A view of an input buffer the layer may overwrite, or a new buffer. (A function, so no
    local keeps a freed buffer alive in the tracemalloc measurement.)"""
    for name, shape in zip(layer.inputs, layer.in_shapes):
        sharing = [t for t, a in env.items() if np.shares_memory(a, env[name])]
        later = [t for t in sharing if remaining[t] - (t in layer.inputs) > 0]
        if shape == layer.out_shape and not later and not held.intersection(sharing):
            return env[name][:size]
    return np.ones(size, np.uint8)


def random_spec(seed: int) -> str:
    """A random DAG on [C, 8, 8] tensors: convs, activations, views, skips, merges, branches."""
    rng = random.Random(seed)
    shapes = {"input": 4}  # name -> channels (every tensor here is [C, 8, 8] until the head)
    lines = ["input: [4, 8, 8]", "layers:"]
    last = "input"
    for i in range(rng.randint(3, 14)):
        name = f"l{i}"
        src = last if rng.random() < 0.75 else rng.choice(list(shapes))
        c = shapes[src]
        same = [n for n, ch in shapes.items() if ch == c and n != src]
        kind = rng.choice(["conv", "conv", "relu", "relu", "sigmoid", "silu", "bn", "identity",
                           "dropout", "add", "multiply", "concat", "slice", "maxpool"])
        if kind == "conv":
            c = rng.choice([2, 4, 8])
            line = f"conv: {{filters: {c}, kernel: {rng.choice([1, 3])}, padding: same, in: {src}"
        elif kind in ("add", "multiply") and same:
            line = f"{kind}: {{in: [{src}, {rng.choice(same)}]"
        elif kind == "concat":
            other = rng.choice(list(shapes))
            line, c = f"concat: {{in: [{src}, {other}]", c + shapes[other]
        elif kind == "slice" and c > 1:
            c = rng.randint(1, c - 1)
            line = f"slice: {{stop: {c}, in: {src}"
        elif kind == "maxpool":  # 3x3, stride 1, padded: keeps [C, 8, 8]
            line = f"maxpool: {{kernel: 3, stride: 1, padding: 1, in: {src}"
        else:
            kind = kind if kind not in ("add", "multiply", "slice") else "relu"
            line = f"{kind}: {{in: {src}"
        lines.append(f"  - {line}, name: {name}}}")
        shapes[name], last = c, name
    lines += ["  - flatten: {name: flat}", "  - dense: {units: 3, name: head}"]
    extra = rng.choice(list(shapes))
    second = extra not in ("input", last) and rng.random() < 0.3
    lines.append(f"outputs: [head{', ' + extra if second else ''}]")
    return "\n".join(lines) + "\n"


@pytest.mark.parametrize("seed", range(80))
def test_inference_peak_equals_brute_force_execution(seed: int) -> None:
    g = graph(random_spec(seed))
    for inplace in (True, False):
        mem = analyze_memory(g, inplace=inplace)
        run = execute(g, inplace=inplace)
        assert (mem.inference_peak_bytes, mem.inference_peak_layer) == (run["peak"], run["layer"])
        assert mem.inference_live == run["live"]


@pytest.mark.parametrize("seed", range(80))
def test_saved_for_backward_equals_brute_force_execution(seed: int) -> None:
    g = graph(random_spec(seed))
    t = analyze_memory(g, training=True).training
    assert t is not None
    run = execute(g, training=True)
    assert t.saved_bytes == run["saved"]
    assert t.activation_peak_bytes >= run["peak"]  # backward only adds gradients


@pytest.mark.parametrize("name", ["resnet18", "resnet50", "mobilenet_v2", "efficientnet_b0", "unet",
                                  "vgg16"])
def test_zoo_inference_peak_equals_brute_force_execution(name: str) -> None:
    g = load_graph(ARCH / f"{name}.yaml", input_shape=(3, 32, 32))
    mem, run = analyze_memory(g), execute(g)
    assert (mem.inference_peak_bytes, mem.inference_peak_layer) == (run["peak"], run["layer"])
    assert mem.inference_live == run["live"]


@pytest.mark.parametrize("seed", [1, 7, 23])
def test_inference_peak_against_tracemalloc(seed: int) -> None:
    """The same execution measured by Python's allocator tracing: the peak of traced memory
    (the input is allocated inside the trace) is the predicted peak plus interpreter
    bookkeeping, under 10 KiB; every tensor is 64 KiB or more, so a wrong peak cannot hide."""
    g = graph(random_spec(seed), input_shape=(4, 128, 128))
    predicted = analyze_memory(g).inference_peak_bytes
    tracemalloc.start()
    try:
        execute(g)
        _, traced = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert predicted <= traced <= predicted + 32 * KIB


def test_training_timeline_by_hand() -> None:
    """Two 1x1 convs of the input, concatenated, then a 1x1 conv; float32, batch 1.
    input 64 values (256 B); a, b 4x8x8 (1 KiB each); cat 2 KiB; c 256 B."""
    g = graph("""
        input: [1, 8, 8]
        layers:
          - conv: {filters: 4, kernel: 1, name: a}
          - conv: {filters: 4, kernel: 1, in: input, name: b}
          - concat: {in: [a, b], name: cat}
          - conv: {filters: 1, kernel: 1, name: c}
    """)
    t = analyze_memory(g, training=True).training
    assert t is not None
    assert t.timeline == (
        ("forward", "a", 256 + 1024),
        ("forward", "b", 256 + 1024 + 1024),
        ("forward", "cat", 256 + 1024 + 1024 + 2048),  # a and b are freed after cat
        ("forward", "c", 256 + 2048 + 256),  # cat is kept: c saves its input
        # c's backward: the loss gradient of c (256) and the gradient of cat (2 KiB) it makes,
        # next to the saved cat, the input (a and b save it) and the output (the caller's).
        ("backward", "c", 256 + 2048 + 256 + 256 + 2048),
        # concat hands a and b slices of its gradient: no new buffer, cat itself is released.
        ("backward", "cat", 256 + 256 + 2048),
        ("backward", "b", 256 + 256 + 2048),
        ("backward", "a", 256 + 256 + 2048),
    )
    assert (t.peak_phase, t.peak_layer) == ("backward", "c")
    assert t.saved_bytes == 256 + 2048 and t.transient_bytes == 256 + 256 + 2048


def test_a_strided_slice_is_a_view_that_flatten_must_copy() -> None:
    """x[:, :, ::2] shares x's buffer but leaves gaps, so flattening it copies (as NumPy's and
    PyTorch's reshape do); a channel step leaves gaps too, a single strided index does not."""
    spec = """
        input: [4, 6, 6]
        layers:
          - slice: {axis: 1, step: 2, name: rows}
          - flatten: {name: flat}
          - slice: {step: 2, in: input, name: even}
          - flatten: {name: flat_even}
          - slice: {stop: 1, step: 3, in: input, name: first}
          - flatten: {name: flat_first}
          - concat: {in: [flat, flat_even, flat_first], name: all}
    """
    mem = analyze_memory(graph(spec), batch=2)
    storage = {layer.name: layer.storage for layer in mem.layers}
    assert storage["rows"] == "view of input" and storage["flat"] == "new"
    assert storage["even"] == "view of input" and storage["flat_even"] == "new"
    assert storage["flat_first"] == "view of first"
    x = np.arange(2 * 4 * 6 * 6, dtype=np.float64).reshape(2, 4, 6, 6)
    assert not np.shares_memory(x[:, :, ::2].reshape(2, -1), x)
    assert np.shares_memory(x[:, 0:1:3].reshape(2, -1), x)
