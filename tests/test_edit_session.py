"""The Qt-free edit session: journal before anything else, undo journalled, autosave policy, pair recovery."""
from __future__ import annotations

import numpy as np
import pytest

from engine import edits
from engine.project import Project
from engine.session import AutosavePolicy, ProjectSession, SessionEvents, open_pair

from test_project_store import make_cadis


class Recorder(SessionEvents):
    def __init__(self):
        self.calls = []

    def __getattribute__(self, name):
        if name in SessionEvents.__dict__ and not name.startswith("_"):
            return lambda *args: object.__getattribute__(self, "calls").append((name, *args))
        return object.__getattribute__(self, name)


@pytest.fixture
def project(tmp_path):
    p = Project.open_or_create(make_cadis(tmp_path / "cadis"))
    yield p
    p.close()


def test_a_finished_stroke_is_in_the_journal_when_record_returns(project):
    events = Recorder()
    session = ProjectSession(events, AutosavePolicy(500))
    session.open_project(project)
    key = session.keys()[0]
    assert session.set_frame(key)
    before = session.current.label.copy()
    rec = edits.brush_stroke(session.current.label, [(2, 2), (8, 2)], 1.5, 13)  # what the canvas paints
    session.record_edit(rec)
    assert project.pending_recovery() == {key: 1}
    assert np.array_equal(project.recover(key), session.current.label)
    assert ("autosave_scheduled", 500) in events.calls and ("dirty_changed", True) in events.calls
    session.undo()  # journalled as the inverse: replay gives what is shown
    assert project.pending_recovery() == {key: 2}
    assert np.array_equal(project.recover(key), before)
    assert session.save() and not session.dirty and project.pending_recovery() == {}
    assert ("saved", key) in events.calls and ("autosave_cancelled",) in events.calls


def test_autosave_policy_waits_for_quiet():
    policy = AutosavePolicy(1000)
    assert not policy.due(0.0)
    assert policy.edited(now=10.0) and not policy.due(now=10.5)
    policy.edited(now=10.8)
    assert not policy.due(now=11.5) and policy.due(now=11.8)
    policy.saved()
    assert not policy.due(now=99.0)
    assert not AutosavePolicy(0).edited()


def test_pair_strokes_are_journalled_and_replayed_by_the_next_session(project):
    key = project.frame_keys()[0]
    image, label = project.load_image(key), project.load_label(key)
    pid = project.add_pair(image, label, "synthesis", {}, parent_key=key)
    session, recovered = open_pair(project, pid)
    assert recovered == 0
    session.apply(edits.brush_stroke, [(1, 1), (6, 4)], 1.0, 20)
    session.apply(edits.flood_fill, (0, 0), 3)
    shown = session.label.copy()
    assert project.pending_pair_recovery() == {pid: 2}  # a kill now loses nothing
    again, recovered = open_pair(project, pid)
    assert recovered == 2 and again.dirty and np.array_equal(again.label, shown)
    again.undo()
    assert again.save() and project.pending_pair_recovery() == {}
    assert not np.array_equal(project.load_pair(pid)[1], shown)


def test_pair_strokes_already_in_a_save_are_stale(project):
    """A kill between a pair's label write and its journal truncation must not offer the strokes again."""
    key = project.frame_keys()[0]
    pid = project.add_pair(project.load_image(key), project.load_label(key), "synthesis", {})
    session, _ = open_pair(project, pid)
    session.apply(edits.brush_stroke, [(3, 3)], 2.0, 9)
    project._pairs.save_label(pid, session.label)  # the write landed, the journal drop did not
    assert project.pending_pair_recovery() == {}
    assert open_pair(project, pid)[1] == 0


def test_every_label_change_emits_one_label_changed_whatever_its_cause(project):
    """Listeners that follow the mask subscribe to `label_changed` alone: one per change, after it is recorded."""
    events = Recorder()
    session = ProjectSession(events, AutosavePolicy(0))
    session.open_project(project)
    key = session.keys()[0]
    assert session.set_frame(key)
    opened = session.label.copy()

    def changes():
        out = [c[1:] for c in events.calls if c[0] == "label_changed"]
        events.calls.clear()
        return out

    events.calls.clear()
    rec = edits.brush_stroke(session.current.label, [(2, 2), (8, 2)], 1.5, 13)  # the canvas painted it
    session.record_edit(rec)
    assert changes() == [(rec.bbox, "stroke")] and project.pending_recovery() == {key: 1}  # recorded first
    fill = session.apply(edits.flood_fill, (0, 0), 33)
    assert fill is not None and changes() == [(fill.bbox, "edit")]
    session.undo()
    assert changes() == [(fill.bbox, "undo")]
    session.redo()
    assert changes() == [(fill.bbox, "redo")]
    session.start_sketch(opened)  # the edits move into the sketch: the mask shown does not change
    assert changes() == []
    sketch_rec = edits.brush_stroke(session.current.label, [(3, 5), (6, 5)], 1.5, 5)
    session.record_edit(sketch_rec)
    assert changes() == [(sketch_rec.bbox, "stroke")]
    session.end_sketch()  # the frame's label is shown again
    (rect, cause), = changes()
    assert cause == "sketch" and rect is not None
    assert np.array_equal(session.label, opened)
    # recovery after a kill: the replayed strokes are one change
    session.record_edit(edits.brush_stroke(session.current.label, [(2, 2), (8, 2)], 1.5, 13))
    session.current.set_dirty(False)  # a kill: the stroke is only in the journal
    assert session.close_project() and project.pending_recovery() == {key: 1}
    again = ProjectSession(events, AutosavePolicy(0))
    again.open_project(Project.open_or_create(project.root))
    changes()
    assert again.set_frame(key) and changes() == []
    assert again.recover([key]) == [key] and changes() == [(None, "recovery")]
    again.close_project()
