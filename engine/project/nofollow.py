"""The project's own files through the one bounded reader/writer (`engine.files`), in the project's words.

Every file the project writes or deletes (`.lock`, `journal.bin`, a pair's journal, the database copies of a
rebuild) is a regular file inside the project folder: `engine.files` opens it without following links and
without blocking on a FIFO, and checks with `fstat` that it is a regular file. Here its refusals become
`ProjectError`s (the project's one error type), a missing file reads as empty, and a journal is opened for
appending.
"""
from __future__ import annotations

import contextlib
import os
import stat
from pathlib import Path

from engine import files
from engine.project.errors import ProjectError

MAX_PROJECT_FILE = 1 << 30  # a journal of strokes since the last save, or a database copy: far below this


def _project_error(exc: files.UnreadableFileError, path: Path, what: str) -> Exception:
    """A ProjectError for a link or special file; the OSError itself for a full disk, a read-only medium or
    missing permission (callers tell those apart from damage)."""
    cause = exc.__context__
    special = os.path.islink(path) or os.path.islink(path.parent) or (
        os.path.lexists(path) and not is_regular(path))
    if isinstance(cause, OSError) and not special:
        return cause
    try:
        mode = os.lstat(path).st_mode
        kind = "" if stat.S_ISREG(mode) else f"{path} is {files._kind(mode)}: "
    except OSError:
        kind = ""
    return ProjectError(f"{kind}{exc} (the project's {what}: the project only uses regular files inside its folder "
                        "and never follows or writes through links; remove or rename it and try again)")


def open_regular(path: str | os.PathLike, flags: int, what: str, mode: int = 0o644) -> int:
    """An fd of the regular file `path` inside its folder, never through a link and never blocking: read-only
    (`os.O_RDONLY`), or for writing (created if missing; `os.O_EXCL` refuses an existing file, `os.O_APPEND`
    appends; nothing is truncated). ProjectError naming `what` for a link, FIFO, folder or device;
    FileNotFoundError / FileExistsError / other OSErrors as `os.open` gives them."""
    path = Path(path)
    try:
        if flags & (os.O_WRONLY | os.O_RDWR) == 0:
            if not os.path.lexists(path):
                raise FileNotFoundError(2, "No such file or directory", str(path))
            return files.open_regular(path, what, follow_links=False)
        fd = files.open_for_write_in(path.parent, path.name, mode, truncate=False,
                                     exclusive=bool(flags & os.O_EXCL))
    except files.UnreadableFileError as exc:
        raise _project_error(exc, Path(path), what) from None
    if flags & os.O_APPEND:
        import fcntl

        fcntl.fcntl(fd, fcntl.F_SETFL, fcntl.fcntl(fd, fcntl.F_GETFL) | os.O_APPEND)
    return fd


def write_new(path: str | os.PathLike, data: bytes, what: str) -> None:
    """Write `data` to a file that must not exist yet (never through a link) and fsync it; on any failure the
    partial file is removed."""
    fd = open_regular(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, what)
    try:
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view):]
        os.fsync(fd)
    except BaseException:
        os.close(fd)
        with contextlib.suppress(OSError):
            os.unlink(path)
        raise
    os.close(fd)


def read_regular(path: str | os.PathLike, what: str, limit: int = MAX_PROJECT_FILE) -> bytes:
    """The bytes of the regular file `path` (at most `limit`; a larger file is refused), b"" when missing."""
    if not os.path.lexists(path):
        return b""
    try:
        return files.read_bytes(path, limit, what, follow_links=False)
    except files.UnreadableFileError as exc:
        raise _project_error(exc, Path(path), what) from None


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
