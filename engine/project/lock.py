"""Who else has a project open: a shared advisory lock on `<project>/.lock`.

Every open Project holds a shared lock (released by the OS when the process ends, even by a kill). A
project that can take the lock exclusively for a moment knows no other process has the project open, so
it may safely delete temp files left by killed writers; otherwise those files may belong to a write in
flight in another process and are left alone. Where `fcntl` is missing (Windows), only temp files older
than STALE_AFTER_S count as stale.
"""
from __future__ import annotations

import os
from pathlib import Path

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None

LOCK_NAME = ".lock"
STALE_AFTER_S = 600.0


class ProjectLock:
    """Shared lock held while a project is open; `alone` says whether no other process held it on opening."""

    def __init__(self, root: Path):
        self._fd = os.open(Path(root) / LOCK_NAME, os.O_RDWR | os.O_CREAT, 0o644)
        self.alone = False
        if fcntl is None:
            return
        try:
            fcntl.flock(self._fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            self.alone = True
        except OSError:
            self.alone = False

    def share(self) -> None:
        """Downgrade to the shared lock held for the rest of the session."""
        if fcntl is not None:
            fcntl.flock(self._fd, fcntl.LOCK_SH)

    def release(self) -> None:
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1
