"""`cnncalc export --to pytorch`: the written module against cnncalc itself.

For every spec in architectures/ and a small spec per op and argument form: the module's
parameters, buffers (as cnncalc counts them: BatchNorm's num_batches_tracked is PyTorch's
counter, not a weight) and every layer's output shape (a forward hook on the submodule named
like the layer, at the spec's own input size, on the meta device) equal cnncalc's; and its
output on a fixed input, with the weights cnncalc writes, equals cnncalc's NumPy forward in
float64 (what `verify --dtype float64 --save-output` writes; the CLI round trip is tested
too) within a relative tolerance of 1e-6.
"""
from __future__ import annotations

import ast
import importlib.util
import json
import subprocess
import sys
import textwrap
import zipfile
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from export_cases import CASES

import cnncalc
from cnncalc.backend import run
from cnncalc.backend import weights as W
from cnncalc.cli import main
from cnncalc.export import ExportError, export_pytorch
from cnncalc.export.modules import MODULES
from cnncalc.graph import Graph
from cnncalc.ops.registry import ops

torch = pytest.importorskip("torch")
pytestmark = pytest.mark.torch

ROOT = Path(__file__).resolve().parent.parent
ARCH = ROOT / "architectures"
SPECS = sorted(p.relative_to(ARCH).as_posix() for p in ARCH.rglob("*.yaml"))
# Numbers at a small input where the spec allows it (the zoo at 224 in float64 is slow);
# counts and shapes are checked at the spec's own size as well.
SMALL = {"lenet5.yaml": None, "m5_audio.yaml": None, "alexnet.yaml": (3, 64, 64)}
RTOL = 1e-6
LOAD_NPZ_UP_TO = 20_000_000  # parameters; bigger nets take their weights without the .npz trip


def load_module(text: str, folder: Path, stem: str = "model") -> Any:
    path = folder / f"{stem}.py"
    path.write_text(text, encoding="utf-8")
    spec = importlib.util.spec_from_file_location(f"exported_{stem}_{abs(hash(str(folder)))}", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def buffers(model: Any) -> int:
    return sum(b.numel() for name, b in model.named_buffers()
               if not name.endswith("num_batches_tracked"))


def to_spec_layout(graph: Graph, y: np.ndarray) -> np.ndarray:
    """cnncalc's channels-first output in the layout the exported forward returns."""
    return np.moveaxis(y, 1, -1) if graph.spec.layout == "channels_last" and y.ndim > 2 else y


def check_counts_and_shapes(graph: Graph, module: Any) -> None:
    """Parameters, buffers and every layer's output shape, built on the meta device."""
    with torch.device("meta"):
        model = module.Model().eval()
    assert sum(p.numel() for p in model.parameters()) == graph.total_params
    assert buffers(model) == graph.total_buffers
    modules = dict(model.named_modules())
    seen: dict[str, tuple[int, ...]] = {}
    for layer in graph.layers:
        modules[layer.name].register_forward_hook(
            lambda m, i, out, name=layer.name: seen.__setitem__(name, tuple(out.shape[1:])))
    x = torch.empty((1, *module.Model.input_shape), device="meta")
    with torch.no_grad():
        y = model(x)
    ys = (y,) if len(graph.outputs) == 1 else y
    assert {name: seen.get(name) for name in graph.by_name} == {
        layer.name: layer.out_shape for layer in graph.layers}
    for name, out in zip(graph.outputs, ys):
        shape = graph.shape_of(name)
        want = (*shape[1:], shape[0]) if graph.spec.layout == "channels_last" and len(shape) > 1 else shape
        assert tuple(out.shape) == (1, *want), name


def check_numbers(graph: Graph, module: Any, folder: Path, seed: int = 0) -> None:
    """The exported model's outputs = cnncalc's float64 forward, same weights, same input."""
    weights = W.init_weights(graph, seed)
    x = np.random.default_rng(seed + 1).standard_normal((1, *graph.input_shape))
    want = run.forward(graph, x, W.cast(weights, np.float64)).outputs
    previous = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    try:
        with torch.device("meta"):
            model = module.Model()
        model = model.to_empty(device="cpu").eval()
    finally:
        torch.set_default_dtype(previous)
    if graph.total_params + graph.total_buffers <= LOAD_NPZ_UP_TO and weights:
        W.save(str(folder / "weights.npz"), weights)
        model.load_npz(str(folder / "weights.npz"))
    else:
        state = {key: torch.from_numpy(value.astype(np.float64)) for key, value in weights.items()}
        missing, unexpected = model.load_state_dict(state, strict=False, assign=True)
        assert not unexpected and all(k.endswith("num_batches_tracked") for k in missing)
    xt = torch.from_numpy(x)
    if graph.spec.layout == "channels_last" and x.ndim > 2:
        xt = xt.movedim(1, -1)
    with torch.no_grad():
        y = model(xt)
    ys = (y,) if len(graph.outputs) == 1 else y
    for name, out in zip(graph.outputs, ys):
        ref = to_spec_layout(graph, want[name])
        got = out.numpy()
        assert got.dtype == np.float64 and got.shape == ref.shape, name
        scale = max(float(np.abs(ref).max()), 1e-30)
        np.testing.assert_allclose(got, ref, rtol=RTOL, atol=RTOL * scale, err_msg=name)


def check_spec(graph: Graph, folder: Path, small: Graph | None = None) -> str:
    text = export_pytorch(graph, "spec.yaml")
    check_counts_and_shapes(graph, load_module(text, folder, "full"))
    if small is not None:
        small_text = export_pytorch(small, "spec.yaml")
        module = load_module(small_text, folder, "small")
        check_counts_and_shapes(small, module)
    else:
        small, module = graph, load_module(text, folder, "small")
    check_numbers(small, module, folder)
    return text


@pytest.mark.parametrize("name", SPECS)
def test_architecture_exports(name: str, tmp_path: Path) -> None:
    graph = cnncalc.load_graph(ARCH / name)
    small_shape = SMALL.get(name, (3, 32, 32)) if "/" not in name else None
    small = None
    if small_shape is not None and small_shape != graph.input_shape:
        small = cnncalc.load_graph(ARCH / name, small_shape)
    check_spec(graph, tmp_path, small)


def spec(body: str) -> Graph:
    return cnncalc.load_graph_text(textwrap.dedent(body), "spec.yaml")


@pytest.mark.parametrize("case", sorted(CASES))
def test_op_exports(case: str, tmp_path: Path) -> None:
    check_spec(spec(CASES[case]), tmp_path)


def test_module_is_plain_torch_and_runs(tmp_path: Path) -> None:
    """`python model.py` prints the output shapes; the module reads like hand-written code:
    one class per block, constructed with what differs, named submodules."""
    path = tmp_path / "model.py"
    assert main(["export", str(ARCH / "unet.yaml"), "--to", "pytorch", "-o", str(path),
                 "--input", "3,32,32"]) == 0
    text = path.read_text(encoding="utf-8")
    imported = {alias.name.split(".")[0] for node in ast.walk(ast.parse(text))
                if isinstance(node, (ast.Import, ast.ImportFrom))
                for alias in (node.names if isinstance(node, ast.Import) else [ast.alias(node.module or "")])}
    assert imported == {"ast", "math", "zipfile", "torch"}  # torch and the standard library only
    assert "class DoubleConv(nn.Module):" in text and "self.dec4 = Up(1024, 512)" in text
    assert "def forward(self, x, skip):" in text
    small, multi = tmp_path / "small.py", tmp_path / "multi.py"
    assert main(["export", str(ARCH / "lecture" / "05_small_cnn.yaml"), "--to", "pytorch",
                 "-o", str(small)]) == 0
    (tmp_path / "multi.yaml").write_text(textwrap.dedent(CASES["channels-last"]))
    assert main(["export", str(tmp_path / "multi.yaml"), "--to", "pytorch", "-o", str(multi)]) == 0
    # Both files run as scripts in one interpreter (torch loads once).
    script = "import runpy, sys\nfor path in sys.argv[1:]:\n    runpy.run_path(path, run_name='__main__')"
    done = subprocess.run([sys.executable, "-c", script, str(small), str(multi)],
                          capture_output=True, text=True, timeout=300, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    want = cnncalc.load_graph(ARCH / "lecture" / "05_small_cnn.yaml")
    name, = want.outputs
    assert done.stdout == (f"{name}: [1, {', '.join(map(str, want.shape_of(name)))}]\n"
                           "features: [1, 9, 8, 4]\ndense1: [1, 3]\n")


def test_verify_save_output_round_trip(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """The CLI end to end: init-weights, verify --dtype float64 --save-output, export, load_npz."""
    src = tmp_path / "net.yaml"
    src.write_text(textwrap.dedent("""
        vars: {width: 8}
        input: {shape: [12, 10, 3], layout: channels_last}
        layers:
          - conv: {filters: $width, kernel: 3, stride: 2, padding: same, bias: false}
          - bn
          - relu
          - conv: {filters: 4, kernel: 1, name: map}
          - gap
          - flatten
          - dense: 5
        outputs: [map, dense1]
    """))
    x = np.random.default_rng(3).standard_normal((1, 12, 10, 3))
    np.save(tmp_path / "x.npy", x)
    common = [str(src), "--set", "width=6"]
    assert main(["init-weights", *common, "-o", str(tmp_path / "w.npz")]) == 0
    assert main(["verify", *common, "--dtype", "float64", "--weights", str(tmp_path / "w.npz"),
                 "--input-file", str(tmp_path / "x.npy"), "--save-output", str(tmp_path / "y.npz"),
                 "--no-rf"]) == 0
    assert main(["export", *common, "--to", "pytorch", "-o", str(tmp_path / "net.py")]) == 0
    capsys.readouterr()
    module = load_module((tmp_path / "net.py").read_text(), tmp_path, "net")
    model = module.Model().double().eval()
    model.load_npz(str(tmp_path / "w.npz"))
    with torch.no_grad():
        got = model(torch.from_numpy(x))
    want = np.load(tmp_path / "y.npz")
    assert module.Model.output_names == ("map", "dense1")
    np.testing.assert_allclose(got[0].numpy(), np.moveaxis(want["map"], 1, -1), rtol=RTOL, atol=1e-9)
    np.testing.assert_allclose(got[1].numpy(), want["dense1"], rtol=RTOL, atol=1e-9)


def test_load_npz_is_strict(tmp_path: Path) -> None:
    graph = spec(CASES["conv-1d"])
    module = load_module(export_pytorch(graph), tmp_path)
    weights = W.init_weights(graph)
    model = module.Model()
    before = {k: v.clone() for k, v in model.state_dict().items()}
    broken = dict(weights)
    del broken["conv1.bias"]
    broken["conv1.weight"] = broken["conv1.weight"][:2]
    broken["conv9.weight"] = np.zeros(3, dtype=np.float32)
    W.save(str(tmp_path / "bad.npz"), broken)
    with pytest.raises(ValueError) as exc:
        model.load_npz(str(tmp_path / "bad.npz"))
    message = str(exc.value)
    assert "missing 'conv1.bias' of shape (4,)" in message
    assert "unexpected 'conv9.weight'" in message
    assert "'conv1.weight' has shape (2, 2, 5), the model needs (4, 2, 5)" in message
    assert all(torch.equal(before[k], v) for k, v in model.state_dict().items())  # nothing loaded
    with zipfile.ZipFile(tmp_path / "text.npz", "w") as archive:
        archive.writestr("notes.txt", "hello")
    with pytest.raises(ValueError, match="'notes.txt' is not a .npy array"):
        model.load_npz(str(tmp_path / "text.npz"))
    W.save(str(tmp_path / "good.npz"), weights)
    model.load_npz(str(tmp_path / "good.npz"))
    assert torch.equal(model.conv1.weight, torch.from_numpy(weights["conv1.weight"]))


def test_cli_errors(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    src = tmp_path / "net.yaml"
    src.write_text("input: [3, 8, 8]\nlayers:\n  - conv: {filters: 4, kernel: 3}\n  - relu: {name: train}\n")
    out = tmp_path / "net.py"
    assert main(["export", str(src), "--to", "pytorch", "-o", str(out)]) == 2
    err = capsys.readouterr().err
    assert f"{src}:4:5: error: 'train': the name 'train' is an attribute of every" in err
    assert not out.exists()
    assert main(["export", str(src), "--to", "keras", "-o", str(out)]) == 2
    err = capsys.readouterr().err
    assert "unknown target 'keras'" in err and "(known: pytorch)" in err
    src.write_text("input: [3, 8, 8]\nlayers:\n  - conv: {filters: 4, kernel: 3}\n")
    out.write_text("keep")
    assert main(["export", str(src), "--to", "pytorch", "-o", str(out)]) == 2
    assert "exists; pass --force" in capsys.readouterr().err and out.read_text() == "keep"
    assert main(["export", str(src), "--to", "pytorch", "-o", str(out), "--force"]) == 0
    assert "class Model(nn.Module)" in out.read_text()
    capsys.readouterr()
    assert main(["export", str(src), "--to", "pytorch"]) == 0  # standard output by default
    assert capsys.readouterr().out.startswith('"""net: a PyTorch module written by `cnncalc')
    assert main(["export", str(src), "--to", "pytorch", "--json"]) == 0
    document = json.loads(capsys.readouterr().out)
    assert document["code"].startswith('"""net:') and document["params"] == 3 * 9 * 4 + 4
    assert main(["export", str(src), "--to", "pytorch", "-o", str(out), "--force", "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == {"file": str(out), "target": "pytorch",
                                                   "classes": 1, "params": 112, "buffers": 0}


def test_unwritable_ops_name_the_layer() -> None:
    graph = spec("""
        input: [1, 4, 4, 4, 4]
        layers:
          - conv: {filters: 2, kernel: 1, name: four_d}
    """)
    with pytest.raises(ExportError, match="conv 'four_d': torch.nn has no convolution over 4"):
        export_pytorch(graph)


def test_drop_path_and_dropout_act_only_in_training(tmp_path: Path) -> None:
    """Identity in eval mode (what the comparisons above run); in training drop_path zeroes
    whole samples (row) or the whole batch and scales the rest by 1 / (1 - rate)."""
    graph = spec("""
        input: [3, 4]
        layers:
          - drop_path: {rate: 0.5, name: row}
          - drop_path: {rate: 0.25, mode: batch, name: batch}
          - dropout: {rate: 0.5, in: input, name: drop}
        outputs: [row, batch, drop]
    """)
    model = load_module(export_pytorch(graph), tmp_path).Model()
    x = torch.ones(400, 3, 4)
    with torch.no_grad():
        assert all(torch.equal(y, x) for y in model.eval()(x))
        torch.manual_seed(0)
        row, batch, drop = model.train()(x)
    per_sample = row.reshape(400, -1)
    assert set(per_sample.unique().tolist()) == {0.0, 2.0}
    assert all(len(s.unique()) == 1 for s in per_sample)  # a whole sample is kept or dropped
    assert 120 < int((per_sample[:, 0] == 0).sum()) < 280
    assert torch.equal(batch, torch.zeros_like(row)) or torch.allclose(batch, row / 0.75)
    assert set(drop.unique().tolist()) == {0.0, 2.0}


def test_random_valid_networks_export(tmp_path: Path) -> None:
    """tests/fuzz_nets.py's random valid networks (every op, random arguments, merges):
    exported, each gives cnncalc's counts, shapes and float64 outputs. The exporter may refuse
    only what torch.nn cannot hold (more than 3 spatial axes)."""
    import fuzz_nets  # the generator lives with the tests
    import yaml

    seen: set[str] = set()
    exported = 0
    for seed in range(60):
        net = fuzz_nets.network(fuzz_nets.RandomDraw(seed))
        try:
            graph = cnncalc.load_graph_text(yaml.safe_dump(net.spec, sort_keys=False), "fuzz.yaml")
        except cnncalc.SpecError:
            continue  # the generator's rare misses are test_fuzz.py's business
        try:
            text = export_pytorch(graph)
        except ExportError as exc:
            assert "spatial axes" in str(exc) and len(graph.input_shape) > 4, (seed, exc)
            continue
        folder = tmp_path / str(seed)
        folder.mkdir()
        module = load_module(text, folder)
        check_counts_and_shapes(graph, module)
        check_numbers(graph, module, folder, seed)
        seen |= {layer.op_name for layer in graph.layers}
        exported += 1
    assert exported >= 40 and len(seen) >= 30, (exported, sorted(seen))


def test_every_op_has_an_export_case() -> None:
    """A new op fails here until it exports (cnncalc/export/modules.py) and a case above
    runs it against the NumPy forward."""
    covered = {layer.op_name for body in CASES.values() for layer in spec(body).layers}
    assert covered == set(ops()), set(ops()) - covered
    assert set(MODULES) == set(ops())
