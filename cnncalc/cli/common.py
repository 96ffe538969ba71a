"""What every command shares: options, reading files, loading a spec, reporting problems.

Every spec a command reads goes through `cnncalc.spec.source.read_spec` (one policy, one
wording: regular files and pipes, a size limit), and every problem it reports goes
through `report` (the one problem formatter, which escapes what came from a file), so a
missing file or a bad value reads the same whichever command met it.
"""
from __future__ import annotations

import functools
import re
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any, NoReturn

import click

from cnncalc.checks.layout import layout_warnings
from cnncalc.checks.units import UnitError, parse_bytes
from cnncalc.graph import graph_in_layout
from cnncalc.problems import Loc, Problem, SpecError
from cnncalc.report.formats import text_line
from cnncalc.report.output import TABLE_FORMATS, Output
from cnncalc.spec.source import read_spec
from cnncalc.spec.variables import parse_value

if TYPE_CHECKING:
    from cnncalc.graph import Graph


class Done(click.exceptions.Exit):
    """Leave a command with an exit code (0 ok, 1 checks failed, 2 bad input)."""


# -- options -------------------------------------------------------------------------------

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


VARIABLES = "cnncalc.variables"  # click context meta key: the --set NAME=VALUE overrides


def parse_assignments(values: Iterable[str]) -> dict[str, int | float]:
    """`--set width=0.75 --set res=160` -> {"width": 0.75, "res": 160}."""
    found: dict[str, int | float] = {}
    for item in values:
        name, sep, value = item.partition("=")
        if not sep or not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", name.strip()):
            raise click.BadParameter(f"expected NAME=VALUE (e.g. width=0.75), got {item!r}",
                                     param_hint="'--set'")
        try:
            found[name.strip()] = parse_value(value)
        except ValueError:
            raise click.BadParameter(f"{name.strip()}: expected a number, got {value!r}",
                                     param_hint="'--set'") from None
    return found


def _store_set(ctx: click.Context, param: click.Parameter, values: tuple[str, ...]) -> None:
    ctx.meta[VARIABLES] = parse_assignments(values)


def current_variables() -> dict[str, int | float] | None:
    """The --set overrides of the running command (None outside a command)."""
    ctx = click.get_current_context(silent=True)
    return ctx.meta.get(VARIABLES) if ctx is not None else None


def set_option(f: Callable[..., Any]) -> Callable[..., Any]:
    return click.option(
        "--set", "assignments", metavar="NAME=VALUE", multiple=True, expose_value=False,
        callback=_store_set, help="Override one of the spec's `vars:` (repeatable).")(f)


def input_option(f: Callable[..., Any]) -> Callable[..., Any]:
    """--input SHAPE, and --set NAME=VALUE (every command that reads a spec has both)."""
    f = set_option(f)
    return click.option(
        "--input", "input_shape", metavar="SHAPE", callback=lambda c, p, v: parse_shape(v),
        help="Override the spec's input shape, without batch, in the spec's layout: C,H,W "
             "(e.g. 3,224,224), or H,W,C for a `layout: channels_last` spec.")(f)


def output_options(formats: Iterable[str] = TABLE_FORMATS,
                   help_text: str = "text: a table; json: one JSON object; csv and markdown: "
                                    "the tables, for spreadsheets and pull requests."
                   ) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """--format, --json (short for --format json) and --no-color; the command gets `out`."""
    choices = list(formats)

    def decorate(f: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(f)
        def wrapper(*args: Any, fmt: str, as_json: bool, no_color: bool, **kwargs: Any) -> Any:
            if as_json and fmt not in ("text", "json"):
                raise click.UsageError(f"--json and --format {fmt} ask for different outputs")
            return f(*args, out=Output("json" if as_json else fmt, no_color), **kwargs)

        wrapper = click.option("--no-color", is_flag=True, help="No colour (also when NO_COLOR "
                               "is set or the output is not a terminal).")(wrapper)
        wrapper = click.option("--json", "as_json", is_flag=True,
                               help="Print one JSON object to stdout (same as --format json).")(wrapper)
        return click.option("--format", "fmt", type=click.Choice(choices), default="text",
                            show_default=True, help=help_text)(wrapper)
    return decorate


def byte_size(ctx: click.Context, param: click.Parameter, value: str | None) -> int | None:
    """Callback of a SIZE option (`--max-memory 2GB`, `--memory 16GiB`): bytes, or None."""
    if value is None:
        return None
    try:
        return parse_bytes(value)
    except UnitError as exc:
        raise click.BadParameter(str(exc)) from None


def batch_option(f: Callable[..., Any]) -> Callable[..., Any]:
    return click.option("--batch", type=click.IntRange(min=1), default=1, show_default=True,
                        help="Samples per batch: scales activations and compute, not weights.")(f)


def top_option(f: Callable[..., Any]) -> Callable[..., Any]:
    return click.option("--top", type=click.IntRange(min=0), default=5, show_default=True,
                        help="Highlight the N heaviest rows (0: none).")(f)


def depth_option(f: Callable[..., Any]) -> Callable[..., Any]:
    return click.option("--depth", type=click.IntRange(min=1), default=None,
                        help="Collapse blocks nested deeper than N levels into one row "
                             "(1: top-level items only); default all.")(f)


def spec_argument(f: Callable[..., Any]) -> Callable[..., Any]:
    return click.argument("file", type=click.Path(dir_okay=False, allow_dash=True))(f)


# -- reading and loading -------------------------------------------------------------------

def shown_name(path: str) -> str:
    return "<stdin>" if path == "-" else path


def file_error(name: str, message: str, code: str = "unreadable") -> SpecError:
    """A problem with a whole file (reported at its first line, like every other problem)."""
    return SpecError([Problem(Loc(name, 1, 1), "error", code, message)])


def load_graph_or_raise(path: str, input_shape: tuple[int, ...] | None = None) -> Graph:
    """Read and load a spec; `input_shape` is in the spec's layout (as --input takes it)."""

    text, name = read_spec(path)
    return graph_from_text(text, name, input_shape)


def graph_from_text(text: str, name: str, input_shape: tuple[int, ...] | None = None) -> Graph:
    """Load a spec's text; `input_shape` is in the spec's layout (H,W,C for channels_last)."""
    return graph_in_layout(text, name, input_shape, current_variables())


def load_or_exit(path: str, input_shape: tuple[int, ...] | None = None) -> Graph:
    """Load a spec; on problems report them and exit 2 (never a traceback). Warnings about
    the spec itself (an input that looks channels-last) are reported and loading goes on."""
    try:
        graph = load_graph_or_raise(path, input_shape)
    except SpecError as exc:
        report(exc.problems)
        raise Done(2) from None
    report(layout_warnings(graph))
    return graph


# -- reporting -----------------------------------------------------------------------------

def report(problems: Iterable[Problem]) -> None:
    """Problems on stderr, one `FILE:LINE:COL: level: message` line each."""
    for problem in problems:
        click.echo(text_line(problem), err=True)


def fail(file: str, message: str, code: str = "error") -> NoReturn:
    """Report one problem with a whole file (or the command line about it) and exit 2."""
    report(file_error(shown_name(file), message, code).problems)
    raise Done(2)
