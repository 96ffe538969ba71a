"""`--device NAME|FILE.yaml`: the device of the latency bounds (flops, summary, sweep)."""
from __future__ import annotations

import os
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import click

from cnncalc.cli.common import Done, report
from cnncalc.problems import SpecError

if TYPE_CHECKING:
    from cnncalc.devices import Device


def resolve_device(value: str | None) -> Device | None:
    """A built-in device by name, or a device file (a path ending .yaml/.yml, or any file)."""
    if value is None:
        return None
    # Lazy: device files and the roofline analysis load only when --device is given, which
    # keeps them off the start-up of every summary and flops.
    from cnncalc.devices import builtin, load_device

    if value.endswith((".yaml", ".yml")) or os.sep in value or os.path.isfile(value):
        try:
            return load_device(value)
        except SpecError as exc:
            report(exc.problems)
            raise Done(2) from None
    try:
        return builtin(value)
    except KeyError as exc:
        raise click.BadParameter(str(exc.args[0]), param_hint="'--device'") from None


def device_option(f: Callable[..., Any]) -> Callable[..., Any]:
    return click.option(
        "--device", metavar="NAME|FILE.yaml", default=None,
        help="Add roofline latency lower bounds on this device: a built-in name (a100-sxm4-40gb, "
             "t4, v100-sxm2) or a YAML file with name, peak_flops (dtype -> FLOP/s) and "
             "bandwidth (bytes/s).")(f)


def roofline_or_exit(graph: Any, device: Device, batch: int = 1, cost: Any = None) -> Any:
    """The roofline of `graph` (`cost`: the command's cost analysis at `batch`, reused)."""
    from cnncalc.analysis.roofline import NoPeak, analyze_roofline  # lazy: only with --device

    try:
        return analyze_roofline(graph, device, batch, cost=cost)
    except NoPeak as exc:
        raise click.UsageError(str(exc)) from None
