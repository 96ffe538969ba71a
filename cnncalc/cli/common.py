"""What every command shares: options, reading files, loading a spec, reporting problems.

Every file a command reads goes through `read_source`, and every problem it reports goes
through `report` (the one problem formatter, which escapes what came from a file), so a
missing file or a bad value reads the same whichever command met it.
"""
from __future__ import annotations

import functools
import os
import re
import stat
import sys
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any, NoReturn

import click

from cnncalc.problems import Loc, Problem, SpecError
from cnncalc.report.output import TABLE_FORMATS, Output

if TYPE_CHECKING:
    from cnncalc.graph import Graph

# A spec of 100,000 layers is a few MB; anything far larger is not a spec (or is /dev/zero).
MAX_SOURCE_BYTES = 64 * 2**20


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
    from cnncalc.spec.variables import parse_value

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


def read_source(path: str) -> str:
    """A spec's text from a file or `-` (stdin); SpecError located at the file otherwise."""
    name = shown_name(path)
    if path == "-":
        data = sys.stdin.buffer.read(MAX_SOURCE_BYTES + 1) if hasattr(sys.stdin, "buffer") \
            else sys.stdin.read().encode("utf-8", "surrogateescape")
    else:
        data = read_bytes(path)
    if len(data) > MAX_SOURCE_BYTES:
        raise file_error(name, f"cannot read the file: larger than {MAX_SOURCE_BYTES // 2**20} MiB")
    return decode(data, name)


def read_bytes(path: str, limit: int | None = None) -> bytes:
    """A regular file's bytes (at most limit + 1 of them), or a SpecError saying why not."""
    limit = MAX_SOURCE_BYTES if limit is None else limit
    try:
        info = os.stat(path)
        if stat.S_ISDIR(info.st_mode):
            raise file_error(path, "cannot read the file: it is a directory")
        # A pipe is fine (`cnncalc diff <(git show HEAD:a.yaml) a.yaml`), read up to the
        # limit; a device such as /dev/zero never ends and is refused.
        if not (stat.S_ISREG(info.st_mode) or stat.S_ISFIFO(info.st_mode)):
            raise file_error(path, "cannot read the file: not a regular file or a pipe")
        with open(path, "rb") as handle:
            return handle.read(limit + 1)
    except FileNotFoundError:
        raise file_error(path, "cannot read the file: no such file") from None
    except PermissionError:
        raise file_error(path, "cannot read the file: permission denied") from None
    except OSError as exc:
        raise file_error(path, f"cannot read the file: {exc.strerror or exc}") from None


def decode(data: bytes, name: str) -> str:
    """UTF-8 text, or a SpecError at the line and column of the first byte that is not."""
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        col = exc.start - (data.rfind(b"\n", 0, exc.start) + 1) + 1
        raise SpecError([Problem(Loc(name, line, col), "error", "unreadable",
                                 f"not UTF-8 text: byte 0x{data[exc.start]:02x} cannot start "
                                 "or continue a character (is it a binary file?)")]) from None


def file_error(name: str, message: str, code: str = "unreadable") -> SpecError:
    """A problem with a whole file (reported at its first line, like every other problem)."""
    return SpecError([Problem(Loc(name, 1, 1), "error", code, message)])


def load_graph_or_raise(path: str, input_shape: tuple[int, ...] | None = None) -> Graph:
    """Read and load a spec; `input_shape` is in the spec's layout (as --input takes it)."""
    return graph_from_text(read_source(path), shown_name(path), input_shape)


def graph_from_text(text: str, name: str, input_shape: tuple[int, ...] | None = None) -> Graph:
    """Load a spec's text; `input_shape` is in the spec's layout (H,W,C for channels_last)."""
    from cnncalc.checks.run import graph_in_layout

    return graph_in_layout(text, name, input_shape, current_variables())


def load_or_exit(path: str, input_shape: tuple[int, ...] | None = None) -> Graph:
    """Load a spec; on problems report them and exit 2 (never a traceback). Warnings about
    the spec itself (an input that looks channels-last) are reported and loading goes on."""
    from cnncalc.checks.layout import layout_warnings

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
    from cnncalc.report.formats import text_line

    for problem in problems:
        click.echo(text_line(problem), err=True)


def fail(file: str, message: str, code: str = "error") -> NoReturn:
    """Report one problem with a whole file (or the command line about it) and exit 2."""
    report(file_error(shown_name(file), message, code).problems)
    raise Done(2)


def fail_with(exc: SpecError) -> NoReturn:
    report(exc.problems)
    raise Done(2)
