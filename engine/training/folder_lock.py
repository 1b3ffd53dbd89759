"""One writer per model folder, and training workers that die with their launcher.

`hold_model_folder(folder)`: the run that trains into a model folder (train-model --out, train-upsampler,
distill's student/) holds `flock(LOCK_EX)` on `<folder>/.writer.lock` until it ends; the OS drops the lock
when the process ends, even by kill -9. A second run into the same folder is refused with
`ModelFolderBusyError` naming the holder (pid, host, since). Under `accelerate launch` only the main process
(RANK 0) takes it: the run's other processes are the same writer. The lock file is opened without following
links (engine.files), so a `.writer.lock` linked to another file never truncates it.

Holding the lock means no other run writes the folder, so the leftovers of killed saves are removed then:
the `.NAME.XXXX.tmp` files of interrupted atomic writes and `.checkpoint-N.partial` / `student.partial`
folders (links are never followed, only regular files and real folders of those names are removed).

`die_with_launcher()`: a worker of `accelerate launch` asks the kernel to end it when its parent (the
launcher) dies (Linux `PR_SET_PDEATHSIG`), and where that is not available watches its parent's pid, so a
kill -9 of the launcher never leaves workers training and writing checkpoints.
"""
from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import signal
import socket
import sys
import threading
import time
from pathlib import Path
from typing import Iterator, Optional

from engine.files import UnreadableFileError, open_for_write_in, read_json

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None

LOCK_NAME = ".writer.lock"
_TMP = re.compile(r"^\..+\.tmp$")            # engine.atomic's temp files: .NAME.XXXXXXXX.tmp
_PARTIAL = re.compile(r"^(\.checkpoint-\d+\.partial|student\.partial)$")
_SUBFOLDERS = ("training", "unet", "scheduler", "upsampler", "upsampler-run", "student", "samples")


class ModelFolderBusyError(ValueError):
    """Another run is writing this model folder; the message names it."""


def _is_main_process() -> bool:
    return int(os.environ.get("RANK", "0")) == 0


def _holder_text(folder: Path) -> str:
    try:
        h = read_json(folder / LOCK_NAME, 4096, "lock", follow_links=False, expect=dict)
    except UnreadableFileError:
        return "another run"
    since = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(h["since"])) if isinstance(h.get("since"), (int, float)) \
        else "?"
    return f"{str(h.get('app', 'another run'))[:40]} (pid {h.get('pid')} on host {str(h.get('host'))[:60]}, since {since})"


class ModelFolderLock:
    """The exclusive writer lock of a model folder (see the module doc); `release()` or process end frees it."""

    def __init__(self, folder: str | os.PathLike, app: str = "cadis"):
        self.folder = Path(folder)
        self.folder.mkdir(parents=True, exist_ok=True)
        try:
            self._fd = open_for_write_in(self.folder, LOCK_NAME, 0o644, truncate=False)
        except UnreadableFileError as exc:
            raise ModelFolderBusyError(f"cannot lock the model folder: {exc}") from None
        if fcntl is None:
            return
        try:
            fcntl.flock(self._fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(self._fd)
            self._fd = -1
            raise ModelFolderBusyError(
                f"{self.folder} is being written by {_holder_text(self.folder)}; one run at a time writes a model "
                "folder: wait for it, stop it, or choose another output folder (nothing was written)") from None
        except OSError:
            pass  # a file system without flock: no lock, the run itself still works
        data = json.dumps({"pid": os.getpid(), "host": socket.gethostname(), "app": app, "since": time.time()})
        with contextlib.suppress(OSError):
            os.ftruncate(self._fd, 0)
            os.pwrite(self._fd, data.encode("utf-8"), 0)

    def release(self) -> None:
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1


def remove_leftovers(folder: str | os.PathLike) -> list[str]:
    """Remove the temp files and partial folders of killed saves in a model folder and its known subfolders
    (call it only while holding the folder's lock). Returns what was removed (relative paths)."""
    folder = Path(folder)
    removed = []
    for where in (folder, *(folder / s for s in _SUBFOLDERS)):
        if where.is_symlink() or not where.is_dir():
            continue
        try:
            entries = list(os.scandir(where))
        except OSError:
            continue
        for e in entries:
            try:
                if _TMP.match(e.name) and e.is_file(follow_symlinks=False):
                    os.unlink(e.path)
                elif _PARTIAL.match(e.name) and e.is_dir(follow_symlinks=False):
                    shutil.rmtree(e.path)
                else:
                    continue
            except OSError:
                continue
            removed.append(Path(e.path).relative_to(folder).as_posix())
    return removed


@contextlib.contextmanager
def hold_model_folder(folder: str | os.PathLike, app: Optional[str] = None) -> Iterator[Optional[ModelFolderLock]]:
    """Hold the folder's writer lock for the block (main process only) and clear leftovers of killed saves."""
    if not _is_main_process():
        yield None
        return
    lock = ModelFolderLock(folder, app or (Path(sys.argv[0]).name if sys.argv and sys.argv[0] else "cadis"))
    try:
        remove_leftovers(folder)
        yield lock
    finally:
        lock.release()


# ------------------------------------------------------------------------------------------- workers
_PR_SET_PDEATHSIG = 1


def die_with_launcher() -> bool:
    """In a launched worker (WORLD_SIZE > 1 or LOCAL_RANK set): end this process when its parent dies.
    Returns True when a mechanism is in place."""
    if "LOCAL_RANK" not in os.environ and int(os.environ.get("WORLD_SIZE", "1")) <= 1:
        return False
    parent = os.getppid()
    if sys.platform.startswith("linux"):
        try:
            import ctypes

            libc = ctypes.CDLL(None, use_errno=True)
            if libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0) == 0:
                if os.getppid() != parent:  # the launcher died before the call
                    os.kill(os.getpid(), signal.SIGKILL)
                return True
        except (OSError, AttributeError):
            pass
    _watch_parent(parent)
    return True


def _watch_parent(parent: int, every_s: float = 2.0) -> None:
    def watch():
        while True:
            time.sleep(every_s)
            if os.getppid() != parent:
                os._exit(1)

    threading.Thread(target=watch, name="parent-watch", daemon=True).start()
