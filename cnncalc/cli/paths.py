"""`cnncalc paths FILE`: the residual path ensemble (Veit et al. 2016) of any network."""
from __future__ import annotations

import click

from cnncalc.analysis.paths import path_stats
from cnncalc.cli.common import input_option, load_or_exit, output_options, spec_argument
from cnncalc.report import text
from cnncalc.report.output import Output
from cnncalc.report.table import Cell, Table, count_cell

BAR_WIDTH = 30


@click.command()
@spec_argument
@input_option
@output_options()
def paths(file: str, input_shape: tuple[int, ...] | None, out: Output) -> None:
    """Input-to-output paths: exact count, length distribution in weighted layers (conv,
    deconv, dense) and in residual blocks, mean, most common and the share of short paths."""

    graph = load_or_exit(file, input_shape)
    stats = path_stats(graph)
    if out.json_wanted:
        out.json({
            "name": graph.name, "paths": stats.paths,
            "lengths": {str(k): n for k, n in stats.lengths.items()},
            "block_lengths": {str(k): n for k, n in stats.block_lengths.items()},
            "depth": stats.depth, "blocks": stats.blocks,
            "mean_length": float(stats.mean), "mean_blocks": float(stats.mean_blocks),
            "most_common_length": stats.most_common,
            "most_common_blocks": stats.most_common_blocks,
            "shorter_than_half_depth": float(stats.shorter_than_half),
            "per_output": stats.per_output})
        return
    out.line(f"{graph.name}: {text.count(stats.paths)} input-to-output paths"
             + (f" (2^{stats.paths.bit_length() - 1})" if _power_of_two(stats.paths) else ""))
    table = Table([("weighted layers", "right"), ("paths", "right"), ("share", "right"),
                   ("", "left")])
    top = max(stats.lengths.values(), default=0)
    for length, n in stats.lengths.items():
        table.add([str(length), count_cell(n), Cell(text.percent(n, stats.paths), n / stats.paths),
                   "#" * max(1, round(n / top * BAR_WIDTH))])
    out.table(table)
    if stats.blocks:
        blocks = Table([("residual blocks", "right"), ("paths", "right"), ("share", "right")])
        for length, n in stats.block_lengths.items():
            blocks.add([str(length), count_cell(n), Cell(text.percent(n, stats.paths), n / stats.paths)])
        out.table(blocks)
    out.line(f"depth (longest path): {stats.depth} weighted layers, {stats.blocks} residual blocks")
    out.line(f"mean length: {float(stats.mean):.2f} weighted layers "
             f"({float(stats.mean_blocks):.2f} blocks); most common: {stats.most_common} "
             f"({stats.most_common_blocks} blocks)")
    out.line(f"shorter than half the depth (< {stats.depth / 2:g} weighted layers): "
             f"{100 * float(stats.shorter_than_half):.1f}% of the paths")


def _power_of_two(n: int) -> bool:
    return n > 1 and n & (n - 1) == 0
