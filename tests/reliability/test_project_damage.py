"""A damaged project database is kept, reported in the project's own words and can be rebuilt from the
label PNGs and the journal; a full disk while setting a status or closing is the project's own error."""
from __future__ import annotations

import sqlite3
from pathlib import Path

import numpy as np
import pytest

from engine.cli import main
from engine.edits import UndoRecord
from engine.project import Project, ProjectError
from engine.project.errors import ProjectDamagedError
from engine.project.rebuild import rebuild_database
from tests.reliability import tally
from tests.reliability.helpers import make_dataset


def _project_with_work(tmp_path: Path, frames=((1, 1), (1, 2), (5, 1))):
    """A project with one saved label (status done, a note), one unsaved journal stroke on another frame
    and one synthetic pair; returns (dataset, project folder, the keys)."""
    ds = make_dataset(tmp_path / "ds", frames=frames)
    p = Project.open_or_create(ds)
    saved, drawn = p.frame_keys()[0], p.frame_keys()[1]
    label = p.load_label(saved).copy()
    label[:8, :8] = 7
    p.save_label(saved, label)
    p.set_status(saved, "done", "checked twice")
    before = p.load_label(drawn)[2:6, 2:6].copy()
    p.journal_append(drawn, UndoRecord(2, 2, before, np.full_like(before, 9), "brush"))
    p.add_pair(np.zeros((8, 8, 3), np.uint8), np.full((8, 8), 3, np.uint8), "synthesis", {"seed": 1}, saved)
    root = p.root
    p.close()
    return ds, root, saved, drawn


def _corrupt_a_page(db: Path, page: int = 4) -> None:
    data = bytearray(db.read_bytes())
    data[4096 * (page - 1): 4096 * (page - 1) + 300] = b"\xff" * 300
    db.write_bytes(bytes(data))


def _check_rebuilt(ds, root, saved, drawn) -> None:
    with Project.open_or_create(ds) as p:
        assert p.integrity_check() == "ok"
        assert p.load_label(saved)[0, 0] == 7
        assert p.pending_recovery() == {drawn: 1}  # the unsaved stroke is still offered
        assert p.recover(drawn)[3, 3] == 9
        assert len(p.pairs()) == 1


def test_emptied_database_is_kept_reported_and_rebuilt(tmp_path, capsys):
    ds, root, saved, drawn = _project_with_work(tmp_path)
    db = root / "project.sqlite"
    db.write_bytes(b"")
    with pytest.raises(ProjectDamagedError, match="empty") as info:
        Project.open_or_create(ds)
    assert "rebuild-project" in str(info.value)
    assert db.stat().st_size == 0, "the damaged file was replaced"
    # a command on the project gives one line and exits non-zero
    assert main(["export", str(root), str(tmp_path / "out"), "--no-progress"]) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and "damaged" in err and "Traceback" not in err
    assert main(["rebuild-project", str(root)]) == 0
    assert "kept as project.sqlite.damaged-" in capsys.readouterr().out
    kept = list(root.glob("project.sqlite.damaged-*"))
    assert len(kept) == 1 and kept[0].stat().st_size == 0
    _check_rebuilt(ds, root, saved, drawn)
    tally.add("fuzz_cases")
    tally.add("fuzz_refused")


def test_corrupt_page_is_the_projects_error_and_statuses_are_salvaged(tmp_path):
    ds, root, saved, drawn = _project_with_work(tmp_path, frames=tuple((1, i) for i in range(1, 300)))
    db = root / "project.sqlite"
    with sqlite3.connect(db) as c:  # damage the pairs table's page, keep the frames table readable
        page = c.execute("SELECT rootpage FROM sqlite_master WHERE name='pairs'").fetchone()[0]
    c.close()
    _corrupt_a_page(db, page)
    damaged = db.read_bytes()
    with pytest.raises(ProjectDamagedError) as info:
        Project.open_or_create(ds)
    assert not isinstance(info.value, sqlite3.Error) and "malformed" in str(info.value)
    assert db.read_bytes() == damaged
    result = rebuild_database(root)
    assert result.damaged_copy.read_bytes() == damaged
    assert result.labels == 1 and result.pairs == 1 and result.journal_strokes == 1
    _check_rebuilt(ds, root, saved, drawn)
    with Project.open_or_create(ds) as p:
        assert p.status(saved) == "done" and p.note(saved) == "checked twice"  # salvaged from the old file
    tally.add("fuzz_cases")
    tally.add("fuzz_refused")


def test_database_of_another_kind_is_not_turned_into_a_project(tmp_path):
    ds, root, *_ = _project_with_work(tmp_path)
    db = root / "project.sqlite"
    db.unlink()
    with sqlite3.connect(db) as c:
        c.execute("CREATE TABLE notes (x)")
    c.close()
    with pytest.raises(ProjectDamagedError, match="none of the project's tables"):
        Project.open_or_create(ds)
    with sqlite3.connect(db) as c:
        assert [r[0] for r in c.execute("SELECT name FROM sqlite_master")] == ["notes"]
    c.close()


def test_full_disk_while_setting_a_status_is_a_project_error(tmp_path):
    ds = make_dataset(tmp_path / "ds", frames=tuple((1, i) for i in range(1, 200)))
    p = Project.open_or_create(ds)
    try:
        pages = p._conn.execute("PRAGMA page_count").fetchone()[0]
        p._conn.execute(f"PRAGMA max_page_count={pages}")  # SQLite's own SQLITE_FULL once the file must grow
        with pytest.raises(ProjectError, match="disk is full"):
            for k in p.frame_keys():
                p.set_status(k, "done", "x" * 500)
        p._conn.execute("PRAGMA max_page_count=1000000")
        p.set_status(p.frame_keys()[-1], "flagged")  # works again once there is room
        assert p.status(p.frame_keys()[-1]) == "flagged"
    finally:
        p.close()


class _FullDiskConnection:
    """A connection whose checkpoint fails like a full disk."""

    def __init__(self, conn):
        self._conn = conn

    def execute(self, sql, *args):
        if "wal_checkpoint" in sql:
            raise sqlite3.OperationalError("database or disk is full")
        return self._conn.execute(sql, *args)

    def __getattr__(self, name):
        return getattr(self._conn, name)


def test_full_disk_while_closing_is_a_project_error_and_loses_nothing(tmp_path):
    ds = make_dataset(tmp_path / "ds")
    p = Project.open_or_create(ds)
    key = p.frame_keys()[0]
    p.set_status(key, "done")
    p._conn = _FullDiskConnection(p._conn)
    with pytest.raises(ProjectError, match="disk is full"):
        p.close()
    assert p._conn is None  # closed anyway
    with Project.open_or_create(ds) as again:  # the commit was in the WAL
        assert again.status(key) == "done"


def test_app_shows_the_damage_and_offers_the_rebuild(tmp_path, qtbot, monkeypatch):
    import desktop.main_window as mw
    from tests.gui.window_helpers import make_settings

    ds, root, saved, drawn = _project_with_work(tmp_path)
    (root / "project.sqlite").write_bytes(b"")
    w = mw.MainWindow(make_settings(tmp_path / "settings.json", recovery="discard"))
    qtbot.addWidget(w)
    asked: list[str] = []
    monkeypatch.setattr(mw, "ask_rebuild", lambda parent, message: asked.append(message) or False)
    assert not w.open_source(root, recovery="skip")
    assert "damaged" in asked[0] and "empty" in asked[0]
    assert "damaged" in w.problems_dialog.intro.text() and (root / "project.sqlite").stat().st_size == 0
    monkeypatch.setattr(mw, "ask_rebuild", lambda parent, message: True)
    assert w.open_source(root, recovery="skip")
    w.runner.wait(30_000)
    assert w.doc.project is not None and w.doc.project.pending_recovery() == {drawn: 1}
    assert list(root.glob("project.sqlite.damaged-*"))
    assert "rebuilt" in w.statusBar().currentMessage()
    w.doc.close_project()
