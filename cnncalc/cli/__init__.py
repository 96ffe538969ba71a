"""The `cnncalc` command: a thin layer that parses options, calls the library and renders.

Subcommands live in their own modules and are imported only when invoked, so
`cnncalc summary` never pays for NumPy (only `verify` runs a forward pass).
"""
from __future__ import annotations

import importlib
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
    "verify": "cnncalc.cli.verify:verify",
    "init-weights": "cnncalc.cli.verify:init_weights",
    "check": "cnncalc.cli.check:check",
    "diff": "cnncalc.cli.diff:diff",
    "ops": "cnncalc.cli.explain:ops_command",
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
            from cnncalc.problems import did_you_mean

            ctx.fail(f"no such command '{name}'{did_you_mean(name, COMMANDS)}")
        return super().resolve_command(ctx, args)


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="cnncalc")
def cli() -> None:
    """Exact shapes, parameters, receptive fields, FLOPs and memory of CNNs written as YAML."""


def main(argv: list[str] | None = None) -> int:
    """Entry point; returns the exit code (0 ok, 1 checks failed, 2 bad input or usage)."""
    try:
        code = cli.main(args=argv, prog_name="cnncalc", standalone_mode=False)
    except click.exceptions.Exit as exc:
        return _exit(exc.exit_code, argv)
    except click.ClickException as exc:
        exc.show()
        return _exit(2, argv)
    except click.exceptions.Abort:
        click.echo("aborted", err=True)
        return _exit(2, argv)
    except BrokenPipeError:
        return _exit(0, argv)
    return _exit(code if isinstance(code, int) else 0, argv)


def _exit(code: int, argv: list[str] | None) -> int:
    if argv is None:
        sys.exit(code)
    return code
