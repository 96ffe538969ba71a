"""Reading a spec: the one place that turns a path (or `-` for standard input) into text.

Every command reads through `read_spec`, so a missing, unreadable or oversized file gets the
same located message everywhere. Regular files and pipes are read (process substitution,
`cnncalc diff <(git show HEAD:a.yaml) a.yaml`, hands over a pipe); a device such as
`/dev/zero`, a directory or a socket is refused before anything is read, and never more than
`MAX_BYTES` are read: a spec is a small text file. A named pipe is opened without waiting for
a writer, given two seconds for one to connect, then read blocking up to the limit (a FIFO
nobody writes to reads as empty, and gets the empty-file error, instead of hanging).
`readable` checks another file a command will read (verify's weights and input) with the
same reasons.
"""
from __future__ import annotations

import codecs
import errno
import os
import stat
import sys
from typing import BinaryIO

from cnncalc.problems import Loc, Problem, SpecError

MAX_BYTES = 32 * 1024 * 1024  # a 100,000-layer spec is about 4 MiB
STDIN = "<stdin>"
_REASONS = {errno.ENOENT: "no such file", errno.EACCES: "permission denied",
            errno.EISDIR: "it is a directory", errno.ENOTDIR: "a part of the path is not a folder",
            errno.ENAMETOOLONG: "the name is too long", errno.ELOOP: "too many symbolic links"}
_KINDS = ((stat.S_ISDIR, "it is a directory"), (stat.S_ISCHR, "it is a device"),
          (stat.S_ISBLK, "it is a device"), (stat.S_ISSOCK, "it is a socket"))


def read_spec(path: str | os.PathLike[str]) -> tuple[str, str]:
    """(text, name to report) of a spec file, or of standard input for `-`.

    Raises SpecError with one `FILE:1:1: error: cannot read the file: REASON` problem when
    the file cannot be read, and a located problem when it is not UTF-8 text.
    """
    file = os.fspath(path)
    if file == "-":
        stdin = sys.stdin.buffer if hasattr(sys.stdin, "buffer") else None
        if stdin is None:  # a text stream was put in place of stdin (tests, embedding)
            return _limit_text(sys.stdin.read(MAX_BYTES + 1), STDIN), STDIN
        return decode(_read_limited(stdin, STDIN), STDIN), STDIN
    fd = _open(file, pipes=True)
    if stat.S_ISFIFO(os.fstat(fd).st_mode):
        _await_writer(fd)
    os.set_blocking(fd, True)  # opened without waiting for a writer; now read what comes
    with os.fdopen(fd, "rb") as handle:
        try:
            data = _read_limited(handle, file)
        except OSError as exc:
            raise _unreadable(file, _REASONS.get(exc.errno or 0, exc.strerror or str(exc))) from None
    return decode(data, file), file


def _await_writer(fd: int, seconds: float = 2.0) -> None:
    """Give a named pipe's writer a moment to connect (a writer started together with cnncalc
    may open it just after us): reading a FIFO nobody holds open ends at once, empty. A pipe
    from process substitution has its writer already and does not wait."""
    import select

    if hasattr(select, "poll"):
        poller = select.poll()
        poller.register(fd, select.POLLIN)
        poller.poll(int(seconds * 1000))


def readable(path: str | os.PathLike[str], pipes: bool = False) -> None:
    """Raise the SpecError `read_spec` would give if `path` cannot be opened for reading or
    is not a regular file (or, with `pipes`, a pipe); read nothing."""
    os.close(_open(os.fspath(path), pipes))


def _open(file: str, pipes: bool) -> int:
    """A descriptor open for reading on a regular file (or pipe), or the reason why not."""
    try:
        # O_NONBLOCK: opening a FIFO must not wait for a writer.
        fd = os.open(file, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    except OSError as exc:
        raise _unreadable(file, _REASONS.get(exc.errno or 0, exc.strerror or str(exc))) from None
    mode = os.fstat(fd).st_mode
    wanted = "a regular file or a pipe" if pipes else "a regular file"
    if stat.S_ISREG(mode) or (pipes and stat.S_ISFIFO(mode)):
        return fd
    os.close(fd)
    kind = "it is a pipe" if stat.S_ISFIFO(mode) else next(
        (reason for test, reason in _KINDS if test(mode)), "it is another kind of file")
    raise _unreadable(file, f"{kind}, not {wanted}")


def decode(data: bytes, file: str) -> str:
    """UTF-8 (or UTF-16/32 with a byte-order mark, which YAML allows); else a located error."""
    boms = ((codecs.BOM_UTF32_LE, "utf-32"), (codecs.BOM_UTF32_BE, "utf-32"),
            (codecs.BOM_UTF8, "utf-8-sig"), (codecs.BOM_UTF16_LE, "utf-16"),
            (codecs.BOM_UTF16_BE, "utf-16"))
    encoding = next((name for bom, name in boms if data.startswith(bom)), "utf-8")
    try:
        return data.decode(encoding)
    except UnicodeDecodeError as exc:
        start = exc.start
        line_start = data.rfind(b"\n", 0, start) + 1
        col = len(data[line_start:start].decode(encoding, "replace")) + 1
        bad = data[start:start + 1].hex()
        raise SpecError([Problem(Loc(file, data.count(b"\n", 0, start) + 1, col), "error",
                                 "bad-encoding", f"not {encoding.upper().replace('-SIG', '')} "
                                 f"text: byte 0x{bad} cannot start or continue a character (is "
                                 "it a binary file?)")]) from None


def _read_limited(handle: BinaryIO, file: str) -> bytes:
    data = handle.read(MAX_BYTES + 1)
    if len(data) > MAX_BYTES:
        raise _unreadable(file, f"larger than {MAX_BYTES // 2**20} MiB")
    return data


def _limit_text(text: str, file: str) -> str:
    if len(text) > MAX_BYTES:
        raise _unreadable(file, f"larger than {MAX_BYTES // 2**20} MiB")
    return text


def _unreadable(file: str, reason: str) -> SpecError:
    return SpecError([Problem(Loc(file, 1, 1), "error", "unreadable",
                              f"cannot read the file: {reason}")])
