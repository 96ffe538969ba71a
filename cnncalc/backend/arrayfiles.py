""".npy / .npz files read and written by verify and init-weights, safely.

Reading: a header is checked before any data is read, so a file that declares terabytes (or
70 axes, or Python objects) is refused before a large allocation; only number arrays are
read, never pickles. Writing: exactly the path given (NumPy's np.save / np.savez append
`.npy` / `.npz` to a path without the suffix and take array names as keyword arguments, so
an output named `file` or `allow_pickle` broke them); archive member names never contain a
path separator or `..`, and activation files stay inside the folder named.
"""
from __future__ import annotations

import os
import zipfile
from collections.abc import Mapping
from dataclasses import dataclass
from math import prod
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

import numpy as np

from cnncalc.text import fmt_shape

if TYPE_CHECKING:
    from cnncalc.graph import Layer

MAX_AXES = 32  # more than any tensor a network holds; NumPy's own limit is 64


class ArrayFileError(Exception):
    """A file that cannot be read or written as asked; the message says why."""


@dataclass(frozen=True)
class Header:
    shape: tuple[int, ...]
    dtype: np.dtype
    fortran_order: bool
    nbytes: int  # the data the header declares


def _header(f: IO[bytes], what: str) -> Header:
    fmt = np.lib.format
    try:
        version = fmt.read_magic(f)
        if version == (1, 0):
            shape, fortran, dtype = fmt.read_array_header_1_0(f, max_header_size=10_000)
        else:
            shape, fortran, dtype = fmt.read_array_header_2_0(f, max_header_size=10_000)
    except (ValueError, EOFError, OSError, SyntaxError, TypeError) as exc:
        raise ArrayFileError(f"{what} is not a readable .npy array ({exc})") from None
    if dtype.hasobject:
        raise ArrayFileError(f"{what} holds Python objects (a pickle), not numbers; "
                             "it is not read")
    if dtype.kind not in "fiub" or dtype.fields is not None or dtype.subdtype is not None:
        raise ArrayFileError(f"{what} holds {dtype} values, not numbers")
    if len(shape) > MAX_AXES:
        raise ArrayFileError(f"{what} declares {len(shape)} axes; at most {MAX_AXES} are read")
    return Header(tuple(shape), dtype, bool(fortran), prod(shape) * dtype.itemsize)


def _read_data(f: IO[bytes], header: Header, what: str) -> np.ndarray:
    data = f.read(header.nbytes)
    if len(data) != header.nbytes:
        raise ArrayFileError(f"{what} is truncated: the header declares {header.nbytes:,} bytes "
                             f"of data, the file holds {len(data):,}")
    flat = np.frombuffer(data, dtype=header.dtype)
    array = flat.reshape(header.shape, order="F" if header.fortran_order else "C")
    return np.array(array, dtype=header.dtype.newbyteorder("="), order="C")


def read_npy(path: str, accept: Any = None) -> np.ndarray:
    """A number array from a .npy file. The declared data must fit in the file (so a header
    claiming terabytes is refused before anything is allocated); `accept(header)` may refuse
    the shape first (raise ArrayFileError)."""
    try:
        size = os.stat(path).st_size
        with open(path, "rb") as f:
            header = _header(f, "the file")
            if header.nbytes > size - f.tell():
                raise ArrayFileError(f"the header declares {header.nbytes:,} bytes of data "
                                     f"({fmt_shape(header.shape)} {header.dtype}) but the file holds "
                                     f"{max(size - f.tell(), 0):,}")
            if accept is not None:
                accept(header)
            return _read_data(f, header, "the file")
    except OSError as exc:
        raise ArrayFileError(f"cannot read: {exc.strerror or exc}") from None


def read_npz(path: str, accept: Any = None) -> dict[str, np.ndarray]:
    """The number arrays of an .npz archive, keyed by member name without `.npy`.
    `accept(key, header)` sees each header before its data is read and returns False to skip
    the member (after noting why) or raises ArrayFileError. A member's declared size must not
    exceed the archive's own record of it."""
    try:
        archive = zipfile.ZipFile(path)
    except zipfile.BadZipFile:
        raise ArrayFileError("not an .npz archive (a single .npy array?); save arrays with "
                             "numpy.savez or `cnncalc init-weights`") from None
    except OSError as exc:
        raise ArrayFileError(f"cannot read: {exc.strerror or exc}") from None
    arrays: dict[str, np.ndarray] = {}
    with archive:
        for info in archive.infolist():
            if info.is_dir():
                continue
            if not info.filename.endswith(".npy"):
                raise ArrayFileError(f"member '{info.filename}' is not a .npy array")
            key = info.filename[: -len(".npy")]
            what = f"member '{key}'"
            try:
                with archive.open(info) as f:
                    header = _header(f, what)
                    if header.nbytes > info.file_size:
                        raise ArrayFileError(f"{what} declares {header.nbytes:,} bytes of data "
                                             f"({fmt_shape(header.shape)}) but holds {info.file_size:,}")
                    if accept is not None and accept(key, header) is False:
                        continue
                    arrays[key] = _read_data(f, header, what)
            except (zipfile.BadZipFile, OSError, EOFError, ValueError) as exc:
                raise ArrayFileError(f"{what} cannot be read ({exc})") from None
    return arrays


# ----------------------------------------------------------------------------- writing


def check_member_name(name: str) -> None:
    """An archive member (or file) name that cannot leave the folder it is extracted into."""
    if (not name or name in (".", "..") or "/" in name or "\\" in name or "\0" in name
            or any(ord(c) < 32 for c in name)):
        raise ArrayFileError(f"the name {name!r} cannot be used as a file name in an archive "
                             "(a path separator, '..', or a control character)")


def _target(path: str) -> str:
    if not path:
        raise ArrayFileError("an empty path; name the file to write")
    return path


def write_npy(path: str, array: np.ndarray) -> None:
    """`array` in .npy format at exactly `path` (no suffix added)."""
    try:
        with open(_target(path), "wb") as f:
            np.lib.format.write_array(f, np.asarray(array), allow_pickle=False)
    except OSError as exc:
        raise ArrayFileError(f"cannot write: {exc.strerror or exc}") from None


def write_npz(path: str, arrays: Mapping[str, np.ndarray]) -> None:
    """An uncompressed .npz archive at exactly `path`, one `NAME.npy` member per array, read
    back by np.load. Names are checked first, so nothing is written for a bad one."""
    if not arrays:
        raise ArrayFileError("there are no arrays to write")
    for name in arrays:
        check_member_name(name)
    try:
        with open(_target(path), "wb") as raw, zipfile.ZipFile(raw, "w", zipfile.ZIP_STORED,
                                                                 allowZip64=True) as archive:
            for name, array in arrays.items():
                with archive.open(f"{name}.npy", "w", force_zip64=True) as member:
                    np.lib.format.write_array(member, np.asarray(array), allow_pickle=False)
    except OSError as exc:
        raise ArrayFileError(f"cannot write: {exc.strerror or exc}") from None


class ActivationWriter:
    """Writes each layer's activation to `DIR/<layer>.npy` (and the input to `DIR/input.npy`).
    The folder is created and checked when the writer is made, before any work is done."""

    def __init__(self, directory: str, names: list[str] = ()):  # type: ignore[assignment]
        for name in names:  # every layer's file name, before anything is created or run
            check_member_name(name)
        if not directory:
            raise ArrayFileError("an empty path; name the folder to write to")
        folder = Path(directory)
        if folder.is_symlink() and not folder.exists():
            raise ArrayFileError("a dangling symbolic link; name an existing folder or a new path")
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except FileExistsError:
            raise ArrayFileError("exists and is not a folder") from None
        except NotADirectoryError:
            raise ArrayFileError("a part of the path is a file, not a folder") from None
        except OSError as exc:
            raise ArrayFileError(f"cannot create the folder: {exc.strerror or exc}") from None
        if not folder.is_dir():
            raise ArrayFileError("exists and is not a folder")
        if not os.access(folder, os.W_OK | os.X_OK):
            raise ArrayFileError("the folder is not writable")
        self.folder = folder.resolve()

    def path(self, name: str) -> Path:
        """`DIR/<name>.npy`, refused unless it is a file directly inside the folder."""
        check_member_name(name)
        target = self.folder / f"{name}.npy"
        if target.parent != self.folder:
            raise ArrayFileError(f"the name {name!r} would leave the folder")
        return target

    def input(self, x: np.ndarray) -> None:
        write_npy(str(self.path("input")), x)

    def __call__(self, layer: Layer, y: np.ndarray) -> None:
        write_npy(str(self.path(layer.name)), y)
