"""The one problem type: every error or warning cnncalc reports points at a place in a file."""
from __future__ import annotations

import difflib
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, NamedTuple

from cnncalc.escape import escape


class Loc(NamedTuple):
    """A position in a source file (1-based line and column, as editors show them).

    A named tuple rather than a frozen dataclass: a large spec creates one per value, and a
    tuple is several times cheaper to build.
    """

    file: str
    line: int
    col: int

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.col}"


@dataclass(frozen=True)
class Problem:
    loc: Loc
    level: str  # "error" or "warning"
    code: str  # short stable identifier, e.g. "unknown-op"
    message: str

    def __str__(self) -> str:
        # Escaped as the CLI prints it: a message (or file name) quoting the user's YAML may
        # hold terminal codes, and library users print problems too. (escape is a leaf module.)
        return escape(f"{self.loc}: {self.level}: {self.message}")


def problem_json(problem: Problem) -> dict[str, Any]:
    """A problem as plain data (the `problems` of `check --json`, the `rf_warnings` of `rf --json`)."""
    return {"file": problem.loc.file, "line": problem.loc.line, "col": problem.loc.col,
            "level": problem.level, "code": problem.code, "message": problem.message}


class SpecError(Exception):
    """One or more problems that stop a spec from being loaded or analysed."""

    def __init__(self, problems: Iterable[Problem]):
        self.problems = list(problems)
        super().__init__("\n".join(str(p) for p in self.problems))


class Problems:
    """Collects problems so one run reports as many as it can find."""

    def __init__(self) -> None:
        self.items: list[Problem] = []

    def error(self, loc: Loc, code: str, message: str) -> None:
        self.items.append(Problem(loc, "error", code, message))

    @property
    def errors(self) -> list[Problem]:
        return [p for p in self.items if p.level == "error"]


def did_you_mean(word: str, choices: Iterable[str]) -> str:
    """' (did you mean 'x'?)' for the closest choice, or '' when nothing is close."""
    if len(word) > 100:  # no name is that long; comparing it would only cost time
        return ""
    close = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    return f" (did you mean '{close[0]}'?)" if close else ""
