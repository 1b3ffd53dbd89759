"""Where an export is written: the checks on its folder, the temp folder, the atomic swap, and the leftovers
of killed exports.

An export is written into `<out>.tmp-<id>` next to the target and renamed into place when complete; an
existing export is first moved aside to `<out>.old-<id>` and removed after the swap. A kill can leave
either folder behind. For each such folder the export itself writes a marker file next to it,
`.cadis-export-<id>`, naming the folder, the same random `<id>` (16 hex digits) and its state ("tmp";
"old": a previous export moved aside; "delete": being removed). Leftovers are recognised only by that
marker, never by their name: a person's `results.old-v1/` or `results.old-2025/` has none and is never
deleted or renamed. The marker lies outside the folder (an export never holds a file it did not list) and
is removed after its folder, so a kill during a removal leaves a folder the next export still recognises.

Every export holds a shared `flock` on the target's parent folder while it runs; an export that can take it
exclusively knows no other export in that folder is alive, so it may restore an export a killed overwrite
moved aside (state "old") and remove the other leftovers (an empty `<out>.tmp-<id>` folder, killed between
its mkdir and its marker, is removed too: it holds nothing).

`--overwrite` replaces only an earlier export: a folder holding a manifest of this app and no file the
export did not write. An unrelated folder, or a symbolic link (which could point at a dataset), is refused.
New folders are created with mode 0o777 minus the umask, like `mkdir` (not 0o700 like `mkdtemp`).
"""
from __future__ import annotations

import contextlib
import json
import os
import stat
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

MARKER_PREFIX = ".cadis-export-"  # + the folder's id: the marker an export writes next to its own folders


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


def _ident(folder: Path, kind: str) -> str:
    return folder.name.rpartition(f".{kind}-")[2]


def _marker_path(folder: Path, ident: str) -> Path:
    return folder.parent / f"{MARKER_PREFIX}{ident}"


def _marker(folder: Path, kind: str) -> dict | None:
    """The marker an export wrote for `folder` (a real folder named `<out>.<kind>-<id>`), else None."""
    ident = _ident(folder, kind)
    if len(ident) != 16 or not all(c in "0123456789abcdef" for c in ident):
        return None
    try:
        if not stat.S_ISDIR(os.lstat(folder).st_mode):
            return None
        fd = os.open(_marker_path(folder, ident),
                     os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0))
        try:
            if not stat.S_ISREG(os.fstat(fd).st_mode):
                return None
            data = json.loads(os.read(fd, 4096).decode("utf-8"))
        finally:
            os.close(fd)
    except (OSError, ValueError):
        return None
    if isinstance(data, dict) and data.get("export") == ident and data.get("folder") == folder.name:
        return data
    return None


def _write_marker(folder: Path, ident: str, state: str) -> None:
    """Write (or replace) the marker of `folder` (named `<out>.<kind>-<ident>`) atomically."""
    target = _marker_path(folder, ident)
    tmp = target.with_name(f"{target.name}.{secrets.token_hex(4)}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0), 0o644)
    try:
        data = {"export": ident, "folder": folder.name, "state": state, "pid": os.getpid()}
        os.write(fd, json.dumps(data).encode("utf-8"))
        os.fsync(fd)
    finally:
        os.close(fd)
    os.replace(tmp, target)


def _remove_marked(folder: Path, ident: str) -> None:
    """Delete a marked folder, then its marker (a kill midway leaves a folder still recognised as ours)."""
    shutil.rmtree(folder, ignore_errors=True)
    if not os.path.lexists(folder):
        with contextlib.suppress(OSError):
            os.unlink(_marker_path(folder, ident))


def restore_interrupted_export(out_dir) -> bool:
    """If an overwriting export was killed after moving the previous export aside (`<out>.old-<id>`, marked
    "old" by that export) but before renaming the new one into place, put the previous export back.
    Returns True if it did."""
    out_dir = Path(out_dir)
    if out_dir.exists() or out_dir.is_symlink() or not out_dir.parent.is_dir():
        return False
    olds = [p for p in out_dir.parent.glob(f"{glob_escape(out_dir.name)}.old-*")
            if (_marker(p, "old") or {}).get("state") == "old" and (p / MANIFEST_NAME).is_file()]
    for old in sorted(olds, key=lambda p: p.stat().st_mtime, reverse=True):
        os.rename(old, out_dir)
        with contextlib.suppress(OSError):
            os.unlink(_marker_path(old, _ident(old, "old")))
        return True
    return False


def remove_leftovers(out_dir: Path) -> list[Path]:
    """Delete the `.tmp-`/`.old-` folders killed exports to `out_dir` left behind: only folders holding the
    marker those exports wrote (call it only while holding the parent lock alone). Returns the folders removed."""
    removed = []
    pattern = glob_escape(out_dir.name)
    for kind in ("tmp", "old"):
        for path in sorted(out_dir.parent.glob(f"{pattern}.{kind}-*")):
            if not path.name.startswith(f"{out_dir.name}.{kind}-"):
                continue
            if _marker(path, kind) is not None:
                _remove_marked(path, _ident(path, kind))
            elif kind == "tmp" and not path.is_symlink() and path.is_dir() and not any(os.scandir(path)):
                os.rmdir(path)  # killed between its mkdir and its marker: it holds nothing
            else:
                continue
            if not os.path.lexists(path):
                removed.append(path)
    for marker in out_dir.parent.glob(f"{glob_escape(MARKER_PREFIX)}*"):  # markers whose folder is gone
        with contextlib.suppress(OSError, ValueError):
            data = json.loads(marker.read_bytes()[:4096]) if stat.S_ISREG(os.lstat(marker).st_mode) else None
            if isinstance(data, dict) and str(data.get("folder", "")).startswith(f"{out_dir.name}.") \
                    and not os.path.lexists(out_dir.parent / str(data["folder"])) \
                    and marker.name == f"{MARKER_PREFIX}{data.get('export')}":
                os.unlink(marker)
    return removed


def _new_folder(parent: Path, prefix: str, create: bool = True) -> Path:
    """A fresh `<prefix><id>` folder (mode 0o777 minus the umask, `<id>` 16 random hex digits), or only
    its free name."""
    for _ in range(100):
        path = parent / f"{prefix}{secrets.token_hex(8)}"
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
    """`<out>.tmp-<id>` next to the target, marked as the app's own until it is renamed into place."""
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    tmp = _new_folder(out_dir.parent, f"{out_dir.name}.tmp-")
    _write_marker(tmp, _ident(tmp, "tmp"), "tmp")
    return tmp


def discard_temp_folder(tmp: Path) -> None:
    """Remove the temp folder of a failed or cancelled export, and its marker."""
    _remove_marked(tmp, _ident(tmp, "tmp"))


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
    """Rename the finished export onto `out_dir`; an existing folder is marked and moved aside first, then
    removed (its marker last)."""
    old = None
    if out_dir.exists():
        old = _new_folder(out_dir.parent, f"{out_dir.name}.old-", create=False)
        _write_marker(old, _ident(old, "old"), "old")  # written before the rename: restorable if a kill comes
        os.rename(out_dir, old)
    try:
        os.rename(tmp, out_dir)
    except BaseException:
        if old is not None:
            os.rename(old, out_dir)
        raise
    with contextlib.suppress(FileNotFoundError):
        os.unlink(_marker_path(tmp, _ident(tmp, "tmp")))  # the export is in place: no longer a temp folder
    if old is not None:
        _write_marker(old, _ident(old, "old"), "delete")  # no longer restorable
        _remove_marked(old, _ident(old, "old"))
    _fsync_dir(out_dir.parent)
