"""`cnncalc check` as a command: budgets from options, many files, formats, exit codes."""
from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from cnncalc.cli import main
from cnncalc.problems import Loc, Problem
from cnncalc.report.formats import github_line, text_line

ARCH = Path(__file__).resolve().parent.parent / "architectures"

# 1,562 params, output [10] (worked out in test_check.py)
NET = """\
input: [3, 8, 8]
layers:
  - conv: {filters: 4, kernel: 3, name: c1}
  - relu
  - flatten
  - dense: {units: 10, name: fc}
"""
BAD = "input: [3, 8, 8]\nlayers:\n  - conv: {filters: 4, kernel: 3, paddin: 1}\n"


@pytest.fixture
def files(tmp_path: Path):  # type: ignore[no-untyped-def]
    def write(**specs: str) -> dict[str, str]:
        paths = {}
        for name, text in specs.items():
            path = tmp_path / f"{name}.cnn.yaml"
            path.write_text(text)
            paths[name] = str(path)
        return paths
    return write


def cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(["check", *args])
    out, err = capsys.readouterr()
    return code, out, err


@pytest.mark.parametrize("options, message", [
    (["--max-params", "1K"], "error: params 1,562 exceeds max 1K (+56.2%) [--max-params]"),
    (["--min-params", "1.6K"], "error: params 1,562 is below min 1.6K (-2.4%) [--min-params]"),
    (["--params", "1561"], "error: params 1,562 is not 1561 (+1) [--params]"),
    (["--max-macs", "5K"], "error: MACs 5,328 exceeds max 5K (+6.6%) [--max-macs]"),
    (["--max-flops", "10K"], "error: FLOPs 10,954 exceeds max 10K (+9.5%) [--max-flops]"),
    (["--output", "1000"], "error: output 'fc' has shape [10], expected [1000] [--output]"),
    (["--shape", "c1=4,8,8"],
     "error: layer 'c1' has shape [4, 6, 6], expected [4, 8, 8] [--shape c1]"),
    (["--min-rf", "128"],
     "error: layer 'relu1' receptive field 3 is below min 128 (-97.7%) [--min-rf]"),
    (["--max-rf", "2", "--rf-layer", "c1"],
     "error: layer 'c1' receptive field 3 exceeds max 2 (+50.0%) [--max-rf]"),
    (["--max-memory", "1KB"], None),
    (["--max-memory", "1GB", "--training", "--memory-batch", "1000000"], None),
])
def test_options_fail_at_the_top_of_the_file(files, capsys, options: list[str],  # type: ignore[no-untyped-def]
                                             message: str | None) -> None:
    path = files(net=NET)["net"]
    code, out, err = cli(capsys, path, *options)
    assert code == 1
    assert err.startswith(f"{path}:1:1: error: ")
    if message is not None:
        assert err == f"{path}:1:1: {message}\n"
    else:
        assert "[--max-memory]" in err
    assert out.endswith("1 failed with 1 violation\n")


def test_options_pass_and_add_to_the_file_checks(files, capsys) -> None:  # type: ignore[no-untyped-def]
    path = files(net=NET + "checks:\n  output: [10]\n")["net"]
    code, out, err = cli(capsys, path, "--max-params", "5M", "--output", "10", "--min-params",
                         "1,562", "--shape", "c1=4x6x6", "--max-memory", "1MiB")
    assert (code, err) == (0, "")
    assert out == "cnncalc: checked 1 file (6 checks): passed\n"


def test_no_spec_checks_ignores_the_file_section(files, capsys) -> None:  # type: ignore[no-untyped-def]
    path = files(net=NET + "checks:\n  output: [1000]\n")["net"]
    assert cli(capsys, path)[0] == 1
    assert cli(capsys, path, "--no-spec-checks", "--max-params", "2K")[0] == 0


@pytest.mark.parametrize("options, fragment", [
    (["--max-params", "5Q"], "unknown unit 'Q'"),
    (["--max-memory", "2G"], "write GB or GiB"),
    (["--output", "ten"], "expected integers"),
    (["--shape", "c1"], "expected LAYER=SHAPE"),
    (["--format", "xml"], "'xml' is not one of"),
])
def test_bad_options_are_usage_errors(files, capsys, options: list[str], fragment: str) -> None:  # type: ignore[no-untyped-def]
    code, _, err = cli(capsys, files(net=NET)["net"], *options)
    assert code == 2 and fragment in err and "Traceback" not in err


def test_unknown_layer_in_an_option(files, capsys) -> None:  # type: ignore[no-untyped-def]
    path = files(net=NET)["net"]
    code, _, err = cli(capsys, path, "--shape", "c2=4,6,6")
    assert code == 2
    assert err.startswith(f"{path}:1:1: error: --shape: unknown layer 'c2'")
    code, _, err = cli(capsys, path, "--min-rf", "3", "--rf-layer", "fcc")
    assert code == 2
    assert err.startswith(f"{path}:1:1: error: --rf-layer: unknown layer 'fcc' (did you mean "
                          "'fc'?)")


def test_many_files_one_summary_worst_exit_code(files, capsys) -> None:  # type: ignore[no-untyped-def]
    paths = files(good=NET, over=NET + "checks:\n  params: {max: 1K}\n", bad=BAD)
    code, out, err = cli(capsys, paths["good"], paths["over"], paths["bad"])
    assert code == 2
    first, second = err.splitlines()
    assert first == (f"{paths['over']}:8:12: error: params 1,562 exceeds max 1K (+56.2%) "
                     "[checks.params]")
    assert second.startswith(f"{paths['bad']}:3:35: error: ")  # the loader's own wording
    assert out == ("cnncalc: checked 3 files (1 check): 1 passed, 1 failed with 1 violation, "
                   "1 could not be loaded\n")
    assert cli(capsys, paths["good"], paths["over"])[0] == 1
    assert cli(capsys, paths["good"], paths["good"])[1] == \
        "cnncalc: checked 2 files (0 checks): all passed\n"


def test_every_loader_error_is_reported(files, capsys) -> None:  # type: ignore[no-untyped-def]
    text = ("input: [3, 8, 8]\nlayers:\n  - conv: {filters: 4, kernel: 3, paddin: 1}\n"
            "  - relu: {slope: 2}\nchecks:\n  params: {mx: 1}\n")
    path = files(net=text)["net"]
    code, _, err = cli(capsys, path)
    assert code == 2
    assert [line.split(": error:")[0] for line in err.splitlines()] == [
        f"{path}:3:35", f"{path}:4:12", f"{path}:6:12"]


def test_missing_file_and_stdin(files, capsys, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    code, _, err = cli(capsys, "no/such.cnn.yaml")
    assert code == 2 and err.startswith("no/such.cnn.yaml:1:1: error: cannot read the file")
    monkeypatch.setattr("sys.stdin", io.StringIO(NET + "checks:\n  output: [1000]\n"))
    code, _, err = cli(capsys, "-")
    assert code == 1
    assert err.startswith("<stdin>:8:3: error: output 'fc' has shape [10], expected [1000]")


def test_directory_means_every_yaml_file_under_it(tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    (tmp_path / "sub").mkdir()
    (tmp_path / "a.cnn.yaml").write_text(NET)
    (tmp_path / "sub" / "b.yml").write_text(NET + "checks:\n  params: {max: 1K}\n")
    (tmp_path / "notes.txt").write_text("not a spec")
    code, out, err = cli(capsys, str(tmp_path))
    assert code == 1
    assert f"{tmp_path / 'sub' / 'b.yml'}:8:12" in err
    assert "checked 2 files" in out


def test_json_format(files, capsys) -> None:  # type: ignore[no-untyped-def]
    paths = files(over=NET + "checks:\n  params: {max: 1K}\n  output: [10]\n", bad=BAD)
    code, out, err = cli(capsys, "--format", "json", paths["over"], paths["bad"])
    assert (code, err) == (2, "")
    document = json.loads(out)
    over, bad = document["files"]
    assert over["status"] == "failed" and bad["status"] == "invalid"
    assert over["problems"] == [{"file": paths["over"], "line": 8, "col": 12, "level": "error",
                                 "code": "checks.params", "message":
                                 "params 1,562 exceeds max 1K (+56.2%)"}]
    assert [(c["check"], c["passed"], c["actual"], c["expected"]) for c in over["checks"]] == [
        ("checks.params", False, 1562, {"max": 1000}),
        ("checks.output", True, [10], {"shape": [10]})]
    assert bad["problems"][0]["code"] == "unknown-arg" and bad["checks"] == []
    assert document["summary"] == {"files": 2, "passed": 0, "failed": 1, "invalid": 1,
                                   "checks": 2, "violations": 1, "exit_code": 2}


def test_github_format(files, capsys) -> None:  # type: ignore[no-untyped-def]
    paths = files(over=NET + "checks:\n  params: {max: 1K}\n", bad=BAD)
    code, out, err = cli(capsys, "--format", "github", paths["over"], paths["bad"])
    assert (code, err) == (2, "")
    lines = out.splitlines()
    assert lines[0] == (f"::error file={paths['over']},line=8,col=12,title=cnncalc "
                        "[checks.params]::params 1,562 exceeds max 1K (+56.2%25)")
    assert lines[1].startswith(f"::error file={paths['bad']},line=3,col=35,title=cnncalc "
                               "[unknown-arg]::")
    assert lines[2].startswith("cnncalc: checked 2 files")


def test_formatters_escape_and_label() -> None:
    problem = Problem(Loc("a,b:c.yaml", 3, 4), "error", "checks.params", "50% over\nnext")
    assert github_line(problem) == ("::error file=a%2Cb%3Ac.yaml,line=3,col=4,title=cnncalc "
                                    "[checks.params]::50%25 over%0Anext")
    # A newline inside a message cannot start a fake problem line: it is shown escaped.
    assert text_line(problem) == "a,b:c.yaml:3:4: error: 50% over\\x0anext [checks.params]"
    plain = Problem(Loc("a.yaml", 1, 2), "warning", "unknown-key", "x")
    assert text_line(plain) == "a.yaml:1:2: warning: x"
    assert github_line(plain).startswith("::warning file=a.yaml,line=1,col=2,")


def test_quiet_and_no_color(files, capsys, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    path = files(net=NET + "checks:\n  params: {max: 1K}\n")["net"]
    monkeypatch.setenv("NO_COLOR", "1")
    code, out, err = cli(capsys, "-q", path)
    assert (code, out) == (1, "")
    assert "\x1b[" not in err and err.count("\n") == 1


def test_the_whole_zoo_passes_its_own_checks(capsys) -> None:  # type: ignore[no-untyped-def]
    specs = sorted(str(p) for p in ARCH.rglob("*.yaml"))
    code, out, err = cli(capsys, *specs)
    assert code == 0, err
    assert all(": warning: " in line for line in err.splitlines()), err  # rf's warnings only
    assert out.startswith(f"cnncalc: checked {len(specs)} files")


@pytest.mark.parametrize("name", ["unet.yaml", "m5_audio.yaml", "resnet18.yaml"])
def test_check_shows_the_warnings_rf_shows(capsys, name: str) -> None:  # type: ignore[no-untyped-def]
    spec = str(ARCH / name)
    assert main(["rf", spec]) == 0
    rf_warnings = capsys.readouterr().err
    code, out, err = cli(capsys, spec)
    assert (code, err) == (0, rf_warnings)
    assert (name == "resnet18.yaml") == (err == "")


def test_verify_runs_the_forward_pass(files, capsys) -> None:  # type: ignore[no-untyped-def]
    path = files(net=NET + "checks:\n  output: [10]\n")["net"]
    code, out, err = cli(capsys, path, "--verify", "-v")
    assert (code, err) == (0, "")
    assert f"{path}:1:1: ok: the NumPy forward pass agrees on macs (3 comparisons) [--verify]" \
        in out.splitlines()
    assert "agrees on shape (4 comparisons)" in out and "agrees on rf" in out


def test_verify_disagreement_points_at_the_layer(files, capsys, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    # Make the analysis claim one MAC too many for every conv: the forward pass, which counts
    # the multiply-accumulates its matrix products really perform, must catch it at conv c1.
    from cnncalc.ops.conv import Conv

    honest = Conv.macs
    monkeypatch.setattr(Conv, "macs", lambda self, layer: honest(self, layer) + 1)
    path = files(net=NET)["net"]
    code, _, err = cli(capsys, path, "--verify")
    assert code == 1
    assert err.splitlines() == [
        f"{path}:1:1: error: verify macs: cnncalc computes 5,329, the NumPy forward pass gives "
        "5,328 [--verify]",
        f"{path}:3:5: error: verify macs of 'c1': cnncalc computes 3,889, the NumPy forward "
        "pass gives 3,888 [--verify]"]


def test_verify_that_cannot_fit_fails(files, capsys, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setattr("cnncalc.backend.budget.default_limit", lambda: (1000, "a test limit"))
    path = files(net=NET)["net"]
    code, _, err = cli(capsys, path, "--verify")
    assert code == 1
    assert err.startswith(f"{path}:1:1: error: verify: not run: verify would need about ")
    assert "(a test limit)" in err


def test_check_and_diff_import_neither_numpy_nor_rich(tmp_path: Path) -> None:
    import subprocess
    import sys

    spec = ARCH / "examples" / "small.cnn.yaml"
    code = ("import sys\nfrom cnncalc.cli import main\n"
            f"main(['check', {str(spec)!r}, '-q', '--max-memory', '1GB', '--min-rf', '3'])\n"
            f"main(['diff', {str(spec)!r}, {str(spec)!r}, '--json'])\n"
            "print(sorted(m for m in ('numpy', 'rich') if m in sys.modules))\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout
    assert out.splitlines()[-1] == "[]"


def test_stdin_only_once(capsys) -> None:  # type: ignore[no-untyped-def]
    code, out, err = cli(capsys, "-", "-")
    assert (code, out) == (2, "") and "only once" in err
