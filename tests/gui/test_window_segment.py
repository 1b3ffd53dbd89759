"""The Segment tool in the main window on a phantom project (960x540 frames), at 1366x768: the S key, the
embedding made in its own lane at frame open with the status bar saying so, click → outline → Enter commits
in the current class through the document (undo restores), and the Preferences row names what a folder lacks."""
from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest

from desktop.preferences import PreferencesDialog
from tests.gui.canvas_helpers import key, pixel_click
from tests.gui.window_helpers import make_settings, open_window
from tests.segment_helpers import make_tiny_folder

pytestmark = pytest.mark.gui


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    return make_tiny_folder(tmp_path_factory.mktemp("seg") / "sam", "sam")


def test_segment_in_the_window(qtbot, phantom_root, tmp_path, folder):
    settings = make_settings(tmp_path / "s.ini")
    settings.segment_dir = str(folder)
    settings.device = "cpu"
    messages = []
    w = open_window(qtbot, phantom_root, tmp_path / "proj", settings)
    w.resize(1366, 768)
    w.statusBar().messageChanged.connect(messages.append)
    assert w.segment_assist.is_ready()        # made in the segment lane when the frame opened
    QTest.keyClick(w, Qt.Key_S)
    assert w.canvas.tool_name() == "segment"
    w.palette.set_current_class(34)
    before = w.doc.label.copy()
    h, wd = before.shape
    pixel_click(w.canvas, wd // 2, h // 2)
    w.runner.wait(60_000)
    mask = w.canvas.segment_layer().mask
    assert mask is not None and mask.shape == (540, 960)
    w.grab().save(str(tmp_path / "segment_candidate.png"))
    key(w.canvas, Qt.Key_Return)
    changed = w.doc.label != before
    assert (changed == (mask & (before != 34))).all() and set(np.unique(w.doc.label[changed])) <= {34}
    made = w.doc.project.model_made_mask(w.doc.key, w.doc.label)   # a committed segmentation is model-made
    np.testing.assert_array_equal(made, changed)
    if changed.any():
        w.actions["edit.undo"].trigger()
        np.testing.assert_array_equal(w.doc.label, before)
    keys = w.doc.project.frame_keys()
    w.runner.wait(60_000)
    w.show_frame(keys[1])
    assert w.segment_assist.is_ready()          # made ahead while the first frame was open
    w.show_frame(keys[5])
    w.runner.wait(60_000)
    made = [m for m in messages if "making the image embedding" in m]
    assert made == [f"Segment: making the image embedding of {keys[5]}…"]    # none for the frame made ahead
    assert w.segment_assist.is_ready()


def test_preferences_say_what_a_folder_lacks(qtbot, tmp_path, folder):
    settings = make_settings(tmp_path / "s.ini")
    dlg = PreferencesDialog(settings)
    qtbot.addWidget(dlg)
    dlg.segment_dir.setText(str(tmp_path))
    assert "no config.json" in dlg.segment_check.text()
    dlg.segment_dir.setText(str(folder))
    assert "SAM model folder" in dlg.segment_check.text()
    dlg.apply()
    assert settings.segment_dir == str(folder)


def test_find_by_name_in_the_window(qtbot, phantom_root, tmp_path):
    from desktop.window_segment import find_by_name, find_phrases

    folder = make_tiny_folder(tmp_path / "sam3", "sam3")
    settings = make_settings(tmp_path / "s.ini")
    settings.segment_dir = str(folder)
    settings.device = "cpu"
    w = open_window(qtbot, phantom_root, tmp_path / "proj", settings)
    assert w.actions["segment.find"].shortcut().toString() == "Ctrl+F"
    w.segment_assist.find_threshold = 0.0
    w.palette.set_current_class(21)
    asked = []
    assert find_by_name(w, ask=lambda *a, **k: asked.append(k["text"]) or ("cannula; forceps", True))
    assert asked == ["Phacoemulsifier Handpiece Handle"]         # the current class's name is offered
    w.runner.wait(60_000)
    assert w.canvas.tool_name() == "segment" and w.canvas.tool().proposal
    assert w.canvas.segment_layer().mask.shape == (540, 960)
    assert find_phrases(" a, ,b;c ") == ["a", "b", "c"]
    assert not find_by_name(w, ask=lambda *a, **k: ("", False))
