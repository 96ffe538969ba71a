"""What every command shares: options, loading a spec (problems -> exit 2), output channels."""
from __future__ import annotations

import json
import os
import re
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, NoReturn

import click

from cnncalc.problems import Problem, SpecError

if TYPE_CHECKING:
    from rich.console import Console

    from cnncalc.graph import Graph


class Done(click.exceptions.Exit):
    """Leave a command with an exit code (0 ok, 1 checks failed, 2 bad input)."""


def parse_shape(value: str | None) -> tuple[int, ...] | None:
    if value is None:
        return None
    try:  # "3,224,224" or "3x224x224"
        shape = tuple(int(part) for part in re.split(r"[,x]", value.strip()))
    except ValueError:
        raise click.BadParameter(f"expected integers like 3,224,224, got {value!r}") from None
    if not shape or min(shape) <= 0:
        raise click.BadParameter(f"expected positive sizes like 3,224,224, got {value!r}")
    return shape


def input_option(f: Callable[..., Any]) -> Callable[..., Any]:
    return click.option("--input", "input_shape", metavar="C,H,W", callback=lambda c, p, v: parse_shape(v),
                        help="Override the spec's input shape (channels first, no batch).")(f)


def output_options(f: Callable[..., Any]) -> Callable[..., Any]:
    f = click.option("--json", "as_json", is_flag=True, help="Print one JSON object to stdout.")(f)
    f = click.option("--no-color", is_flag=True, help="No colour (also when NO_COLOR is set or "
                     "output is not a terminal).")(f)
    return f


def spec_argument(f: Callable[..., Any]) -> Callable[..., Any]:
    return click.argument("file", type=click.Path(dir_okay=False, allow_dash=True))(f)


def load_or_exit(file: str, input_shape: tuple[int, ...] | None = None) -> Graph:
    """Load a spec; on problems print them as FILE:LINE:COL and exit 2 (never a traceback)."""
    from cnncalc.graph import build_graph, load_graph
    from cnncalc.spec.document import load_spec

    try:
        if file == "-":
            return build_graph(load_spec(sys.stdin.read(), "<stdin>", input_shape))
        if not os.path.exists(file):
            fail(f"{file}: error: no such file")
        return load_graph(file, input_shape)
    except SpecError as exc:
        report_problems(exc.problems)
        raise Done(2) from None


def report_problems(problems: list[Problem]) -> None:
    for problem in problems:
        click.echo(str(problem), err=True)


def fail(message: str) -> NoReturn:
    click.echo(message, err=True)
    raise Done(2)


def use_color(no_color: bool) -> bool:
    return not no_color and "NO_COLOR" not in os.environ and sys.stdout.isatty()


def console(no_color: bool) -> Console:
    from rich.console import Console

    color = use_color(no_color)
    return Console(no_color=not color, highlight=False, force_terminal=color or None,
                   soft_wrap=False, width=None if color else 160)


def emit_json(document: dict[str, Any]) -> None:
    click.echo(json.dumps(document, indent=2))
