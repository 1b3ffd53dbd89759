"""File → New dataset from video… and the Propagate dock, as a new user meets them: import a phantom video, label
its first frame, propagate forward as a job, see the proposal, accept the confident pixels as one undo step, and
a cancelled job keeps nothing."""
from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import Qt

from desktop.video_import import start_import
from desktop.workers import CANCELLED, DONE
from engine.edits import PaintPolicy, accept_proposal
from engine.phantom import VideoRenderer, write_video
from engine.propagate.accept import DEFAULT_ACCEPT_CONFIDENCE
from engine.taxonomy import IGNORE
from tests.gui.window_helpers import make_settings

pytestmark = [pytest.mark.gui]
W, H = 320, 180


@pytest.fixture(scope="module")
def video(tmp_path_factory):
    return write_video(tmp_path_factory.mktemp("video") / "surgery.avi", seed=7, video=1, frames=9, width=W, height=H)


def _window(qtbot, tmp_path):
    from desktop.main_window import MainWindow

    w = MainWindow(make_settings(tmp_path / "s.ini"))
    w.ask_open_anyway = lambda *_: pytest.fail("an imported video must open as a dataset without a question")
    qtbot.addWidget(w)
    w.resize(1366, 768)
    w.show()
    qtbot.waitExposed(w)
    return w


def _wait(qtbot, handle, state=DONE):
    assert handle is not None
    qtbot.waitUntil(handle.is_finished, timeout=120_000)
    assert handle.state == state, handle.error


def _import(qtbot, w, video, tmp_path):
    handle = start_import(w, str(video), str(tmp_path / "data"), every=2)
    _wait(qtbot, handle)
    qtbot.waitUntil(lambda: w.doc.project is not None, timeout=30_000)
    w.runner.wait(30_000)


def _label_first_frame(w):
    truth = VideoRenderer(7, 1, W, H).render_video_frame(0)[1]
    w.show_frame(w.doc.keys()[0])
    w.doc.apply(accept_proposal, truth, np.ones_like(truth, bool), PaintPolicy(), "label", True)
    return truth


def test_new_dataset_from_video_opens_its_frames(qtbot, tmp_path, video):
    w = _window(qtbot, tmp_path)
    _import(qtbot, w, video, tmp_path)
    assert [k.rsplit("/", 1)[-1] for k in w.doc.keys()] == [f"Video1_frame{f:06d}.png" for f in (0, 2, 4, 6, 8)]
    bad = tmp_path / "notes.mp4"
    bad.write_text("not a video")
    assert start_import(w, str(bad), str(tmp_path / "other"), every=2) is None
    assert "not a readable video" in w.last_error and not (tmp_path / "other").exists()


def test_propagate_forward_shows_and_accepts_like_a_pre_segmentation_proposal(qtbot, tmp_path, video):
    w = _window(qtbot, tmp_path)
    _import(qtbot, w, video, tmp_path)
    truth = _label_first_frame(w)
    panel = w.model_panels.propagate
    w.model_panels.show("propagate")
    panel.count.setValue(3)
    qtbot.mouseClick(panel.forward, Qt.LeftButton)
    _wait(qtbot, panel.handle)
    keys = w.doc.keys()
    assert sorted(panel.proposals) == sorted(keys[1:4])
    assert panel.unreviewed.count() == 3 and "3 frames propagated" in panel.status.text()
    assert w.show_frame(keys[1])
    assert panel.layer.item.isVisible() and panel.accept_conf.isEnabled()
    truth1 = VideoRenderer(7, 1, W, H).render_video_frame(2)[1]
    proposal, conf = panel.proposals[keys[1]]
    assert (proposal == truth1).mean() > 0.9 and (proposal == truth).mean() < (proposal == truth1).mean() + 0.05
    w.grab().save(str(tmp_path / "propagate_1366x768.png"))

    before = w.doc.label.copy()
    assert (before == IGNORE).all()
    assert panel.accept_min.value() == pytest.approx(DEFAULT_ACCEPT_CONFIDENCE)   # the measured default
    panel.accept_min.setValue(0.5)    # a stricter threshold: the doubtful pixels must stay unlabelled
    assert (conf < 0.5).any()
    qtbot.mouseClick(panel.accept_conf, Qt.LeftButton)
    after = w.doc.label
    changed = after != before
    assert changed.any() and (conf[changed] >= panel.accept_min.value()).all()
    assert not changed[conf < panel.accept_min.value()].any()
    made = w.doc.project.model_made_mask(keys[1], after)   # accepted model output is recorded as such
    np.testing.assert_array_equal(made, changed)
    listed = [panel.unreviewed.item(i).data(Qt.ItemDataRole.UserRole) for i in range(panel.unreviewed.count())]
    assert listed == keys[2:4]
    w.doc.undo()
    assert np.array_equal(w.doc.label, before)  # one undo step


def test_cancel_keeps_no_proposal_and_a_frame_without_label_is_told(qtbot, tmp_path, video):
    w = _window(qtbot, tmp_path)
    _import(qtbot, w, video, tmp_path)
    panel = w.model_panels.propagate
    w.show_frame(w.doc.keys()[0])
    handle = panel.propagate("forward")
    qtbot.waitUntil(handle.is_finished, timeout=60_000)
    assert "no label yet" in panel.status.text() and not panel.proposals
    _label_first_frame(w)
    panel.count.setValue(4)
    handle = panel.propagate("forward")
    handle.cancel()
    qtbot.waitUntil(handle.is_finished, timeout=60_000)
    assert handle.state == CANCELLED and not panel.proposals and panel.unreviewed.count() == 0
