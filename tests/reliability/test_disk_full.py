"""Disk full: `ENOSPC` while writing a file, a label, a project save or the journal.

Promise: the error reaches the caller (and the window shows it), the previous file stays intact and
readable, no temp file is left behind, and strokes not yet saved stay in the journal for recovery.
"""
from __future__ import annotations

import errno
import os

import numpy as np
import pytest

import engine.atomic
from engine.atomic import atomic_write_bytes
from engine.imageio import read_label, write_label
from engine.project import Project
from engine.project.journal import Journal, JournalEntry
from tests.reliability import tally
from tests.reliability.helpers import HalfThenFull, enospc, frame_key, leftover_temp_files, make_dataset

FAULTS = ("write", "fsync")


def _inject(monkeypatch, fault: str) -> None:
    """Make the next atomic write fail with ENOSPC at `fault`."""
    if fault == "write":
        real_fdopen = os.fdopen
        monkeypatch.setattr(engine.atomic.os, "fdopen", lambda *a, **k: HalfThenFull(real_fdopen(*a, **k)))
    else:
        monkeypatch.setattr(engine.atomic.os, "fsync", enospc)


@pytest.mark.parametrize("fault", FAULTS)
@pytest.mark.parametrize("existing", [True, False], ids=["replace", "new"])
def test_atomic_write_on_full_disk(tmp_path, monkeypatch, fault, existing):
    target = tmp_path / "données" / "file.bin"
    target.parent.mkdir()
    if existing:
        target.write_bytes(b"old complete content")
    _inject(monkeypatch, fault)
    with pytest.raises(OSError) as info:
        atomic_write_bytes(target, b"new content " * 1000)
    assert info.value.errno == errno.ENOSPC
    monkeypatch.undo()
    if existing:
        assert target.read_bytes() == b"old complete content"
    else:
        assert not target.exists()
    assert sorted(p.name for p in target.parent.iterdir()) == (["file.bin"] if existing else [])
    tally.add("disk_full_cases")


@pytest.mark.parametrize("fault", FAULTS)
def test_label_write_on_full_disk_keeps_previous_label(tmp_path, monkeypatch, fault):
    path = tmp_path / "Video01_frame000001.png"
    old = np.arange(36, dtype=np.uint8).repeat(20).reshape(24, 30)
    write_label(path, old)
    _inject(monkeypatch, fault)
    with pytest.raises(OSError, match="No space left"):
        write_label(path, np.full((24, 30), 7, np.uint8))
    monkeypatch.undo()
    np.testing.assert_array_equal(read_label(path), old)
    assert leftover_temp_files(tmp_path) == []
    tally.add("disk_full_cases")


@pytest.fixture
def project(tmp_path):
    ds = make_dataset(tmp_path / "dataset")
    with Project.open_or_create(ds, tmp_path / "proj.cadis-project") as proj:
        yield proj


@pytest.mark.parametrize("fault", FAULTS)
def test_project_save_on_full_disk_keeps_label_and_strokes(project, monkeypatch, fault):
    from engine.edits import brush_stroke

    key = frame_key(1, 1)
    v1 = project.load_label(key).copy()
    v1[:4, :4] = 34
    project.save_label(key, v1)
    v2 = v1.copy()
    rec = brush_stroke(v2, [(5, 5), (40, 20)], 3, 13)
    project.journal_append(key, rec)
    assert project.pending_recovery() == {key: 1}
    _inject(monkeypatch, fault)
    with pytest.raises(OSError, match="No space left"):
        project.save_label(key, v2)
    monkeypatch.undo()
    np.testing.assert_array_equal(read_label(project.label_path(key)), v1)  # the previous save, intact
    assert leftover_temp_files(project.root) == []
    assert project.pending_recovery() == {key: 1}, "the unsaved stroke must stay offered for recovery"
    np.testing.assert_array_equal(project.recover(key), v2)
    assert project.integrity_check() == "ok"
    project.save_label(key, v2)  # space is back: saving works and clears the journal
    assert project.pending_recovery() == {}
    np.testing.assert_array_equal(read_label(project.label_path(key)), v2)
    tally.add("disk_full_cases")


def _half_write_then_full(real_write):
    calls = {"n": 0}

    def write(fd, data):
        calls["n"] += 1
        if calls["n"] == 1:
            real_write(fd, bytes(data)[: len(data) // 2])
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        return real_write(fd, data)

    return write


def test_journal_append_on_full_disk_raises_and_keeps_earlier_strokes(tmp_path, monkeypatch):
    journal = Journal(tmp_path / "journal.bin", fsync=False)
    first = JournalEntry("Video01/Images/Video1_frame000001.png", 0, b"first stroke")
    journal.append(first)
    monkeypatch.setattr(os, "write", enospc)
    with pytest.raises(OSError, match="No space left"):
        journal.append(JournalEntry(first.key, 0, b"second stroke"))
    monkeypatch.undo()
    assert journal.entries() == [first]
    journal.close()
    tally.add("disk_full_cases")


def test_journal_strokes_after_a_torn_append_stay_readable(tmp_path, monkeypatch):
    """A disk that fills up in the middle of an append must not make later strokes unreadable."""
    journal = Journal(tmp_path / "journal.bin", fsync=False)
    first = JournalEntry("k.png", 0, b"first stroke")
    third = JournalEntry("k.png", 0, b"third stroke")
    journal.append(first)
    monkeypatch.setattr(os, "write", _half_write_then_full(os.write))
    with pytest.raises(OSError):
        journal.append(JournalEntry("k.png", 0, b"second stroke, torn by the full disk"))
    journal.append(third)  # space is back
    monkeypatch.undo()
    assert journal.entries() == [first, third]
    journal.close()
    assert Journal(tmp_path / "journal.bin", fsync=False).entries() == [first, third]
    tally.add("disk_full_cases")


# ------------------------------------------------------------------------------------------- in the window
@pytest.mark.gui
def test_window_shows_disk_full_and_keeps_working(qtbot, tmp_path, monkeypatch):
    pytest.importorskip("desktop.main_window")
    from tests.gui.window_helpers import make_settings, middle_stroke, open_window, paint

    ds = make_dataset(tmp_path / "dataset")
    w = open_window(qtbot, ds, tmp_path / "proj", make_settings(tmp_path / "s.ini"))
    key = w.doc.key
    before = w.doc.project.load_label(key).copy()
    paint(w, middle_stroke(w))
    assert w.doc.dirty
    painted = w.doc.label.copy()
    monkeypatch.setattr(engine.atomic.os, "fsync", enospc)
    assert w.doc.save() is False
    assert "No space left" in w.last_error and "free disk space" in w.last_error
    assert w.statusBar().currentMessage() == w.last_error
    assert w.doc.dirty, "a failed save must not mark the frame clean"
    np.testing.assert_array_equal(w.doc.project.load_label(key), before)
    assert leftover_temp_files(w.doc.project.root) == []
    assert w.doc.pending_recovery().get(key, 0) >= 1
    monkeypatch.undo()
    assert w.doc.save() is True
    np.testing.assert_array_equal(w.doc.project.load_label(key), painted)
    tally.add("disk_full_cases")
