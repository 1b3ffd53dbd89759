"""One rule for every command that writes: never over its own inputs, never into a dataset or project it reads.

    check_writes(writes=[Write(out), Write(mask_out)], reads=[Read(mask, "mask"), Read(model_dir, "model")])

A `Write` is a file the command creates or replaces ("file"), a folder it fills or replaces ("folder"), or
a project it adds to through engine.project ("project"). A `Read` is a file or folder the command reads.
Refused before anything is written, with one line naming both paths (`UnsafeWriteError`, a ValueError, so
the CLI prints it as `cadis NAME: ...` and exits 2):

- a written file that is a read file (also through a link or a hard link), or lies inside a read folder;
- a written folder that is, contains or lies inside a read file or folder;
- a project whose own files (labels, pairs, database, journal) hold a read path;
- anything written inside a CaDIS dataset: the one a read path belongs to, or any folder above the output
  that holds `VideoNN/Images|Labels/` (a folder output may itself be a dataset-like folder, e.g. an earlier
  export or phantom sample, which its command checks);
- a file or folder inside the files a project keeps for itself (labels/, pairs/, project.sqlite, journal.bin).

A read project folder is the exception to "inside a read folder": other folders of a project (a trained
head, models) may be written, only its own files are protected.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from engine.dataset.naming import parse_video_dir
from engine.project.locate import PROJECT_SUFFIX

# what a project keeps for itself; other folders in a project (a pre-segmentation head, models) may be written
PROJECT_OWNED = ("labels", "pairs", "versions", "journal.bin", ".lock")


class UnsafeWriteError(ValueError):
    """A command was asked to write over its input or into a dataset; the message names both paths."""


@dataclass(frozen=True)
class Write:
    path: Path | str
    kind: str = "file"  # "file", "folder" or "project"
    what: str = "output"


@dataclass(frozen=True)
class Read:
    path: Path | str
    what: str = "input"


def _real(path) -> str:
    return os.path.realpath(os.path.abspath(os.path.expanduser(str(path))))


def _inside(path: str, folder: str) -> bool:
    try:
        return os.path.commonpath([path, folder]) == folder
    except ValueError:  # different drives (Windows)
        return False


def overlaps(a, b) -> bool:
    """True if `a` and `b` (after resolving links) are the same path or one lies inside the other."""
    ra, rb = _real(a), _real(b)
    return _inside(ra, rb) or _inside(rb, ra)


def _same_file(a: str, b: str) -> bool:
    if a == b:
        return True
    try:
        return os.path.samefile(a, b)  # hard links, bind mounts, case-insensitive file systems
    except OSError:
        return False


def _is_dataset_root(folder: Path) -> bool:
    try:
        with os.scandir(folder) as it:
            return any(parse_video_dir(e.name) is not None and e.is_dir() and
                       (Path(e.path, "Images").is_dir() or Path(e.path, "Labels").is_dir()) for e in it)
    except OSError:
        return False


def dataset_root_of(path, include_self: bool = True) -> Path | None:
    """The CaDIS dataset a path lies in: the parent of a `VideoNN/` folder holding Images/ or Labels/, or a
    folder above `path` (or `path` itself with `include_self`) holding such video folders; else None."""
    real = Path(_real(path))
    for folder in (real, *real.parents):
        if parse_video_dir(folder.name) is not None and ((folder / "Images").is_dir() or (folder / "Labels").is_dir()):
            return folder.parent
        if (include_self or folder != real) and _is_dataset_root(folder):
            return folder
    return None


def project_root_of(path) -> Path | None:
    """The project folder (`*.cadis-project`) a path lies in, else None."""
    real = Path(_real(path))
    for folder in (real, *real.parents):
        if folder.name.endswith(PROJECT_SUFFIX):
            return folder
    return None


def _in_project_store(target: str) -> Path | None:
    """The project whose own files (labels, pairs, database, journal) `target` would touch, else None."""
    proj = project_root_of(target)
    if proj is None:
        return None
    rel = Path(target).relative_to(proj).parts
    if not rel or rel[0] in PROJECT_OWNED or rel[0].startswith("project.sqlite"):
        return proj
    return None


def check_writes(writes: list[Write], reads: list[Read]) -> None:
    """Refuse (UnsafeWriteError) a write that would replace an input or land in a dataset/project; see the
    module doc. Call it before anything is written (and before slow work such as loading a model)."""
    read_real = [(_real(r.path), r) for r in reads if r.path is not None]
    protected = [(f"dataset of the {r.what}", str(ds)) for real, r in read_real
                 if (ds := dataset_root_of(real)) is not None]
    for w in writes:
        if w.path is None:
            continue
        target = _real(w.path)
        for real, r in read_real:
            if w.kind == "project":
                clash = _in_project_store(real) is not None and str(_in_project_store(real)) == target
            elif w.kind == "file":
                clash = _same_file(target, real) or (os.path.isdir(real) and _inside(target, real)
                                                     and project_root_of(real) is None)
            else:
                clash = _inside(real, target) or (_inside(target, real) and project_root_of(real) is None)
            if clash:
                raise UnsafeWriteError(f"the {w.what} {w.path} would write over the {r.what} {r.path}; "
                                       "choose another output path (nothing was written)")
        if w.kind == "project":
            continue  # a project writes only inside itself (engine.project), never into its dataset
        ds = next((folder for _, folder in protected if _inside(target, folder)), None)
        if ds is None:
            found = dataset_root_of(target, include_self=False)
            ds = str(found) if found is not None else None
        if ds is not None:
            raise UnsafeWriteError(f"the {w.what} {w.path} lies in the CaDIS dataset {ds}, and a dataset is never "
                                   "written: choose an output outside it (nothing was written)")
        proj = _in_project_store(target)
        if proj is not None and not (w.kind == "folder" and str(proj) == target):
            raise UnsafeWriteError(f"the {w.what} {w.path} lies in the files the project {proj} keeps for itself; "
                                   "choose an output outside them (nothing was written)")
