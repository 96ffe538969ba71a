"""`cnncalc graph FILE --format dot|mermaid|svg`: the network as a picture."""
from __future__ import annotations

import click

from cnncalc.cli.common import depth_option, input_option, load_or_exit, spec_argument, top_option
from cnncalc.cli.writeout import write_document
from cnncalc.report.dot import render_dot
from cnncalc.report.graphmodel import build_model
from cnncalc.report.mermaid import render_mermaid
from cnncalc.report.svg import render_svg


@click.command()
@spec_argument
@input_option
@depth_option
@top_option
@click.option("--format", "fmt", type=click.Choice(["svg", "dot", "mermaid"]), default="svg",
              show_default=True, help="svg: drawn by cnncalc (no Graphviz needed); dot: for "
              "Graphviz; mermaid: renders in GitHub Markdown.")
@click.option("-o", "--output", "output", metavar="OUT", default=None,
              help="Write to OUT instead of standard output.")
def graph(file: str, input_shape: tuple[int, ...] | None, depth: int | None, top: int, fmt: str,
          output: str | None) -> None:
    """Draw the network: one node per layer (or block folded at --depth) with its op, output
    shape, params, MACs and receptive field; edges labelled with tensor shapes; merges,
    the --top heaviest layers and misaligned receptive fields marked.

    \b
    Examples:
      cnncalc graph resnet18.yaml -o resnet18.svg
      cnncalc graph resnet50.yaml --depth 2 --format dot | dot -Tpng > resnet50.png
      cnncalc graph net.yaml --format mermaid
    """
    model = build_model(load_or_exit(file, input_shape), depth, top)
    if fmt == "dot":
        write_document(render_dot(model), output)
    elif fmt == "mermaid":
        write_document(render_mermaid(model), output)
    else:
        write_document(render_svg(model), output)
