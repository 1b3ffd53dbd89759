"""Rebuild a damaged project database from what the project folder and the damaged file still hold.

The saved labels (`labels/<key>.png`), the edit journal and the synthetic pairs (`pairs/<id>/`) are files of
their own; the damaged `project.sqlite` is read (read-only) for every row it still yields, in every table
(engine.project.salvage): statuses, notes, pair provenance, parents, review states, and whatever later
versions store. `rebuild_database` never moves the only copy aside before its replacement is complete:

1. salvage every readable row of the damaged file, read the labels, the journal and the pair folders;
2. write a new database into a temp file `.project.sqlite.rebuild-<id>.tmp`, check it (SQLite's
   integrity check), fsync it and rename it to `project.sqlite.rebuilt`: from here on everything salvaged
   is safe on disk (a full disk or a kill before this point changed nothing);
3. keep the damaged file: hard-link (or copy) it and its `-wal` to `project.sqlite.damaged-<time>`;
4. remove the damaged file's `-wal`/`-shm` (kept in the copy) and rename `project.sqlite.rebuilt` onto
   `project.sqlite` (one atomic rename).

A kill at any step leaves either the old database untouched, or a complete `project.sqlite.rebuilt` that
the next rebuild puts in place (opening the project meanwhile says so instead of opening the old file).
"""
from __future__ import annotations

import json
import os
import secrets
import signal
import sqlite3
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

from engine.imageio import png_size
from engine.project import db as dbm
from engine.project.errors import ProjectError
from engine.project.journal import scan_entries
from engine.project.lock import ProjectLock
from engine.project.locate import PROJECT_SUFFIX, find_dataset_root, open_source, record_source
from engine.project.nofollow import is_real_dir, is_regular, open_regular, read_regular, write_new
from engine.project.paths import label_relpath
from engine.project.salvage import Rows, copy_rows, salvage_rows

JOURNAL_NAME = "journal.bin"
KILL_HOOK = "CADIS_TEST_REBUILD_KILL_AT"  # tests: the step at which the rebuild kills itself (SIGKILL)
_TEMP_PREFIX = f".{dbm.DB_NAME}.rebuild-"
_OWN_TABLES = ("meta", "frames", "pairs")


@dataclass
class RebuildResult:
    """What a rebuild did: where the damaged file is kept and what the new database holds."""

    damaged_copy: Path | None
    labels: int
    statuses_salvaged: int
    pairs: int
    journal_strokes: int
    pairs_salvaged: int = 0
    other_rows: int = 0

    def summary(self) -> str:
        kept = f"the damaged file is kept as {self.damaged_copy.name}; " if self.damaged_copy else ""
        other = f", {self.other_rows} other records" if self.other_rows else ""
        return (f"{kept}rebuilt with {self.labels} saved labels ({self.statuses_salvaged} statuses/notes salvaged), "
                f"{self.pairs} synthetic pairs ({self.pairs_salvaged} with their parent, review state and "
                f"provenance salvaged){other} and {self.journal_strokes} unsaved journal strokes")


def _step(name: str) -> None:
    if os.environ.get(KILL_HOOK) == name:
        os.kill(os.getpid(), signal.SIGKILL)


def _fsync_dir(folder: Path) -> None:
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def rebuild_database(project_dir: str | os.PathLike, dataset_dir: str | os.PathLike | None = None) -> RebuildResult:
    """Write a new database for `project_dir` from its files and what the damaged one still yields, then put
    it in place of the damaged one (which is kept as `project.sqlite.damaged-<time>`).

    `dataset_dir` is needed only when the damaged file no longer tells where the dataset is. ProjectError
    when the folder is not a project, the dataset cannot be found, or the disk cannot take the new database
    (then nothing was changed)."""
    root = Path(project_dir).expanduser().resolve()
    db_path = root / dbm.DB_NAME
    rebuilt = db_path.with_name(db_path.name + dbm.REBUILT_SUFFIX)
    if not root.is_dir() or not (os.path.lexists(db_path) or is_regular(rebuilt) or is_real_dir(root / "labels")):
        raise ProjectError(f"{root} is not a CaDIS Studio project folder (no {dbm.DB_NAME} and no labels/)")
    try:  # one writer: refuse while the app or a command has it
        plock = ProjectLock(root, app="rebuild-project")
    except OSError as exc:
        problem = dbm.environment_problem(db_path)
        if problem:
            raise dbm.environment_error(db_path, problem, exc.strerror or str(exc)) from None
        raise ProjectError(f"cannot open the project files in {root}: {exc.strerror or exc}") from None
    try:
        _remove_partial_builds(root)
        summary = _finished_build(rebuilt)
        if summary is None:  # no complete build waiting from an interrupted rebuild: make one
            summary = _build(root, db_path, rebuilt, dataset_dir)
        return _put_in_place(root, db_path, rebuilt, summary)
    finally:
        plock.release()


def _remove_partial_builds(root: Path) -> None:
    """Temp files of a rebuild killed before its new database was complete (this process holds the lock)."""
    for name in os.listdir(root):
        if name.startswith(_TEMP_PREFIX) and is_regular(root / name):
            os.unlink(root / name)


def _finished_build(rebuilt: Path) -> dict | None:
    """The summary of a complete, checked `project.sqlite.rebuilt` left by an interrupted rebuild, else None."""
    if not os.path.lexists(rebuilt):
        return None
    if not is_regular(rebuilt):
        raise ProjectError(f"{rebuilt} is not a regular file; move it away and run the rebuild again")
    try:
        conn = sqlite3.connect(f"file:{quote(str(rebuilt))}?mode=ro", uri=True)
        try:
            if conn.execute("PRAGMA integrity_check").fetchone()[0] != "ok":
                return None
            return json.loads(dbm.get_meta(conn, "rebuild_summary") or "null")
        finally:
            conn.close()
    except (sqlite3.Error, ValueError):
        return None


def _build(root: Path, db_path: Path, rebuilt: Path, dataset_dir) -> dict:
    rows = salvage_rows(db_path, _OWN_TABLES)
    meta = {r.get("key"): r.get("value") for r in rows.get("meta", [])}
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
    entries = scan_entries(read_regular(root / JOURNAL_NAME, "edit journal"))[0]
    _step("salvaged")
    tmp = root / f"{_TEMP_PREFIX}{secrets.token_hex(4)}.tmp"
    try:
        conn = sqlite3.connect(str(tmp), isolation_level=None)
        try:
            conn.execute("PRAGMA synchronous=FULL")
            dbm.migrate(conn)
            conn.execute("BEGIN IMMEDIATE")
            summary = _write(conn, root, rows, dataset, entries)
            summary["damaged_copy"] = _copy_name(db_path)
            dbm.set_meta(conn, "rebuild_summary", json.dumps(summary))
            conn.execute("COMMIT")
            _step("written")
            check = conn.execute("PRAGMA integrity_check").fetchone()[0]
            if check != "ok":
                raise ProjectError(f"the rebuilt database failed SQLite's check ({check}); nothing was changed")
        finally:
            conn.close()
        fd = open_regular(tmp, os.O_RDONLY, "rebuilt database")
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, rebuilt)
        _fsync_dir(root)
    except (OSError, sqlite3.Error) as exc:
        problem = dbm.environment_problem(db_path)
        detail = getattr(exc, "strerror", None) or str(exc)
        if problem:
            raise dbm.environment_error(db_path, problem, f"the new database could not be written: {detail}") \
                from None
        raise ProjectError(f"the new project database could not be written ({detail}); nothing was changed: check "
                           "the disk and try again") from None
    finally:
        for leftover in (tmp, tmp.with_name(tmp.name + "-journal")):
            if is_regular(leftover):
                os.unlink(leftover)
    _step("checked")
    return summary


def _copy_name(db_path: Path) -> str:
    stamp = time.strftime("%Y%m%d-%H%M%S")
    name, n = f"{db_path.name}.damaged-{stamp}", 1
    while os.path.lexists(db_path.with_name(name)):
        n += 1
        name = f"{db_path.name}.damaged-{stamp}-{n}"
    return name


def _write(conn, root: Path, rows: Rows, dataset, entries) -> dict:
    """Fill the new database; returns the counts of what it holds."""
    copy_rows(conn, "meta", [r for r in rows.get("meta", []) if r.get("key") not in ("schema_version",
                                                                                     "rebuild_summary")])
    meta = {r.get("key"): r.get("value") for r in rows.get("meta", [])}
    dbm.set_meta(conn, "name", meta.get("name") or dataset.root.name)
    dbm.set_meta(conn, "created_at", meta.get("created_at") or f"{time.time():.3f}")
    dbm.set_meta(conn, "rebuilt_at", f"{time.time():.3f}")
    record_source(conn, root, dataset)
    journal_rev: dict[str, int] = {}
    for e in entries:
        journal_rev[e.key] = max(journal_rev.get(e.key, 0), e.base_rev)
    old_frames = {r.get("key"): r for r in rows.get("frames", [])}
    labels = salvaged = strokes = 0
    for rec in dataset.frames:
        rel = label_relpath(rec.key)
        has_label = is_regular(root / rel)
        old = old_frames.pop(rec.key, None)
        if not has_label and old is None and rec.key not in journal_rev:
            continue
        row = dict(old or {})
        row.setdefault("status", "in_progress" if has_label else "unlabelled")
        old_rev = row.get("label_rev") if isinstance(row.get("label_rev"), int) else None
        rev = journal_rev.get(rec.key, old_rev if old_rev is not None else (1 if has_label else 0))
        row.update(key=rec.key, label_path=rel if has_label else None, label_rev=rev, updated_at=time.time())
        row["note"] = row.get("note") or ""
        if not copy_rows(conn, "frames", [row]):  # a salvaged value the schema refuses: keep what is sure
            copy_rows(conn, "frames", [{**row, "status": "in_progress" if has_label else "unlabelled"}])
        strokes += sum(1 for e in entries if e.key == rec.key and e.base_rev == rev)
        labels += has_label
        salvaged += old is not None
    copy_rows(conn, "frames", list(old_frames.values()))  # rows of frames the dataset no longer lists
    pairs, pairs_salvaged = _write_pairs(conn, root, rows.get("pairs", []))
    other = sum(copy_rows(conn, table, trows) for table, trows in rows.items() if table not in _OWN_TABLES)
    return {"labels": labels, "statuses_salvaged": salvaged, "pairs": pairs, "pairs_salvaged": pairs_salvaged,
            "journal_strokes": strokes, "other_rows": other}


def _write_pairs(conn, root: Path, old_rows: list[dict]) -> tuple[int, int]:
    old = {r.get("id"): r for r in old_rows if isinstance(r.get("id"), int)}
    pairs_dir = root / "pairs"
    ids = sorted(int(p.name) for p in pairs_dir.iterdir() if p.name.isdigit()) if is_real_dir(pairs_dir) else []
    n = salvaged = 0
    for pair_id in ids:
        image_rel, label_rel = f"pairs/{pair_id}/image.png", f"pairs/{pair_id}/label.png"
        if not (is_regular(root / image_rel) and is_regular(root / label_rel)):
            continue
        size = png_size(root / label_rel)
        if size is None or png_size(root / image_rel) != size:
            continue  # an incomplete pair folder: left on disk, not listed
        fresh = {"source": "rebuilt", "provenance": json.dumps({"rebuilt": True}), "parent_key": None,
                 "status": "pending", "created_at": time.time()}
        row = {**fresh, **old.get(pair_id, {}), "id": pair_id, "image_path": image_rel, "label_path": label_rel,
               "width": size[0], "height": size[1]}
        if copy_rows(conn, "pairs", [row]):
            salvaged += pair_id in old
        elif copy_rows(conn, "pairs", [{**row, **fresh}]) == 0:
            continue
        n += 1
    return n, salvaged


def _link_or_copy(src: Path, dst: Path) -> None:
    try:
        os.link(src, dst, follow_symlinks=False)
        return
    except OSError:
        pass
    write_new(dst, read_regular(src, "damaged database"), "copy of the damaged database")


def _put_in_place(root: Path, db_path: Path, rebuilt: Path, summary: dict) -> RebuildResult:
    copy = db_path.with_name(summary.get("damaged_copy") or _copy_name(db_path))
    kept = None
    try:
        if os.path.lexists(db_path):
            if is_regular(db_path.with_name(db_path.name + "-wal")) and not os.path.lexists(
                    copy.with_name(copy.name + "-wal")):
                _link_or_copy(db_path.with_name(db_path.name + "-wal"), copy.with_name(copy.name + "-wal"))
            if not os.path.lexists(copy):
                _link_or_copy(db_path, copy)
            kept = copy
            _fsync_dir(root)
            _step("kept")
            for suffix in ("-wal", "-shm"):  # SQLite would replay the old file's WAL onto the new one
                side = db_path.with_name(db_path.name + suffix)
                if os.path.lexists(side):
                    os.unlink(side)
            _step("cleared")
        os.replace(rebuilt, db_path)
        _fsync_dir(root)
    except OSError as exc:
        raise ProjectError(f"the rebuilt database is complete ({rebuilt.name}) but could not be put in place "
                           f"({exc.strerror or exc}); nothing is lost: free some space and run the rebuild "
                           "again to finish it") from None
    _step("swapped")
    counts = {k: int(summary.get(k, 0)) for k in ("labels", "statuses_salvaged", "pairs", "journal_strokes",
                                                   "pairs_salvaged", "other_rows")}
    return RebuildResult(kept if kept is not None and os.path.lexists(kept) else None, **counts)
