"""`cnncalc verify FILE`: run the network in NumPy and check every computed number;
`cnncalc init-weights FILE -o w.npz`: write the weights a verify run would use, as a template."""
from __future__ import annotations

import os
import sys
from typing import TYPE_CHECKING, Any

import click

from cnncalc.backend import inputs
from cnncalc.backend import verify as V
from cnncalc.backend import weights as W
from cnncalc.backend.arrayfiles import (
    ActivationWriter,
    ArrayFileError,
    check_member_name,
    write_npy,
    write_npz,
)
from cnncalc.backend.budget import default_limit
from cnncalc.backend.run import LayerError
from cnncalc.cli.common import (
    Done,
    byte_size,
    fail,
    input_option,
    load_or_exit,
    output_options,
    report,
    spec_argument,
)
from cnncalc.problems import Loc, Problem, SpecError
from cnncalc.report.formats import text_line
from cnncalc.report.jsondoc import graph_json
from cnncalc.report.output import Output
from cnncalc.report.verifytext import render
from cnncalc.spec.source import readable
from cnncalc.text import binary_bytes as b

if TYPE_CHECKING:
    import numpy as np

    from cnncalc.backend.verify import BudgetError
    from cnncalc.graph import Graph


@click.command()
@spec_argument
@input_option
@click.option("--batch", type=click.IntRange(min=1), default=None,
              help="Samples per forward pass (default 1, or the input file's batch).")
@click.option("--dtype", type=click.Choice(["float32", "float64"]), default="float32",
              show_default=True, help="Precision of the forward pass.")
@click.option("--seed", type=click.IntRange(min=0), default=0, show_default=True,
              help="Seed of the random weights and input.")
@click.option("--weights", "weights_file", type=click.Path(dir_okay=False),
              help="Weights from an .npz file keyed 'layer.tensor' (see init-weights).")
@click.option("--input-file", type=click.Path(dir_okay=False),
              help="The input: a .npy array (with or without batch axis) or an image (Pillow).")
@click.option("--layer", "layers", multiple=True, metavar="NAME",
              help="Also measure this layer's receptive field (repeatable).")
@click.option("--no-rf", is_flag=True, help="Skip the receptive-field measurement.")
@click.option("--max-memory", callback=byte_size, metavar="SIZE",
              help="Refuse runs estimated to need more (e.g. 16GB; default 80% of the "
                   "available memory).")
@click.option("--save-output", type=click.Path(dir_okay=False),
              help="Write the output to .npy (all outputs, keyed by name: .npz).")
@click.option("--save-activations", type=click.Path(file_okay=False),
              help="Write every layer's activation to DIR/<layer>.npy.")
@click.option("--training", is_flag=True,
              help="Also run a training step (forward + backward; loss: the outputs times a "
                   "fixed random tensor) and check the training memory model step by step and "
                   "the backward MACs.")
@click.option("--all", "show_all", is_flag=True, help="List every check, not only failures.")
@output_options(("text", "json", "csv", "markdown"))
def verify(file: str, input_shape: tuple[int, ...] | None, batch: int | None, dtype: str, seed: int,
           weights_file: str | None, input_file: str | None, layers: tuple[str, ...], no_rf: bool,
           max_memory: int | None, save_output: str | None, save_activations: str | None,
           training: bool, show_all: bool, out: Output) -> None:
    """Run the network in NumPy and compare shapes, parameters, MACs, memory and receptive
    fields with what cnncalc computes (with --training, a backward pass too). Exit 0 when
    every check passes, 1 otherwise."""
    graph = load_or_exit(file, input_shape)
    for name in layers:
        try:
            graph.layer(name)
        except KeyError as exc:
            fail(file, f"--layer: {exc.args[0]}", "unknown-layer")
    x, input_name = _input(graph, input_file, batch, dtype)
    if save_output is not None and not save_output.endswith(".npz") and len(graph.outputs) != 1:
        fail(save_output, f"the network has {len(graph.outputs)} outputs; save them to an .npz "
             "file", "bad-output")
    limit, why = (max_memory, "--max-memory") if max_memory is not None else default_limit()
    run_batch = x.shape[0] if x is not None else batch or 1
    try:
        plans, _ = V.prepare(graph, batch=run_batch, dtype=dtype,
                             rf_layers=None if no_rf else list(layers), limit=limit)
        if training:
            V.check_training_budget(graph, run_batch, dtype, limit)
    except V.BudgetError as exc:
        fail(file, _refusal(exc, why), "too-large")
    except ValueError as exc:  # a network the NumPy forward cannot hold (too many axes)
        fail(file, str(exc), "unsupported")
    weights = _weights(graph, weights_file, dtype)
    observe = _saver(save_activations, x, graph) if save_activations is not None else None

    with _progress(len(graph.layers), out.format != "text") as step:
        try:
            report = V.verify(graph, batch=run_batch, dtype=dtype, seed=seed, weights=weights,
                              weights_name=weights_file or "", x=x, input_name=input_name,
                              plans=plans, observe=observe, step=step, training=training)
        except MemoryError:
            fail(file, "out of memory during the run; lower --batch or --input",
                 "out-of-memory")
        except ArrayFileError as exc:  # an activation that could not be written
            fail(save_activations or file, str(exc), "unwritable")
    if save_output is not None:
        _save_output(save_output, report.outputs)
    if out.json_wanted:
        document = graph_json(graph)
        document.update(report.as_json())
        out.json(document)
    else:
        render(out, graph, report, show_all)
    raise Done(0 if report.ok else 1)


def _input(graph: Graph, path: str | None, batch: int | None, dtype: str
           ) -> tuple[np.ndarray | None, str]:
    """The input batch from a file (None: verify draws a seeded random one)."""
    if path is None:
        return None, ""

    _readable(path)
    try:
        sample = inputs.load(path, graph.input_shape, graph.spec.layout, batch, dtype)
    except inputs.InputError as exc:
        fail(path, str(exc), "bad-input")
    for note in sample.notes:
        click.echo(text_line(Problem(Loc(path, 1, 1), "note", "note", note)), err=True)
    return sample.x, path


def _readable(path: str) -> None:
    """The same refusal for a missing or unreadable file as every command gives (a regular
    file: the loaders seek in it)."""

    try:
        readable(path)
    except SpecError as exc:
        report(exc.problems)
        raise Done(2) from None


def _weights(graph: Graph, path: str | None, dtype: str) -> dict[str, np.ndarray] | None:
    if path is None:
        return None

    _readable(path)
    try:
        return W.load(path, graph, dtype)
    except W.WeightsError as exc:
        report(Problem(Loc(path, 1, 1), "error", "bad-weights", message) for message in exc.problems)
        raise Done(2) from None


def _refusal(exc: BudgetError, why: str) -> str:
    n = exc.needed
    parts = [f"weights {b(n.weights)}", f"input {b(n.inputs)}", f"activations {b(n.activations)}",
             f"workspace {b(n.workspace)} at {n.workspace_layer}"]
    if n.probe:
        parts.append(f"receptive-field probe {b(n.probe)}")
    suggest = -(-n.total // 2**30) + 1
    return (f"verify would need about {b(n.total)} ({', '.join(parts)}) but the "
            f"limit is {b(exc.limit)} ({why}); use a smaller --input or --batch, skip the probe "
            f"with --no-rf, or raise the limit with --max-memory {suggest}GiB")


def _saver(directory: str, x: np.ndarray | None, graph: Graph) -> Any:
    try:
        writer = ActivationWriter(directory, [layer.name for layer in graph.layers])
        if x is not None:
            writer.input(x)
    except ArrayFileError as exc:
        fail(directory, f"--save-activations: {exc}", "unwritable")
    return writer


def _save_output(path: str, outputs: dict[str, np.ndarray]) -> None:
    try:
        if path.endswith(".npz"):
            write_npz(path, outputs)
        elif len(outputs) != 1:
            raise ArrayFileError(f"the network has {len(outputs)} outputs; save them to an .npz file")
        else:
            write_npy(path, next(iter(outputs.values())))
    except ArrayFileError as exc:
        fail(path, f"--save-output: {exc}", "unwritable")


class _progress:
    """A rich progress bar on stderr while verify runs, when stderr is a terminal."""

    def __init__(self, layers: int, quiet: bool):
        self.bar: Any = None
        self.tasks: dict[str, Any] = {}
        if not quiet and sys.stderr.isatty():
            from rich.console import Console
            from rich.progress import Progress

            color = "NO_COLOR" not in os.environ
            self.bar = Progress(console=Console(stderr=True, no_color=not color), transient=True)

    def __enter__(self) -> Any:
        if self.bar is None:
            return None
        self.bar.start()
        return self.step

    def step(self, phase: str, done: int, total: int) -> None:
        if phase not in self.tasks:
            self.tasks[phase] = self.bar.add_task(phase, total=total)
        self.bar.update(self.tasks[phase], completed=done, total=total)

    def __exit__(self, *exc: object) -> None:
        if self.bar is not None:
            self.bar.stop()


@click.command("init-weights")
@spec_argument
@input_option
@click.option("-o", "--output", required=True, type=click.Path(dir_okay=False),
              help="The .npz file to write.")
@click.option("--seed", type=click.IntRange(min=0), default=0, show_default=True,
              help="Seed of the random weights.")
@click.option("--max-memory", callback=byte_size, metavar="SIZE",
              help="Refuse networks estimated to need more (default 80% of the available memory).")
@output_options(("text", "json"), "text: one line; json: one JSON object.")
def init_weights(file: str, input_shape: tuple[int, ...] | None, output: str, seed: int,
                 max_memory: int | None, out: Output) -> None:
    """Write the weights `verify` would use (He uniform, calibrated) as an .npz template keyed
    'layer.tensor': replace the arrays you know and pass it to `verify --weights`."""
    graph = load_or_exit(file, input_shape)
    limit, why = (max_memory, "--max-memory") if max_memory is not None else default_limit()
    try:  # the calibration runs the network once, at batch 1
        V.prepare(graph, batch=1, limit=limit)
        for key in W.expected(graph):
            check_member_name(key)
    except V.BudgetError as exc:
        fail(file, _refusal(exc, why), "too-large")
    except (ArrayFileError, ValueError) as exc:
        fail(file, str(exc), "unsupported")

    try:
        arrays = W.init_weights(graph, seed)
    except LayerError as exc:
        fail(file, f"the calibration pass stopped: {exc}", "calibration")
    except MemoryError:
        fail(file, "out of memory during the calibration pass; lower --input", "out-of-memory")
    try:
        W.save(output, arrays)
    except ArrayFileError as exc:
        fail(output, str(exc), "unwritable")
    if out.json_wanted:
        out.json({"file": output, "arrays": len(arrays), "params": graph.total_params,
                  "buffers": graph.total_buffers})
        return
    out.line(f"wrote {len(arrays)} arrays ({graph.total_params:,} parameters, "
             f"{graph.total_buffers:,} buffers) to {output}")
