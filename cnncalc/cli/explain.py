"""`cnncalc explain FILE LAYER`: one layer's numbers with the formulas written out."""
from __future__ import annotations

import click

from cnncalc.cli.common import (
    console,
    emit_json,
    fail,
    input_option,
    load_or_exit,
    output_options,
    spec_argument,
)
from cnncalc.report import text
from cnncalc.report.jsondoc import graph_json


@click.command()
@spec_argument
@click.argument("layer_name", metavar="LAYER")
@input_option
@output_options
def explain(file: str, layer_name: str, input_shape: tuple[int, ...] | None, as_json: bool,
            no_color: bool) -> None:
    """Explain one layer: shapes, parameters and receptive field with the numbers plugged in."""
    graph = load_or_exit(file, input_shape)
    try:
        layer = graph.layer(layer_name)
    except KeyError as exc:
        fail(f"{file}: error: {exc.args[0]}")
    lines = explanation(graph, layer.name)
    if as_json:
        document = graph_json(graph)
        document["explain"] = {"layer": layer.name, "lines": lines}
        emit_json(document)
        return
    out = console(no_color)
    for line in lines:
        out.print(line, markup=False)


def explanation(graph, name: str) -> list[str]:  # type: ignore[no-untyped-def]
    """The explanation as plain lines (also used by the JSON output and tests)."""
    layer = graph.layer(name)
    layout = graph.spec.layout
    sources = ", ".join(f"{src} {text.shape(graph.shape_of(src), layout)}" for src in layer.inputs)
    lines = [f"{layer.name}: {layer.op_name} ({layer.op.summary})",
             f"  defined at {layer.loc}",
             f"  input:  {sources}",
             f"  output: {text.shape(layer.out_shape, layout)} = {text.count(layer.out_size)} values"
             + ("  (channels last)" if layout == "channels_last" else ""),
             "  output shape:"]
    lines += [f"    {line}" for line in layer.op.shape_formula(layer)]
    lines.append(f"  parameters: {layer.op.param_formula(layer)}")
    for tensor in layer.tensors:
        kind = "trainable" if tensor.trainable else "buffer"
        lines.append(f"    {tensor.name}: {text.shape(tensor.shape)} = {text.count(tensor.size)} ({kind})")
    macs, (extra, how) = layer.op.macs(layer), layer.op.flops(layer)
    lines.append("  compute (one sample):")
    if macs:
        lines.append(f"    MACs = {layer.op.macs_formula(layer)}")
    flops = 2 * macs + extra
    parts = ([f"2 x {text.count(macs)} MACs"] if macs else []) + ([how] if extra or not macs else [])
    lines.append(f"    FLOPs = {text.count(flops)} ({'; '.join(parts)})")
    dtype = graph.spec.dtype
    from cnncalc.spec.dtypes import DTYPE_BYTES

    size = DTYPE_BYTES[dtype]
    lines.append(f"  activation: {text.count(layer.out_size)} values x {size} bytes ({dtype}) = "
                 f"{text.binary_bytes(layer.out_size * size)}")
    from cnncalc.analysis.rf import analyze_rf
    from cnncalc.report.rfexplain import rf_lines

    lines += rf_lines(graph, analyze_rf(graph), layer)
    return lines


@click.command("ops")
@click.option("--markdown", is_flag=True, help="Print the op reference as a Markdown table.")
def ops_command(markdown: bool) -> None:
    """List every op with its arguments and defaults."""
    from cnncalc.report.opref import op_reference

    click.echo(op_reference(markdown))
