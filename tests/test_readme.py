"""The README stays true: its commands, its op reference and its example output."""
from __future__ import annotations

import re

from helpers import ROOT

from cnncalc.cli import main
from cnncalc.report.opref import op_reference

README = (ROOT / "README.md").read_text()


def fenced(language: str) -> list[str]:
    return re.findall(rf"```{language}\n(.*?)```", README, flags=re.S)


def test_ci_runs_the_readme_test_command() -> None:
    commands = [block.strip() for block in fenced("sh")]
    test_command = next(c for c in commands if "pytest" in c)
    assert test_command in (ROOT / ".ci" / "run").read_text()
    assert any("cnncalc summary architectures/resnet18.yaml" in c for c in commands)


def test_op_reference_is_generated_from_the_declarations() -> None:
    table = README.split("<!-- ops:start -->\n")[1].split("\n<!-- ops:end -->")[0]
    assert table == op_reference(markdown=True)


def test_readme_links_the_format_reference() -> None:
    assert "(docs/format.md)" in README
    assert "SPEC.md" not in README  # a clone does not contain it


def test_readme_example_output_is_real(tmp_path, capsys, monkeypatch) -> None:
    monkeypatch.setenv("NO_COLOR", "1")
    (tmp_path / "small.yaml").write_text(fenced("yaml")[0])
    (tmp_path / "architectures").symlink_to(ROOT / "architectures")
    monkeypatch.chdir(tmp_path)
    for block in fenced("text"):
        command, _, expected = block.partition("\n")
        if not command.startswith("$ cnncalc "):
            continue
        assert main(command[len("$ cnncalc "):].split()) == 0
        got = capsys.readouterr().out
        assert [line.rstrip() for line in got.splitlines()] == \
            [line.rstrip() for line in expected.rstrip("\n").splitlines()], command


def test_readme_counting_table_is_generated() -> None:
    from cnncalc.report.counting import END, START, counting_table

    assert README.split(START + "\n")[1].split("\n" + END)[0] == counting_table()
