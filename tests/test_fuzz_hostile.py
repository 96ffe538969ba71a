"""Hostile input against the command-line contract (issue 9): alias bombs, deep nesting, huge
and non-finite numbers, wrong types in every argument of every op, names that are paths or
terminal codes, bytes YAML refuses.

The oracle is the contract, for every command run on every input:
- exit 0 or 2 (1 only for a failed `check` / `verify`), never an exception out of `main`;
- on exit 2 a line `FILE:LINE:COL: error: ...` on stderr naming the spec file;
- no Python traceback, no raw control character (terminal codes) in what is printed;
- nothing written outside the paths the user named;
- no hang: each run within TIME_BUDGET seconds (a generous hang guard, not a timing test),
  and no runaway memory (each run gets at most MEMORY_BUDGET more bytes of address space).

Ops and their arguments come from the registry, so a new op is fuzzed without a change here.
CI runs this with a fixed seed (HYPOTHESIS_PROFILE=ci, see conftest.py) and few examples;
the whole file takes well under a minute on two cores.
"""
from __future__ import annotations

import contextlib
import io
import os
import re
import resource
import signal
import subprocess
import sys
import time
import traceback
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, Phase, example, given, note, settings
from hypothesis import strategies as st

from cnncalc.cli import main
from cnncalc.ops.registry import ops

ROOT = Path(__file__).resolve().parent.parent
TIME_BUDGET = 30.0  # per run: a hang guard (refusing takes ms idle, seconds under load)
MEMORY_BUDGET = 1_500_000_000  # bytes of address space a run may add
SPEC = "spec.yaml"
LOCATED = re.compile(rf"^{re.escape(SPEC)}:\d+:\d+: error: ", re.M)
CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")  # C0 (but \t \n) and C1: terminal codes
COMMANDS = ["summary", "params", "flops", "memory", "rf", "check", "diff"]  # diff: the spec with itself

def hostile() -> Any:
    """Few examples, no shrinking: a failure is reported at once with the input as a note (a
    hang would otherwise be shrunk at TIME_BUDGET per attempt)."""
    return settings(max_examples=25, deadline=None,
                    phases=[Phase.explicit, Phase.generate], suppress_health_check=list(HealthCheck))


# ---------------------------------------------------------------------------- running the CLI

class Hang(BaseException):
    """Raised by the alarm; a BaseException so that no `except Exception` in cnncalc eats it."""


@dataclass
class Outcome:
    args: list[str]
    code: int | None
    out: str
    err: str
    seconds: float
    escaped: str = ""  # the traceback of an exception that left main()


def _address_space() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmSize:"):
            return int(line.split()[1]) * 1024
    return 0


@contextlib.contextmanager
def guard() -> Iterator[None]:
    """A hang guard (SIGALRM after TIME_BUDGET) and a memory guard (RLIMIT_AS raised to what
    the process holds + MEMORY_BUDGET), both restored afterwards."""
    def alarm(signum: int, frame: Any) -> None:
        raise Hang(f"no answer within {TIME_BUDGET} s")

    previous = signal.signal(signal.SIGALRM, alarm)
    soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    used = _address_space()
    if used:
        limit = used + MEMORY_BUDGET
        if hard != resource.RLIM_INFINITY:
            limit = min(limit, hard)
        resource.setrlimit(resource.RLIMIT_AS, (limit, hard))
    # repeating: a Hang swallowed on the way (a __del__, a generator being closed) fires again
    signal.setitimer(signal.ITIMER_REAL, TIME_BUDGET, 0.25)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
        resource.setrlimit(resource.RLIMIT_AS, (soft, hard))


def files(folder: Path) -> set[str]:
    return {str(p.relative_to(folder)) for p in folder.rglob("*")}


def run(folder: Path, *args: str) -> Outcome:
    """`cnncalc ARGS` in-process with `folder` as the working directory."""
    out, err = io.StringIO(), io.StringIO()
    code, escaped = None, ""
    cwd, color = os.getcwd(), os.environ.get("NO_COLOR")
    os.chdir(folder)
    os.environ["NO_COLOR"] = "1"
    began = time.perf_counter()
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err), guard():
            code = main(list(args))
    except (Exception, Hang, RecursionError, MemoryError, SystemExit):
        escaped = traceback.format_exc(limit=-8)
    finally:
        seconds = time.perf_counter() - began
        os.chdir(cwd)
        if color is None:
            os.environ.pop("NO_COLOR", None)
        else:
            os.environ["NO_COLOR"] = color
    return Outcome(list(args), code, out.getvalue(), err.getvalue(), seconds, escaped)


def assert_contract(o: Outcome, failing_ok: bool = False) -> None:
    what = f"cnncalc {' '.join(o.args)!r}"
    assert not o.escaped, f"{what}: exception left main():\n{o.escaped}"
    assert o.seconds < TIME_BUDGET, f"{what}: took {o.seconds:.1f} s"
    assert "Traceback (most recent call last)" not in o.out + o.err, f"{what}:\n{o.err}"
    allowed = {0, 2, 1} if failing_ok else {0, 2}
    assert o.code in allowed, f"{what}: exit {o.code}\n{o.err}"
    if o.code == 2:
        assert LOCATED.search(o.err), f"{what}: exit 2 without a located error:\n{o.err}"
    assert not CONTROL.search(o.out + o.err), \
        f"{what}: raw control character printed: {CONTROL.findall(o.out + o.err)!r}"


def check_text(tmp: Path, text: str | bytes, commands: list[str] = COMMANDS) -> list[Outcome]:
    """Write the spec, run every command on it, assert the contract and that only the spec
    file exists afterwards."""
    spec = tmp / SPEC
    if isinstance(text, bytes):
        spec.write_bytes(text)
    else:
        spec.write_text(text, encoding="utf-8")
    before = files(tmp)
    outcomes = []
    for command in commands:
        o = run(tmp, command, SPEC, *([SPEC] if command == "diff" else []))
        assert_contract(o, failing_ok=command in ("check", "verify"))
        outcomes.append(o)
    assert files(tmp) == before
    return outcomes


@pytest.fixture(scope="module")
def tmp(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("hostile")


# ---------------------------------------------------------------------------- 1. alias bombs

def alias_bomb(depth: int, width: int) -> str:
    """A list whose k-th item holds `width` aliases of item k-1: width**depth leaves in a few
    hundred bytes."""
    items = ["&a0 [1, 1]"] + [f"&a{k} [{', '.join([f'*a{k - 1}'] * width)}]" for k in range(1, depth + 1)]
    return "[" + ", ".join(items) + "]"


PLACES = {  # where a value goes in an otherwise valid spec
    "input": "input: {v}\nlayers: [relu]\n",
    "layers": "input: [3, 8, 8]\nlayers: {v}\n",
    "argument": "input: [3, 8, 8]\nlayers:\n  - conv: {{filters: 4, kernel: {v}}}\n",
    "block-args": ("input: [3, 8, 8]\nblocks:\n  b:\n    args: {{k: {v}}}\n    layers: [relu]\n"
                   "layers: [b]\n"),
    "checks": "input: [3, 8, 8]\nlayers: [relu]\nchecks: {{params: {{max: {v}}}}}\n",
}


@hostile()
@example(9, 10, "layers")  # 10**9 leaves: always tried
@given(st.integers(1, 9), st.integers(2, 10), st.sampled_from(sorted(PLACES)))
def test_alias_bombs(tmp: Path, depth: int, width: int, place: str) -> None:
    text = PLACES[place].format(v=alias_bomb(depth, width))
    note(f"{width}**{depth} = {width ** depth:,} leaves in {len(text)} bytes at {place}")
    check_text(tmp, text)


def test_recursive_alias(tmp: Path) -> None:
    check_text(tmp, "input: [3, 8, 8]\nlayers: &l [relu, *l]\n")


# ---------------------------------------------------------------------------- 2. deep nesting

def nested(kind: str, depth: int) -> str:
    if kind == "list":
        return "[" * depth + "1" + "]" * depth
    if kind == "mapping":
        return "{a: " * depth + "1" + "}" * depth
    return '"${' + "(" * depth + "1" + ")" * depth + '}"'  # an expression


@hostile()
@given(st.sampled_from(["list", "mapping"]), st.sampled_from([10, 100, 1_000, 5_000, 20_000]),
       st.sampled_from(sorted(PLACES)))
def test_deep_nesting(tmp: Path, kind: str, depth: int, place: str) -> None:
    check_text(tmp, PLACES[place].format(v=nested(kind, depth)))


@pytest.mark.parametrize("depth", [10, 100, 1_000, 10_000])
def test_deeply_nested_expression(tmp: Path, depth: int) -> None:
    text = ("input: [3, 8, 8]\nblocks:\n  b:\n    args: {k: 3}\n    layers:\n"
            f"      - conv: {{filters: 4, kernel: {nested('expression', depth)}}}\nlayers: [b]\n")
    check_text(tmp, text)


@pytest.mark.parametrize("depth", [50, 500])
def test_blocks_nested_deep(tmp: Path, depth: int) -> None:
    blocks = "".join(f"  b{k}:\n    layers: [b{k + 1}]\n" for k in range(depth))
    check_text(tmp, f"input: [3, 8, 8]\nblocks:\n{blocks}  b{depth}:\n    layers: [relu]\nlayers: [b0]\n")


# ---------------------------------------------------------------------------- 3. numbers

HUGE = ["1" + "0" * 18, "1" + "0" * 40, "1" + "0" * 400, "1" + "0" * 5_000, "-" + "1" + "0" * 40,
        "1e308", "1e400", "-1e400", "1e-400", ".inf", "-.inf", ".nan", "1e100000000", "0x7fffffffffffffff",
        "0o777777777777777777777", "1_000_000_000_000", "-0", "0.0", "2.5e-324"]


@hostile()
@example(["1" + "0" * 5_000], "relu")  # over Python's 4,300-digit limit: always tried
@given(st.lists(st.sampled_from(HUGE + ["3", "8"]), min_size=1, max_size=3),
       st.sampled_from(["conv: {filters: 4, kernel: 3}", "relu", "gap", "flatten"]))
def test_huge_and_special_numbers_in_the_input(tmp: Path, dims: list[str], layer: str) -> None:
    check_text(tmp, f"input: [{', '.join(dims)}]\nlayers:\n  - {layer}\n")


@hostile()
@given(st.sampled_from(HUGE), st.sampled_from(["params", "macs", "flops", "rf"]),
       st.sampled_from(["max", "min", "equals"]))
def test_huge_and_special_numbers_in_budgets(tmp: Path, number: str, what: str, bound: str) -> None:
    check_text(tmp, f"input: [3, 8, 8]\nlayers: [relu]\nchecks: {{{what}: {{{bound}: {number}}}}}\n",
               ["check", "summary"])


# ---------------------------------------------------------------------------- 4. every argument

VALID = {"kernel": 2, "filters": 4, "units": 4, "groups": 2, "output": 2, "size": 3, "scale": 2,
         "padding": 1}
# Values no argument of any op accepts (a declared domain never holds these).
# (Integers over 4,300 digits are the numbers tests' business.)
ALWAYS_WRONG = ["{a: 1}", "[{a: 1}]", ".nan", ".inf", "-.inf", "nonsense_word"]
# Values some argument accepts: only the contract applies.
ODD = ["[]", "[[]]", "null", "true", "false", "-1", "0", "1.5", "-0.0", "1" + "0" * 40, "1e308",
       "[1, 2, 3, 4, 5]", "[[1, 2], [3, 4], [5, 6]]", '"${1/0}"', '"${x}"', '""', "same", "[null, 1]"]
ARGUMENTS = [(name, arg.name) for name, op in sorted(ops().items()) for arg in op.arguments]


def one_argument(op: str, arg: str, value: str) -> str:
    args = {a.name: VALID.get(a.name, 1) for a in ops()[op].arguments if a.required and a.name != arg}
    written = ", ".join([f"{k}: {v}" for k, v in args.items()] + [f"{arg}: {value}"])
    return f"input: [4, 8, 8]\nlayers:\n  - {op}: {{{written}}}\n"


def test_every_argument_is_fuzzed() -> None:
    assert len(ARGUMENTS) == sum(len(op.arguments) for op in ops().values()) > 30


@pytest.mark.parametrize("op, arg", ARGUMENTS, ids=[f"{o}.{a}" for o, a in ARGUMENTS])
def test_every_argument_refuses_what_no_domain_holds(tmp: Path, op: str, arg: str) -> None:
    for value in ALWAYS_WRONG:
        (o,) = check_text(tmp, one_argument(op, arg, value), ["summary"])
        assert o.code == 2, f"{op}.{arg} = {value[:40]} accepted"
        assert re.search(rf"^{SPEC}:3:\d+: error: ", o.err, re.M), o.err  # at the layer's line


def test_terminal_codes_in_values_are_escaped(tmp: Path) -> None:
    # A value holding ESC and BEL, in every argument: refused, and the message shows the codes
    # escaped (a raw BEL or ESC would ring, clear the screen or retitle the window).
    for op, arg in ARGUMENTS:
        (o,) = check_text(tmp, one_argument(op, arg, '"\\e[2J\\e]0;t\\a"'), ["summary"])
        assert o.code == 2, f"{op}.{arg}: terminal codes accepted"


@pytest.mark.parametrize("op, arg", ARGUMENTS, ids=[f"{o}.{a}" for o, a in ARGUMENTS])
def test_every_argument_survives_odd_values(tmp: Path, op: str, arg: str) -> None:
    for value in ODD:
        check_text(tmp, one_argument(op, arg, value), ["summary", "rf"])


MAGNITUDES = ["1" + "0" * 6, "1" + "0" * 12, "1" + "0" * 40]
NUMERIC = [(op, arg) for op, arg in ARGUMENTS if any(word in ops()[op].arguments[
    [a.name for a in ops()[op].arguments].index(arg)].type.doc for word in ("int", "number", "scale"))]


def test_the_numeric_arguments_are_found() -> None:
    assert {("upsample", "scale"), ("deconv", "stride"), ("adaptive_avgpool", "output"),
            ("pad", "padding"), ("conv", "dilation")} <= set(NUMERIC)


@pytest.mark.parametrize("op, arg", NUMERIC, ids=[f"{o}.{a}" for o, a in NUMERIC])
def test_magnitudes_in_any_argument_do_not_hang(tmp: Path, op: str, arg: str) -> None:
    # Issue 9 item 8: work must not scale with a number in the spec. Every size, scale, stride
    # and padding at 10^6, 10^12 and 10^40, followed by a conv and a concat along a spatial axis
    # (which read whatever period the op left): an answer or a clean refusal, within the alarm.
    # The receptive field of a period too long to follow is "not computed", never a guess.
    for value in MAGNITUDES:
        text = one_argument(op, arg, value) + (
            "  - conv: {filters: 2, kernel: 3, padding: 1, name: c}\n"
            "  - concat: {in: [c, c], axis: 1}\n")
        check_text(tmp, text, ["summary", "rf", "memory", "flops"])


@pytest.mark.parametrize("size", MAGNITUDES)
def test_magnitudes_of_the_input_do_not_hang(tmp: Path, size: str) -> None:
    text = (f"input: [1, {size}]\nlayers:\n  - upsample: {{scale: 3, mode: linear}}\n"
            "  - adaptive_avgpool: 7\n  - conv: {filters: 1, kernel: 3, padding: 1}\n"
            "  - deconv: {filters: 1, kernel: 3, stride: 5}\n")
    for o in check_text(tmp, text, ["summary", "rf", "memory", "flops"]):
        assert o.code in (0, 2)


@pytest.mark.parametrize("op", sorted(ops()))
def test_every_op_refuses_wrong_shapes_of_its_own_value(tmp: Path, op: str) -> None:
    # `op: VALUE` shorthand, `op: [list]`, `op: {unknown: 1}` and an op with no arguments at all
    for value in ["{bogus: 1}", "[1, [2]]", "{in: [nope]}", "{name: 7}", "{repeat: -1}", "{repeat: .nan}"]:
        for o in check_text(tmp, f"input: [4, 8, 8]\nlayers:\n  - {op}: {value}\n", ["summary"]):
            assert o.code == 2, f"{op}: {value} accepted"


# ---------------------------------------------------------------------------- 5. names

NAME_PIECES = ["a", "b1", "/", "..", "../", "\x1b[2J", "\x1b]0;owned\x07", "\x07", "\u202e", "\x9b",
               " ", ".", "\\", ":", "\t", "é", "\u200b", "*", "-"]
# Never an absolute path (a bug would write at the root); at most 5 levels up (the runs below
# happen 6 folders deep, so a bug writes inside the test's own folder). Mostly plain, so that one
# hostile name is not hidden behind another refused first.
names = st.one_of(st.just("a"), st.lists(st.sampled_from(NAME_PIECES), min_size=1, max_size=5)
                  .map(lambda pieces: "x" + "".join(pieces)))


def named_spec(layer_name: str, block_name: str, spec_name: str) -> str:
    doc = {"name": spec_name, "input": [2, 6, 6],
           "blocks": {block_name: {"layers": [{"conv": {"filters": 2, "kernel": 3, "padding": 1}}, "relu"]}},
           "layers": [{"conv": {"filters": 2, "kernel": 3, "name": layer_name}}, {block_name: {}}]}
    return yaml.safe_dump(doc, sort_keys=False, allow_unicode=False)


@hostile()
@example("a", "b\x1b[2J", "n")
@example("a", "b", "\x1b]0;t\x07")
@example("\u202eb", "c", "n")
@given(names, names, names)
def test_names_that_are_paths_or_terminal_codes(tmp: Path, layer: str, block: str, name: str) -> None:
    text = named_spec(layer, block, name)
    note(text)
    check_text(tmp, text, ["summary", "params", "rf", "check"])


@hostile()
@example("a", "../b")
@example("a", "b/../../c")
@given(names, names)
def test_names_never_escape_the_named_paths(tmp: Path, layer: str, block: str) -> None:
    # verify --save-activations DIR writes DIR/<layer>.npy; init-weights -o FILE an archive:
    # nothing else may appear, and no archive member may name a path.
    import shutil
    import zipfile

    root = tmp / "names"
    shutil.rmtree(root, ignore_errors=True)
    work = root / "1" / "2" / "3" / "4" / "5" / "6"
    work.mkdir(parents=True)
    (work / SPEC).write_text(named_spec(layer, block, "n"), encoding="utf-8")
    before = files(root)
    acts, weights = work / "acts", work / "w.npz"
    try:
        for args, ok in ((["verify", SPEC, "--save-activations", "acts", "--no-rf"], True),
                         (["init-weights", SPEC, "-o", "w.npz"], False)):
            assert_contract(run(work, *args), failing_ok=ok)
        written = {str((root / p).relative_to(work)) if (root / p).is_relative_to(work) else p
                   for p in files(root) - before}
        assert all(p == "acts" or p.startswith("acts/") or p == "w.npz" for p in written), written
        for p in acts.rglob("*") if acts.exists() else []:
            assert p.parent == acts and not CONTROL.search(p.name), p
        if weights.exists():
            for member in zipfile.ZipFile(weights).namelist():
                assert ".." not in member.split("/") and not member.startswith("/") and "/" not in member
    finally:
        shutil.rmtree(root, ignore_errors=True)


# ---------------------------------------------------------------------------- 6. bytes

BAD_BYTES = [b"\xff", b"\xfe\xff", b"\x00", b"\x1b", b"\x07", b"\xef\xbf\xbe", b"\xed\xa0\x80",
             b"\xc3", b"\xe9", b"\x85", b"\x0c", b"\xef\xbb\xbf\xef\xbb\xbf"]
GOOD = "input: [3, 8, 8]\nlayers:\n  - conv: {filters: 4, kernel: 3, name: c}\n  - relu\n"


@hostile()
@given(st.sampled_from(BAD_BYTES), st.integers(0, len(GOOD)))
def test_bytes_yaml_refuses(tmp: Path, bad: bytes, at: int) -> None:
    raw = GOOD.encode()
    check_text(tmp, raw[:at] + bad + raw[at:], ["summary", "check"])


def test_other_encodings(tmp: Path) -> None:
    for text in (GOOD.encode("utf-16"), GOOD.encode("utf-32"), ("name: é\n" + GOOD).encode("latin-1")):
        check_text(tmp, text, ["summary"])


# ---------------------------------------------------------------------------- 7. whole process

SUBPROCESS_CASES = {
    "alias-bomb": PLACES["layers"].format(v=alias_bomb(9, 10)),
    "deep-nesting": PLACES["argument"].format(v=nested("list", 5_000)),
    "bytes-process": GOOD.encode()[:10] + b"\xff\x00" + GOOD.encode()[10:],
    "names": named_spec("a", "b\x1b[2J", "n"),
    "numbers-in-shapes": "input: [3, 1000000000, 1000000000]\nlayers:\n  - conv: {filters: 4, kernel: 3}\n",
}


def _limits() -> None:  # the child: 2 GB of address space, 30 s of CPU
    resource.setrlimit(resource.RLIMIT_AS, (2_000_000_000, 2_000_000_000))
    resource.setrlimit(resource.RLIMIT_CPU, (30, 30))


@pytest.mark.parametrize("case", list(SUBPROCESS_CASES))
def test_as_a_process(tmp_path: Path, case: str) -> None:
    spec = tmp_path / SPEC
    text = SUBPROCESS_CASES[case]
    spec.write_bytes(text if isinstance(text, bytes) else text.encode())
    env = {**os.environ, "PYTHONPATH": str(ROOT), "NO_COLOR": "1"}
    timeout = 20  # Python starts and refuses in < 1 s
    began = time.perf_counter()
    try:
        done = subprocess.run([sys.executable, "-m", "cnncalc", "summary", SPEC], cwd=tmp_path, env=env,
                              capture_output=True, timeout=timeout, preexec_fn=_limits)
    except subprocess.TimeoutExpired:
        pytest.fail(f"{case}: no answer within {timeout} s")
    o = Outcome(["summary", SPEC], done.returncode, done.stdout.decode(errors="replace"),
                done.stderr.decode(errors="replace"), time.perf_counter() - began)
    assert o.code in (0, 2), f"exit {o.code}:\n{o.err[-2000:]}"
    o.seconds = 0.0  # the process start is not the command's time; the timeout guards it
    assert_contract(o)
    assert files(tmp_path) == {SPEC}
