"""The project database: connection settings, schema and migrations.

SQLite (stdlib) in WAL mode with `synchronous=FULL`: a committed transaction survives a killed process and a
power cut, and readers never block the writer. The schema version lives in the `meta` table; migrations
are applied in order, each in its own transaction, so a crash mid-migration leaves the previous version.
"""
from __future__ import annotations

import contextlib
import errno
import os
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
    # 2: a labelling team (engine.team): who labelled and reviewed each frame, every annotator's version of a
    # merged frame, and the frames whose versions differ (additive: new tables only)
    """
    CREATE TABLE IF NOT EXISTS frame_people (
        key         TEXT PRIMARY KEY,
        labelled_by TEXT NOT NULL DEFAULT '',
        reviewed_by TEXT NOT NULL DEFAULT '',
        updated_at  REAL
    );
    CREATE TABLE IF NOT EXISTS label_versions (
        key        TEXT NOT NULL,
        author     TEXT NOT NULL,
        label_path TEXT NOT NULL,
        sha256     TEXT NOT NULL,
        status     TEXT NOT NULL DEFAULT '',
        package    TEXT NOT NULL DEFAULT '',
        PRIMARY KEY (key, author)
    );
    CREATE TABLE IF NOT EXISTS disputes (
        key        TEXT PRIMARY KEY,
        authors    TEXT NOT NULL,
        method     TEXT NOT NULL,
        agreement  REAL,
        open       INTEGER NOT NULL DEFAULT 1,
        decision   TEXT NOT NULL DEFAULT '[]',
        decided_by TEXT NOT NULL DEFAULT '',
        decided_at REAL
    );
    """,
    # 3: label pixels a model wrote and no person has edited or reviewed (engine.project.store_model_made)
    """
    CREATE TABLE IF NOT EXISTS model_made (
        key        TEXT PRIMARY KEY,
        source     TEXT NOT NULL DEFAULT '',
        pixels     INTEGER NOT NULL DEFAULT 0,
        mask_path  TEXT NOT NULL,
        updated_at REAL
    );
    """,
)

SCHEMA_VERSION = len(MIGRATIONS)


def _on_read_only_medium(path: Path) -> bool:
    try:
        return bool(os.statvfs(Path(path).parent).f_flag & _ST_RDONLY)
    except (OSError, AttributeError):
        return False


def connect(path: Path, existing: bool = False, read_only: bool = False) -> sqlite3.Connection:
    """Open (creating if needed) the database at `path`, set WAL + FULL sync, and migrate it.

    `existing=True` opens the database of a project that already exists: an empty file, a file without the
    project's tables or one that fails SQLite's quick check raises ProjectDamagedError, and the file is left
    as it is (it is never replaced by a fresh database). A full disk, a read-only medium or missing
    permissions are told apart from damage (`open_failure`): they never advise a rebuild. `read_only=True`
    on a read-only medium opens the file as immutable (SQLite cannot create its `-shm` there)."""
    if existing and read_only and _on_read_only_medium(path):
        return _connect_immutable(Path(path))
    path = Path(path)
    if existing:
        try:
            size = path.stat().st_size
        except OSError as exc:
            raise ProjectError(f"cannot read the project database {path}: {exc.strerror or exc}") from None
        if size == 0:
            raise ProjectDamagedError(path, "the file is empty: 0 bytes")
        if os.path.lexists(path.with_name(path.name + REBUILT_SUFFIX)):
            raise ProjectDamagedError(path, "a rebuild of it was interrupted before the new database was put in "
                                            "place; nothing is lost, running the rebuild again finishes it")
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
            raise open_failure(path, exc) from None
        raise ProjectError(f"the project database {path} is damaged or not a project database ({exc})") from None
    except BaseException:
        conn.close()
        raise
    return conn


REBUILT_SUFFIX = ".rebuilt"  # `project.sqlite.rebuilt`: a complete, checked new database a rebuild is putting in place
_DAMAGE_CODES = {11, 26}  # SQLITE_CORRUPT, SQLITE_NOTADB: the file itself is bad
_ST_RDONLY = getattr(os, "ST_RDONLY", 1)


def environment_problem(path: Path) -> str | None:
    """Why the project folder of `path` cannot be written, if it cannot: a full disk, a read-only medium or
    missing permissions (None when none of these is found)."""
    folder = Path(path).parent
    try:
        st = os.statvfs(folder)
        if st.f_flag & _ST_RDONLY:
            return "read-only"
        free = st.f_bfree if hasattr(os, "geteuid") and os.geteuid() == 0 else st.f_bavail
        if free * st.f_frsize < (1 << 20):
            return "full"
    except (OSError, AttributeError):
        pass
    for target, mode in ((folder, os.W_OK | os.X_OK), (path, os.R_OK | os.W_OK)):
        if os.path.exists(target) and not os.access(target, mode):
            return "permission"
    return None


def environment_error(path: Path, problem: str, detail: str = "") -> ProjectError:
    """The message for a project that is sound but cannot be written where it is."""
    detail = f" ({detail})" if detail else ""
    what = {
        "full": (f"the disk holding {path.parent} is full{detail}", "free some space and open it again"),
        "read-only": (f"{path.parent} is on a read-only medium{detail}",
                      "open it read-only, or copy the project to a writable disk"),
        "permission": (f"you may not write the project {path.parent}{detail}",
                       "open it read-only, or ask its owner for write access"),
    }[problem]
    return ProjectError(f"{what[0]}; the project database is not damaged and nothing was changed: {what[1]} "
                        "(do not rebuild it)")


def open_failure(path: Path, exc: BaseException) -> ProjectError:
    """The project's error for a database that failed to open: damage only when SQLite says the file is
    corrupt or not a database; a full disk, read-only medium or missing permission is said as such."""
    code = getattr(exc, "sqlite_errorcode", None)
    primary = code & 0xFF if isinstance(code, int) else None
    if primary in _DAMAGE_CODES:
        return ProjectDamagedError(path, f"SQLite: {exc}")
    problem = environment_problem(path) or {13: "full", 8: "read-only", 3: "permission", 23: "permission"}.get(
        primary) or ({errno.ENOSPC: "full", errno.EROFS: "read-only", errno.EACCES: "permission",
                      errno.EPERM: "permission"}.get(getattr(exc, "errno", None)))
    if problem:
        return environment_error(path, problem, f"SQLite: {exc}")
    if primary is None and "malformed" in str(exc).lower():
        return ProjectDamagedError(path, f"SQLite: {exc}")
    return ProjectError(f"the project database {path} could not be opened (SQLite: {exc}); this does not show that "
                        "it is damaged, and nothing was changed: check the disk and try again")


def _connect_immutable(path: Path) -> sqlite3.Connection:
    """A read-only connection to a database on a read-only medium: nothing can change the file there."""
    from urllib.parse import quote

    try:
        conn = sqlite3.connect(f"file:{quote(str(path))}?immutable=1", uri=True, isolation_level=None,
                               check_same_thread=False)
    except sqlite3.Error as exc:
        raise open_failure(path, exc) from None
    try:
        check = conn.execute("PRAGMA quick_check").fetchone()[0]
        if check != "ok":
            raise ProjectDamagedError(path, f"SQLite's check found: {str(check).splitlines()[0][:200]}")
        found = schema_version(conn)
        if found == 0:
            raise ProjectDamagedError(path, "it holds none of the project's tables")
        if found != SCHEMA_VERSION:
            raise ProjectError(f"the project {path.parent} was written by another version of CaDIS Studio (schema "
                               f"{found}, this one uses {SCHEMA_VERSION}) and lies on a read-only medium, so it "
                               "cannot be upgraded: copy it to a writable disk first")
    except sqlite3.DatabaseError as exc:
        conn.close()
        raise open_failure(path, exc) from None
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
