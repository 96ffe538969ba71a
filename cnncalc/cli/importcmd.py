"""`cnncalc import SOURCE -o OUT.yaml`: a PyTorch, ONNX or Keras model as a cnncalc spec.

The spec is loaded back through cnncalc before anything is written: a mistake of the
importer can never leave a broken spec behind. For PyTorch, every layer's shape is also
compared with the shape PyTorch itself propagated through the node it came from.
"""
from __future__ import annotations

import importlib
import os
import sys
import tempfile
from typing import Any, NoReturn

import click

from cnncalc import text
from cnncalc.analysis.cost import analyze_cost
from cnncalc.cli.common import Done, parse_shape, report
from cnncalc.escape import escape
from cnncalc.graph import Graph, load_graph_text
from cnncalc.imports.model import ImportedModel, SourceError, UnsupportedModel
from cnncalc.imports.write import write_spec
from cnncalc.problems import SpecError

# SOURCE ending -> (importer module, function): imported by name, on use, so that a build
# without one of them still imports the others.
IMPORTERS = {".onnx": ("cnncalc.imports.onnx_source", "read_onnx"),
             ".keras": ("cnncalc.imports.keras_source", "read_keras")}


@click.command("import")
@click.argument("source")
@click.option("-o", "--output", required=True, metavar="OUT.yaml",
              help="Where to write the spec ('-' for standard output).")
@click.option("--input", "input_text", metavar="C,H,W",
              help="Input shape without the batch (required for PyTorch; optional for ONNX).")
@click.option("--example-input", type=click.Path(dir_okay=False), metavar="X.npy",
              help="An example input (.npy, batch first): gives the input shape.")
@click.option("--flat", is_flag=True, help="One layer per op (no blocks).")
@click.option("--name", help="The spec's `name` (default: the model's).")
@click.option("--force", is_flag=True, help="Overwrite OUT.yaml if it exists.")
def import_command(source: str, output: str, input_text: str | None, example_input: str | None,
                   flat: bool, name: str | None, force: bool) -> None:
    """Import a model (MODULE:CALLABLE for PyTorch, a .onnx or a .keras file) as a spec."""
    if output != "-" and os.path.exists(output) and not force:
        fail(output, "the file exists; pass --force to overwrite it")
    try:
        input_shape = parse_shape(input_text)
    except click.BadParameter as exc:
        raise click.BadParameter(exc.message, param_hint="'--input'") from None
    example = _example(example_input, input_shape) if example_input else None
    if example is not None:
        input_shape = tuple(int(n) for n in example.shape[1:])
    model, expected = _read(source, input_shape, example, name)
    if name:
        model.name = name
    graph = _checked(source, model, expected, flat)
    document = write_spec(model, flat=flat)
    _write(output, document)
    _summary(source, output, model, graph)


def fail(name: str, message: str) -> NoReturn:
    """`SOURCE: error: message` (a model or an output file has no line to point at), exit 2."""
    click.echo(escape(f"{name}: error: {message}", keep_newlines=True), err=True)
    raise Done(2)


def _example(path: str, input_shape: tuple[int, ...] | None) -> Any:
    import numpy as np  # noqa: PLC0415  (only an example input needs NumPy)

    try:
        array = np.load(path, allow_pickle=False)
    except (OSError, ValueError) as exc:
        fail(path, f"cannot read the example input: {exc}")
    if array.ndim < 2:
        fail(path, f"an example input has a batch axis first, got shape {list(array.shape)}")
    if input_shape is not None and tuple(array.shape[1:]) != input_shape:
        fail(path, f"the example input's shape {list(array.shape[1:])} (batch dropped) differs "
                   f"from --input {list(input_shape)}")
    return array


def _read(source: str, input_shape: tuple[int, ...] | None, example: Any,
          name: str | None) -> tuple[ImportedModel, dict[str, tuple[int, ...]] | None]:
    """The imported model, and for PyTorch the shapes every layer must have."""
    suffix = os.path.splitext(source)[1].lower()
    try:
        if suffix in IMPORTERS:
            module_name, function = IMPORTERS[suffix]
            try:
                module = importlib.import_module(module_name)
            except ImportError as exc:
                fail(source, f"this cnncalc has no {suffix} importer ({exc})")
            reader = getattr(module, function)
            if suffix == ".keras":
                if input_shape is not None:
                    fail(source, "a .keras file carries its input shape; --input and "
                                 "--example-input do not apply")
                return reader(source), None
            return reader(source, list(input_shape) if input_shape else None), None
        if ":" not in source:
            fail(source, "expected MODULE:CALLABLE (a PyTorch model, e.g. "
                         "torchvision.models:resnet18), a .onnx or a .keras file")
        if input_shape is None:
            fail(source, "a PyTorch model needs --input C,H,W (or --example-input X.npy)")
        from cnncalc.imports.torch_source import trace_torch  # noqa: PLC0415  (lazy: torch)

        traced = trace_torch(source, list(input_shape), example, name)
        return traced.model, traced.shapes
    except SourceError as exc:
        fail(source, str(exc))
    except UnsupportedModel as exc:
        click.echo(escape(f"{source}: error: {exc}", keep_newlines=True), err=True)
        click.echo("nothing written", err=True)
        raise Done(2) from None


def _checked(source: str, model: ImportedModel, expected: dict[str, tuple[int, ...]] | None,
             flat: bool) -> Graph:
    """Load what would be written (and the flat form it must agree with); exit 2 on any
    disagreement, naming it, before anything is written."""
    try:
        flat_graph = load_graph_text(write_spec(model, flat=True), "<imported>")
        graph = flat_graph if flat else load_graph_text(write_spec(model, flat=False), "<imported>")
    except SpecError as exc:
        report(exc.problems)
        fail(source, "internal error: the imported spec does not load (nothing written)")
    wrong = [f"{layer.name}: cnncalc {list(layer.out_shape)}, source {list(expected[layer.name])}"
             for layer in flat_graph.layers
             if expected is not None and layer.name in expected
             and expected[layer.name] != layer.out_shape]
    if wrong:
        fail(source, "internal error: shapes differ from the source's (nothing written):\n  "
             + "\n  ".join(wrong[:20]))
    if graph is not flat_graph and _totals(graph) != _totals(flat_graph):
        fail(source, f"internal error: the folded spec gives {_totals(graph)}, the flat one "
                     f"{_totals(flat_graph)} (nothing written)")
    return graph


def _totals(graph: Graph) -> tuple[int, int, int, list[tuple[int, ...]]]:
    return (graph.total_params, graph.total_buffers, analyze_cost(graph).total_macs,
            list(graph.output_shapes.values()))


def _write(path: str, document: str) -> None:
    """Atomically: a complete spec or none (a temporary file renamed over the target)."""
    if path == "-":
        sys.stdout.write(document)
        return
    folder = os.path.dirname(os.path.abspath(path))
    try:
        handle, temporary = tempfile.mkstemp(prefix=".cnncalc-import-", suffix=".yaml", dir=folder)
        try:
            with os.fdopen(handle, "w", encoding="utf-8") as stream:
                stream.write(document)
            os.replace(temporary, path)
        except BaseException:
            os.unlink(temporary)
            raise
    except OSError as exc:
        fail(path, f"cannot write the file: {exc.strerror or exc}")


def _summary(source: str, output: str, model: ImportedModel, graph: Graph) -> None:
    macs = analyze_cost(graph).total_macs
    shapes = ", ".join(text.fmt_shape(s) for s in graph.output_shapes.values())
    where = "standard output" if output == "-" else output
    lines = [f"imported {source} -> {where}",
             f"  {len(graph.layers)} layers, {text.count(graph.total_params)} params, "
             f"{text.count(graph.total_buffers)} buffers, {text.short(macs)} MACs, "
             f"input {text.fmt_shape(graph.input_shape)} -> output {shapes}"]
    lines += [f"  note: {note}" for note in model.notes]
    click.echo(escape("\n".join(lines), keep_newlines=True), err=True)
