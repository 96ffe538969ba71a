"""The import writer: a folded spec (blocks, repeats, scoped names) loads into exactly the
network of the flat one, for hand-made models, cnncalc's own zoo seen as imported models
(with their module hierarchy, and with none), and random models with repeated structure."""
from __future__ import annotations

import re

import pytest
from helpers import ARCH
from hypothesis import given, settings
from hypothesis import strategies as st
from import_models import graph_model, same_network

from cnncalc import load_graph, load_graph_text
from cnncalc.graph import Graph
from cnncalc.imports.fold import fold
from cnncalc.imports.model import ImportedLayer, ImportedModel
from cnncalc.imports.names import run_name
from cnncalc.imports.write import scalar, write_flat, write_folded, write_spec

ZOO = sorted(path.stem for path in ARCH.glob("*.yaml"))


def both(model: ImportedModel) -> tuple[str, str, Graph, Graph]:
    """Folded and flat text, each loaded; asserts they are the same network."""
    folded = fold(model)
    text, flat = write_folded(model, folded), write_spec(model, flat=True)
    assert write_spec(model) == text
    graph_flat = load_graph_text(flat, "flat.yaml")
    graph_folded = load_graph_text(text, "folded.yaml")
    same_network(graph_flat, graph_folded, folded.names)
    return text, flat, graph_flat, graph_folded


class Zoo(dict[str, Graph]):
    def __repr__(self) -> str:
        return "<the zoo's graphs>"  # a failure shows this, not megabytes of graphs


@pytest.fixture(scope="module")
def zoo() -> dict[str, Graph]:
    return Zoo({name: load_graph(ARCH / f"{name}.yaml") for name in ZOO})


@pytest.mark.parametrize("hierarchy", [True, False], ids=["modules", "no-hierarchy"])
@pytest.mark.parametrize("name", ZOO)
def test_zoo_folds_into_the_same_network(zoo: dict[str, Graph], name: str, hierarchy: bool) -> None:
    graph = zoo[name]
    _, _, flat, folded = both(graph_model(graph, hierarchy))
    assert flat.total_params == folded.total_params == graph.total_params
    assert flat.total_buffers == folded.total_buffers == graph.total_buffers
    assert [layer.out_shape for layer in folded.layers] == [layer.out_shape for layer in graph.layers]


@pytest.mark.parametrize("name", ["resnet18", "resnet50", "densenet121", "mobilenet_v2",
                                  "efficientnet_b0"])
def test_repeated_stages_become_blocks_with_repeat(zoo: dict[str, Graph], name: str) -> None:
    text, flat, _, folded = both(graph_model(zoo[name]))
    assert "\nblocks:\n" in text
    assert re.search(r"repeat: (\d+|\$\w+)", text)
    assert len(text.splitlines()) < 0.7 * len(flat.splitlines())
    # the zoo's own names come back where the structure is the zoo's
    assert {layer.name for layer in zoo[name].layers} & {layer.name for layer in folded.layers}


def test_resnet50_reads_like_a_person_wrote_it(zoo: dict[str, Graph]) -> None:
    text, flat, _, folded = both(graph_model(zoo["resnet50"]))
    assert len(text.splitlines()) < 70 < 170 < len(flat.splitlines())
    assert "- conv: {filters: 64, kernel: 7, stride: 2, padding: 3, bias: false, name: conv1}" in text
    assert re.search(r"repeat: \$\w+, name: rest", text)   # the stage's count is an argument
    assert 'filters: "${filters * 4}"' in text  # the bottleneck's expansion, not an argument
    assert "layer3.rest.4.conv2" in {layer.name for layer in folded.layers}


def test_without_hierarchy_repeats_are_found_from_the_graph(zoo: dict[str, Graph]) -> None:
    text, flat, _, _ = both(graph_model(zoo["resnet50"], hierarchy=False))
    assert re.search(r"repeat: \d+", text)
    assert len(text.splitlines()) < len(flat.splitlines()) * 0.6
    text, _, _, _ = both(graph_model(zoo["vgg16"], hierarchy=False))
    assert re.search(r"relu_?\w*: \{repeat: [23], name", text) or "repeat: 2" in text


# -- a torch.fx-like ResNet by hand --------------------------------------------------------
def basic(layers: list[ImportedLayer], where: str, x: str, filters: int, stride: int,
          adds: list[int]) -> str:
    """torchvision's BasicBlock as fx names it: `relu` called twice, a global `add_N`."""
    flat = where.replace(".", "_")

    def add(name: str, op: str, args: dict[str, object], inputs: list[str], origin: str) -> str:
        layers.append(ImportedLayer(name, op, args, inputs, origin))
        return name

    conv = {"kernel": 3, "padding": 1, "bias": False}
    strided = {"stride": stride} if stride > 1 else {}
    y = add(f"{flat}_conv1", "conv", {"filters": filters, **conv, **strided}, [x], f"{where}.conv1")
    y = add(f"{flat}_bn1", "bn", {}, [y], f"{where}.bn1")
    y = add(f"{flat}_relu", "relu", {}, [y], f"{where}.relu")
    y = add(f"{flat}_conv2", "conv", {"filters": filters, **conv}, [y], f"{where}.conv2")
    y = add(f"{flat}_bn2", "bn", {}, [y], f"{where}.bn2")
    if stride > 1:
        x = add(f"{flat}_downsample_0", "conv", {"filters": filters, "kernel": 1, "stride": stride,
                                                 "bias": False}, [x], f"{where}.downsample.0")
        x = add(f"{flat}_downsample_1", "bn", {}, [x], f"{where}.downsample.1")
    y = add(f"add_{len(adds)}" if adds else "add", "add", {}, [y, x], f"{where}.add")
    adds.append(1)
    return add(f"{flat}_relu_1", "relu", {}, [y], f"{where}.relu")


def torch_like_resnet(blocks: tuple[int, ...] = (2, 2, 2, 2)) -> ImportedModel:
    layers: list[ImportedLayer] = []
    x = "input"
    for name, op, args in [("conv1", "conv", {"filters": 64, "kernel": 7, "stride": 2, "padding": 3,
                                              "bias": False}),
                           ("bn1", "bn", {}), ("relu", "relu", {}),
                           ("maxpool", "maxpool", {"kernel": 3, "stride": 2, "padding": 1})]:
        layers.append(ImportedLayer(name, op, args, [x], name))
        x = name
    adds: list[int] = []
    for stage, count in enumerate(blocks, start=1):
        for index in range(count):
            x = basic(layers, f"layer{stage}.{index}", x, 64 * 2 ** (stage - 1),
                      2 if index == 0 and stage > 1 else 1, adds)
    layers.append(ImportedLayer("avgpool", "gap", {}, [x], "avgpool"))
    layers.append(ImportedLayer("flatten", "flatten", {}, ["avgpool"], ""))
    layers.append(ImportedLayer("fc", "dense", {"units": 10}, ["flatten"], "fc"))
    return ImportedModel("resnet18", "torchvision.models:resnet18", [3, 64, 64], layers, ["fc"],
                         notes=["traced with torch.fx"])


def test_a_torch_like_resnet_keeps_its_module_names() -> None:
    model = torch_like_resnet((2, 2, 3, 2))
    text, _, flat, folded = both(model)
    assert text.startswith("# Imported by cnncalc from torchvision.models:resnet18.\n"
                           "# Note: traced with torch.fx\n")
    names = {layer.name for layer in folded.layers}
    # a stage of identical blocks is a repeat named as the module: torch's names come back
    assert {"layer1.0.conv1", "layer1.1.relu_1", "layer1.1.add"} <= names
    assert re.search(r"repeat: 2, name: layer1\}", text)
    # a stage whose first block differs: the first block and a repeat of the rest
    assert {"layer2_0.conv1", "layer2_0.downsample_0", "layer3_1-2.1.conv2"} <= names
    assert flat.layer("layer3_2_conv2").out_shape == folded.layer("layer3_1-2.1.conv2").out_shape
    # one block for every BasicBlock with the same insides, stride and filters as arguments
    assert text.count("\n  - ") < 20


def test_a_module_that_is_not_a_subgraph_is_dissolved() -> None:
    model = torch_like_resnet((2,))
    # layer1.0's bn1 is also read after the block: layer1.0 has two outputs
    model.layers.append(ImportedLayer("extra", "add", {}, ["fc", "fc"], "extra"))
    model.layers[-4].inputs = ["layer1_1_relu_1"]
    bn1 = next(layer for layer in model.layers if layer.name == "layer1_0_bn1")
    model.layers.insert(-1, ImportedLayer("side", "relu", {}, [bn1.name], "head.side"))
    model.outputs = ["extra", "side"]
    text, _, _, folded = both(model)
    assert "layer1_0_bn1" in {layer.name for layer in folded.layers}
    assert "outputs: [extra, head_side]" in text  # a module of one layer is dissolved


def test_an_outside_input_is_passed_as_an_argument() -> None:
    layers = [ImportedLayer("stem", "conv", {"filters": 8, "kernel": 1}, ["input"], "stem")]
    x = "stem"
    for i in range(3):
        for name, op, args, inputs in [("conv", "conv", {"filters": 8, "kernel": 3, "padding": 1}, [x]),
                                       ("mix", "add", {}, [f"b{i}_conv", "stem"]),
                                       ("act", "relu", {}, [f"b{i}_mix"])]:
            layers.append(ImportedLayer(f"b{i}_{name}", op, args, inputs, f"b{i}.{name}"))
        x = f"b{i}_act"
    text, _, _, folded = both(ImportedModel("skips", "a test", [3, 8, 8], layers, [x]))
    assert "skip: stem" in text and "in: [conv, $skip]" in text
    # b0 reads the stem as its input too: another structure, so it stays on its own
    assert {"b0_mix", "b1-2.1.mix"} <= {layer.name for layer in folded.layers}


def test_flat_is_one_layer_per_op() -> None:
    model = torch_like_resnet((1, 1))
    flat = write_spec(model, flat=True)
    assert "blocks:" not in flat and flat.count("\n  - ") == len(model.layers)


@pytest.mark.parametrize(("value", "text"), [
    (1e-05, "1.0e-05"), ("same", "same"), ("yes", '"yes"'), ("a b", '"a b"'), (True, "true"),
    ([1, [2, 3]], "[1, [2, 3]]"), (None, "null")])
def test_scalars_read_back_as_written(value: object, text: str) -> None:
    assert scalar(value) == text


# -- random models with repeated structure -------------------------------------------------
STEP = st.one_of(
    st.tuples(st.just("conv"), st.sampled_from([{"filters": 4, "kernel": 1},
                                                 {"filters": 4, "kernel": 3, "padding": 1},
                                                 {"filters": 4, "kernel": 3, "padding": 1, "bias": False}])),
    st.tuples(st.sampled_from(["relu", "bn", "sigmoid"]), st.just({})),
    st.tuples(st.sampled_from(["add", "multiply"]), st.just({})))


@st.composite
def repeated_models(draw: st.DrawFn) -> ImportedModel:
    """A stem, then groups of consecutive instances of random units (each step reads the
    previous one; a merge also reads an earlier tensor of the unit, its input or the network
    input); per instance, args may differ and a step may be left out (its readers then read
    its input); origins with hierarchy, or none."""
    hierarchy = draw(st.booleans())
    layers = [ImportedLayer("stem", "conv", {"filters": 4, "kernel": 1}, ["input"], "stem")]
    x = "stem"
    for g in range(draw(st.integers(1, 3))):
        unit = draw(st.lists(STEP, min_size=1, max_size=5))
        picks = [draw(st.integers(0, 10)) for _ in unit]  # which earlier tensor a merge reads
        vary = draw(st.booleans())
        optional = draw(st.integers(-1, len(unit) - 1))  # left out of every third copy
        for copy in range(draw(st.integers(1, 4))):
            made = [x]
            for k, (op, args) in enumerate(unit):
                if k == optional and copy % 3 == 2:
                    made.append(made[-1])
                    continue
                name, origin = f"g{g}_{copy}_{op}{k}", f"g{g}.{copy}.{op}{k}"
                if vary and op == "conv" and copy % 2:
                    args = {**args, "bias": False}
                inputs = [made[-1]]
                if op in ("add", "multiply"):
                    choices = [*made[:-1], "input"]
                    inputs.append(choices[picks[k] % len(choices)])
                layers.append(ImportedLayer(name, op, args, inputs, origin if hierarchy else ""))
                made.append(name)
            x = made[-1]
    layers.append(ImportedLayer("head", "gap", {}, [x], "head"))
    return ImportedModel("random", "a hypothesis draw", [4, 6, 6], layers, ["head"])


@settings(max_examples=60, deadline=None)
@given(repeated_models())
def test_random_repeated_models_fold_into_the_same_network(model: ImportedModel) -> None:
    both(model)


def test_the_flat_writer_is_unchanged_for_a_flat_model() -> None:
    model = ImportedModel("tiny", "a test", [3, 8, 8],
                          [ImportedLayer("c", "conv", {"filters": 2, "kernel": 1}, ["input"])], ["c"])
    assert write_flat(model).endswith("layers:\n  - conv: {filters: 2, kernel: 1, name: c}\n")
    assert write_spec(model).endswith("layers:\n  - conv: {filters: 2, kernel: 1, name: c}\n")


@pytest.mark.parametrize(("first", "last", "name"), [
    ("5", "6", "5-6"), ("10", "15", "10-15"), ("denselayer1", "denselayer6", "denselayer1-6"),
    ("layer10", "layer15", "layer10-15"), ("relu", "relu_1", "relu-1")])
def test_a_repeat_is_named_after_its_first_and_last_copy(first: str, last: str, name: str) -> None:
    assert run_name(first, last) == name
