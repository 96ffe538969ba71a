"""How every command writes: the formats (text, JSON, CSV, Markdown), tables never cut at 80
columns, text from files escaped, `--input` in the spec's layout, and the README's promises
about options checked against every click command."""
from __future__ import annotations

import csv
import io
import json
import re
from pathlib import Path

import click
import pytest
from helpers import ARCH, ROOT

from cnncalc.cli import COMMANDS, LazyGroup, cli, main

README = (ROOT / "README.md").read_text()
SMALL = str(ARCH / "examples" / "small.cnn.yaml")  # channels_last, 64x64x3
RESNET50 = str(ARCH / "resnet50.yaml")
TABLE_COMMANDS = {"summary": [RESNET50], "params": [RESNET50], "flops": [RESNET50],
                  "memory": [RESNET50, "--training"], "rf": [RESNET50],
                  "diff": [str(ARCH / "resnet18.yaml"), RESNET50], "ops": [],
                  "check": [RESNET50, "--max-params", "1M"]}
ANSI = re.compile(r"\x1b\[[0-9;]*m")


def command(name: str) -> click.Command:
    found = LazyGroup.get_command(cli, click.Context(cli), name)
    assert found is not None
    return found


def options(name: str) -> dict[str, click.Option]:
    return {opt: param for param in command(name).params if isinstance(param, click.Option)
            for opt in param.opts}


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


# -- the README's claims ----------------------------------------------------------------------

def test_the_readme_lists_every_command() -> None:
    listed = re.findall(r"^\| `cnncalc ([a-z-]+)", README, flags=re.M)
    assert set(listed) | {"init-weights"} == set(COMMANDS)


def test_readme_claims_about_options_hold_for_every_command() -> None:
    lead = "Every command but the ones that write a picture, a page or a spec "
    paragraph = README.split(lead)[1].split("\n\n")[0]
    every = paragraph.split(". ")[0]
    pictures = set(re.findall(r"`([a-z-]+)`", every.split(")")[0]))  # they write SVG, HTML...
    assert pictures == {"graph", "report", "import"}
    claimed = re.findall(r"`(--[a-z-]+)", every)
    assert claimed == ["--json", "--format", "--no-color"]
    for name in set(COMMANDS) - pictures:
        for option in claimed:
            assert option in options(name), (name, option)
    # "Every command that reads a spec (all but `ops`) takes `--input SHAPE`"
    reads = re.search(r"Every command that reads a spec \(all but ((?:`[a-z-]+`(?:, )?)+)\) "
                      r"takes\s+`(--[a-z-]+)", paragraph)
    assert reads is not None
    exceptions = set(re.findall(r"`([a-z-]+)`", reads.group(1)))
    for name in set(COMMANDS) - {"import"}:  # its --input is the source model's, not a spec's
        assert (reads.group(2) in options(name)) == (name not in exceptions), name
    # "The table commands (`summary`, ...) also take `--format csv` and `--format markdown`"
    tables = re.search(r"The table commands\s+\(((?:`[a-z-]+`,?\s*)+)\) also take\s+"
                       r"`--format (\w+)`.*?`--format (\w+)`", paragraph, flags=re.S)
    assert tables is not None
    named = re.findall(r"`([a-z-]+)`", tables.group(1))
    assert set(named) == set(TABLE_COMMANDS) | {"verify"}
    for name in set(COMMANDS) - pictures:
        choices = options(name)["--format"].type.choices  # type: ignore[attr-defined]
        wanted = {"json", tables.group(2), tables.group(3)}
        assert wanted <= set(choices) if name in named else {"text", "json"} <= set(choices), name


def test_json_is_the_same_as_format_json(capsys: pytest.CaptureFixture[str]) -> None:
    for name, args in TABLE_COMMANDS.items():
        first = run(capsys, name, *args, "--json")
        second = run(capsys, name, *args, "--format", "json")
        assert first[0] == second[0] and json.loads(first[1]) == json.loads(second[1]), name
    code, _, err = run(capsys, "summary", SMALL, "--json", "--format", "csv")
    assert code == 2 and "--json and --format csv" in err


# -- CSV and Markdown ---------------------------------------------------------------------------

def test_csv_has_exact_numbers(capsys: pytest.CaptureFixture[str]) -> None:
    document = json.loads(run(capsys, "summary", RESNET50, "--json")[1])
    code, out, err = run(capsys, "summary", RESNET50, "--format", "csv")
    assert code == 0 and err == ""
    rows = list(csv.DictReader(io.StringIO(out)))
    assert list(rows[0]) == ["layer", "op", "output shape", "params", "MACs", "activation", "RF"]
    assert [row["layer"] for row in rows] == [layer["name"] for layer in document["layers"]]
    assert [int(row["MACs"]) if row["MACs"] != "-" else 0 for row in rows] == \
        [layer["macs"] for layer in document["layers"]]
    assert [int(row["activation"]) for row in rows] == \
        [layer["activation_bytes"] for layer in document["layers"]]
    assert sum(int(row["params"]) for row in rows if row["params"] != "-") == 25_557_032


@pytest.mark.parametrize("name", sorted(TABLE_COMMANDS))
def test_every_table_command_writes_csv_and_markdown(capsys: pytest.CaptureFixture[str],
                                                     name: str) -> None:
    args = TABLE_COMMANDS[name]
    code_csv, out_csv, _ = run(capsys, name, *args, "--format", "csv")
    code_md, out_md, _ = run(capsys, name, *args, "--format", "markdown")
    assert code_csv == code_md == (1 if name == "check" else 0)
    tables = [list(csv.reader(io.StringIO(block))) for block in out_csv.split("\n\n")]
    for table in tables:
        assert len(table) >= 2 and all(len(row) == len(table[0]) for row in table), name
        assert all(header for header in table[0])
    assert "\x1b" not in out_csv + out_md
    md_tables = re.findall(r"^(\|.*\|\n\|[-:|]+\|\n(?:\|.*\|\n)+)", out_md, flags=re.M)
    assert len(md_tables) == len(tables), name
    for block in md_tables:
        lines = block.splitlines()
        cells = [len(re.split(r"(?<!\\)\|", line)) for line in lines]
        assert len(set(cells)) == 1, (name, block[:300])


def test_check_csv_lists_each_problem(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "check", SMALL, "--max-params", "1M", "--format", "csv", "-q")
    assert code == 1
    rows = list(csv.DictReader(io.StringIO(out)))
    assert [(r["file"], r["line"], r["level"], r["code"]) for r in rows] == \
        [(SMALL, "1", "error", "--max-params")]
    assert rows[0]["message"].startswith("params 2,116,801 exceeds max 1M")


# -- 80 columns ---------------------------------------------------------------------------------

def _numbers_and_names(capsys: pytest.CaptureFixture[str]) -> list[str]:
    document = json.loads(run(capsys, "summary", RESNET50, "--json")[1])
    return ([layer["name"] for layer in document["layers"]] +
            [f"{layer['macs']:,}" for layer in document["layers"] if layer["macs"]] +
            [f"{layer['params']:,}" for layer in document["layers"] if layer["params"]])


@pytest.mark.parametrize("rich", [True, False])
def test_tables_are_never_cut_at_80_columns(capsys: pytest.CaptureFixture[str],
                                           monkeypatch: pytest.MonkeyPatch, rich: bool) -> None:
    wanted = _numbers_and_names(capsys)
    monkeypatch.setenv("COLUMNS", "80")
    monkeypatch.delenv("NO_COLOR", raising=False)
    if rich:  # as on a colour terminal
        monkeypatch.setattr("cnncalc.report.output.color_wanted", lambda no_color, stream=None: True)
    code, out, _ = run(capsys, "summary", RESNET50)
    assert code == 0
    assert ("┃" in out) == rich
    text = ANSI.sub("", out)
    assert "…" not in text
    cells = set(re.split(r"[\s│┃]+", text))
    missing = [item for item in wanted if item not in cells]
    assert not missing, missing[:5]


# -- escaping -----------------------------------------------------------------------------------

def test_text_from_files_is_escaped_everywhere(tmp_path: Path,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    # the loader refuses control characters in names; its message quotes them escaped
    bad = tmp_path / "bad.yaml"
    bad.write_text('name: "net\\e]0;pwned\\a\\e[2J"\ninput: [3, 8, 8]\n'
                   "layers:\n  - conv: {filters: 4, kernel: 3}\n  - \"relu\\e[2J\"\n")
    for fmt in ("text", "csv", "markdown"):
        code, out, err = run(capsys, "summary", str(bad), "--format", fmt)
        assert code == 2 and "\x1b" not in out + err and "\x07" not in out + err
        assert "relu\\x1b[2J" in err
    spec = tmp_path / "net.yaml"
    spec.write_text("name: net\ninput: [3, 8, 8]\n"
                    "layers:\n  - conv: {filters: 4, kernel: 3, name: conv_first}\n  - relu\n")
    # a path with escape sequences, in an error
    odd = tmp_path / "a\x1b[2Jb.yaml"
    code, _, err = run(capsys, "summary", str(odd))
    assert code == 2 and "\x1b" not in err
    assert err == f"{tmp_path}/a\\x1b[2Jb.yaml:1:1: error: cannot read the file: no such file\n"
    # what the user typed, quoted in a "did you mean"
    code, _, err = run(capsys, "explain", str(spec), "conv_firs\x1b")
    assert code == 2 and "\x1b" not in err
    assert "'conv_firs\\x1b' (did you mean 'conv_first'?)" in err
    # the network's name in diff's header and in check's problems
    code, out, err = run(capsys, "diff", str(spec), str(spec))
    assert code == 0 and "\x1b" not in out + err


def test_escape_shows_controls_and_reordering_characters() -> None:
    from cnncalc.escape import escape

    assert escape("a\x1b[2Jb\x07\u202ec\x9b\u200b") == "a\\x1b[2Jb\\x07\\u202ec\\x9b\\u200b"
    assert escape("line\nnext\t") == "line\\x0anext\\x09"
    assert escape("line\nnext", keep_newlines=True) == "line\nnext"
    assert escape("naïve ü 中文 [bold]") == "naïve ü 中文 [bold]"


# -- --input in the spec's layout, and the layout warning -----------------------------------------

def test_input_is_read_in_the_specs_layout(capsys: pytest.CaptureFixture[str]) -> None:
    document = json.loads(run(capsys, "summary", SMALL, "--input", "32,32,3", "--json")[1])
    assert document["input_shape"] == [3, 32, 32]  # JSON is channels first
    assert document["layers"][0]["output_shape"] == [32, 32, 32]
    code, out, _ = run(capsys, "summary", SMALL, "--input", "32,32,3")
    assert code == 0 and out.startswith("small-cnn  input [32, 32, 3] (channels last)")
    code, out, _ = run(capsys, "check", SMALL, "--input", "32,32,3", "--no-spec-checks",
                       "--shape", "pool2=8,8,64", "--json")
    assert code == 0
    for name in set(COMMANDS) - {"import"}:  # its --input is the source model's, not a spec's
        if "--input" in options(name):
            assert "H,W,C for a `layout: channels_last` spec" in " ".join(
                options(name)["--input"].help.split()), name  # type: ignore[union-attr]


LOOKS_LAST = "input: [224, 224, 3]\nlayers:\n  - conv: {filters: 8, kernel: 3}\n  - relu\n"


def test_an_input_that_looks_channels_last_is_warned_about(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    spec = tmp_path / "net.yaml"
    spec.write_text(LOOKS_LAST)
    code, out, err = run(capsys, "summary", str(spec))
    assert code == 0 and out
    assert err == (f"{spec}:1:8: warning: input [224, 224, 3] is read channels first (224 "
                   "channels) but looks channels-last (last axis 3: an image's colour channels?); "
                   "add `layout: channels_last` to `input:`, or write it as [3, 224, 224]\n")
    code, _, err_check = run(capsys, "check", str(spec))
    assert code == 0 and err_check == err
    for fine in ("input: {shape: [224, 224, 3], layout: channels_last}\n",
                 "input: [3, 224, 224]\n", "input: [16, 16, 4]\n"):
        spec.write_text(fine + LOOKS_LAST.split("\n", 1)[1])
        code, _, err = run(capsys, "summary", str(spec))
        assert (code, err) == (0, ""), fine
    spec.write_text("input: [224, 224, 3]\nlayers:\n  - flatten\n  - dense: {units: 2}\n")
    assert run(capsys, "summary", str(spec))[2] == ""  # not an image for a convolution


# -- one wording for a missing file ---------------------------------------------------------------

@pytest.mark.parametrize("name", ["summary", "params", "flops", "memory", "rf", "explain",
                                  "verify", "init-weights", "check", "diff"])
def test_a_missing_file_reads_the_same_everywhere(tmp_path: Path, name: str,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    missing = str(tmp_path / "none.yaml")
    args = {"explain": [missing, "conv1"], "init-weights": [missing, "-o", str(tmp_path / "w")],
            "diff": [SMALL, missing]}.get(name, [missing])
    code, _, err = run(capsys, name, *args)
    assert code == 2
    assert err.splitlines()[0] == f"{missing}:1:1: error: cannot read the file: no such file"


def test_usage_errors_quoting_the_command_line_are_escaped(
        capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "summ\x1b]0;x\x07")
    assert code == 2 and "\x1b" not in err and "\x07" not in err
    assert "no such command 'summ\\x1b]0;x\\x07'" in err
    code, _, err = run(capsys, "summary", SMALL, "--fo\x1b")
    assert code == 2 and "'--fo\\x1b'" in err and "\x1b" not in err


def test_diff_csv_puts_old_and_new_in_their_own_columns(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    old = Path(SMALL).read_text()
    new = tmp_path / "new.yaml"
    new.write_text(old.replace("units: 128, name: fc1", "units: 256, name: fc1"))
    code, out, _ = run(capsys, "diff", SMALL, str(new), "--format", "csv")
    totals, layers = (list(csv.DictReader(io.StringIO(block))) for block in out.split("\n\n"))
    params = next(row for row in totals if row["figure"] == "params")
    assert (params["old"], params["new"], params["change"]) == ("2116801", "4214209", "2097408")
    fc1 = next(row for row in layers if row["old layer"] == "fc1")
    # fc1: 16384 x 128 + 128 = 2,097,280 params before, 16384 x 256 + 256 after
    assert (fc1["status"], fc1["old params"], fc1["new params"]) == ("changed", "2097280", "4194560")
    assert (fc1["old MACs"], fc1["new MACs"]) == (str(16384 * 128), str(16384 * 256))


def test_devices_are_refused_and_pipes_read(tmp_path: Path,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    import os
    import threading

    code, _, err = run(capsys, "summary", "/dev/zero")
    assert code == 2
    assert err == ("/dev/zero:1:1: error: cannot read the file: it is a device, not a regular "
                   "file or a pipe\n")
    fifo = tmp_path / "spec.fifo"
    os.mkfifo(fifo)
    writer = threading.Thread(target=lambda: fifo.write_text(Path(SMALL).read_text()))
    writer.start()
    code, out, _ = run(capsys, "summary", str(fifo), "--json")
    if writer.is_alive():  # the reader gave up first: release the writer's open, then fail
        os.close(os.open(fifo, os.O_RDONLY | os.O_NONBLOCK))
    writer.join(10)
    assert code == 0 and json.loads(out)["total_params"] == 2_116_801


def test_a_file_over_the_size_limit_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("cnncalc.spec.source.MAX_BYTES", 2**20)
    big = tmp_path / "big.yaml"
    big.write_text(Path(SMALL).read_text() + "#" * 2**20)
    code, _, err = run(capsys, "summary", str(big))
    assert (code, err) == (2, f"{big}:1:1: error: cannot read the file: larger than 1 MiB\n")
