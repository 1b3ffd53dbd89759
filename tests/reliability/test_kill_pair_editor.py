"""kill -9 the pair editor at random moments while it repairs a synthetic pair's mask, several times.

After each SIGKILL, with the engine alone: the project opens and passes its integrity check; the pair's
saved label is a complete saved version; and the saved label plus the pair's journal strokes rebuild exactly
what the editor showed after its last finished stroke (at most the one append in flight is lost). The next
editor replays those strokes itself and is killed in turn; the last one is closed after checking it shows
the recovered mask.
"""
from __future__ import annotations

import os
import sys
from pathlib import Path

import numpy as np
import pytest

from tests.reliability import tally
from tests.reliability.helpers import make_dataset
from tests.reliability.test_kill_app import Expectations, label_hash, start_and_kill

pytestmark = [pytest.mark.gui, pytest.mark.skipif(sys.platform == "win32", reason="needs SIGKILL")]
pytest.importorskip("desktop.panels.curation.pair_editor")

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
CHILD = HERE / "kill_pair_child.py"


def _recovered(project, pid: int) -> np.ndarray:
    label = project.load_pair(pid)[1].copy()
    for rec in project.pair_strokes(pid):
        rec.redo(label)
    return label


def test_kill_while_repairing_a_pair_loses_no_finished_stroke(qtbot, tmp_path):
    from engine.project import Project

    dataset = make_dataset(tmp_path / "dataset", frames=((1, 1),), seed=3)
    project_dir = tmp_path / "proj.cadis-project"
    with Project.open_or_create(dataset, project_dir=project_dir) as p:
        key = p.frame_keys()[0]
        pid = p.add_pair(p.load_image(key), p.load_label(key), "synthesis", {"seed": 3}, parent_key=key)
        first = label_hash(p.load_pair(pid)[1])
    log = tmp_path / "child.log"
    log.touch()
    expect = Expectations({"pair": first})
    expect.saved["pair"] = first
    env = dict(os.environ, PYTHONPATH=str(ROOT), QT_QPA_PLATFORM="offscreen")
    rng = np.random.default_rng(5)
    offered = 0
    for i in range(5):
        start_and_kill(CHILD, [str(project_dir), str(pid), str(log), str(100 + i)], env, float(rng.uniform(0.05, 0.4)))
        shown, saved = expect.read(log)
        with Project.open_or_create(project_dir) as p:
            assert p.integrity_check() == "ok"
            file_hash = label_hash(p.load_pair(pid)[1])  # load raises on a torn file
            assert file_hash in saved["pair"], "the pair's saved label is not a complete saved version"
            state = _recovered(p, pid)
            assert label_hash(state) in shown["pair"], "saved label + journal do not rebuild what the editor showed"
            offered += p.pending_pair_recovery().get(pid, 0)
        expect.settle({"pair": label_hash(state)}, {"pair": file_hash})
        tally.add("pair editor kills survived")
    from desktop.panels.curation.pair_editor import PairEditor

    with Project.open_or_create(project_dir) as p:
        pending = p.pending_pair_recovery().get(pid, 0)
        editor = PairEditor(p, pid)
        qtbot.addWidget(editor)
        assert np.array_equal(editor.label, state), "a new editor does not show the recovered mask"
        assert editor.dirty == bool(pending) and len(editor.stack) == pending
        assert editor.save()
        assert not p.pending_pair_recovery() and np.array_equal(p.load_pair(pid)[1], state)
        editor.close()
    assert len(log.read_text().splitlines()) > 20, "the editor should have repaired and saved between kills"
    assert offered > 0, "some kills should have left strokes for recovery"
    tally.add("pair strokes recovered", offered)
