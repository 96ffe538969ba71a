"""The text report of `cnncalc verify`: one line per kind of check, the receptive fields, and
every failure with what was expected and what was measured."""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

from cnncalc.report import text
from cnncalc.report.table import Table
from cnncalc.text import number

if TYPE_CHECKING:
    from cnncalc.backend.results import CheckResult
    from cnncalc.backend.verify import VerifyReport
    from cnncalc.graph import Graph
    from cnncalc.report.output import Output

B = text.binary_bytes
KINDS = ("forward", "shape", "values", "params", "buffers", "macs", "memory", "workspace", "backward",
         "training-memory", "backward-macs", "gradients", "rf")


def render(out: Output, graph: Graph, report: VerifyReport, show_all: bool) -> None:
    passes = "forward and backward passes" if report.training else "forward pass"
    out.line(f"{graph.name}: NumPy {passes}, batch {report.batch}, {report.dtype}; "
             f"weights: {report.weights}; input: {report.input}")
    table = Table([("check", "left"), ("passed", "right"), ("what was compared", "left")])
    for kind in KINDS:
        rows = [r for r in report.results if r.check == kind]
        if rows:
            passed = sum(r.ok for r in rows)
            table.add([kind, f"{passed}/{len(rows)}", _what(kind, rows, report)],
                      None if passed == len(rows) else "bold red")
    out.table(table)
    rf = [r for r in report.results if r.check == "rf"]
    if rf:
        out.line("receptive fields, r / S / P per axis (input positions):")
        fields = Table([("layer", "left"), ("analytic", "right"), ("measured", "right"),
                        ("", "left", "result"), ("note", "left")])
        for r in rf:
            fields.add([r.layer or "", _rsp(r.expected), _rsp(r.measured) or "(see units)",
                        "ok" if r.ok else "FAILED", r.note], None if r.ok else "bold red")
        out.table(fields)
    if show_all:
        every = Table([("check", "left"), ("layer", "left"), ("expected", "right"),
                       ("measured", "right"), ("", "left", "result"), ("note", "left")])
        for r in report.results:
            if r.check != "rf":
                every.add([r.check, r.layer or "(total)", _value(r.expected), _value(r.measured),
                           "ok" if r.ok else "FAILED", r.note], None if r.ok else "bold red")
        out.table(every)
    failures = report.failures
    if failures:
        out.line(f"failed ({len(failures)}):", style="bold red")
        for r in failures:
            out.line(f"  {r.check} {r.layer or '(total)'}: expected {_value(r.expected)}, measured "
                     f"{_value(r.measured)}" + (f" - {r.note}" if r.note else ""))
    timing = ", ".join(f"{name} {seconds:.2f} s" for name, seconds in report.seconds.items())
    verdict = (f"all {len(report.results)} checks passed" if report.ok else
               f"{len(failures)} of {len(report.results)} checks failed")
    out.line(f"{verdict} ({timing})", style="bold green" if report.ok else "bold red")


def _what(kind: str, rows: list[CheckResult], report: VerifyReport) -> str:
    total = next((r for r in rows if r.layer is None), None)
    memory = report.memory
    if kind == "forward":
        return "the forward pass ran every layer"
    if kind == "shape":
        return "each layer's output array has the inferred shape"
    if kind == "values":
        return f"each output is finite and {report.dtype}"
    if kind == "params" and total:
        return f"weights each forward read, counted: {text.count(total.measured)} in total"
    if kind == "buffers" and total:
        return f"running statistics read: {text.count(total.measured)}"
    if kind == "macs" and total:
        return f"MACs the matrix products performed: {text.count(total.measured)}"
    if kind == "memory" and memory:
        return (f"activation peak {B(memory.measured_peak)} traced vs {B(memory.predicted_peak)} "
                f"predicted (ratio {memory.ratio:.4f}, after {memory.measured_layer})")
    if kind == "workspace" and memory:
        return (f"kernel scratch at most {B(memory.workspace)} ({memory.workspace_layer}); "
                f"estimated {B(memory.workspace_estimate)}")
    if kind == "backward":
        return "the backward pass ran every layer"
    training = report.training
    if kind == "training-memory" and training:
        return (f"training step, live after every step: peak {B(training.measured_peak)} vs "
                f"{B(training.predicted_peak)} predicted (ratio {training.ratio:.4f}, "
                f"{training.measured_at}); extras recomputed: {B(training.extras_at_peak)}")
    if kind == "backward-macs" and total:
        return f"MACs the backward's matrix products performed: {text.count(total.measured)}"
    if kind == "gradients" and total:
        return f"weight gradients finite: {total.measured} values"
    if kind == "rf":
        return "receptive fields measured with dependency masks"
    return ""


def _rsp(numbers: dict[str, Any]) -> str:
    if numbers.get("global"):
        return "global"
    if "size" not in numbers:
        return ""
    parts = [numbers.get(k) for k in ("size", "stride", "padding")]
    return " / ".join(number(p) if p is not None else "-" for p in parts)


def _value(value: Any) -> str:
    if isinstance(value, bool) or value is None:
        return str(value)
    if isinstance(value, int):
        return text.count(value)
    if isinstance(value, list):
        return "[" + ", ".join(str(v) for v in value) + "]"
    if isinstance(value, dict):  # receptive-field numbers; the per-unit intervals are in the note
        shown = ", ".join(f"{k} {_value(v)}" for k, v in value.items() if k != "units")
        return shown or "per unit"
    return str(value)
