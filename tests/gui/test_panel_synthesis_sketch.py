"""The edit a repaint is made from never becomes the real frame's label: paint -> repaint -> accept leaves the
project's stored label byte-identical (also after reopening), the pair carries the edited mask; a variant sketch
journals and saves nothing; throwing a sketch away asks first. A new user's walk-through (sketch an instrument
onto a 960x540 phantom frame, repaint, accept, export) and the dock at 1366x768 with its results in view."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from engine.imageio import read_image, read_label
from engine.pipelines.repaint import grow
from engine.project import Project
from tests.gui.synthesis_fixtures import model_dir, window  # noqa: F401 - fixtures
from tests.gui.window_helpers import paint

pytestmark = [pytest.mark.gui, pytest.mark.usefixtures("one_torch_thread")]
INSTRUMENT = 7  # Hydrodissection Cannula: not in the phantom's first frames
ROOT = Path(__file__).resolve().parents[2]


def _instrument(window, y_share=0.5):
    h, w = window.doc.label.shape
    window.canvas.set_brush_radius(5)
    paint(window, [(x, int(h * y_share)) for x in range(w // 4, w // 2, 6)], cls=INSTRUMENT)


def _repaint(window, qtbot, margin=6):
    panel = window.model_panels.synthesis
    panel.preset.setCurrentIndex(panel.preset.findData("preview"))
    panel.steps.setValue(2)
    panel.margin.setValue(margin)
    handle = panel.repaint()
    assert handle is not None, panel.status.text()
    qtbot.waitUntil(handle.is_finished, timeout=60_000)
    return panel.gallery.selected_entry()


def _never_asked(*_args):
    raise AssertionError("no question expected here")


def test_paint_repaint_accept_keeps_the_real_label_byte_identical_and_the_pair_has_the_edit(window, qtbot):
    panel, doc = window.model_panels.synthesis, window.doc
    project, key = doc.project, doc.key
    root = project.root
    stored_before = project.load_label(key).tobytes()
    opened = doc.label.copy()
    asked = []
    panel.ask_move_into_sketch = lambda _w, frame, n: asked.append(n) or True
    _instrument(window)
    edited = doc.label.copy()
    doc.save()  # the autosave fired before the user thought of a repaint: the instrument is in the stored label
    assert (project.load_label(key) == INSTRUMENT).any()

    entry = _repaint(window, qtbot)
    assert asked == [int((edited != opened).sum())]  # asked once, with how much moves into the sketch
    assert project.load_label(key).tobytes() == stored_before  # taken back out at once, before any accept
    assert project.pending_recovery() == {}  # a crash now recovers nothing into the frame
    assert np.array_equal(entry.mask, edited) and doc.sketch is not None

    pair_id = panel.accept_selected()
    assert pair_id is not None and doc.sketch is None
    assert "edited mask went with the pair" in panel.status.text()
    assert doc.label.tobytes() == opened.tobytes()  # the canvas shows the frame's own label again
    assert window.canvas.label() is doc.label
    np.testing.assert_array_equal(project.load_pair(pair_id)[1], edited)
    assert project.pair(pair_id).parent_key == key
    # undo: the move back off the frame is one step of the frame (the edit returns to its label); redo: gone again
    assert window.actions["edit.undo"].isEnabled()
    window.actions["edit.undo"].trigger()
    assert doc.label.tobytes() == edited.tobytes() and doc.dirty
    window.actions["edit.redo"].trigger()
    assert doc.label.tobytes() == opened.tobytes()
    assert doc.close_project()
    with Project.open_or_create(root) as again:  # reopened: still the real label, the pair with the edit
        assert again.load_label(key).tobytes() == stored_before and again.pending_recovery() == {}
        np.testing.assert_array_equal(again.load_pair(pair_id)[1], edited)


def test_a_sketch_journals_and_saves_nothing_and_repaints_without_asking(window, qtbot):
    panel, doc = window.model_panels.synthesis, window.doc
    project, key = doc.project, doc.key
    status_before, base = project.status(key), doc.label.copy()
    panel.ask_move_into_sketch = _never_asked
    panel.sketch_button.click()
    assert doc.sketch is not None and panel.sketch_button.isChecked()
    assert "variant sketch" in window.windowTitle() and "not saved" in window.saved_label.text()
    _instrument(window)
    assert project.pending_recovery() == {} and not doc.autosave_timer.isActive() and not doc.dirty
    window.actions["edit.undo"].trigger()  # the sketch's own history
    assert doc.label.tobytes() == base.tobytes()
    window.actions["edit.redo"].trigger()
    sketched = doc.label.copy()
    assert (sketched == INSTRUMENT).any()
    doc.save()  # Ctrl+S while sketching writes nothing
    entry = _repaint(window, qtbot)
    np.testing.assert_array_equal(entry.mask, sketched)
    outside = ~grow(sketched != base, 6)
    np.testing.assert_array_equal(entry.image[outside], doc.image[outside])  # the real frame outside the change
    pair_id = panel.accept_selected()
    assert doc.sketch is None and not panel.sketch_button.isChecked()
    np.testing.assert_array_equal(project.load_pair(pair_id)[1], sketched)
    # the frame was never touched: no project label file, no revision, same review status
    assert not project.has_saved_label(key) and project.status(key) == status_before
    assert doc.label.tobytes() == base.tobytes() and not window.actions["edit.undo"].isEnabled()


def test_discarding_a_sketch_asks_first_and_leaves_the_label_as_it_was(window, qtbot):
    panel, doc = window.model_panels.synthesis, window.doc
    project, key = doc.project, doc.key
    base = doc.label.copy()
    answers = []
    panel.ask_discard_sketch = lambda _w, frame, n: answers.pop(0)

    panel.sketch_button.click()
    _instrument(window)
    answers[:] = [False]
    panel.sketch_button.click()  # Discard? no: still sketching, the button stays pressed
    assert doc.sketch is not None and panel.sketch_button.isChecked() and not answers
    answers[:] = [True]
    panel.sketch_button.click()
    assert doc.sketch is None and doc.label.tobytes() == base.tobytes() and "discarded" in panel.status.text()

    other = doc.neighbour(1)
    panel.sketch_button.click()
    _instrument(window, 0.3)
    answers[:] = [False]
    assert not window.show_frame(other) and doc.key == key and doc.sketch is not None  # kept: no switch
    answers[:] = [True]
    assert window.show_frame(other) and doc.key == other and doc.sketch is None
    assert window.show_frame(key) and doc.label.tobytes() == base.tobytes()

    panel.sketch_button.click()
    _instrument(window, 0.7)
    answers[:] = [False]
    window.close()  # quitting with a sketch: asked, kept, the window stays
    assert window.isVisible() and doc.sketch is not None
    answers[:] = [True]
    window.close()
    assert not window.isVisible()
    with Project.open_or_create(project.root) as again:
        assert again.load_label(key).tobytes() == base.tobytes() and again.pending_recovery() == {}
        assert not again.has_saved_label(key)


def test_new_user_walk_through_sketch_repaint_accept_export_at_the_frames_own_size(window, qtbot, tmp_path):
    """Open the phantom sample, paint a new instrument onto a frame, repaint, accept, export."""
    panel, doc = window.model_panels.synthesis, window.doc
    project, key = doc.project, doc.key
    real_label = read_label(project.record(key).label_path)  # the dataset's own label file
    assert doc.image.shape == (540, 960, 3)
    panel.sketch_button.click()
    _instrument(window)
    sketched = doc.label.copy()
    entry = _repaint(window, qtbot, margin=8)
    assert entry.image.shape == (540, 960, 3)
    pair_id = panel.accept_selected()
    curation = window.model_panels.extra["curation"]  # review: accept the pair for export
    window.model_panels.show("curation")
    qtbot.waitUntil(lambda: curation.select_pair(pair_id), timeout=30_000)
    curation.set_current_status("accepted")
    assert project.pair(pair_id).status == "accepted"

    out = tmp_path / "export"
    handle = window.export({"out_dir": str(out), "include": ["real", "synthetic"],
                            "statuses": ["unlabelled", "in_progress", "done"]})
    qtbot.waitUntil(handle.is_finished, timeout=60_000)
    manifest = json.loads((out / "manifest.json").read_text())
    synth = [f for f in manifest["frames"] if f["source"] != "real"]
    real = {f["key"]: f for f in manifest["frames"] if f["source"] == "real"}
    assert len(synth) == 1 and (synth[0]["width"], synth[0]["height"]) == (960, 540)
    image, label = read_image(out / synth[0]["image"]), read_label(out / synth[0]["label"])
    assert image.shape == (540, 960, 3) and label.shape == (540, 960)
    changed = sketched != real_label
    np.testing.assert_array_equal(label[~changed], real_label[~changed])  # unchanged outside the edit
    assert (label[changed] == INSTRUMENT).all()
    np.testing.assert_array_equal(read_label(out / real[key]["label"]), real_label)  # the real frame untouched
    assert project.load_label(key).tobytes() == real_label.tobytes()
    assert not manifest["resolution"]["resized"]


def test_the_dock_shows_its_results_without_scrolling_on_a_laptop_screen(tmp_path, phantom_root, model_dir):
    """A first start maximized on 1366x768 with a repaint result: big view, gallery and Accept lie in view."""
    import shutil

    shutil.copytree(phantom_root, tmp_path / "sample")
    shot = os.environ.get("CADIS_SCREENSHOTS")
    args = [sys.executable, "-m", "tests.gui.synthesis_probe", str(tmp_path), "1366x768", str(model_dir)]
    if shot:
        args.append(str(Path(shot) / "repaint_1366x768.png"))
    env = {**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1"}
    done = subprocess.run(args, cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    out = json.loads(done.stdout.strip().splitlines()[-1])
    assert "Repainted" in out["status"], out
    for name in ("preview", "gallery", "accept_button", "repaint_button", "sketch_button"):
        w, h = out[name]["size"]
        assert out[name]["visible"][2:] == [w, h], (name, out)  # wholly inside the dock's visible part
    assert out["preview"]["size"][1] >= 120 and out["preview"]["size"][0] >= 200, out
