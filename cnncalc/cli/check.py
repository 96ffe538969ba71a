"""`cnncalc check FILE...`: validate specs and enforce their budgets, like a linter.

Exit 0 when every file loads and every check holds, 1 when a check fails, 2 when a file
cannot be loaded (or the command line is wrong). Text output puts each problem on stderr as
FILE:LINE:COL and one summary line on stdout; `--format json|github|csv|markdown` write
everything to stdout (GitHub reads workflow commands from there). The warnings `rf` prints
are reported too; they never change the exit code.
"""
from __future__ import annotations

import sys
from typing import Any

import click

from cnncalc.checks.model import LABELS
from cnncalc.checks.options import BOUND_OPTIONS, OptionChecks
from cnncalc.checks.run import FileReport, check_file, expand_paths, summarize
from cnncalc.checks.units import UnitError, parse_bytes, parse_count
from cnncalc.cli.common import (
    Done,
    current_variables,
    input_option,
    output_options,
    parse_shape,
)
from cnncalc.problems import Problem, SpecError
from cnncalc.report.formats import FORMATS, github_line, text_line
from cnncalc.report.output import Output, color_wanted
from cnncalc.report.table import Cell, Table
from cnncalc.spec.dtypes import OPTIMIZER_STATES
from cnncalc.spec.source import read_spec


def _units(parse: Any) -> Any:
    def callback(ctx: click.Context, param: click.Parameter, value: str | None) -> Any:
        if value is None:
            return None
        try:
            return parse(value), value
        except UnitError as exc:
            raise click.BadParameter(str(exc)) from None
    return callback


def _shape_pairs(ctx: click.Context, param: click.Parameter,
                 values: tuple[str, ...]) -> list[tuple[str, tuple[int, ...]]]:
    pairs = []
    for value in values:
        name, sep, shape = value.partition("=")
        if not sep or not name:
            raise click.BadParameter(f"expected LAYER=SHAPE like layer4=512,7,7, got {value!r}")
        pairs.append((name, parse_shape(shape) or ()))
    return pairs


def _budget_options(f: Any) -> Any:
    """One option per entry of BOUND_OPTIONS, so the CLI and the library never drift apart."""
    for option, (kind, op) in reversed(BOUND_OPTIONS.items()):
        parse = parse_bytes if kind == "memory" else parse_count
        unit = "SIZE" if kind == "memory" else "N"
        relation = {"max": ">", "min": "<", "equals": "!="}[op]
        f = click.option(option, _dest(option), metavar=unit, callback=_units(parse),
                         help=f"Fail when {LABELS[kind]} {relation} {unit}.")(f)
    return f


def _dest(option: str) -> str:
    return option.lstrip("-").replace("-", "_")


@click.command()
@click.argument("files", nargs=-1, required=True, type=click.Path(allow_dash=True))
@_budget_options
@click.option("--output", "output_shape", metavar="SHAPE", callback=lambda c, p, v: parse_shape(v),
              help="Expected shape of the first output, in the input's layout (10 or 2,256,256).")
@click.option("--shape", "shapes", metavar="LAYER=SHAPE", multiple=True, callback=_shape_pairs,
              help="Expected output shape of a layer or block (repeatable).")
@click.option("--rf-layer", metavar="LAYER", help="Layer for --min-rf/--max-rf (default: the "
              "last layer whose receptive field is not global).")
@click.option("--memory-batch", type=click.IntRange(min=1), default=None, metavar="N",
              help="Batch size for --max-memory (default 1).")
@click.option("--training", is_flag=True, help="--max-memory bounds a training step.")
@click.option("--optimizer", type=click.Choice(list(OPTIMIZER_STATES)),
              default=None, help="Optimizer for --training (default adam).")
@click.option("--no-spec-checks", is_flag=True, help="Ignore the files' own checks sections.")
@click.option("--verify", is_flag=True, help="Also run the NumPy forward pass and compare it "
              "with the analysis (slower).")
@click.option("-v", "--verbose", is_flag=True, help="Also list the checks that passed.")
@click.option("-q", "--quiet", is_flag=True, help="No summary line (problems only).")
@input_option
@output_options(FORMATS, "text: FILE:LINE:COL lines; json: one document; github: Actions "
                "annotations; csv and markdown: one table row per problem (and check, with -v).")
def check(files: tuple[str, ...], output_shape: tuple[int, ...] | None,
          shapes: list[tuple[str, tuple[int, ...]]], rf_layer: str | None,
          memory_batch: int | None, training: bool, optimizer: str | None, no_spec_checks: bool,
          verify: bool, verbose: bool, quiet: bool, input_shape: tuple[int, ...] | None,
          out: Output, **budgets: tuple[int, str] | None) -> None:
    """Validate spec files and enforce their `checks:` (and the budgets given here).

    Exit 0 when all pass, 1 when a check fails, 2 when a file cannot be loaded. N takes
    K, M, G (x1000); SIZE takes KB, MB, GB (x1000) or KiB, MiB, GiB (x1024).

    \b
    Examples:
      cnncalc check arch.cnn.yaml
      cnncalc check arch.yaml --max-params 5M --output 10 --min-rf 128
      cnncalc check --format github architectures/
    """
    options = OptionChecks(output=output_shape, shapes=shapes, rf_layer=rf_layer)
    paths = expand_paths(list(files))
    if paths.count("-") > 1:
        raise click.UsageError("'-' (standard input) can be given only once")
    for option in BOUND_OPTIONS:
        given = budgets.get(_dest(option))
        if given is not None:
            options.bounds.append((option, *given))
    for key, value in (("batch", memory_batch), ("optimizer", optimizer)):
        if value is not None:
            options.memory[key] = value
    if training:
        options.memory["training"] = True
    reports: list[FileReport] = []
    fmt = out.format
    for file in paths:
        reports.append(report := _check(file, options, not no_spec_checks, verify, input_shape))
        if fmt in ("text", "github"):
            _stream(report, fmt, verbose, out)
    summary = summarize(reports)
    if fmt == "json":
        out.json({"files": [r.as_json() for r in reports], "summary": summary.as_json()})
    elif fmt in ("csv", "markdown"):
        out.table(_table(reports, verbose))
        if not quiet:
            out.line(f"cnncalc: {summary.line()}")
    elif not quiet:
        line = f"cnncalc: {summary.line()}"
        color = out.color and fmt == "text"
        click.echo(click.style(line, fg=("red" if summary.exit_code else "green"), bold=True)
                   if color else line)
    raise Done(summary.exit_code)


def _check(file: str, options: OptionChecks, spec_checks: bool, verify: bool,
           input_shape: tuple[int, ...] | None) -> FileReport:
    name = "<stdin>" if file == "-" else file

    try:
        text, _ = read_spec(file)
    except SpecError as exc:
        return FileReport(name, problems=exc.problems)
    return check_file(name, text, options, spec_checks, verify, input_shape, current_variables())


def _stream(report: FileReport, fmt: str, verbose: bool, out: Output) -> None:
    """Print one file's outcome as soon as it is known (a long run shows progress)."""
    if fmt == "github":
        for problem in report.all_problems():
            click.echo(github_line(problem))
        return
    color = color_wanted(out.no_color, sys.stderr)
    for problem in report.all_problems():
        line = text_line(problem)
        if color:
            head, _, rest = line.partition(f": {problem.level}: ")
            tint = "red" if problem.level == "error" else "yellow"
            line = (f"{click.style(head, bold=True)}: "
                    f"{click.style(problem.level, fg=tint, bold=True)}: {rest}")
        click.echo(line, err=True)
    if verbose:
        for result in report.results:
            if result.passed:
                out.line(f"{result.loc}: ok: {result.message} [{result.check.id}]")
        if not report.results and not report.problems:
            out.line(f"{report.file}: ok: loads; no checks to run")


def _table(reports: list[FileReport], verbose: bool) -> Table:
    """Every problem (and with -v every passed check) as a row: where, level, code, message."""
    table = Table([("file", "left"), ("line", "right"), ("col", "right"), ("level", "left"),
                   ("code", "left"), ("message", "left")])
    for report in reports:
        found = report.all_problems()
        if verbose:
            found += [Problem(r.loc, "ok", r.check.id, r.message) for r in report.results if r.passed]
        for p in found:
            table.add([p.loc.file, Cell(str(p.loc.line), p.loc.line),
                       Cell(str(p.loc.col), p.loc.col), p.level, p.code, p.message])
    return table
