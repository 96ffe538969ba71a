"""The process around a command: Ctrl-C, a closed pipe, shell completion, and what start-up
imports (the summary path never loads NumPy or rich when its output is piped)."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest
from helpers import ARCH, ROOT

from cnncalc.cli import main

RESNET50 = str(ARCH / "resnet50.yaml")
ENV = {**os.environ, "PYTHONPATH": str(ROOT)}


def cnncalc(*args: str, **kwargs) -> subprocess.Popen[str]:  # type: ignore[no-untyped-def]
    return subprocess.Popen([sys.executable, "-m", "cnncalc", *args], env=kwargs.pop("env", ENV),
                            text=True, **kwargs)


def test_ctrl_c_inside_a_command_exits_130_with_one_line(
        capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    def interrupted(*args: object, **kwargs: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr("cnncalc.cli.summary.analyze_cost", interrupted)  # where summary calls it
    assert main(["summary", RESNET50]) == 130
    out, err = capsys.readouterr()
    assert (out, err) == ("", "cnncalc: interrupted\n")


def test_sigint_while_reading_stdin_exits_130_without_traceback() -> None:
    process = cnncalc("summary", "-", stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                      stderr=subprocess.PIPE)
    time.sleep(1.5)  # started and waiting for standard input
    process.send_signal(signal.SIGINT)
    out, err = process.communicate(timeout=30)
    assert process.returncode == 130
    assert (out, err) == ("", "cnncalc: interrupted\n")


def test_a_closed_pipe_ends_quietly_with_141() -> None:
    # The reader goes away before anything is written (what `| head -1` does to a long table).
    process = cnncalc("summary", RESNET50, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert process.stdout is not None
    process.stdout.close()
    _, err = process.communicate(timeout=60)
    assert process.returncode == 141
    assert err == ""


def test_head_through_a_shell_never_exits_1() -> None:
    command = (f"{sys.executable} -m cnncalc summary {RESNET50} | head -1; "
               "echo \"status ${PIPESTATUS[0]}\"")
    run = subprocess.run(["bash", "-c", command], env=ENV, capture_output=True, text=True,
                         timeout=60)
    first, status = run.stdout.splitlines()
    assert first == "resnet50  input [3, 224, 224]"
    assert status in ("status 0", "status 141") and run.stderr == ""


@pytest.mark.parametrize("shell, marker", [("bash", "complete -o nosort -F _cnncalc_completion"),
                                           ("zsh", "#compdef cnncalc"),
                                           ("fish", "complete --no-files --command cnncalc")])
def test_shell_completion_scripts_are_produced(shell: str, marker: str) -> None:
    run = subprocess.run([sys.executable, "-m", "cnncalc"], capture_output=True, text=True,
                         env={**ENV, "_CNNCALC_COMPLETE": f"{shell}_source"}, timeout=60)
    assert run.returncode == 0 and marker in run.stdout and run.stderr == ""


def test_completion_completes_commands_and_options() -> None:
    def complete(words: str, cword: int) -> list[str]:
        run = subprocess.run([sys.executable, "-m", "cnncalc"], capture_output=True, text=True,
                             timeout=60, env={**ENV, "_CNNCALC_COMPLETE": "bash_complete",
                                              "COMP_WORDS": words, "COMP_CWORD": str(cword)})
        return [line.split(",", 1)[1] for line in run.stdout.splitlines()]

    assert complete("cnncalc su", 1) == ["summary"]
    assert complete("cnncalc summary --fo", 2) == ["--format"]
    assert complete("cnncalc summary x --format m", 4) == ["markdown"]


def test_the_readme_documents_completion() -> None:
    readme = (ROOT / "README.md").read_text()
    assert 'eval "$(_CNNCALC_COMPLETE=bash_source cnncalc)"' in readme


@pytest.mark.parametrize("args", [["summary", RESNET50], ["params", RESNET50],
                                  ["flops", RESNET50], ["memory", RESNET50], ["rf", RESNET50],
                                  ["check", RESNET50], ["diff", RESNET50, RESNET50], ["ops"],
                                  ["export", RESNET50, "--to", "pytorch"]])
def test_piped_commands_never_import_numpy_or_rich(args: list[str]) -> None:
    code = ("import sys\nfrom cnncalc.cli import main\ncode = main(sys.argv[1:])\n"
            "heavy = sorted({m.split('.')[0] for m in sys.modules} & {'numpy', 'rich'})\n"
            "print(heavy, file=sys.stderr)\nsys.exit(code)\n")
    run = subprocess.run([sys.executable, "-c", code, *args], env=ENV, capture_output=True,
                         text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    assert run.stderr.splitlines()[-1] == "[]"


def test_importing_the_cli_imports_no_command() -> None:
    code = ("import sys, cnncalc.cli\n"
            "print(sorted(m for m in sys.modules if m.startswith(('cnncalc.cli.', 'numpy', "
            "'rich', 'cnncalc.analysis', 'cnncalc.backend'))))")
    run = subprocess.run([sys.executable, "-c", code], env=ENV, capture_output=True, text=True,
                         timeout=60)
    assert run.stdout.strip() == "[]", run.stdout
