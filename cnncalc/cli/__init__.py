"""The `cnncalc` command: a thin layer that parses options, calls the library and renders.

Subcommands live in their own modules and are imported only when invoked (shared options,
file reading and problem reporting in `common.py`), so
`cnncalc summary` never pays for NumPy (only `verify` runs a forward pass).
"""
from __future__ import annotations

import errno
import importlib
import os
import sys
from typing import Any

import click

# command name -> "module:function"; the modules are imported lazily.
COMMANDS = {
    "summary": "cnncalc.cli.summary:summary",
    "params": "cnncalc.cli.params:params",
    "explain": "cnncalc.cli.explain:explain",
    "flops": "cnncalc.cli.flops:flops",
    "memory": "cnncalc.cli.memory:memory",
    "rf": "cnncalc.cli.rf:rf",
    "erf": "cnncalc.cli.erf:erf",
    "verify": "cnncalc.cli.verify:verify",
    "init-weights": "cnncalc.cli.verify:init_weights",
    "check": "cnncalc.cli.check:check",
    "diff": "cnncalc.cli.diff:diff",
    "ops": "cnncalc.cli.explain:ops_command",
    "graph": "cnncalc.cli.graph:graph",
    "report": "cnncalc.cli.report:report",
    "paths": "cnncalc.cli.paths:paths",
    "fit": "cnncalc.cli.fit:fit",
    "sweep": "cnncalc.cli.sweep:sweep",
    "import": "cnncalc.cli.importcmd:import_command",
    "export": "cnncalc.cli.export:export",
}


class LazyGroup(click.Group):
    def list_commands(self, ctx: click.Context) -> list[str]:
        return list(COMMANDS)

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        target = COMMANDS.get(name)
        if target is None:
            return None
        module, attr = target.split(":")
        command: click.Command = getattr(importlib.import_module(module), attr)
        return command

    def resolve_command(self, ctx: click.Context, args: list[str]) -> Any:
        name = args[0] if args else ""
        if name and name not in COMMANDS and not name.startswith("-"):
            from cnncalc.problems import did_you_mean  # lazy: only a mistyped command needs it

            ctx.fail(f"no such command '{name}'{did_you_mean(name, COMMANDS)}")
        return super().resolve_command(ctx, args)

    def invoke(self, ctx: click.Context) -> Any:
        # Turned into exceptions click does not handle, so `main` decides the exit code:
        # click would print a blank line for Ctrl-C and exit 1 on a closed pipe.
        try:
            return super().invoke(ctx)
        except KeyboardInterrupt:
            raise Interrupted from None
        except OSError as exc:
            if exc.errno == errno.EPIPE:
                raise PipeClosed from None
            raise


class Interrupted(Exception):
    """Ctrl-C while a command ran."""


class PipeClosed(Exception):
    """The reader of stdout went away (`cnncalc summary ... | head -1`)."""


# Exit statuses a shell gives a process killed by SIGINT (130) and SIGPIPE (141), as git's.
EXIT_INTERRUPTED = 130
EXIT_PIPE_CLOSED = 141


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="cnncalc")
def cli() -> None:
    """Exact shapes, parameters, receptive fields, FLOPs and memory of CNNs written as YAML."""


def main(argv: list[str] | None = None) -> int:
    """Entry point; returns the exit code: 0 ok, 1 checks failed, 2 bad input or usage,
    130 interrupted (Ctrl-C), 141 stdout closed by its reader."""
    try:
        try:
            code = cli.main(args=argv, prog_name="cnncalc", standalone_mode=False)
            code = code if isinstance(code, int) else 0
        except click.exceptions.Exit as exc:
            code = exc.exit_code
        except click.ClickException as exc:
            from cnncalc.escape import escape  # lazy: only a usage error needs it

            exc.message = escape(exc.message, keep_newlines=True)  # type: ignore[misc]  # quotes argv
            exc.show()
            code = 2
        except click.exceptions.Abort as exc:
            if isinstance(exc.__cause__, KeyboardInterrupt):
                raise Interrupted from None
            click.echo("cnncalc: aborted", err=True)
            code = 2
        sys.stdout.flush()  # a closed pipe shows here when the output was buffered
    except (Interrupted, KeyboardInterrupt):
        click.echo("cnncalc: interrupted", err=True)
        code = EXIT_INTERRUPTED
    except (PipeClosed, BrokenPipeError):
        _silence_stdout()
        code = EXIT_PIPE_CLOSED
    return _exit(code, argv)


def _silence_stdout() -> None:
    """Point stdout at /dev/null, so that the interpreter's final flush does not complain."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError, AttributeError):  # not a real file (tests capture stdout)
        pass


def _exit(code: int, argv: list[str] | None) -> int:
    if argv is None:
        sys.exit(code)
    return code
