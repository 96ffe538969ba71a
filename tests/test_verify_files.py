"""Files handed to `verify` / `init-weights` and files they write: hostile or odd files are
refused with `FILE:1:1: error: ...` and exit 2 before any large allocation; writes go to exactly
the path given and never outside the folder named."""
from __future__ import annotations

import ast
import os
import struct
import zipfile
import zlib
from pathlib import Path

import numpy as np
import pytest

from cnncalc.backend import arrayfiles as A
from cnncalc.cli import main

SPEC = """
input: [3, 8, 8]
layers:
  - conv: {filters: 4, kernel: 3, padding: 1, name: conv}
  - relu
  - gap
  - flatten
  - dense: {units: 3, name: NAME}
"""


def _spec(tmp_path: Path, output: str = "fc") -> str:
    path = tmp_path / "net.yaml"
    path.write_text(SPEC.replace("NAME", output))
    return str(path)


@pytest.fixture
def spec(tmp_path: Path) -> str:
    return _spec(tmp_path)


def run(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = main(args)
    out, err = capsys.readouterr()
    assert "Traceback" not in err
    return code, out, err


def _npy_header(shape: tuple[int, ...], descr: str = "<f4") -> bytes:
    """A version 1.0 .npy header declaring `shape`, whatever data follows."""
    text = repr({"descr": descr, "fortran_order": False, "shape": shape})
    pad = 64 - (10 + len(text) + 1) % 64
    text += " " * pad + "\n"
    assert ast.literal_eval(text.strip())["shape"] == shape
    return b"\x93NUMPY\x01\x00" + struct.pack("<H", len(text)) + text.encode("latin1")


def _refused(code: int, out: str, err: str, path: object, message: str) -> None:
    assert code == 2 and out == "", (code, out, err)
    assert err.startswith(f"{path}:1:1: error: ") and message in err, err


# ----------------------------------------------------------------------------- inputs


@pytest.mark.parametrize("header, message", [
    (_npy_header((10**6, 3, 8, 8)), "the header declares 768,000,000 bytes"),  # 768 MB, file ~100 B
    (_npy_header((10**9, 10**9)), "the header declares 4,000,000,000,000,000,000 bytes"),
    (_npy_header((2, 2)) + b"\0" * 16, "the array has shape [2, 2] but the network takes [3, 8, 8]"),
    (_npy_header((1,) * 70), "declares 70 axes"),
    (_npy_header((3, 8, 8), "|O"), "Python objects"),
    (_npy_header((0, 3, 8, 8)), "a batch of 0 samples"),
])
def test_hostile_npy_inputs_are_refused_before_reading(spec: str, tmp_path: Path, header: bytes, message: str,
                                                       capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "x.npy"
    path.write_bytes(header + b"\0" * 16)
    _refused(*run(["verify", spec, "--input-file", str(path)], capsys), path, message)


def test_float64_input_beyond_float32_is_refused_unless_float64(spec: str, tmp_path: Path,
                                                                capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "x.npy"
    np.save(path, np.full((3, 8, 8), 1e300))
    _refused(*run(["verify", spec, "--input-file", str(path)], capsys), path,
             "holds 1e+300, beyond the range of float32; use --dtype float64")
    code, out, err = run(["verify", spec, "--input-file", str(path), "--dtype", "float64", "--no-rf"], capsys)
    assert code in (0, 1) and "error" not in err  # it runs (huge values may overflow later)


def _png_header(width: int, height: int) -> bytes:
    """A PNG that declares width x height pixels and holds a few bytes of data."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\0" * 64))
            + chunk(b"IEND", b""))


def test_image_declaring_10_billion_pixels_is_not_decoded(spec: str, tmp_path: Path,
                                                          capsys: pytest.CaptureFixture[str]) -> None:
    pytest.importorskip("PIL")
    path = tmp_path / "big.png"
    path.write_bytes(_png_header(100_000, 100_000))
    code, out, err = run(["verify", spec, "--input-file", str(path)], capsys)
    _refused(code, out, err, path, "too large")


@pytest.mark.parametrize("command", ["verify", "init-weights"])
def test_negative_seed_is_exit_2(spec: str, tmp_path: Path, command: str,
                                 capsys: pytest.CaptureFixture[str]) -> None:
    extra = ["-o", str(tmp_path / "w.npz")] if command == "init-weights" else []
    code, out, err = run([command, spec, "--seed", "-1", *extra], capsys)
    assert code == 2 and "--seed" in err and not (tmp_path / "w.npz").exists()


def test_library_refuses_what_the_cli_refuses(tmp_path: Path) -> None:
    import cnncalc
    from cnncalc.backend import verify as V
    from cnncalc.backend import weights as W

    graph = cnncalc.load_graph(_spec(tmp_path))
    with pytest.raises(ValueError, match="seed"):
        V.verify(graph, seed=-1)
    with pytest.raises(ValueError, match="seed"):
        W.init_weights(graph, seed=-1)
    with pytest.raises(ValueError, match="no sample"):
        V.verify(graph, x=np.zeros((0, 3, 8, 8), np.float32))
    with pytest.raises(ValueError, match="batch"):
        V.prepare(graph, batch=0, limit=2**40)


# ----------------------------------------------------------------------------- weights


def _weights(spec: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> dict[str, np.ndarray]:
    path = tmp_path / "good.npz"
    assert run(["init-weights", spec, "-o", str(path)], capsys)[0] == 0
    with np.load(path) as data:
        return {key: data[key] for key in data.files}


def _archive(path: Path, members: dict[str, bytes]) -> None:
    with zipfile.ZipFile(path, "w") as archive:
        for name, data in members.items():
            archive.writestr(name, data)


def _npy_bytes(array: np.ndarray) -> bytes:
    import io

    buffer = io.BytesIO()
    np.lib.format.write_array(buffer, array, allow_pickle=True)
    return buffer.getvalue()


def test_hostile_weight_archives_are_refused(spec: str, tmp_path: Path,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    good = {f"{key}.npy": _npy_bytes(value) for key, value in _weights(spec, tmp_path, capsys).items()}
    cases = {
        "pickle": ({**good, "conv.bias.npy": _npy_bytes(np.array([{}, 1, 2, 3], dtype=object))},
                   "Python objects (a pickle)"),
        "not an array": ({**good, "notes.txt": b"hello"}, "member 'notes.txt' is not a .npy array"),
        "terabytes": ({**good, "conv.weight.npy": _npy_header((10**6, 10**6)) + b"\0" * 64},
                      "declares 4,000,000,000,000 bytes"),
        "wrong shape, large": ({**good, "fc.weight.npy": _npy_bytes(np.zeros((3, 5000), np.float32))},
                               "'fc.weight' has shape [3, 5000] but the spec needs [3, 4]"),
        "overflow": ({**good, "fc.weight.npy": _npy_bytes(np.full((3, 4), 1e300))},
                     "beyond the range of float32"),
    }
    for case, (members, message) in cases.items():
        path = tmp_path / f"{case.replace(' ', '_')}.npz"
        _archive(path, members)
        _refused(*run(["verify", spec, "--weights", str(path)], capsys), path, message)


def test_init_weights_has_the_memory_guard_and_writes_exactly_the_path(
        spec: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    target = tmp_path / "w"
    code, out, err = run(["init-weights", spec, "-o", str(target), "--max-memory", "1KB"], capsys)
    _refused(code, out, err, spec, "would need about")
    assert not target.exists()
    assert run(["init-weights", spec, "-o", str(target)], capsys)[0] == 0
    assert target.exists() and not (tmp_path / "w.npz").exists()  # no suffix added
    with np.load(target) as data:
        assert sorted(data.files) == ["conv.bias", "conv.weight", "fc.bias", "fc.weight"]
    _refused(*run(["init-weights", spec, "-o", ""], capsys), "", "an empty path")


# ----------------------------------------------------------------------------- outputs


@pytest.mark.parametrize("name", ["file", "allow_pickle"])
def test_save_output_npz_with_numpys_keyword_names(tmp_path: Path, name: str,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    spec = _spec(tmp_path, name)
    target = tmp_path / "o.npz"
    code, out, err = run(["verify", spec, "--save-output", str(target), "--no-rf"], capsys)
    assert code == 0, err
    with np.load(target) as data:
        assert data.files == [name] and data[name].shape == (1, 3)


def test_save_output_writes_exactly_the_path_or_refuses(spec: str, tmp_path: Path,
                                                        capsys: pytest.CaptureFixture[str]) -> None:
    target = tmp_path / "out"
    assert run(["verify", spec, "--save-output", str(target), "--no-rf"], capsys)[0] == 0
    assert np.load(target).shape == (1, 3) and not (tmp_path / "out.npy").exists()
    _refused(*run(["verify", spec, "--save-output", "", "--no-rf"], capsys), "", "an empty path")
    _refused(*run(["verify", spec, "--save-output", str(tmp_path / "no" / "o.npy"), "--no-rf"], capsys),
             tmp_path / "no" / "o.npy", "cannot write")
    if os.path.exists("/dev/null"):
        assert run(["verify", spec, "--save-output", "/dev/null", "--no-rf"], capsys)[0] == 0
        assert not os.path.exists("/dev/null.npy")


def test_save_activations_folder_problems(spec: str, tmp_path: Path,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "afile").write_text("x")
    os.symlink(tmp_path / "nowhere", tmp_path / "dangling")
    cases = [
        (tmp_path / "afile" / "acts", "a part of the path is a file"),
        (tmp_path / "dangling", "a dangling symbolic link"),
    ]
    for folder, message in cases:
        _refused(*run(["verify", spec, "--save-activations", str(folder)], capsys), folder, message)
    assert not (tmp_path / "nowhere").exists()
    if os.geteuid() != 0:  # root writes anywhere
        locked = tmp_path / "locked"
        locked.mkdir(mode=0o500)
        _refused(*run(["verify", spec, "--save-activations", str(locked)], capsys), locked, "not writable")
    good = tmp_path / "acts"
    assert run(["verify", spec, "--save-activations", str(good), "--no-rf"], capsys)[0] == 0
    assert sorted(p.name for p in good.iterdir())[:2] == ["conv.npy", "fc.npy"]


def test_names_never_leave_the_folder_or_the_archive(tmp_path: Path) -> None:
    for bad in ["../evil", "a/b", "..", "", "x\\y", "bell\x07"]:
        with pytest.raises(A.ArrayFileError):
            A.write_npz(str(tmp_path / "o.npz"), {bad: np.zeros(2)})
        with pytest.raises(A.ArrayFileError):
            A.ActivationWriter(str(tmp_path / "acts"), [bad])
        with pytest.raises(A.ArrayFileError):
            A.ActivationWriter(str(tmp_path / "acts2")).path(bad)
    assert not (tmp_path / "o.npz").exists() and not (tmp_path / "evil.npy").exists()
    with pytest.raises(A.ArrayFileError, match="no arrays"):  # a network with `outputs: []`
        A.write_npz(str(tmp_path / "o.npz"), {})
    A.write_npz(str(tmp_path / "ok.npz"), {"a..b": np.arange(3)})  # '..' inside a name is harmless
    with zipfile.ZipFile(tmp_path / "ok.npz") as archive:
        assert archive.namelist() == ["a..b.npy"]
