"""`cnncalc explain FILE LAYER`: one layer's numbers with the formulas written out;
`cnncalc ops`: the op reference."""
from __future__ import annotations

import click

from cnncalc.cli.common import fail, input_option, load_or_exit, output_options, spec_argument
from cnncalc.report.explain import explanation
from cnncalc.report.jsondoc import graph_json
from cnncalc.report.oplist import op_reference_json, op_table
from cnncalc.report.opref import op_reference
from cnncalc.report.output import Output


@click.command()
@spec_argument
@click.argument("layer_name", metavar="LAYER")
@input_option
@output_options(("text", "json"), "text: the explanation; json: one JSON object.")
def explain(file: str, layer_name: str, input_shape: tuple[int, ...] | None, out: Output) -> None:
    """Explain one layer: shapes, parameters and receptive field with the numbers plugged in."""
    graph = load_or_exit(file, input_shape)
    try:
        layer = graph.layer(layer_name)
    except KeyError as exc:
        fail(file, str(exc.args[0]), "unknown-layer")
    lines = explanation(graph, layer.name)
    if out.json_wanted:
        document = graph_json(graph)
        document["explain"] = {"layer": layer.name, "lines": lines}
        out.json(document)
        return
    for line in lines:
        out.line(line)


@click.command("ops")
@click.option("--markdown", is_flag=True, help="Same as --format markdown.")
@output_options()
def ops_command(markdown: bool, out: Output) -> None:
    """List every op with its arguments and defaults."""
    if markdown and out.format in ("text", "markdown"):
        out.format = "markdown"
    elif markdown:
        raise click.UsageError(f"--markdown and --format {out.format} ask for different outputs")
    if out.json_wanted:
        out.json(op_reference_json())
    elif out.format == "csv":
        out.table(op_table())
    else:
        out.stream.write(op_reference(out.format == "markdown") + "\n")
