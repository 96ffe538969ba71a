"""One `Problem`, rendered three ways: a terminal line, a JSON object, a GitHub annotation.

A failed check's problem code is the check's path in the YAML (`checks.params`) or the
option that made it (`--max-params`); text output shows it in brackets so the reader knows
which budget failed. Loader problems carry a category code (`unknown-key`) and print exactly
as every other cnncalc command prints them.
"""
from __future__ import annotations

from cnncalc.escape import escape
from cnncalc.problems import Problem, problem_json  # problem_json: the JSON way, re-exported

__all__ = ["FORMATS", "github_line", "is_check_code", "problem_json", "text_line"]

FORMATS = ("text", "json", "github", "csv", "markdown")


def is_check_code(code: str) -> bool:
    return code.startswith(("checks.", "--"))


def text_line(problem: Problem) -> str:
    """`arch.yaml:4:13: error: params 12,504,232 exceeds max 12M (+4.2%) [checks.params]`.

    The one problem formatter of every command: control characters from the file are shown
    escaped, never sent to the terminal."""
    line = escape(str(problem))
    return f"{line} [{problem.code}]" if is_check_code(problem.code) else line


def github_line(problem: Problem) -> str:
    """A GitHub Actions workflow command, shown as an annotation on the file's line."""
    command = "error" if problem.level == "error" else "warning"
    properties = ",".join(f"{key}={_escape_property(str(value))}" for key, value in (
        ("file", problem.loc.file), ("line", problem.loc.line), ("col", problem.loc.col),
        ("title", f"cnncalc [{problem.code}]")))
    return f"::{command} {properties}::{escape(_escape_data(problem.message))}"


def _escape_data(value: str) -> str:
    # GitHub's workflow-command escaping: '%' first, so the escapes themselves survive.
    return value.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _escape_property(value: str) -> str:
    return escape(_escape_data(value).replace(":", "%3A").replace(",", "%2C"))
