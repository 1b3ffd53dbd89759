"""One writer per project: an exclusive advisory lock on `<project>/.lock`, taken before the database opens.

The process (app window or command) that opens a project for writing holds `flock(LOCK_EX)` on the lock file
for as long as the project is open, and writes who it is into the file (pid, host, program, since). The OS
drops the lock when the process ends, even by a kill, so a crash never leaves a project locked. A second
writer is refused with `ProjectLockedError` naming the holder; it may open the project read-only instead
(`Project.open_or_create(..., read_only=True)`), which takes no lock and never writes.

Two writers would lose work: when one saves, the journal file is replaced and the other keeps appending
strokes to the deleted file. Holding the lock also means no other process writes the project, so temp
files of killed writers can be deleted safely. Where `fcntl` is missing (Windows) there is no lock, and
only temp files older than STALE_AFTER_S count as stale.

The processes of one multi-process run (`accelerate launch ... cadis augment`) are one writer: the first
takes the lock with a `group` token, the others join it when the holder's token is theirs. Augment writes
pairs (atomic files + database rows), never the journal, so its shards cannot lose each other's work.
"""
from __future__ import annotations

import errno
import json
import os
import socket
import sys
import time
from pathlib import Path

from engine.project.errors import ProjectError
from engine.project.nofollow import open_regular, read_regular

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None

LOCK_NAME = ".lock"
STALE_AFTER_S = 600.0
MAX_HOLDER_BYTES = 4096


class ProjectLockedError(ProjectError):
    """Another process has the project open for writing; `holder` says who (pid, host, app, since)."""

    def __init__(self, root: Path, holder: dict):
        self.root = Path(root)
        self.holder = holder
        super().__init__(f"{root} is already open for writing by {describe_holder(holder)}; only one program may "
                         "write a project at a time: close it there, or open this project read-only")


def describe_holder(holder: dict) -> str:
    """"cadis-studio (pid 1234 on host lab-3, since 2026-12-01 23:10 UTC)", or what is known of it."""
    if not holder:
        return "another program (it did not say which)"
    app = str(holder.get("app") or "another program")
    bits = []
    if holder.get("pid") is not None:
        bits.append(f"pid {holder['pid']}")
    if holder.get("host"):
        bits.append(f"on host {holder['host']}")
    if isinstance(holder.get("since"), (int, float)):
        bits.append("since " + time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(holder["since"])))
    if holder.get("pid") == os.getpid() and holder.get("host") == socket.gethostname():
        app += " (this very process)"
    return f"{app} ({', '.join(bits)})" if bits else app


def read_holder(root: Path) -> dict:
    """What the current holder wrote into the lock file ({} if nothing readable)."""
    try:  # never follows a link, never blocks on a FIFO (a ProjectError is a ValueError)
        data = json.loads(read_regular(Path(root) / LOCK_NAME, "lock file", MAX_HOLDER_BYTES).decode("utf-8"))
        return data if isinstance(data, dict) else {}
    except (OSError, ValueError):
        return {}


# flock's answers when the file system cannot lock at all (some network shares), as opposed to "held"
_NO_LOCKING = {errno.ENOLCK, errno.EOPNOTSUPP, errno.ENOTSUP, errno.EINVAL, errno.ENOSYS}


class LockingUnsupportedError(ProjectError):
    """The project's file system does not support file locks, so one writer cannot be guaranteed."""


def _program() -> str:
    name = Path(sys.argv[0]).name if sys.argv and sys.argv[0] else "python"
    return "cadis" if name in ("__main__.py", "-m", "-c") else name


class ProjectLock:
    """The exclusive writer lock of a project, held until `release` (or the end of the process)."""

    def __init__(self, root: Path, app: str | None = None, group: str | None = None):
        self.root = Path(root)
        self.joined = False  # True: another process of the same run holds the lock for this one
        # a regular file inside the project: a link is refused (never truncates its target), a FIFO never hangs
        self._fd = open_regular(self.root / LOCK_NAME, os.O_RDWR | os.O_CREAT, "lock file")
        if fcntl is None:
            return
        try:
            fcntl.flock(self._fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as exc:
            os.close(self._fd)
            self._fd = -1
            if exc.errno in _NO_LOCKING:  # nobody holds it: the file system cannot lock (the file is stale)
                raise LockingUnsupportedError(
                    f"the file system of {self.root} does not support file locks ({exc.strerror or exc}), so "
                    "CaDIS Studio cannot make sure that only one program writes this project (the pid in its "
                    f"{LOCK_NAME} file is only what the last writer left there): copy the project to a local "
                    "disk, or open it read-only") from None
            holder = read_holder(self.root)
            if group is not None and holder.get("group") == group:
                self.joined = True
                return
            raise ProjectLockedError(self.root, holder) from None
        holder = {"pid": os.getpid(), "host": socket.gethostname(), "app": app or _program(), "since": time.time(),
                  "group": group}
        data = json.dumps(holder).encode("utf-8")
        try:
            os.ftruncate(self._fd, 0)
            os.pwrite(self._fd, data, 0)
        except OSError:
            pass  # who holds the lock is a courtesy; the lock itself is what protects the project

    def release(self) -> None:
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1
