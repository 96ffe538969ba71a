"""`cnncalc export FILE --to pytorch -o model.py`: the spec as code for another framework."""
from __future__ import annotations

import os

import click

from cnncalc.cli.common import (
    Done,
    fail,
    input_option,
    load_or_exit,
    output_options,
    report,
    spec_argument,
)
from cnncalc.export import TARGETS, ExportError
from cnncalc.problems import Loc, Problem, did_you_mean
from cnncalc.report.output import Output


def _target(ctx: click.Context, param: click.Parameter, value: str) -> str:
    if value not in TARGETS:
        raise click.BadParameter(f"unknown target '{value}'{did_you_mean(value, TARGETS)} "
                                 f"(known: {', '.join(TARGETS)})")
    return value


@click.command()
@spec_argument
@input_option
@click.option("--to", "target", required=True, metavar="TARGET", callback=_target,
              help=f"The framework to write for: {', '.join(TARGETS)}.")
@click.option("-o", "--output", default="-", show_default=True,
              type=click.Path(dir_okay=False, allow_dash=True),
              help="The file to write (-: standard output).")
@click.option("--force", is_flag=True, help="Overwrite the output file if it exists.")
@output_options(("text", "json"), "text: the module (-o -) or one line; json: one JSON object "
                                  "(with the code under \"code\" for -o -).")
def export(file: str, input_shape: tuple[int, ...] | None, target: str, output: str,
           force: bool, out: Output) -> None:
    """Write the network as a standalone PyTorch module: `class Model(nn.Module)`, one class
    per block, state_dict keys = cnncalc's layer names, `load_npz` for the weights cnncalc
    writes, and `python model.py` runs a random input."""
    graph = load_or_exit(file, input_shape)
    if output != "-" and os.path.lexists(output) and not force:
        fail(output, "exists; pass --force to overwrite it", "exists")
    try:
        text = TARGETS[target](graph, "<stdin>" if file == "-" else file)
    except ExportError as exc:
        loc = exc.loc or Loc("<stdin>" if file == "-" else file, 1, 1)
        report([Problem(loc, "error", "cannot-export", str(exc))])
        raise Done(2) from None
    classes = text.count("\nclass ")
    if output != "-":
        try:
            with open(output, "w", encoding="utf-8") as f:
                f.write(text)
        except OSError as exc:
            fail(output, f"cannot write: {exc.strerror or exc}", "unwritable")
    if out.json_wanted:
        document = {"file": None if output == "-" else output, "target": target, "classes": classes,
                    "params": graph.total_params, "buffers": graph.total_buffers}
        out.json({**document, "code": text} if output == "-" else document)
        return
    if output == "-":
        click.echo(text, nl=False)
        return
    click.echo(f"wrote {output}: class Model and {classes - 1} other class"
               f"{'es' if classes != 2 else ''} for PyTorch ({graph.total_params:,} parameters, "
               f"{graph.total_buffers:,} buffers); `python {output}` runs it")
