"""The main window on a phantom project: painting, undo/redo, shortcuts, locks, repair, the frame browser."""
from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import Qt

from tests.gui.window_helpers import STROKE_CLASS, make_settings, middle_stroke, open_window, paint

pytestmark = pytest.mark.gui


@pytest.fixture
def window(qtbot, phantom_root, tmp_path):
    return open_window(qtbot, phantom_root, tmp_path / "proj", make_settings(tmp_path / "s.ini"))


def test_window_opens_on_first_frame(window, phantom_root):
    doc = window.doc
    keys = doc.project.frame_keys()
    assert doc.key == keys[0] and window.canvas.label() is doc.label
    assert doc.label.shape == doc.image.shape[:2]
    assert doc.key in window.windowTitle() and "•" not in window.windowTitle()
    assert window.frames.keys() == keys
    assert all(window.frames.has_thumbnail(k) for k in keys)  # thumbnail job finished
    counts = np.bincount(doc.label.ravel(), minlength=256)
    assert [window.palette.count(c) for c in range(36)] == counts[:36].tolist()
    assert window.problems_dialog is None  # the phantom is a valid dataset


def test_stroke_then_undo_redo_restore_exact_masks(window, qtbot):
    before = window.doc.label.copy()
    pts = middle_stroke(window)
    paint(window, pts)
    after = window.doc.label.copy()
    changed = after != before
    assert changed.any() and set(np.unique(after[changed])) == {STROKE_CLASS}
    y = pts[0][1]
    assert all(after[y, x] == STROKE_CLASS for x, _ in pts)
    assert window.doc.dirty and window.windowTitle().endswith("•")
    assert window.palette.count(STROKE_CLASS) == int(changed.sum())
    window.actions["edit.undo"].trigger()
    np.testing.assert_array_equal(window.doc.label, before)
    window.actions["edit.redo"].trigger()
    np.testing.assert_array_equal(window.doc.label, after)
    # the canvas shows the label it edits: overlay pixel at the stroke has the stroke colour
    assert window.canvas.label() is window.doc.label


def test_keyboard_shortcuts_trigger_tools_classes_and_statuses(window, qtbot):
    canvas = window.canvas
    qtbot.keyClick(canvas, Qt.Key_E)
    assert canvas.tool_name() == "eraser" and window.tool_options.current_tool() == "eraser"
    qtbot.keyClick(canvas, Qt.Key_F)
    assert canvas.tool_name() == "fill"
    qtbot.keyClick(canvas, Qt.Key_B)
    assert canvas.tool_name() == "brush"
    qtbot.keyClick(canvas, Qt.Key_5)  # digit d -> class d: 5 is Skin
    assert window.palette.current_class() == 5 and canvas.current_class() == 5
    qtbot.keyClick(canvas, Qt.Key_1)
    qtbot.keyClick(canvas, Qt.Key_5)  # two digits in a row: class 15 (I/A Handpiece)
    assert window.palette.current_class() == 15 and canvas.current_class() == 15
    qtbot.keyClick(canvas, Qt.Key_4)  # after a two-digit class, a digit starts afresh
    assert window.palette.current_class() == 4
    r = canvas.brush_radius()
    qtbot.keyClick(canvas, Qt.Key_BracketRight)
    assert canvas.brush_radius() > r and window.tool_options.brush_radius() == canvas.brush_radius()
    key = window.doc.key
    qtbot.keyClick(canvas, Qt.Key_D)
    assert window.doc.project.status(key) == "done" and window.frames.status_of(key) == "done"
    qtbot.keyClick(canvas, Qt.Key_G)
    assert window.doc.project.status(key) == "flagged"
    qtbot.keyClick(canvas, Qt.Key_PageDown)
    assert window.doc.key == window.doc.project.frame_keys()[1]
    qtbot.keyClick(canvas, Qt.Key_R)
    assert window.doc.project.status(window.doc.key) == "rejected"
    qtbot.keyClick(canvas, Qt.Key_N)  # next unfinished skips the flagged and rejected frames
    assert window.doc.key == window.doc.project.frame_keys()[2]
    before = window.doc.label.copy()
    paint(window, middle_stroke(window))
    qtbot.keyClick(canvas, Qt.Key_Z, Qt.ControlModifier)
    np.testing.assert_array_equal(window.doc.label, before)


def test_note_and_status_are_stored(window, qtbot):
    window.note_edit.setText("tape label bleeds into skin")
    window.set_status("flagged")
    p, key = window.doc.project, window.doc.key
    assert p.status(key) == "flagged" and p.note(key) == "tape label bleeds into skin"
    assert "Flagged" in window.status_badge.text()


def test_locked_class_survives_a_stroke(window):
    label = window.doc.label
    pts = middle_stroke(window)
    row = pts[0][1]
    xs = [x for x, _ in pts]
    classes_on_path = set(label[row, min(xs):max(xs)].tolist()) - {255}
    locked = sorted(classes_on_path)[0]
    was_locked = label == locked
    window.palette.set_locked(locked, True)
    paint(window, pts)
    np.testing.assert_array_equal(window.doc.label == locked, was_locked)
    assert (window.doc.label == STROKE_CLASS).any()


def test_paint_mode_only_over_unlabelled(window):
    label = window.doc.label
    h, w = label.shape
    label[:, : w // 2] = 255  # make the left half unlabelled (as if erased), then paint across both halves
    window.canvas.refresh(None)
    before = label.copy()
    window.tool_options.mode_combo.setCurrentIndex(1)  # Only over unlabelled
    assert window.canvas.policy().mode == "over_unlabelled"
    paint(window, [(x, h // 2) for x in range(w // 4, 3 * w // 4, 8)])
    changed = window.doc.label != before
    assert changed.any() and np.all(before[changed] == 255)


def test_repair_replace_class_is_one_undo_step(window):
    label = window.doc.label
    before = label.copy()
    assert (before == 0).any()
    opts = window.tool_options
    opts.replace_src.setCurrentIndex(0)
    opts.replace_dst.setCurrentIndex(STROKE_CLASS)
    window.repair("replace", {"src": 0, "dst": STROKE_CLASS, "scope": "selected"})
    assert not (window.doc.label == 0).any()
    np.testing.assert_array_equal(window.doc.label == STROKE_CLASS, before == 0)
    window.doc.undo()
    np.testing.assert_array_equal(window.doc.label, before)


def test_repair_remove_islands_via_button(window):
    label = window.doc.label
    h, w = label.shape
    label[10:13, 10:13] = STROKE_CLASS  # a 9-pixel speck
    window.doc.record_edit(None)
    before = label.copy()
    window.palette.set_current_class(STROKE_CLASS)
    window.tool_options.island_size.setValue(20)
    window.tool_options.scope.setCurrentIndex(0)  # selected class
    window.tool_options.repair_buttons["islands"].click()
    assert not (window.doc.label == STROKE_CLASS).any()
    assert (window.doc.label != before).sum() == 9
    window.doc.undo()
    np.testing.assert_array_equal(window.doc.label, before)


def test_frame_browser_filters_and_navigation(window, qtbot):
    keys = window.doc.project.frame_keys()
    window.show_frame(keys[3])
    window.set_status("done")
    fb = window.frames
    fb.status_filter.setCurrentIndex(fb.status_filter.findData("done"))
    assert fb.visible_keys() == [keys[3]]
    fb.status_filter.setCurrentIndex(fb.status_filter.findData("unfinished"))
    assert keys[3] not in fb.visible_keys() and len(fb.visible_keys()) == len(keys) - 1
    fb.status_filter.setCurrentIndex(0)
    split = window.doc.project.record(keys[0]).split
    fb.split_filter.setCurrentIndex(fb.split_filter.findData(split))
    assert set(fb.visible_keys()) == {k for k in keys if window.doc.project.record(k).split == split}
    fb.frameActivated.emit(keys[5])
    assert window.doc.key == keys[5]


def test_class_set_view_and_hidden_classes_reach_canvas(window):
    window.palette.set_class_set("1")
    assert window.canvas.overlay().class_set.key == "1"
    window.palette.set_hidden(4, True)
    assert 4 in window.canvas.overlay().hidden_classes


def test_note_typed_then_frame_switch_keeps_note_and_letters_do_not_trigger_tools(window, qtbot):
    key = window.doc.key
    window.note_edit.setFocus()
    qtbot.keyClicks(window.note_edit, "bleeding edge")  # contains b, e, d, g: tool/status keys elsewhere
    assert window.canvas.tool_name() == "brush" and window.doc.project.status(key) == "unlabelled"
    qtbot.keyClick(window.note_edit, Qt.Key_PageDown)
    assert window.doc.key != key
    assert window.doc.project.note(key) == "bleeding edge"
    assert window.note_edit.text() == ""
