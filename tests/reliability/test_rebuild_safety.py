"""A rebuild never destroys: a full disk or read-only medium is not called damage, the only sound database is
never moved aside before its replacement is complete, a kill -9 at any step of a rebuild loses nothing, and
everything the damaged file still yields (statuses, notes, pairs' parents, review states, provenance, rows of
any table) comes back."""
from __future__ import annotations

import errno
import hashlib
import os
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from engine.export import export_cadis, read_manifest
from engine.project import Project, ProjectError
from engine.project import db as dbm
from engine.project.errors import ProjectDamagedError
from engine.project.rebuild import rebuild_database
from tests.reliability import tally
from tests.reliability.data_loss_helpers import one_clear_line, run_cli
from tests.reliability.helpers import H, W, make_dataset

FRAMES = ((1, 1), (2, 1), (5, 1))  # video 1 train, 2 test, 5 val
REPO = Path(__file__).resolve().parents[2]
KILL_HOOK = "CADIS_TEST_REBUILD_KILL_AT"  # engine.project.rebuild.KILL_HOOK


def _work(ds: Path, n_pairs: int = 6) -> dict:
    """Statuses, notes and pairs (parent, accepted or not, provenance) of a new project; returns them."""
    with Project.open_or_create(ds) as p:
        keys = p.frame_keys()
        for i, key in enumerate(keys):
            p.set_status(key, ("done", "flagged", "rejected")[i % 3], f"note {i}")
        for i in range(n_pairs):
            pid = p.add_pair(np.zeros((H, W, 3), np.uint8), np.full((H, W), i % 36, np.uint8), "synthesis",
                             {"seed": i, "prompt": f"pair-{i:03d}-" + "x" * 400}, parent_key=keys[i % len(keys)])
            if i % 2 == 0:
                p.set_pair_status(pid, "accepted")
        return _snapshot(p)


def _snapshot(p: Project) -> dict:
    return {"statuses": p.statuses(), "notes": {k: p.note(k) for k in p.frame_keys()},
            "pairs": {r.id: (r.parent_key, r.status, r.provenance) for r in p.pairs()}}


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _damage_index(db: Path) -> None:
    """Damage the pairs_status index only: SQLite's check fails, every table row is still readable."""
    with sqlite3.connect(db) as c:
        page = c.execute("SELECT rootpage FROM sqlite_master WHERE name='pairs_status'").fetchone()[0]
    c.close()
    data = bytearray(db.read_bytes())
    data[4096 * (page - 1) + 8: 4096 * page] = b"\xff" * (4096 - 8)
    db.write_bytes(bytes(data))


@pytest.fixture
def small_disk(tmp_path):
    """A 4 MiB file system of its own (tmpfs), so a full disk and a read-only medium are real."""
    mnt = tmp_path / "disk"
    mnt.mkdir()
    if subprocess.run(["mount", "-t", "tmpfs", "-o", "size=4m", "tmpfs", str(mnt)], capture_output=True).returncode:
        pytest.skip("cannot mount a small file system here (needs root)")
    yield mnt
    subprocess.run(["umount", "-l", str(mnt)], capture_output=True)


def _fill(folder: Path) -> Path:
    filler = folder / "filler"
    with open(filler, "wb") as fh:
        try:
            while True:
                fh.write(b"\0" * 65536)
                fh.flush()
        except OSError as exc:
            assert exc.errno == errno.ENOSPC
    return filler


def test_full_disk_is_not_damage_and_a_rebuild_there_changes_nothing(small_disk, capsys):
    ds = make_dataset(small_disk / "ds", frames=FRAMES)
    expected = _work(ds)
    root = small_disk / "ds.cadis-project"
    db = root / "project.sqlite"
    before = _sha(db)
    filler = _fill(small_disk)
    with pytest.raises(ProjectError) as info:
        Project.open_or_create(ds)
    assert not isinstance(info.value, ProjectDamagedError)
    assert "full" in str(info.value) and "rebuild-project" not in str(info.value)
    code, _, err = run_cli(capsys, "export", root, small_disk.parent / "out", "--no-progress")
    line = one_clear_line(err)
    assert code != 0 and "full" in line and "is damaged" not in line and "rebuild-project" not in line
    code, _, err = run_cli(capsys, "rebuild-project", root)  # someone follows old advice anyway
    line = one_clear_line(err)
    assert code != 0 and "full" in line
    assert _sha(db) == before, "the sound database was changed"
    assert not list(root.glob("project.sqlite.*")) and not list(root.glob(".project.sqlite.*"))
    filler.unlink()  # space freed: everything is there
    with Project.open_or_create(ds) as p:
        assert _snapshot(p) == expected
    tally.add("disk_full_cases", 2)


def test_read_only_medium_is_not_damage(small_disk):
    ds = make_dataset(small_disk / "ds", frames=FRAMES)
    expected = _work(ds)
    subprocess.run(["mount", "-o", "remount,ro", str(small_disk)], check=True)
    with pytest.raises(ProjectError) as info:
        Project.open_or_create(ds)
    assert not isinstance(info.value, ProjectDamagedError)
    assert "read-only" in str(info.value) and "rebuild-project" not in str(info.value)
    with Project.open_or_create(ds, read_only=True) as p:
        assert _snapshot(p) == expected


class _SQLiteFailure(sqlite3.OperationalError):
    def __init__(self, code: int, text: str):
        super().__init__(text)
        self.sqlite_errorcode = code


@pytest.mark.parametrize("code, words", [(13, "full"), (8, "read-only"), (3, "may not write"), (23, "may not write")])
def test_sqlite_refusals_are_told_apart_from_damage(tmp_path, monkeypatch, code, words):
    ds = make_dataset(tmp_path / "ds", frames=FRAMES)
    Project.open_or_create(ds).close()
    real_connect = sqlite3.connect

    class Refusing:  # the connection SQLite gives on a full/read-only/forbidden disk: its first write fails
        def __init__(self, conn):
            self._conn = conn

        def execute(self, sql, *args):
            if "journal_mode" in sql:
                raise _SQLiteFailure(code, "refused")
            return self._conn.execute(sql, *args)

        def __getattr__(self, name):
            return getattr(self._conn, name)

    monkeypatch.setattr(sqlite3, "connect", lambda *a, **k: Refusing(real_connect(*a, **k)))
    with pytest.raises(ProjectError) as info:
        Project.open_or_create(ds)
    assert not isinstance(info.value, ProjectDamagedError) and words in str(info.value)
    monkeypatch.setattr(sqlite3, "connect", real_connect)
    assert isinstance(dbm.open_failure(tmp_path / "x", _SQLiteFailure(11, "malformed")), ProjectDamagedError)


STEPS = ("salvaged", "written", "checked", "kept", "cleared", "swapped")


def test_a_kill_at_any_step_of_a_rebuild_loses_nothing(tmp_path):
    template = tmp_path / "template"
    ds = make_dataset(template / "ds", frames=FRAMES)
    expected = _work(ds)
    _damage_index(template / "ds.cadis-project" / "project.sqlite")
    with pytest.raises(ProjectDamagedError):
        Project.open_or_create(ds)
    for step in STEPS:
        work = tmp_path / step
        shutil.copytree(template, work, symlinks=True)
        root = work / "ds.cadis-project"
        env = {**os.environ, KILL_HOOK: step, "PYTHONPATH": str(REPO)}
        proc = subprocess.run([sys.executable, "-m", "engine", "rebuild-project", str(root)], env=env,
                              capture_output=True, text=True, timeout=120)
        assert proc.returncode == -9, f"{step}: the rebuild was not killed ({proc.returncode}, {proc.stderr})"
        if step != "swapped":  # the old file stays until the new one is in place; opening says so
            with pytest.raises(ProjectDamagedError, match="rebuild"):
                Project.open_or_create(work / "ds")
            result = rebuild_database(root)  # running it again finishes it
            assert result.statuses_salvaged == len(FRAMES) and result.pairs_salvaged == len(expected["pairs"])
        with Project.open_or_create(work / "ds") as p:
            assert p.integrity_check() == "ok"
            assert _snapshot(p) == expected, f"lost work after a kill at {step!r}"
        assert [c.name for c in root.glob("project.sqlite.damaged-*") if not c.name.endswith("-wal")], step
        assert not list(root.glob(".project.sqlite.rebuild-*")) and not (root / "project.sqlite.rebuilt").exists()
        tally.add("rebuild_kills")


def _page_of(db: Path, marker: bytes) -> int:
    return db.read_bytes().index(marker) // 4096 + 1


def test_pairs_keep_parent_split_and_acceptance_past_a_damaged_page(tmp_path):
    ds = make_dataset(tmp_path / "ds", frames=FRAMES)
    expected = _work(ds, n_pairs=60)  # ~8 pairs per page: the pairs table spans several pages
    db = tmp_path / "ds.cadis-project" / "project.sqlite"
    page = _page_of(db, b"pair-030-")
    data = bytearray(db.read_bytes())
    data[4096 * (page - 1): 4096 * page] = b"\xff" * 4096  # one page in the middle of the pairs table
    db.write_bytes(bytes(data))
    result = rebuild_database(tmp_path / "ds.cadis-project")
    assert result.pairs == 60
    with Project.open_or_create(ds) as p:
        got = _snapshot(p)
        kept = {i for i, v in got["pairs"].items() if v == expected["pairs"][i]}
        lost = set(expected["pairs"]) - kept
        assert len(lost) <= 10, f"{len(lost)} pairs lost their parent/state (rows after the bad page too)"
        assert max(kept) == 60 and min(kept) == 1  # rows on both sides of the damaged page
        for i in lost:  # a pair whose row is gone comes back pending, never accepted without a parent
            assert got["pairs"][i][1] == "pending"
        assert got["statuses"] == expected["statuses"] and got["notes"] == expected["notes"]
        export_cadis(p, tmp_path / "out", split="all", include=("real", "synthetic"))
    synthetic = [f for f in read_manifest(tmp_path / "out")["frames"] if f["source"] != "real"]
    parents = {f["provenance"].get("seed") % 3 for f in synthetic}
    assert parents == {0} and all(f["split"] == "train" for f in synthetic)  # test/val pairs stay out
    assert len(synthetic) == len([i for i in kept if expected["pairs"][i][1] == "accepted"
                                  and expected["pairs"][i][0].startswith("Video01")])


def test_rows_of_any_table_survive_a_rebuild(tmp_path, monkeypatch):
    """A table added by a later schema version (here a stand-in for model-made pixel records) is salvaged
    like the project's own tables: every row the damaged file yields is copied."""
    extra = ("CREATE TABLE later_records (pair_id INTEGER NOT NULL, pixels INTEGER NOT NULL, reviewed INTEGER); "
             "CREATE TABLE tags (name TEXT PRIMARY KEY, colour TEXT) WITHOUT ROWID")
    monkeypatch.setattr(dbm, "MIGRATIONS", (*dbm.MIGRATIONS, extra))
    monkeypatch.setattr(dbm, "SCHEMA_VERSION", len(dbm.MIGRATIONS))
    ds = make_dataset(tmp_path / "ds", frames=FRAMES)
    _work(ds)
    with Project.open_or_create(ds) as p:
        p._conn.executemany("INSERT INTO later_records VALUES (?, ?, ?)", [(i, i * 100, i % 2) for i in range(1, 7)])
        p._conn.executemany("INSERT INTO tags VALUES (?, ?)", [("keep", "green"), ("check", "red")])
    _damage_index(tmp_path / "ds.cadis-project" / "project.sqlite")
    result = rebuild_database(tmp_path / "ds.cadis-project")
    assert result.other_rows == 8
    with Project.open_or_create(ds) as p:
        rows = sorted(p._conn.execute("SELECT pair_id, pixels, reviewed FROM later_records"))
        tags = sorted(p._conn.execute("SELECT name, colour FROM tags"))
    assert rows == [(i, i * 100, i % 2) for i in range(1, 7)]
    assert tags == [("check", "red"), ("keep", "green")]


def test_app_on_a_full_disk_says_so_and_offers_no_rebuild(small_disk, tmp_path, qtbot, monkeypatch):
    import desktop.main_window as mw
    from tests.gui.window_helpers import make_settings

    ds = make_dataset(small_disk / "ds", frames=FRAMES)
    expected = _work(ds)
    root = small_disk / "ds.cadis-project"
    before = _sha(root / "project.sqlite")
    filler = _fill(small_disk)
    w = mw.MainWindow(make_settings(tmp_path / "settings.json", recovery="discard"))
    qtbot.addWidget(w)
    asked: list[str] = []
    monkeypatch.setattr(mw, "ask_rebuild", lambda parent, message: asked.append(message) or True)
    assert not w.open_source(root, recovery="skip")
    assert asked == [], "the app offered to rebuild a sound database on a full disk"
    shown = w.problems_dialog.intro.text() + " " + str(getattr(w.problems_dialog, "detail", ""))
    assert "full" in shown and "is damaged" not in shown
    assert _sha(root / "project.sqlite") == before and not list(root.glob("project.sqlite.*"))
    filler.unlink()
    with Project.open_or_create(ds) as p:
        assert _snapshot(p) == expected
