"""Rebuild a damaged project database from what the project folder still holds.

The saved labels (`labels/<key>.png`), the edit journal and the synthetic pairs (`pairs/<id>/`) are files of
their own, so a lost or corrupt `project.sqlite` costs at most the review statuses, notes and pair
provenance that can no longer be read. `rebuild_database`:

1. reads what it still can from the damaged database (read-only, table by table: dataset location, name,
   frame statuses and notes, pair rows),
2. renames the damaged file (and its -wal/-shm companions) aside to `project.sqlite.damaged-<time>`: it is
   never deleted,
3. writes a fresh database: every saved label becomes a frame "in_progress" (or its salvaged status) whose
   revision matches its journal strokes, so the unsaved strokes are still offered for recovery; every pair
   folder becomes a pair ("pending" unless its row was salvaged).
"""
from __future__ import annotations

import contextlib
import json
import os
import sqlite3
import time
from dataclasses import dataclass
from pathlib import Path

from engine.imageio import png_size
from engine.project import db as dbm
from engine.project.lock import ProjectLock
from engine.project.errors import ProjectError
from engine.project.journal import decode_entries
from engine.project.locate import PROJECT_SUFFIX, find_dataset_root, open_source, record_source
from engine.project.paths import label_relpath

JOURNAL_NAME = "journal.bin"


@dataclass
class RebuildResult:
    """What a rebuild did: where the damaged file went and what the new database holds."""

    damaged_copy: Path | None
    labels: int
    statuses_salvaged: int
    pairs: int
    journal_strokes: int

    def summary(self) -> str:
        kept = f"the damaged file is kept as {self.damaged_copy.name}; " if self.damaged_copy else ""
        return (f"{kept}rebuilt with {self.labels} saved labels ({self.statuses_salvaged} statuses/notes salvaged), "
                f"{self.pairs} synthetic pairs and {self.journal_strokes} unsaved journal strokes")


def _salvage(db_path: Path) -> tuple[dict, dict, dict]:
    """(meta, frames key -> (status, note, label_rev), pairs id -> row) read from the damaged file, each
    table as far as it can still be read."""
    meta: dict[str, str] = {}
    frames: dict[str, tuple] = {}
    pairs: dict[int, tuple] = {}
    if not db_path.is_file() or db_path.stat().st_size == 0:
        return meta, frames, pairs
    try:
        conn = sqlite3.connect(f"file:{db_path}?mode=ro", uri=True, timeout=1.0)
    except sqlite3.Error:
        return meta, frames, pairs
    try:
        for query, sink in (("SELECT key, value FROM meta", lambda r: meta.__setitem__(r[0], r[1])),
                            ("SELECT key, status, note, label_rev FROM frames",
                             lambda r: frames.__setitem__(r[0], tuple(r[1:]))),
                            ("SELECT id, source, provenance, parent_key, status, created_at FROM pairs",
                             lambda r: pairs.__setitem__(int(r[0]), tuple(r[1:])))):
            with contextlib.suppress(sqlite3.Error, ValueError, TypeError):
                for row in conn.execute(query):
                    sink(row)
    finally:
        conn.close()
    return meta, frames, pairs


def _move_aside(db_path: Path) -> Path | None:
    if not db_path.exists():
        return None
    stamp = time.strftime("%Y%m%d-%H%M%S")
    target = db_path.with_name(f"{db_path.name}.damaged-{stamp}")
    n = 1
    while target.exists():
        n += 1
        target = db_path.with_name(f"{db_path.name}.damaged-{stamp}-{n}")
    for suffix in ("-wal", "-shm"):  # sqlite finds these by the database's name: keep them together
        side = db_path.with_name(db_path.name + suffix)
        if side.exists():
            os.replace(side, target.with_name(target.name + suffix))
    os.replace(db_path, target)
    return target


def rebuild_database(project_dir: str | os.PathLike, dataset_dir: str | os.PathLike | None = None) -> RebuildResult:
    """Move the damaged database of `project_dir` aside and write a new one from the folder's files.

    `dataset_dir` is needed only when the damaged file no longer tells where the dataset is. Returns what
    was rebuilt; ProjectError when the folder is not a project or the dataset cannot be found."""
    root = Path(project_dir).expanduser().resolve()
    db_path = root / dbm.DB_NAME
    if not root.is_dir() or not (db_path.exists() or (root / "labels").is_dir()):
        raise ProjectError(f"{root} is not a CaDIS Studio project folder (no {dbm.DB_NAME} and no labels/)")
    meta, old_frames, old_pairs = _salvage(db_path)
    if dataset_dir is not None:
        ds_root = Path(dataset_dir).expanduser()
    else:
        guess = root.name[: -len(PROJECT_SUFFIX)] if root.name.endswith(PROJECT_SUFFIX) else None
        try:  # where the database said, else the default place: <name>.cadis-project beside <name>/
            ds_root = find_dataset_root(root, meta.get("source_root"),
                                        meta.get("source_rel") or (f"../{guess}" if guess else None))
        except ProjectError:
            raise ProjectError(f"the damaged database of {root} no longer says where its dataset is; give it: "
                               f"`cadis rebuild-project {root} --dataset DATASET_DIR`") from None
    dataset = open_source(ds_root)
    blob = (root / JOURNAL_NAME).read_bytes() if (root / JOURNAL_NAME).is_file() else b""
    entries, _ = decode_entries(blob)
    journal_rev: dict[str, int] = {}
    for e in entries:
        journal_rev[e.key] = max(journal_rev.get(e.key, 0), e.base_rev)

    plock = ProjectLock(root, app="rebuild-project")  # one writer: refuse while the app or a command has it
    try:
        damaged_copy = _move_aside(db_path)
        return _write_database(root, db_path, damaged_copy, meta, old_frames, old_pairs, dataset, entries, journal_rev)
    finally:
        plock.release()


def _write_database(root, db_path, damaged_copy, meta, old_frames, old_pairs, dataset, entries,
                    journal_rev) -> RebuildResult:
    conn = dbm.connect(db_path)
    labels = salvaged = strokes = 0
    try:
        with dbm.transaction(conn):
            dbm.set_meta(conn, "name", meta.get("name") or dataset.root.name)
            dbm.set_meta(conn, "created_at", meta.get("created_at") or f"{time.time():.3f}")
            dbm.set_meta(conn, "rebuilt_at", f"{time.time():.3f}")
            record_source(conn, root, dataset)
            for rec in dataset.frames:
                rel = label_relpath(rec.key)
                has_label = (root / rel).is_file()
                old = old_frames.get(rec.key)
                if not has_label and old is None and rec.key not in journal_rev:
                    continue
                status, note = (old[0], old[1] or "") if old else ("in_progress" if has_label else "unlabelled", "")
                rev = journal_rev.get(rec.key, int(old[2]) if old else (1 if has_label else 0))
                strokes += sum(1 for e in entries if e.key == rec.key and e.base_rev == rev)
                conn.execute("INSERT INTO frames (key, status, note, label_path, label_rev, updated_at) "
                             "VALUES (?, ?, ?, ?, ?, ?)",
                             (rec.key, status, note, rel if has_label else None, rev, time.time()))
                labels += has_label
                salvaged += old is not None
            n_pairs = _rebuild_pairs(conn, root, old_pairs)
    finally:
        conn.close()
    return RebuildResult(damaged_copy, labels, salvaged, n_pairs, strokes)


def _rebuild_pairs(conn, root: Path, old_pairs: dict[int, tuple]) -> int:
    n = 0
    pairs_dir = root / "pairs"
    ids = sorted(int(p.name) for p in pairs_dir.iterdir() if p.name.isdigit()) if pairs_dir.is_dir() else []
    for pair_id in ids:
        image_rel, label_rel = f"pairs/{pair_id}/image.png", f"pairs/{pair_id}/label.png"
        size = png_size(root / label_rel)
        if size is None or png_size(root / image_rel) != size:
            continue  # an incomplete pair folder: left on disk, not listed
        source, prov, parent, status, created = old_pairs.get(
            pair_id, ("rebuilt", json.dumps({"rebuilt": True}), None, "pending", time.time()))
        conn.execute("INSERT INTO pairs (id, source, provenance, parent_key, status, image_path, label_path, width, "
                     "height, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                     (pair_id, source, prov, parent, status, image_rel, label_rel, size[0], size[1], created))
        n += 1
    return n
