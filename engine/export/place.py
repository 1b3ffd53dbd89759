"""Where an export is written: the checks on its folder, the temp folder, the atomic swap, and the leftovers
of killed exports.

An export is written into `<out>.tmp-XXXXXXXX` next to the target and renamed into place when complete; an
existing export is first moved aside to `<out>.old-XXXXXXXX` and removed after the swap. A kill can leave
either folder behind. Every export holds a shared `flock` on the target's parent folder while it runs; an
export that can take it exclusively knows no other export in that folder is alive, so the `.tmp-`/`.old-`
folders it finds there are leftovers of killed exports. It removes only folders that are provably the
app's own: a temp folder holds the `TMP_MARKER` file (or, after it was dropped just before the rename, a
manifest of this app) or is empty (killed right after its mkdir), an `.old-` folder holds a manifest of
this app.

`--overwrite` replaces only an earlier export: a folder holding a manifest of this app and no file the
export did not write. An unrelated folder, or a symbolic link (which could point at a dataset), is refused.
New folders are created with mode 0o777 minus the umask, like `mkdir` (not 0o700 like `mkdtemp`).
"""
from __future__ import annotations

import contextlib
import os
import secrets
import shutil
import sys
from glob import escape as glob_escape
from pathlib import Path

from engine.export.manifest import MANIFEST_NAME, read_manifest

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows: no leftover cleanup, the swap itself still works
    fcntl = None

TMP_MARKER = ".cadis-export-in-progress"


class PlaceError(ValueError):
    """The export folder cannot be used; the message says why and what to choose instead."""


def check_target(out_dir: str | os.PathLike, protected: list[tuple[str, Path]], overwrite: bool) -> Path:
    """The absolute target folder, after refusing a symlink, a file, an overlap with a protected folder
    (dataset, project, inputs) and a non-empty folder that is not an earlier export (or without `overwrite`)."""
    given = Path(out_dir).expanduser()
    if given.is_symlink():
        raise PlaceError(f"{given} is a symbolic link (to {os.path.realpath(given)}); an export never replaces "
                         "a link or what it points to: give a real folder")
    out = Path(os.path.abspath(given))
    out = out.parent.resolve() / out.name  # links above the target are fine; the target itself is not a link
    from engine.safety import overlaps  # local: engine.safety imports nothing from export

    for what, folder in protected:
        if overlaps(out, folder):
            raise PlaceError(f"the export folder {out} overlaps the {what} folder {folder}; choose a folder outside it")
    if out.exists() and not out.is_dir():
        raise PlaceError(f"{out} is a file; choose a folder for the export")
    if out.is_dir() and any(os.scandir(out)):
        if not overwrite:
            raise PlaceError(f"{out} is not empty; choose an empty folder or allow overwriting (--overwrite)")
        _check_earlier_export(out)
    return out


def _check_earlier_export(out: Path) -> None:
    from engine.export.verify import unlisted_files

    try:
        manifest = read_manifest(out)
    except ValueError:
        raise PlaceError(f"{out} is not an earlier export (no CaDIS Studio manifest.json in it); --overwrite only "
                         "replaces an earlier export, so nothing was deleted: choose an empty or new folder") from None
    extra = unlisted_files(out, manifest)
    if extra:
        more = f" and {len(extra) - 1} more" if len(extra) > 1 else ""
        raise PlaceError(f"{out} holds files the earlier export did not write ({extra[0]}{more}); --overwrite would "
                         "delete them, so nothing was changed: move them out or choose another folder")


class ParentLock:
    """Shared flock on the target's parent folder for the export's lifetime; `alone` is True if this export
    took it exclusively first (no other export in that folder is running)."""

    def __init__(self, parent: Path):
        self.alone = False
        self._fd = -1
        if fcntl is None:
            return
        try:
            self._fd = os.open(parent, os.O_RDONLY)
        except OSError:
            return
        try:
            fcntl.flock(self._fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            self.alone = True
        except BlockingIOError:
            fcntl.flock(self._fd, fcntl.LOCK_SH)  # waits only while another export removes leftovers
        except OSError:
            pass  # a file system without flock: no cleanup, the export itself still works

    def share(self) -> None:
        if self._fd >= 0 and self.alone:
            fcntl.flock(self._fd, fcntl.LOCK_SH)

    def release(self) -> None:
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1


def _is_our_export(folder: Path) -> bool:
    try:
        read_manifest(folder)
        return True
    except (ValueError, OSError):
        return False


def restore_interrupted_export(out_dir) -> bool:
    """If an overwriting export was killed after moving the previous export aside (`<out>.old-XXXX`) but
    before renaming the new one into place, put the previous export back. Returns True if it did."""
    out_dir = Path(out_dir)
    if out_dir.exists() or out_dir.is_symlink() or not out_dir.parent.is_dir():
        return False
    olds = sorted(out_dir.parent.glob(f"{glob_escape(out_dir.name)}.old-*"), key=lambda p: p.stat().st_mtime)
    for old in reversed(olds):
        if old.is_dir() and not old.is_symlink() and (old / MANIFEST_NAME).is_file():
            os.rename(old, out_dir)
            return True
    return False


def remove_leftovers(out_dir: Path) -> list[Path]:
    """Delete the `.tmp-`/`.old-` folders killed exports to `out_dir` left behind (only the app's own; call
    it only while holding the parent lock alone). Returns the folders removed."""
    removed = []
    pattern = glob_escape(out_dir.name)
    for path in sorted(out_dir.parent.glob(f"{pattern}.tmp-*")) + sorted(out_dir.parent.glob(f"{pattern}.old-*")):
        if path.is_symlink() or not path.is_dir():
            continue
        is_tmp = path.name.startswith(f"{out_dir.name}.tmp-")
        # an empty temp folder is one killed between its mkdir and its marker: removing it loses nothing
        ours = _is_our_export(path) or (is_tmp and ((path / TMP_MARKER).is_file() or not any(path.iterdir())))
        if ours:
            shutil.rmtree(path, ignore_errors=True)
            if not path.exists():
                removed.append(path)
    return removed


def _new_folder(parent: Path, prefix: str, create: bool = True) -> Path:
    """A fresh `<prefix>XXXXXXXX` folder (mode 0o777 minus the umask), or only its free name."""
    for _ in range(100):
        path = parent / f"{prefix}{secrets.token_hex(4)}"
        if not create:
            if not os.path.lexists(path):
                return path
            continue
        try:
            os.mkdir(path, 0o777)
            return path
        except FileExistsError:
            continue
    raise PlaceError(f"cannot find a free temporary name next to {parent / prefix}")


def make_temp_folder(out_dir: Path) -> Path:
    """`<out>.tmp-XXXXXXXX` next to the target, marked as the app's own until it is renamed into place."""
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    tmp = _new_folder(out_dir.parent, f"{out_dir.name}.tmp-")
    (tmp / TMP_MARKER).write_text(f"pid {os.getpid()}\n", encoding="utf-8")
    return tmp


def fsync_tree(root: Path) -> None:
    """Flush every file and folder of the finished export to disk before it is renamed into place.

    On Linux one `sync()` (which waits for the writes) replaces thousands of per-file fsyncs; elsewhere
    each file and folder is fsynced."""
    if sys.platform.startswith("linux") and hasattr(os, "sync"):
        os.sync()
        return
    for folder, _dirs, files in os.walk(root):
        for name in files:
            fd = os.open(os.path.join(folder, name), os.O_RDONLY)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)
        _fsync_dir(Path(folder))


def _fsync_dir(folder: Path) -> None:
    with contextlib.suppress(OSError):
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def move_into_place(tmp: Path, out_dir: Path) -> None:
    """Rename the finished export onto `out_dir`; an existing folder is moved aside first, then removed."""
    with contextlib.suppress(FileNotFoundError):
        os.unlink(tmp / TMP_MARKER)  # from here on the manifest identifies the folder as the app's own
    old = None
    if out_dir.exists():
        old = _new_folder(out_dir.parent, f"{out_dir.name}.old-", create=False)
        os.rename(out_dir, old)
    try:
        os.rename(tmp, out_dir)
    except BaseException:
        if old is not None:
            os.rename(old, out_dir)
        raise
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)
    _fsync_dir(out_dir.parent)
