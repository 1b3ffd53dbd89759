"""Opening the project's own files without following links and without hanging on special files.

Every file the project writes or deletes (`.lock`, `journal.bin`, temp files, the database copies of a
rebuild) is a regular file inside the project folder. `open_regular` opens one with `O_NOFOLLOW` (a
symbolic link is refused, never written through) and `O_NONBLOCK` (a FIFO or device never blocks the
open), then checks with `fstat` that it is a regular file before anything is read or written.

(A private primitive of the project store; engine-wide bounded reading is `engine.files` once it exists.)
"""
from __future__ import annotations

import errno
import os
import stat
from pathlib import Path

from engine.project.errors import ProjectError

_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)
_NONBLOCK = getattr(os, "O_NONBLOCK", 0)
_CLOEXEC = getattr(os, "O_CLOEXEC", 0)


def _kind(mode: int) -> str:
    if stat.S_ISLNK(mode):
        return "a symbolic link"
    if stat.S_ISFIFO(mode):
        return "a FIFO (named pipe)"
    if stat.S_ISDIR(mode):
        return "a folder"
    if stat.S_ISSOCK(mode):
        return "a socket"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    return "not a regular file"


def refuse(path: Path, kind: str, what: str) -> ProjectError:
    return ProjectError(f"the project's {what} {path} is {kind}; the project only uses regular files inside its "
                        "folder and never follows or writes through links: remove or rename it and try again")


def open_regular(path: str | os.PathLike, flags: int, what: str, mode: int = 0o644) -> int:
    """An fd of the regular file `path` (created with `os.O_CREAT` in `flags`), opened without following a
    link and without blocking; ProjectError naming `what` if it is a link, FIFO, folder or device. Other
    OSErrors (permission, full disk) propagate."""
    path = Path(path)
    try:
        fd = os.open(path, flags | _NOFOLLOW | _NONBLOCK | _CLOEXEC, mode)
    except OSError as exc:
        if exc.errno in (errno.ELOOP, errno.EMLINK) or (exc.errno == errno.ENXIO) or exc.errno == errno.EISDIR:
            try:
                kind = _kind(os.lstat(path).st_mode)
            except OSError:
                kind = "not a regular file"
            raise refuse(path, kind, what) from None
        raise
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise refuse(path, _kind(st.st_mode), what)
        if _NONBLOCK:
            import fcntl

            fcntl.fcntl(fd, fcntl.F_SETFL, fcntl.fcntl(fd, fcntl.F_GETFL) & ~_NONBLOCK)
    except BaseException:
        os.close(fd)
        raise
    return fd


def read_regular(path: str | os.PathLike, what: str, limit: int | None = None) -> bytes:
    """The bytes of the regular file `path` (at most `limit`), b"" when it does not exist."""
    try:
        fd = open_regular(path, os.O_RDONLY, what)
    except FileNotFoundError:
        return b""
    try:
        chunks = []
        left = limit if limit is not None else os.fstat(fd).st_size + (1 << 20)
        while left > 0:
            chunk = os.read(fd, min(left, 1 << 20))
            if not chunk:
                break
            chunks.append(chunk)
            left -= len(chunk)
        return b"".join(chunks)
    finally:
        os.close(fd)


def is_regular(path: str | os.PathLike) -> bool:
    """True if `path` itself (not what a link points to) is a regular file."""
    try:
        return stat.S_ISREG(os.lstat(path).st_mode)
    except OSError:
        return False


def is_real_dir(path: str | os.PathLike) -> bool:
    """True if `path` itself is a folder (a link to a folder is not)."""
    try:
        return stat.S_ISDIR(os.lstat(path).st_mode)
    except OSError:
        return False
