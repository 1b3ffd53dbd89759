"""Where a project lives and which dataset it belongs to.

A project for the dataset `<parent>/<name>/` is `<parent>/<name>.cadis-project/` unless the user names
another folder. A project folder is recognised by its database file. A project may never lie inside its
dataset (the dataset is never written).
"""
from __future__ import annotations

import os
from pathlib import Path

from engine.dataset import DatasetIndex, NotCadisError, open_dataset
from engine.project.db import DB_NAME, set_meta
from engine.project.errors import ProjectError
from engine.project.paths import is_inside

PROJECT_SUFFIX = ".cadis-project"


def is_project_dir(path: Path) -> bool:
    """True if `path` is a folder holding a project database."""
    return Path(path).is_dir() and (Path(path) / DB_NAME).is_file()


def default_project_dir(dataset_root: Path) -> Path:
    """`<parent>/<name>.cadis-project` next to the dataset folder."""
    dataset_root = Path(dataset_root)
    return dataset_root.parent / f"{dataset_root.name}{PROJECT_SUFFIX}"


def open_source(source: Path) -> DatasetIndex:
    """Index a dataset or frame folder, turning 'not a dataset' into a ProjectError with the same advice."""
    try:
        return open_dataset(source)
    except NotCadisError as exc:
        raise ProjectError(str(exc)) from exc
    except OSError as exc:
        raise ProjectError(f"cannot read the dataset folder {source}: {exc.strerror or exc}") from exc


def check_project_place(project_dir: Path, dataset_root: Path) -> None:
    """Refuse a project folder inside the dataset, the dataset inside the project, or a foreign folder."""
    if is_inside(project_dir, dataset_root):
        raise ProjectError(f"the project folder {project_dir} lies inside the dataset {dataset_root}; the dataset "
                           "is never written: choose a project folder outside it")
    if is_inside(dataset_root, project_dir):
        raise ProjectError(f"the dataset {dataset_root} lies inside the project folder {project_dir}; choose "
                           "a project folder next to the dataset instead")
    if project_dir.exists() and not project_dir.is_dir():
        raise ProjectError(f"{project_dir} is a file; a project needs a folder there")
    if project_dir.is_dir() and not is_project_dir(project_dir) and any(os.scandir(project_dir)):
        raise ProjectError(f"{project_dir} already holds files and is not a CaDIS Studio project; choose an "
                           "empty or new folder for the project")


def find_dataset_root(project_dir: Path, stored_abs: str | None, stored_rel: str | None) -> Path:
    """The dataset folder recorded in a project: its absolute path, else the path relative to the project
    (when both were moved together); ProjectError if neither exists."""
    candidates = []
    if stored_abs:
        candidates.append(Path(stored_abs))
    if stored_rel:
        candidates.append((project_dir / stored_rel).resolve())
    for cand in candidates:
        if cand.is_dir():
            return cand
    where = stored_abs or "(not recorded)"
    raise ProjectError(f"the dataset of project {project_dir} is no longer at {where}; open the dataset at its new "
                       f"place together with this project folder to relink it")


def record_source(conn, root: Path, dataset: DatasetIndex) -> None:
    """Remember where the dataset is: absolute, and relative to the project (for moves of both together)."""
    set_meta(conn, "source_root", str(dataset.root))
    set_meta(conn, "source_rel", os.path.relpath(dataset.root, root))
    set_meta(conn, "source_kind", dataset.kind)


def check_same_dataset(conn, root: Path, dataset: DatasetIndex) -> None:
    """Refuse to relink a project to a dataset that shares none of its labelled frames."""
    keys = [r[0] for r in conn.execute("SELECT key FROM frames LIMIT 200")]
    known = {f.key for f in dataset.frames}
    if keys and not any(k in known for k in keys):
        raise ProjectError(f"the project {root} was made for another dataset (none of its frames are in "
                           f"{dataset.root}); open its own dataset or choose another project folder")
