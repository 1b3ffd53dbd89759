"""The Propagate dock's SAM 2 method: offered only when the segmentation folder of Preferences holds SAM 2 with its
video model, it runs the same propagation job with `engine.segment.video.Sam2Propagator` and reports its result
(here: random weights lose the objects at once, so the chain stops and says so in SAM 2's words)."""
from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import Qt

from engine.edits import PaintPolicy, accept_proposal
from engine.imageio import write_image
from engine.phantom import render_frame
from tests.gui.window_helpers import make_settings
from tests.segment_helpers import make_tiny_folder, make_tiny_video_folder

pytestmark = [pytest.mark.gui]


def _dataset(root, n=4):
    for i in range(n):
        image, label = render_frame(i, width=320, height=180)
        write_image(root / "Video01" / "Images" / f"Video1_frame{10 * i:06d}.png", image)
    return label


def test_sam2_method_is_offered_with_a_video_folder_and_runs_the_job(qtbot, tmp_path):
    from desktop.main_window import MainWindow

    settings = make_settings(tmp_path / "s.ini")
    settings.segment_dir = str(make_tiny_folder(tmp_path / "sam2img", "sam2"))
    w = MainWindow(settings)
    qtbot.addWidget(w)
    w.resize(1366, 768)
    w.show()
    qtbot.waitExposed(w)
    panel = w.model_panels.propagate
    item = panel.method.combo.model().item(1)
    assert not item.isEnabled() and "video model" in item.toolTip()   # an image-only SAM 2 folder
    settings.segment_dir = str(make_tiny_video_folder(tmp_path / "sam2v"))
    w.model_panels.settings_changed()
    assert item.isEnabled()
    label = _dataset(tmp_path / "data")
    w.open_source(str(tmp_path / "data"), str(tmp_path / "proj"))
    qtbot.waitUntil(lambda: w.doc.project is not None, timeout=30_000)
    w.runner.wait(60_000)
    w.show_frame(w.doc.keys()[0])
    w.doc.apply(accept_proposal, label, np.ones_like(label, bool), PaintPolicy(), "label", True)
    w.model_panels.show("propagate")
    panel.method.combo.setCurrentIndex(1)
    panel.count.setValue(2)
    qtbot.mouseClick(panel.forward, Qt.LeftButton)
    assert "with SAM 2" in panel.status.text()
    qtbot.waitUntil(panel.handle.is_finished, timeout=120_000)
    assert panel.handle.error is None or panel.handle.error == "", panel.handle.error
    assert "SAM 2 to follow" in panel.status.text()      # the tracker's own stop line
    w.grab().save(str(tmp_path / "propagate_sam2_1366x768.png"))
    panel.grab().save(str(tmp_path / "propagate_sam2_panel.png"))
    w.runner.wait(60_000)
