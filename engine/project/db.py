"""The project database: connection settings, schema and migrations.

SQLite (stdlib) in WAL mode with `synchronous=FULL`: a committed transaction survives a killed process and a
power cut, and readers never block the writer. The schema version lives in the `meta` table; migrations
are applied in order, each in its own transaction, so a crash mid-migration leaves the previous version.
"""
from __future__ import annotations

import contextlib
import sqlite3
from pathlib import Path

from engine.project.errors import ProjectDamagedError, ProjectError

DB_NAME = "project.sqlite"

# Each entry upgrades the schema from version i to i+1.
MIGRATIONS: tuple[str, ...] = (
    """
    CREATE TABLE IF NOT EXISTS meta (
        key   TEXT PRIMARY KEY,
        value TEXT NOT NULL
    );
    CREATE TABLE frames (
        key        TEXT PRIMARY KEY,
        status     TEXT NOT NULL DEFAULT 'unlabelled'
                   CHECK (status IN ('unlabelled', 'in_progress', 'done', 'flagged', 'rejected')),
        note       TEXT NOT NULL DEFAULT '',
        label_path TEXT,
        label_rev  INTEGER NOT NULL DEFAULT 0,
        updated_at REAL
    );
    CREATE TABLE pairs (
        id         INTEGER PRIMARY KEY AUTOINCREMENT,
        source     TEXT NOT NULL,
        provenance TEXT NOT NULL DEFAULT '{}',
        parent_key TEXT,
        status     TEXT NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'accepted', 'rejected')),
        image_path TEXT NOT NULL,
        label_path TEXT NOT NULL,
        width      INTEGER NOT NULL,
        height     INTEGER NOT NULL,
        created_at REAL NOT NULL
    );
    CREATE INDEX pairs_status ON pairs (status);
    CREATE INDEX pairs_source ON pairs (source);
    """,
    # 2: label pixels a model wrote and no person has edited or reviewed (engine.project.store_model_made)
    """
    CREATE TABLE model_made (
        key        TEXT PRIMARY KEY,
        source     TEXT NOT NULL DEFAULT '',
        pixels     INTEGER NOT NULL DEFAULT 0,
        mask_path  TEXT NOT NULL,
        updated_at REAL
    );
    """,
)

SCHEMA_VERSION = len(MIGRATIONS)


def connect(path: Path, existing: bool = False) -> sqlite3.Connection:
    """Open (creating if needed) the database at `path`, set WAL + FULL sync, and migrate it.

    `existing=True` opens the database of a project that already exists: an empty file, a file without the
    project's tables or one that fails SQLite's quick check raises ProjectDamagedError, and the file is left
    as it is (it is never replaced by a fresh database)."""
    path = Path(path)
    if existing:
        try:
            size = path.stat().st_size
        except OSError as exc:
            raise ProjectError(f"cannot read the project database {path}: {exc.strerror or exc}") from None
        if size == 0:
            raise ProjectDamagedError(path, "the file is empty: 0 bytes")
    try:
        conn = sqlite3.connect(str(path), timeout=30.0, isolation_level=None, check_same_thread=False)
    except sqlite3.Error as exc:
        raise ProjectError(f"cannot open the project database {path}: {exc}") from None
    try:
        if existing:
            check = conn.execute("PRAGMA quick_check").fetchone()[0]
            if check != "ok":
                raise ProjectDamagedError(path, f"SQLite's check found: {str(check).splitlines()[0][:200]}")
            if schema_version(conn) == 0:
                raise ProjectDamagedError(path, "it holds none of the project's tables")
        mode = conn.execute("PRAGMA journal_mode=WAL").fetchone()[0]
        if str(mode).lower() != "wal":
            raise ProjectError(f"the project database {path} cannot use WAL mode (got {mode}); "
                               "put the project on a local disk")
        conn.execute("PRAGMA synchronous=FULL")
        conn.execute("PRAGMA foreign_keys=ON")
        migrate(conn)
    except sqlite3.DatabaseError as exc:
        conn.close()
        if existing:
            raise ProjectDamagedError(path, f"SQLite: {exc}") from None
        raise ProjectError(f"the project database {path} is damaged or not a project database ({exc})") from None
    except BaseException:
        conn.close()
        raise
    return conn


def write_error(exc: sqlite3.Error) -> ProjectError:
    """The project's own error for a failed database write (disk full, I/O error, damaged file)."""
    text = str(exc)
    if "full" in text.lower():
        return ProjectError(f"the project database could not be written: the disk is full ({text}); free some "
                            "space and try again (nothing already saved was lost)")
    return ProjectError(f"the project database could not be written ({text}); check the disk and try again")


def schema_version(conn: sqlite3.Connection) -> int:
    has_meta = conn.execute("SELECT 1 FROM sqlite_master WHERE type='table' AND name='meta'").fetchone()
    if not has_meta:
        return 0
    row = conn.execute("SELECT value FROM meta WHERE key='schema_version'").fetchone()
    return int(row[0]) if row else 0


def migrate(conn: sqlite3.Connection) -> int:
    """Bring the schema up to SCHEMA_VERSION; returns the version found before."""
    found = schema_version(conn)
    if found > SCHEMA_VERSION:
        raise ProjectError(f"this project was written by a newer CaDIS Studio (schema {found}, this version "
                           f"reads up to {SCHEMA_VERSION}); update the app to open it")
    for version in range(found, SCHEMA_VERSION):
        conn.execute("BEGIN IMMEDIATE")
        try:
            for statement in _split_sql(MIGRATIONS[version]):
                conn.execute(statement)
            conn.execute("INSERT OR REPLACE INTO meta (key, value) VALUES ('schema_version', ?)", (str(version + 1),))
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
    return found


def _split_sql(script: str) -> list[str]:
    """Split a migration into statements (our migrations hold no semicolons inside literals)."""
    return [s.strip() for s in script.split(";") if s.strip()]


def get_meta(conn: sqlite3.Connection, key: str, default: str | None = None) -> str | None:
    row = conn.execute("SELECT value FROM meta WHERE key=?", (key,)).fetchone()
    return row[0] if row else default


def set_meta(conn: sqlite3.Connection, key: str, value: str) -> None:
    conn.execute("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", (key, value))


class transaction:
    """`with transaction(conn):` BEGIN IMMEDIATE ... COMMIT, ROLLBACK on error."""

    def __init__(self, conn):
        self.conn = conn

    def __enter__(self):
        try:
            self.conn.execute("BEGIN IMMEDIATE")
        except sqlite3.Error as exc:
            raise write_error(exc) from None
        return self.conn

    def __exit__(self, exc_type, exc, tb):
        try:
            self.conn.execute("COMMIT" if exc_type is None else "ROLLBACK")
        except sqlite3.Error as failed:  # a COMMIT on a full disk, or a ROLLBACK after one
            if self.conn.in_transaction:
                with contextlib.suppress(sqlite3.Error):
                    self.conn.execute("ROLLBACK")
            raise write_error(exc if isinstance(exc, sqlite3.Error) else failed) from None
        if isinstance(exc, sqlite3.Error):
            raise write_error(exc) from None
        return False
