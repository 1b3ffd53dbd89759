"""The project store: a folder next to the dataset with the edited labels, review statuses, notes, the edit
journal and synthetic pairs. The dataset itself is never written.

Layout of `<name>.cadis-project/`::

    project.sqlite            metadata (WAL): frames (status, note, label revision), pairs, meta
    labels/<key>.png          the project's saved labels, written atomically
    journal.bin               append-only stroke journal (see engine.project.journal)
    pairs/<id>/image.png      synthetic pairs (see engine.project.pairs)
    pairs/<id>/label.png
    model-made/<key>.png      the classes a model wrote into accepted pixels (engine.project.store_model_made)

Saving a label writes the PNG atomically (temp + fsync + rename), then bumps the frame's label revision in
the database, then drops the frame's journal entries. A kill at any moment leaves each label as the old or
the new complete file; journal strokes drawn since the last save are offered by `pending_recovery`.
"""
from __future__ import annotations

import sqlite3
import threading
import time
from pathlib import Path

import numpy as np

from engine.dataset import DatasetIndex, FrameRecord
from engine.imageio import png_size, read_image, read_label, write_label
from engine.project import db as dbm
from engine.project.db import transaction
from engine.project.errors import ProjectError
from engine.project.journal import Journal
from engine.project import lock as lock_module
from engine.project.lock import STALE_AFTER_S, ProjectLock
from engine.project.locate import (
    PROJECT_SUFFIX, check_project_place, check_same_dataset, default_project_dir, find_dataset_root, is_project_dir,
    open_source, record_source,
)
from engine.project.pair_journal import PairJournals
from engine.project.pairs import PairStore
from engine.project.store_journal import ProjectJournal
from engine.project.store_model_made import ProjectModelMade
from engine.project.store_pairs import ProjectPairs
from engine.project.store_team import REVIEW_STATUSES, ProjectTeam
from engine.project.paths import label_relpath, remove_stale_temp_files, resolve_inside

STATUSES = ("unlabelled", "in_progress", "done", "flagged", "rejected")
UNFINISHED = ("unlabelled", "in_progress")  # what `next_unfinished` looks for
JOURNAL_NAME = "journal.bin"
IGNORE_ID = 255
MAX_CLASS_ID = 35


class Project(ProjectJournal, ProjectPairs, ProjectTeam, ProjectModelMade):
    """An open project. Thread-safe: one lock guards the database connection and the journal.

    One process at a time opens a project for writing (engine.project.lock); others may open it with
    `read_only=True`, which takes no lock and refuses every change with a ProjectError."""

    def __init__(self, root: Path, dataset: DatasetIndex, conn, journal_fsync: bool = True,
                 plock: ProjectLock | None = None, read_only: bool = False):
        self.root = Path(root)
        self.read_only = bool(read_only)
        self.dataset = dataset
        self._conn = conn
        self._lock = threading.RLock()
        self.name = dbm.get_meta(conn, "name") or dataset.root.name
        self._keys = [f.key for f in dataset.frames]
        self._keyset = frozenset(self._keys)
        package = self.package()  # a team member's work package: only its frames are listed
        if package is not None:
            wanted = set(package["frames"])
            self._keys = [k for k in self._keys if k in wanted]
        self._sizes: dict[str, tuple[int, int]] = {}
        self._revs: dict[str, int] = dict(conn.execute("SELECT key, label_rev FROM frames WHERE label_rev > 0"))
        self._plock = None if self.read_only else (plock or ProjectLock(self.root))
        # the writer lock means no other process writes the project: temp files of killed writers are stale
        # (without flock, on Windows, or in a process that joined its run's lock, only old ones count)
        self.removed_temp_files = 0
        if not self.read_only:
            self.removed_temp_files = remove_stale_temp_files(
                self.root, (JOURNAL_NAME,), STALE_AFTER_S if lock_module.fcntl is None or self._plock.joined else 0.0)
        self._journal = Journal(self.root / JOURNAL_NAME, fsync=journal_fsync, read_only=self.read_only)
        self._pairs = PairStore(conn, self.root, self._lock)
        self._pair_journals = PairJournals(self.root, fsync=journal_fsync)
        if not self.read_only:
            self.salvage_model_made()  # rows a rebuilt database lost come back from model-made/*.png

    # ----------------------------------------------------------------------------------------- opening
    @classmethod
    def open_or_create(cls, source, project_dir=None, journal_fsync: bool = True, read_only: bool = False,
                       app: str | None = None, group: str | None = None) -> "Project":
        """Open the project of a dataset (creating it next to the dataset if needed), or a project folder.

        `source` is a CaDIS dataset root, a plain folder of frames, or a project folder. `project_dir`
        overrides where the project of a dataset lives (and relinks a project whose dataset moved).
        Opening for writing takes the project's writer lock: ProjectLockedError (naming the holder) if
        another process has it; `read_only=True` opens without the lock and refuses changes. `app` is the
        program name recorded in the lock for others to read; processes of one run that pass the same
        `group` token share one lock (see engine.project.lock)."""
        writer = (app, group)  # who takes the lock (engine.project.lock)
        source = Path(source).expanduser()
        if not source.exists():
            raise ProjectError(f"{source} does not exist; choose a CaDIS dataset, a folder of frames or a project")
        if is_project_dir(source):
            if project_dir is not None and Path(project_dir).expanduser().resolve() != source.resolve():
                raise ProjectError(f"{source} is itself a project; open it alone, or open its dataset together "
                                   f"with project folder {project_dir}")
            return cls._reopen(source.resolve(), None, journal_fsync, read_only, writer)
        if source.name.endswith(PROJECT_SUFFIX):
            raise ProjectError(f"{source} looks like a project folder but has no {dbm.DB_NAME}; open the dataset "
                               "instead to create a new project")
        dataset = open_source(source)
        root = Path(project_dir).expanduser() if project_dir is not None else default_project_dir(dataset.root)
        root = root.resolve()
        check_project_place(root, dataset.root)
        if is_project_dir(root):
            return cls._reopen(root, dataset, journal_fsync, read_only, writer)
        if read_only:
            raise ProjectError(f"{dataset.root} has no project yet ({root}); open it for writing once to create it")
        return cls._create(root, dataset, journal_fsync, writer)

    @staticmethod
    def _take_lock(root: Path, read_only: bool, writer: tuple[str | None, str | None]) -> ProjectLock | None:
        if read_only:
            return None
        try:
            return ProjectLock(root, *writer)
        except OSError as exc:
            problem = dbm.environment_problem(root / dbm.DB_NAME)
            if problem:
                raise dbm.environment_error(root / dbm.DB_NAME, problem, exc.strerror or str(exc)) from None
            raise ProjectError(f"cannot open the project files in {root}: {exc.strerror or exc} "
                               "(check permissions and free space)") from None

    @classmethod
    def _create(cls, root: Path, dataset: DatasetIndex, journal_fsync: bool,
                writer: tuple[str | None, str | None] = (None, None)) -> "Project":
        try:
            root.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise ProjectError(f"cannot create the project folder {root}: {exc.strerror or exc}") from None
        plock = cls._take_lock(root, False, writer)
        try:
            conn = dbm.connect(root / dbm.DB_NAME)
            with transaction(conn):
                dbm.set_meta(conn, "name", dataset.root.name)
                dbm.set_meta(conn, "created_at", f"{time.time():.3f}")
                record_source(conn, root, dataset)
        except BaseException:
            plock.release()
            raise
        return cls._construct(root, dataset, conn, journal_fsync, plock, False)

    @classmethod
    def _reopen(cls, root: Path, dataset: DatasetIndex | None, journal_fsync: bool, read_only: bool = False,
                writer: tuple[str | None, str | None] = (None, None)) -> "Project":
        plock = cls._take_lock(root, read_only, writer)  # before the database opens: connecting may migrate it
        try:
            conn = dbm.connect(root / dbm.DB_NAME, existing=True, read_only=read_only)
        except BaseException:
            if plock is not None:
                plock.release()
            raise
        try:
            if dataset is None:
                ds_root = find_dataset_root(root, dbm.get_meta(conn, "source_root"), dbm.get_meta(conn, "source_rel"))
                dataset = open_source(ds_root)
                check_project_place(root, dataset.root)
            elif str(dataset.root) != dbm.get_meta(conn, "source_root"):
                check_same_dataset(conn, root, dataset)
                if not read_only:
                    with transaction(conn):
                        record_source(conn, root, dataset)
        except BaseException:
            conn.close()
            if plock is not None:
                plock.release()
            raise
        return cls._construct(root, dataset, conn, journal_fsync, plock, read_only)

    @classmethod
    def _construct(cls, root: Path, dataset: DatasetIndex, conn, journal_fsync: bool, plock: ProjectLock | None,
                   read_only: bool) -> "Project":
        try:
            return cls(root, dataset, conn, journal_fsync, plock=plock, read_only=read_only)
        except OSError as exc:
            conn.close()
            if plock is not None:
                plock.release()
            raise ProjectError(f"cannot open the project files in {root}: {exc.strerror or exc} "
                               "(check permissions and free space)") from None
        except sqlite3.DatabaseError as exc:  # a damaged page SQLite's quick check did not reach, or a full disk
            conn.close()
            if plock is not None:
                plock.release()
            raise dbm.open_failure(root / dbm.DB_NAME, exc) from None
        except BaseException:
            conn.close()
            if plock is not None:
                plock.release()
            raise

    def _writable(self, what: str) -> None:
        """Refuse a change to a project opened read-only."""
        if self.read_only:
            raise ProjectError(f"{self.root.name} is open read-only (another program may be writing it): "
                               f"cannot {what}; reopen it for writing once the other program has closed it")

    # ----------------------------------------------------------------------------------------- frames
    def frame_keys(self) -> list[str]:
        """Keys of the frames of the dataset (of its work package, if the project holds one), in dataset order
        (video, frame)."""
        return list(self._keys)

    def record(self, key: str) -> FrameRecord:
        try:
            return self.dataset.by_key(key)
        except KeyError:
            raise ProjectError(f"frame {key!r} is not part of the dataset {self.dataset.root}") from None

    def load_image(self, key: str) -> np.ndarray:
        """The frame as HxWx3 RGB (ImageReadError if the file is unreadable)."""
        image = read_image(self.record(key).image_path)
        self._sizes.setdefault(key, image.shape[:2])
        return image

    def image_size(self, key: str) -> tuple[int, int]:
        """(height, width) of a frame, from the PNG header when possible."""
        if key not in self._sizes:
            rec = self.record(key)
            wh = png_size(rec.image_path)
            self._sizes[key] = (wh[1], wh[0]) if wh else read_image(rec.image_path).shape[:2]
        return self._sizes[key]

    def label_path(self, key: str) -> Path:
        """Where the project keeps (or will keep) its saved label of `key`."""
        self.record(key)
        return resolve_inside(self.root, label_relpath(key), "label path")

    def has_saved_label(self, key: str) -> bool:
        return self.label_path(key).is_file()

    def load_label(self, key: str) -> np.ndarray:
        """The project's saved label, else the dataset's label, else a label full of 255 (unlabelled)."""
        path = self.label_path(key)
        if path.is_file():
            return read_label(path)
        rec = self.record(key)
        if rec.label_path is not None:
            return read_label(rec.label_path)
        return np.full(self.image_size(key), IGNORE_ID, dtype=np.uint8)

    def save_label(self, key: str, label: np.ndarray) -> None:
        """Atomically save the project's copy of a label, then drop the frame's journal strokes."""
        self._writable("save a label")
        self._check_label(key, label)
        path = self.label_path(key)
        with self._lock:
            write_label(path, label)
            rel = label_relpath(key)
            with transaction(self._conn):
                self._conn.execute(
                    "INSERT INTO frames (key, status, label_path, label_rev, updated_at) "
                    "VALUES (?, 'in_progress', ?, 1, ?) ON CONFLICT(key) DO UPDATE SET "
                    "label_path=excluded.label_path, label_rev=label_rev + 1, updated_at=excluded.updated_at, "
                    "status=CASE WHEN status='unlabelled' THEN 'in_progress' ELSE status END",
                    (key, rel, time.time()))
                self._record_person(key, "labelled_by")
                rev = self._conn.execute("SELECT label_rev FROM frames WHERE key=?", (key,)).fetchone()[0]
            self._revs[key] = int(rev)
            self._journal.keep(self._is_live)
            self.update_model_made(key, label)

    def _check_label(self, key: str, label: np.ndarray) -> None:
        if not isinstance(label, np.ndarray) or label.dtype != np.uint8 or label.ndim != 2:
            raise ProjectError(f"a label is an HxW uint8 array of class IDs, got "
                               f"{getattr(label, 'shape', type(label))} {getattr(label, 'dtype', '')}")
        h, w = self.image_size(key)
        if label.shape != (h, w):
            raise ProjectError(f"label is {label.shape[1]}x{label.shape[0]} but frame {key} is {w}x{h}")
        if label.max(initial=0) > MAX_CLASS_ID:
            bad = np.unique(label[(label > MAX_CLASS_ID) & (label != IGNORE_ID)])
            if bad.size:
                raise ProjectError(f"label of {key} holds class IDs outside 0..{MAX_CLASS_ID} and {IGNORE_ID}: "
                                   f"{', '.join(map(str, bad[:10].tolist()))}")

    # ----------------------------------------------------------------------------------------- review
    def status(self, key: str) -> str:
        self.record(key)
        with self._lock:
            row = self._conn.execute("SELECT status FROM frames WHERE key=?", (key,)).fetchone()
        return row[0] if row else "unlabelled"

    def set_status(self, key: str, status: str, note: str | None = None) -> None:
        """Set a frame's review status (and its note, unless `note` is None)."""
        self._writable("set a status")
        if status not in STATUSES:
            raise ProjectError(f"unknown status {status!r}: use one of {', '.join(STATUSES)}")
        self.record(key)
        with self._lock, transaction(self._conn):
            self._conn.execute(
                "INSERT INTO frames (key, status, note, updated_at) VALUES (?, ?, ?, ?) ON CONFLICT(key) DO UPDATE "
                "SET status=excluded.status, note=CASE WHEN ? IS NULL THEN note ELSE excluded.note END, "
                "updated_at=excluded.updated_at",
                (key, status, note or "", time.time(), note))
            if status in REVIEW_STATUSES:
                self._record_person(key, "reviewed_by")

    def set_note(self, key: str, note: str) -> None:
        """Change a frame's note, keeping its status."""
        self.set_status(key, self.status(key), note)

    def note(self, key: str) -> str:
        self.record(key)
        with self._lock:
            row = self._conn.execute("SELECT note FROM frames WHERE key=?", (key,)).fetchone()
        return row[0] if row else ""

    def statuses(self) -> dict[str, str]:
        """Status of every frame of the dataset, in dataset order (one query)."""
        with self._lock:
            rows = dict(self._conn.execute("SELECT key, status FROM frames"))
        return {k: rows.get(k, "unlabelled") for k in self._keys}

    def keys_with_status(self, statuses) -> list[str]:
        """Frame keys (dataset order) whose status is one of `statuses`."""
        wanted = set([statuses] if isinstance(statuses, str) else statuses)
        unknown = wanted - set(STATUSES)
        if unknown:
            raise ProjectError(f"unknown status {sorted(unknown)}: use {', '.join(STATUSES)}")
        return [k for k, s in self.statuses().items() if s in wanted]

    def next_unfinished(self, after_key: str | None = None) -> str | None:
        """The first unlabelled or in-progress frame after `after_key` (wrapping around, never `after_key`
        itself), or None when every other frame is done, flagged or rejected."""
        statuses = self.statuses()
        keys = self._keys
        start = keys.index(after_key) + 1 if after_key in statuses else 0
        for i in range(len(keys)):
            k = keys[(start + i) % len(keys)]
            if k != after_key and statuses[k] in UNFINISHED:
                return k
        return None

    # ----------------------------------------------------------------------------------------- lifetime
    def integrity_check(self) -> str:
        """SQLite's own check of the database ("ok" when sound)."""
        with self._lock:
            return self._conn.execute("PRAGMA integrity_check").fetchone()[0]

    def close(self) -> None:
        with self._lock:
            if self._conn is None:
                return
            self._journal.close()
            self._pair_journals.close()
            try:
                if not self.read_only:
                    self._conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            except sqlite3.Error as exc:  # a full disk: the WAL keeps every commit, the next open replays it
                raise dbm.write_error(exc) from None
            finally:
                self._conn.close()
                self._conn = None
                if self._plock is not None:
                    self._plock.release()  # last: nothing of this process writes the project any more

    def __enter__(self) -> "Project":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"Project({str(self.root)!r}, dataset={str(self.dataset.root)!r}, frames={len(self._keys)})"
