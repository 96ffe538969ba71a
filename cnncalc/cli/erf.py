"""`cnncalc erf FILE`: the effective receptive field of one unit (a gradient map), its size per
axis next to the theoretical receptive field, a text plot of its profile, the map as .npy."""
from __future__ import annotations

from typing import TYPE_CHECKING

import click

from cnncalc.backend import erf as E
from cnncalc.backend.arrayfiles import ArrayFileError, write_npy
from cnncalc.backend.erfstats import marginal
from cnncalc.backend.run import LayerError
from cnncalc.cli.common import fail, input_option, load_or_exit, output_options, spec_argument
from cnncalc.cli.rf import _parse_unit
from cnncalc.cli.verify import _weights
from cnncalc.report.erf import render_erf
from cnncalc.report.jsondoc import graph_json

if TYPE_CHECKING:
    from cnncalc.report.output import Output


@click.command()
@spec_argument
@click.option("--layer", "layer_name", metavar="NAME", default=None,
              help="The layer (or block: its last layer) whose unit is measured; default the "
                   "last layer with spatial positions.")
@click.option("--unit", metavar="I,J", callback=_parse_unit, default=None,
              help="The unit's spatial position, one index per axis; default the centre unit. "
                   "Its channels are summed: the map is the gradient of that sum.")
@input_option
@click.option("--weights", "weights_file", type=click.Path(dir_okay=False),
              help="Weights from an .npz file keyed 'layer.tensor' (see init-weights); "
                   "default fresh random weights for every sample.")
@click.option("--seed", type=click.IntRange(min=0), default=None,
              help="Seed of the random weights and inputs (sample i uses seed + i) [default: 0].")
@click.option("--samples", type=click.IntRange(min=1), default=8, show_default=True,
              help="Random inputs (and weight draws) averaged.")
@click.option("--linear", is_flag=True,
              help="Hold every activation as the identity: the analytic ERF.")
@click.option("--save-map", type=click.Path(dir_okay=False),
              help="Write the map over the input's spatial axes to .npy (float64, sums to 1).")
@output_options(("text", "json", "csv", "markdown"))
def erf(file: str, layer_name: str | None, unit: tuple[int, ...] | None,
        input_shape: tuple[int, ...] | None, weights_file: str | None, seed: int | None,
        samples: int, linear: bool, save_map: str | None, out: Output) -> None:
    """Effective receptive field (Luo et al. 2016): the magnitude of the gradient of one unit
    with respect to the input, averaged over random inputs (and weights); per axis its std,
    the half-widths r68 and r95 holding 68% and 95% of it around the unit's centre, and the
    theoretical receptive field."""
    if weights_file is not None and seed is not None:
        raise click.UsageError("--weights and --seed ask for different weights: give one")
    graph = load_or_exit(file, input_shape)
    if layer_name is not None:
        try:
            graph.layer(layer_name)
        except KeyError as exc:
            fail(file, f"--layer: {exc.args[0]}", "unknown-layer")
    weights = _weights(graph, weights_file, "float64")
    try:
        result = E.compute_erf(graph, layer_name, unit, weights=weights, seed=seed or 0,
                               samples=samples, linear=linear)
    except E.ErfError as exc:
        fail(file, str(exc), "erf")
    except LayerError as exc:
        fail(file, f"the backward pass stopped: {exc}", "backward")
    except MemoryError:
        fail(file, "out of memory during the backward pass; lower --input or --samples",
             "out-of-memory")
    if save_map is not None:
        try:
            write_npy(save_map, result.map)
        except ArrayFileError as exc:
            fail(save_map, f"--save-map: {exc}", "unwritable")
    if out.json_wanted:
        document = graph_json(graph)
        document["erf"] = result.as_json()
        out.json(document)
        return
    profiles = [marginal(result.map, axis).tolist() for axis in range(result.map.ndim)]
    render_erf(out, graph, result, profiles)
