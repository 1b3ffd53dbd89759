"""Listing folders without tripping over what a tree can hold: symbolic link loops, broken links, folders
that cannot be read. Each such entry becomes a `Problem` and the listing carries on with the others.

`list_entries` lists one folder; `walk_files` lists the files of a whole tree, following links to folders
once (a folder reached a second time, e.g. through a link back up the tree, is reported and skipped).
"""
from __future__ import annotations

import errno
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from engine.dataset.report import Problem


@dataclass(frozen=True)
class Entry:
    """One visible folder entry: `kind` is "dir", "file" or "other" (FIFO, socket, device, broken link)."""

    name: str
    path: Path
    kind: str

    def is_dir(self) -> bool:
        return self.kind == "dir"

    def is_file(self) -> bool:
        return self.kind == "file"


def _why(exc: OSError) -> str:
    if exc.errno == errno.ELOOP:
        return "symbolic link loop (the link leads back to itself)"
    if isinstance(exc, PermissionError):
        return "cannot be read (permission denied)"
    return f"cannot be read ({exc.strerror or exc})"


def is_utf8_name(name: str) -> bool:
    """True if a name read from the file system is valid UTF-8 (Python keeps invalid bytes as surrogates)."""
    try:
        name.encode("utf-8")
        return True
    except UnicodeEncodeError:
        return False


def printable(name: str) -> str:
    """A name that may hold invalid bytes, with those shown as \\xNN (safe to print and to store)."""
    return os.fsencode(name).decode("utf-8", "backslashreplace") if not is_utf8_name(name) else name


def _join(rel: str, name: str) -> str:
    return f"{rel}/{name}" if rel and rel != "." else name


def list_entries(folder: Path, rel: str, problems: list[Problem]) -> list[Entry]:
    """Visible entries of `folder` sorted by name (hidden files such as .DS_Store are skipped).

    `rel` names the folder in problems (relative to the dataset root, "." for the root itself). A folder
    that cannot be listed, and entries whose type cannot be found (link loops), are added to `problems`."""
    try:
        with os.scandir(folder) as it:
            raw = sorted((e for e in it if not e.name.startswith(".")), key=lambda e: e.name)
    except OSError as exc:
        problems.append(Problem(rel, f"folder {_why(exc)}; skipped"))
        return []
    out: list[Entry] = []
    for e in raw:
        if not is_utf8_name(e.name):  # the project stores keys as UTF-8: every save of such a frame would fail
            problems.append(Problem(_join(printable(rel), printable(e.name)),
                                    "name is not valid UTF-8 (it cannot be stored in the project or an export); "
                                    "rename it; skipped"))
            continue
        try:
            kind = "dir" if e.is_dir() else "file" if e.is_file() else "other"
            if kind == "other" and e.is_symlink() and not os.path.exists(e.path):
                problems.append(Problem(_join(rel, e.name), f"broken symbolic link (to {os.readlink(e.path)}); "
                                                            "skipped"))
                continue
        except OSError as exc:
            problems.append(Problem(_join(rel, e.name), f"{_why(exc)}; skipped"))
            continue
        out.append(Entry(e.name, Path(folder) / e.name, kind))
    return out


MAX_WALK_DEPTH = 64  # a CaDIS dataset nests 3 levels; deeper trees are cut (outputs mirroring them could not be written)


def walk_files(root: Path, problems: list[Problem], keep: Callable[[Path], bool] = lambda p: True,
               max_depth: int = MAX_WALK_DEPTH) -> list[Path]:
    """Every regular file under `root` (sorted) for which `keep(path)` is true, following links to folders
    but entering each real folder once and no folder more than `max_depth` levels below `root`. Problems are
    named relative to `root`."""
    root = Path(root)
    found: list[Path] = []
    seen: set[tuple[int, int]] = set()
    stack: list[tuple[Path, str]] = [(root, ".")]
    while stack:
        folder, rel = stack.pop()
        try:
            st = os.stat(folder)
        except OSError as exc:
            problems.append(Problem(rel, f"folder {_why(exc)}; skipped"))
            continue
        ident = (st.st_dev, st.st_ino)
        if ident in seen:
            problems.append(Problem(rel, "folder reached a second time through a symbolic link (a loop?); skipped"))
            continue
        seen.add(ident)
        depth = 0 if rel == "." else rel.count("/") + 1
        for entry in reversed(list_entries(folder, rel, problems)):
            if entry.is_dir():
                if depth >= max_depth:
                    name = _join(rel, entry.name)
                    problems.append(Problem(name if len(name) <= 200 else name[:200] + "...",
                                            f"folder nested more than {max_depth} levels deep; skipped"))
                    continue
                stack.append((entry.path, _join(rel, entry.name)))
            elif entry.is_file() and keep(entry.path):
                found.append(entry.path)
    return sorted(found)
