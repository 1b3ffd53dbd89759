"""Reading every row a damaged project database still yields, for a rebuild.

Generic over tables and columns: every table the file still lists (or, when its schema is unreadable, the
tables the project's schema has) is read row by row, forward and then backward from its end, so rows on
both sides of a damaged page are kept. Nothing is ever written to the damaged file: it is opened read-only.
"""
from __future__ import annotations

import contextlib
import sqlite3
from pathlib import Path
from urllib.parse import quote

from engine.project.nofollow import is_regular

Rows = dict[str, list[dict]]  # table name -> rows as {column: value}


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _tables(conn: sqlite3.Connection, known: tuple[str, ...]) -> list[str]:
    names: list[str] = []
    with contextlib.suppress(sqlite3.Error):
        names = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")]
    return [n for n in dict.fromkeys([*names, *known]) if isinstance(n, str) and not n.startswith("sqlite_")]


def _read(conn: sqlite3.Connection, table: str, order: str, rows: dict) -> None:
    """Add the rows of `table` read in rowid `order` to `rows` (rowid -> row) until the first error."""
    with contextlib.suppress(sqlite3.Error, ValueError, OverflowError):
        cur = conn.execute(f"SELECT rowid AS __salvage_rowid, * FROM {_quote(table)} ORDER BY rowid {order}")
        names = [d[0] for d in cur.description]
        for values in cur:
            row = dict(zip(names, values))
            rows.setdefault(row.pop("__salvage_rowid"), row)


def salvage_rows(db_path: Path, known_tables: tuple[str, ...] = ("meta", "frames", "pairs")) -> Rows:
    """{table: rows} of everything `db_path` still yields (empty when nothing can be read)."""
    found: Rows = {}
    if not is_regular(db_path):
        return found
    try:
        conn = sqlite3.connect(f"file:{quote(str(db_path))}?mode=ro", uri=True, timeout=1.0)
    except sqlite3.Error:
        return found
    try:
        for table in _tables(conn, known_tables):
            rows: dict = {}
            _read(conn, table, "ASC", rows)
            _read(conn, table, "DESC", rows)
            if rows:
                found[table] = [rows[k] for k in sorted(rows)]
            else:  # a table WITHOUT ROWID: read in its own order as far as it goes
                plain: list[dict] = []
                with contextlib.suppress(sqlite3.Error, ValueError, OverflowError):
                    cur = conn.execute(f"SELECT * FROM {_quote(table)}")
                    names = [d[0] for d in cur.description]
                    plain.extend(dict(zip(names, values)) for values in cur)
                if plain:
                    found[table] = plain
    finally:
        conn.close()
    return found


def copy_rows(conn: sqlite3.Connection, table: str, rows: list[dict]) -> int:
    """Insert `rows` into `table` of the new database, keeping the columns both have (a row that breaks a
    constraint is skipped); returns how many were inserted."""
    columns: set = set()
    with contextlib.suppress(sqlite3.Error):
        columns = {r[1] for r in conn.execute(f"PRAGMA table_info({_quote(table)})")}
    if not columns:
        return 0
    n = 0
    for row in rows:
        keep = [c for c in row if c in columns]
        if not keep:
            continue
        sql = (f"INSERT OR IGNORE INTO {_quote(table)} ({', '.join(map(_quote, keep))}) "
               f"VALUES ({', '.join('?' * len(keep))})")
        try:
            n += conn.execute(sql, [row[c] for c in keep]).rowcount > 0
        except sqlite3.Error:
            continue
    return n
