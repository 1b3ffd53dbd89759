"""Saving and recovery through the window: autosave, save on frame switch and close, crash recovery, export."""
from __future__ import annotations

import numpy as np
import pytest

from desktop.workers import DONE
from tests.gui.window_helpers import (STROKE_CLASS, crash, make_settings, middle_stroke, open_window, paint,
                                      saved_label)

pytestmark = pytest.mark.gui


def test_autosave_after_idle_writes_the_label(qtbot, phantom_root, tmp_path):
    w = open_window(qtbot, phantom_root, tmp_path / "proj", make_settings(tmp_path / "s.ini", autosave_ms=300))
    key = w.doc.key
    assert not w.doc.project.has_saved_label(key)
    paint(w, middle_stroke(w))
    assert w.doc.dirty
    qtbot.waitUntil(lambda: not w.doc.dirty, timeout=5000)
    np.testing.assert_array_equal(saved_label(w, key), w.doc.label)
    assert w.doc.project.pending_recovery() == {}  # the save contains every journalled stroke
    assert w.doc.project.status(key) == "in_progress"
    assert w.saved_label.text() == "Saved"


def test_frame_switch_saves_and_keeps_undo_history(qtbot, phantom_root, tmp_path):
    w = open_window(qtbot, phantom_root, tmp_path / "proj", make_settings(tmp_path / "s.ini"))
    first = w.doc.key
    original = w.doc.label.copy()
    paint(w, middle_stroke(w))
    painted = w.doc.label.copy()
    w.actions["nav.next"].trigger()
    assert w.doc.key != first and not w.doc.dirty
    np.testing.assert_array_equal(saved_label(w, first), painted)
    assert w.frames.status_of(first) == "in_progress"
    w.actions["nav.prev"].trigger()
    np.testing.assert_array_equal(w.doc.label, painted)
    w.actions["edit.undo"].trigger()  # the stack of a recently visited frame is kept
    np.testing.assert_array_equal(w.doc.label, original)


def test_close_saves(qtbot, phantom_root, tmp_path):
    w = open_window(qtbot, phantom_root, tmp_path / "proj", make_settings(tmp_path / "s.ini"))
    key = w.doc.key
    paint(w, middle_stroke(w))
    painted = w.doc.label.copy()
    project = w.doc.project
    assert w.close()
    from engine.project import Project

    with Project.open_or_create(phantom_root, tmp_path / "proj") as p:
        np.testing.assert_array_equal(p.load_label(key), painted)
        assert p.pending_recovery() == {}
    assert project is not None


def _crash_with_strokes(qtbot, phantom_root, tmp_path, undo_last: bool = False):
    w = open_window(qtbot, phantom_root, tmp_path / "proj", make_settings(tmp_path / "a.ini"))
    key = w.doc.key
    original = w.doc.label.copy()
    h, width = original.shape
    paint(w, middle_stroke(w))
    after_first = w.doc.label.copy()
    paint(w, [(width // 2, y) for y in range(h // 4, 3 * h // 4, 8)], cls=STROKE_CLASS - 1)
    if undo_last:
        w.doc.undo()
    expected = w.doc.label.copy()
    assert w.doc.dirty and not w.doc.project.has_saved_label(key)
    crash(w)
    return key, original, after_first, expected


def test_recovery_after_simulated_crash_restores_strokes(qtbot, phantom_root, tmp_path):
    key, original, _, expected = _crash_with_strokes(qtbot, phantom_root, tmp_path)
    assert not np.array_equal(expected, original)
    w2 = open_window(qtbot, phantom_root, tmp_path / "proj", make_settings(tmp_path / "b.ini", recovery="recover"))
    assert w2.doc.project.pending_recovery() == {}
    w2.show_frame(key)
    np.testing.assert_array_equal(w2.doc.label, expected)
    np.testing.assert_array_equal(saved_label(w2, key), expected)


def test_recovery_replays_undo_too(qtbot, phantom_root, tmp_path):
    key, _, after_first, expected = _crash_with_strokes(qtbot, phantom_root, tmp_path, undo_last=True)
    np.testing.assert_array_equal(expected, after_first)
    w2 = open_window(qtbot, phantom_root, tmp_path / "proj", make_settings(tmp_path / "b.ini", recovery="recover"))
    w2.show_frame(key)
    np.testing.assert_array_equal(w2.doc.label, after_first)


def test_recovery_asks_and_can_discard(qtbot, phantom_root, tmp_path, monkeypatch):
    key, original, _, _ = _crash_with_strokes(qtbot, phantom_root, tmp_path)
    asked = []
    monkeypatch.setattr("desktop.main_window.ask_recovery", lambda parent, pending: asked.append(pending) or False)
    w2 = open_window(qtbot, phantom_root, tmp_path / "proj", make_settings(tmp_path / "b.ini", recovery="ask"))
    assert asked == [{key: 2}]
    assert w2.doc.project.pending_recovery() == {}
    w2.show_frame(key)
    np.testing.assert_array_equal(w2.doc.label, original)


def test_export_runs_as_a_job(qtbot, phantom_root, tmp_path):
    w = open_window(qtbot, phantom_root, tmp_path / "proj", make_settings(tmp_path / "s.ini"))
    key = w.doc.key
    paint(w, middle_stroke(w))
    w.set_status("done")
    out = tmp_path / "export"
    handle = w.export({"out_dir": str(out), "experiment": None, "split": "all", "statuses": ("done",),
                       "previews": False})
    with qtbot.waitSignal(handle.finished, timeout=30_000):
        pass
    assert handle.state == DONE, handle.error
    assert handle.result.result.frames == 1
    assert (out / "class_frequency.md").is_file()  # the report is part of every export
    from engine.imageio import read_label

    exported = list(out.rglob("Labels/*.png"))
    assert len(exported) == 1 and exported[0].name == key.rsplit("/", 1)[-1]
    np.testing.assert_array_equal(read_label(exported[0]), w.doc.label)


def test_export_error_becomes_a_job_message(qtbot, phantom_root, tmp_path):
    w = open_window(qtbot, phantom_root, tmp_path / "proj", make_settings(tmp_path / "s.ini"))
    bad = tmp_path / "a_file"
    bad.write_text("not a folder")
    handle = w.export({"out_dir": str(bad), "experiment": None, "split": "all", "previews": False})
    with qtbot.waitSignal(handle.finished, timeout=30_000):
        pass
    assert handle.state == "failed" and handle.error
    assert w.jobs_panel.row_for(handle).status_text().startswith("Failed")
