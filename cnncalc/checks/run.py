"""Check whole files: load (every problem the loader finds), run the checks, summarise.

This is everything `cnncalc check` does besides parsing options and printing, so the same
report is available from Python:

    >>> from cnncalc.checks.run import check_file
    >>> check_file("architectures/resnet18.yaml").status
    'passed'
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cnncalc.checks.layout import layout_warnings
from cnncalc.checks.measure import Figures, run_checks
from cnncalc.checks.model import Check, Result
from cnncalc.checks.options import OptionChecks
from cnncalc.checks.verification import verify_results
from cnncalc.graph import graph_in_layout, load_graph
from cnncalc.problems import Loc, Problem, SpecError, problem_json

if TYPE_CHECKING:
    pass

STATUS_EXIT = {"passed": 0, "failed": 1, "invalid": 2}


@dataclass
class FileReport:
    """One file: why it could not be loaded (`problems`), or how each check came out."""

    file: str
    problems: list[Problem] = field(default_factory=list)
    results: list[Result] = field(default_factory=list)
    # What `rf` and every other command warn about (never changes the status).
    warnings: list[Problem] = field(default_factory=list)

    @property
    def failures(self) -> list[Result]:
        return [result for result in self.results if not result.passed]

    @property
    def status(self) -> str:
        return "invalid" if self.problems else "failed" if self.failures else "passed"

    @property
    def exit_code(self) -> int:
        return STATUS_EXIT[self.status]

    def all_problems(self) -> list[Problem]:
        """Load problems, or one problem per failed check, and the warnings, in file order."""
        found = self.problems + [result.problem() for result in self.failures] + self.warnings
        return sorted(found, key=lambda p: (p.loc.line, p.loc.col))

    def as_json(self) -> dict[str, Any]:
        return {"file": self.file, "status": self.status,
                "problems": [problem_json(p) for p in self.all_problems()],
                "checks": [result.as_json() for result in self.results]}


def check_file(file: str, text: str | None = None, options: OptionChecks | None = None,
               spec_checks: bool = True, verify: bool = False,
               input_shape: tuple[int, ...] | None = None,
               variables: dict[str, int | float] | None = None) -> FileReport:
    """Load `file` (or `text`, shown as `file`) and run its checks plus `options`;
    `input_shape` replaces the spec's input and is written in the spec's layout (H,W,C for
    `layout: channels_last`), as `checks:` shapes and `--input` are."""
    try:
        if text is None and input_shape is None:
            graph = load_graph(file, variables=variables)
        else:
            if text is None:
                text = Path(file).read_text(encoding="utf-8")
            graph = graph_in_layout(text, file, input_shape, variables)
    except OSError as exc:
        return FileReport(file, problems=[Problem(Loc(file, 1, 1), "error", "unreadable",
                                                  f"cannot read the file: {exc}")])
    except UnicodeDecodeError as exc:
        return FileReport(file, problems=[Problem(Loc(file, 1, 1), "error", "unreadable",
                                                  f"cannot read the file: {exc}")])
    except SpecError as exc:
        return FileReport(file, problems=list(exc.problems))
    checks: list[Check] = list(graph.spec.parsed_checks) if spec_checks else []
    if options:
        extra, problems = options.build(graph)
        if problems:
            return FileReport(file, problems=problems)
        checks += extra

    figures = Figures(graph)
    results = run_checks(graph, checks, figures)
    if verify:
        results += verify_results(graph)
    return FileReport(file, results=results,
                      warnings=layout_warnings(graph) + figures.rf.warnings)


def expand_paths(paths: list[str]) -> list[str]:
    """Files as given; a directory stands for every .yaml/.yml file under it, sorted."""
    found: list[str] = []
    for path in paths:
        if path != "-" and Path(path).is_dir():
            found += sorted(str(p) for p in Path(path).rglob("*")
                            if p.suffix in (".yaml", ".yml") and p.is_file())
        else:
            found.append(path)
    return found


@dataclass(frozen=True)
class Summary:
    files: int
    passed: int
    failed: int
    invalid: int
    checks: int
    violations: int

    @property
    def exit_code(self) -> int:
        return 2 if self.invalid else 1 if self.failed else 0

    def line(self) -> str:
        """`checked 3 files (17 checks): 1 passed, 1 failed with 2 violations, 1 invalid`."""
        head = f"checked {_plural(self.files, 'file')} ({_plural(self.checks, 'check')}): "
        if self.passed == self.files:
            return head + ("passed" if self.files == 1 else "all passed")
        parts = [f"{self.passed} passed"] if self.passed else []
        if self.failed:
            parts.append(f"{self.failed} failed with {_plural(self.violations, 'violation')}")
        if self.invalid:
            parts.append(f"{self.invalid} could not be loaded")
        return head + ", ".join(parts)

    def as_json(self) -> dict[str, Any]:
        return {"files": self.files, "passed": self.passed, "failed": self.failed,
                "invalid": self.invalid, "checks": self.checks, "violations": self.violations,
                "exit_code": self.exit_code}


def summarize(reports: list[FileReport]) -> Summary:
    status = [report.status for report in reports]
    return Summary(len(reports), status.count("passed"), status.count("failed"),
                   status.count("invalid"), sum(len(report.results) for report in reports),
                   sum(len(report.failures) for report in reports))


def _plural(n: int, word: str) -> str:
    return f"{n:,} {word}{'' if n == 1 else 's'}"
