"""Variant sketches: edits made for a repaint never become the frame's label (no journal, no save, no autosave),
edits already made move into a sketch as one undo step, and leaving a sketch shows the frame's label again."""
from __future__ import annotations

import pytest

from engine import edits
from engine.project import Project
from engine.session import AutosavePolicy, ProjectSession

from test_edit_session import Recorder
from test_project_store import make_cadis


@pytest.fixture
def session(tmp_path):
    project = Project.open_or_create(make_cadis(tmp_path / "cadis"))
    s = ProjectSession(Recorder(), AutosavePolicy(500))
    s.open_project(project)
    assert s.set_frame(s.keys()[0])
    yield s
    s.close_project()


def _stroke(s, y=3, cls=7):
    rec = edits.brush_stroke(s.label, [(1, y), (9, y)], 1.0, cls)  # what the canvas paints in place
    s.record_edit(rec)
    return rec


def _stored(s):
    return s.project.load_label(s.key)


def test_sketch_strokes_are_neither_journalled_nor_saved_and_ending_shows_the_label_again(session):
    s, events = session, session.events
    key, base = s.key, s.label.copy()
    label_array = s.label
    sketch = s.start_sketch()
    assert s.sketch is sketch and sketch.base.tobytes() == base.tobytes() and not sketch.has_changes
    assert ("sketch_changed", True) in events.calls
    events.calls.clear()
    _stroke(s)
    _stroke(s, y=6, cls=9)
    assert sketch.has_changes and s.label is label_array  # the canvas keeps painting the same array
    assert s.project.pending_recovery() == {}  # nothing in the journal: a crash recovers nothing into the frame
    assert not any(c[0] in ("autosave_scheduled", "dirty_changed") for c in events.calls)
    assert not s.dirty
    assert s.save() and not s.project.has_saved_label(key)  # Ctrl+S during a sketch writes nothing
    assert ("undo_state_changed", True, False) in events.calls
    s.undo()  # the sketch's own history
    assert sketch.changed().sum() > 0 and (s.label[6] == base[6]).all()
    s.redo()
    mask = s.end_sketch()
    assert (mask[3, 1:10] == 7).all() and (mask[6, 1:10] == 9).all()
    assert s.label is label_array and s.label.tobytes() == base.tobytes()
    assert s.sketch is None and not s.stack().can_undo  # the frame's history never saw the sketch
    assert _stored(s).tobytes() == base.tobytes() and s.project.pending_recovery() == {}
    assert ("sketch_changed", False) in events.calls


def test_edits_since_opening_move_into_the_sketch_as_one_undo_step(session):
    s = session
    key, opened = s.key, s.label.copy()
    _stroke(s)
    _stroke(s, y=5)
    assert s.project.pending_recovery() == {key: 2}
    edited = s.label.copy()
    sketch = s.start_sketch(opened)
    assert s.label.tobytes() == edited.tobytes()  # the canvas still shows the edit, now as the sketch
    assert sketch.base.tobytes() == opened.tobytes() and sketch.moved == int((edited != opened).sum())
    # the frame's label is back as opened; nothing was written (the strokes cancel out), nothing to recover
    assert not s.project.has_saved_label(key) and s.project.pending_recovery() == {}
    assert s.project.status(key) == "unlabelled" and not s.dirty
    s.undo()  # the sketch's one step: the moved edit
    assert s.label.tobytes() == opened.tobytes()
    s.redo()
    assert s.label.tobytes() == edited.tobytes()
    s.end_sketch()
    assert s.label.tobytes() == opened.tobytes()
    # on the frame, the move is one undo step: undo puts the edit back on the frame's label (journalled)
    rec = s.undo()
    assert rec.description == "move the edit into a variant sketch" and s.label.tobytes() == edited.tobytes()
    assert s.dirty and s.project.pending_recovery() == {key: 1}
    s.redo()
    assert s.label.tobytes() == opened.tobytes()


def test_an_edit_already_autosaved_is_taken_back_out_of_the_stored_label(session):
    s = session
    key, opened = s.key, s.label.copy()
    _stroke(s)
    assert s.save() and (_stored(s)[3, 1:10] == 7).all()  # the autosave wrote the instrument into the label
    s.start_sketch(opened)
    assert _stored(s).tobytes() == opened.tobytes() and s.project.pending_recovery() == {}
    s.project.close()  # and after reopening the project
    s.project = Project.open_or_create(s.project.root)
    assert s.project.load_label(key).tobytes() == opened.tobytes()


def test_switching_frames_or_closing_ends_the_sketch_without_touching_the_label(session, tmp_path):
    s = session
    key, base = s.key, s.label.copy()
    s.start_sketch()
    _stroke(s)
    assert s.set_frame(s.keys()[1]) and s.sketch is None
    assert not s.project.has_saved_label(key) and s.project.pending_recovery() == {}
    assert s.set_frame(key) and s.label.tobytes() == base.tobytes()
    s.start_sketch()
    _stroke(s)
    root = s.project.root
    assert s.close_project() and s.sketch is None
    with Project.open_or_create(root) as again:
        assert again.load_label(key).tobytes() == base.tobytes() and again.pending_recovery() == {}


def test_a_save_that_failed_as_the_sketch_began_is_retried_with_the_frame_label_not_the_sketch(session, monkeypatch):
    s = session
    key = s.key
    _stroke(s, y=2, cls=3)  # a real correction, not saved yet
    corrected = s.label.copy()
    real_save = s.project.save_label
    monkeypatch.setattr(s.project, "save_label", lambda *_a: (_ for _ in ()).throw(OSError("disk full")))
    s.start_sketch()
    assert s.dirty and any(c[0] == "error" and "disk full" in c[1] for c in s.events.calls)
    monkeypatch.setattr(s.project, "save_label", real_save)
    _stroke(s, y=7, cls=9)  # the variant
    assert s.save() and not s.dirty
    assert _stored(s).tobytes() == corrected.tobytes()  # the correction, without the sketch's stroke
    assert (s.label[7, 1:10] == 9).all() and s.sketch is not None and s.key == key
