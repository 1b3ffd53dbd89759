"""Relative paths stored in the project database and in manifests, and their validation.

Every path that the project writes to its database or to a manifest is relative to the project (or export)
folder, uses forward slashes, and may not climb out of it: no `..`, no absolute paths, no drive letters,
no empty parts. Anything read back is validated again before it is joined to a folder, so a tampered record
cannot make the app read or write outside the project.
"""
from __future__ import annotations

import os
from pathlib import Path, PurePosixPath

from engine.project.errors import ProjectError


def check_relpath(rel: str, what: str = "path") -> str:
    """Return `rel` if it is a safe relative path with forward slashes; raise ProjectError otherwise."""
    if not isinstance(rel, str) or not rel:
        raise ProjectError(f"{what} must be a non-empty relative path, got {rel!r}")
    if "\x00" in rel:
        raise ProjectError(f"{what} {rel!r} contains a NUL character")
    if "\\" in rel:
        raise ProjectError(f"{what} {rel!r} uses backslashes; stored paths use forward slashes")
    if rel.startswith("/") or (len(rel) > 1 and rel[1] == ":"):
        raise ProjectError(f"{what} {rel!r} is absolute; only paths relative to the project are allowed")
    parts = rel.split("/")
    if any(p in ("", ".", "..") for p in parts):
        raise ProjectError(f"{what} {rel!r} may not contain '..', '.' or empty parts (it must stay inside the folder)")
    return rel


def resolve_inside(root: Path, rel: str, what: str = "path") -> Path:
    """Join a validated relative path to `root`, refusing anything that would land outside `root`
    (including through a symbolic link)."""
    check_relpath(rel, what)
    root = Path(root)
    path = root.joinpath(*PurePosixPath(rel).parts)
    real_root = os.path.realpath(root)
    real = os.path.realpath(path)
    if os.path.commonpath([real_root, real]) != real_root:
        raise ProjectError(f"{what} {rel!r} points outside {root} (through a link); refusing to use it")
    return path


def label_relpath(key: str) -> str:
    """Where the project keeps its copy of the label of frame `key`: `labels/<key with .png>`."""
    check_relpath(key, "frame key")
    # keep a .png key as it is; append .png to other extensions so `a.jpg` and `a.png` never collide
    return "labels/" + (key if key.lower().endswith(".png") else key + ".png")


def is_inside(path: Path, folder: Path) -> bool:
    """True if `path` is `folder` or lies inside it (after resolving links)."""
    real_folder = os.path.realpath(folder)
    real = os.path.realpath(path)
    return os.path.commonpath([real_folder, real]) == real_folder


def remove_stale_temp_files(root: Path, top_level_names: tuple[str, ...] = (), min_age_s: float = 0.0) -> int:
    """Delete temp files left by atomic writes that were killed midway (`.<name>.<random>.tmp`) under
    `root/labels`, `root/pairs`, `root/versions`, and at the top level for the files named in `top_level_names`, if they
    are at least `min_age_s` old; returns how many were removed. With `min_age_s=0`, call it only while
    no other process writes the project (see engine.project.lock).

    Only regular files inside the project are removed: a `labels/` or `pairs/` that is a link, and links
    inside them, are never followed (a link named like a temp file is left alone too)."""
    import stat
    import time

    now = time.time()
    candidates = [Path(root) / n for n in os.listdir(root)
                  if n.endswith(".tmp") and any(n.startswith(f".{t}.") for t in top_level_names)]
    for sub in ("labels", "pairs", "versions", "model-made"):
        top = Path(root) / sub
        try:
            if not stat.S_ISDIR(os.lstat(top).st_mode):
                continue  # a link (or a file) where the folder should be: never walked
        except OSError:
            continue
        for folder, _dirs, files in os.walk(top, followlinks=False):
            candidates += [Path(folder) / n for n in files if n.startswith(".") and n.endswith(".tmp")]
    removed = 0
    for path in candidates:
        try:
            st = os.lstat(path)
            if not stat.S_ISREG(st.st_mode) or (min_age_s and now - st.st_mtime < min_age_s):
                continue
            path.unlink()
            removed += 1
        except OSError:
            pass
    return removed
