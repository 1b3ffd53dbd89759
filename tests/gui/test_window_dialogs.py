"""Broken datasets, preferences and shortcuts, settings, and the --screenshot entry point."""
from __future__ import annotations

import shutil

import cv2
import numpy as np
import pytest
from PySide6.QtCore import Qt

from desktop.preferences import PreferencesDialog
from desktop.settings import Settings
from desktop.shortcuts import TOOL_SPECS, DEFAULT_KEYMAP, describe_conflicts, find_conflicts, merged_keymap
from tests.gui.window_helpers import make_settings, open_window

pytestmark = pytest.mark.gui


def test_broken_dataset_shows_problems_instead_of_crashing(qtbot, phantom_root, tmp_path):
    root = tmp_path / "broken"
    shutil.copytree(phantom_root, root)
    labels = sorted(root.glob("Video*/Labels/*.png"))
    labels[0].write_bytes(b"this is not a png")
    (labels[1].parent.parent / "Images" / labels[1].name).unlink()  # a label without its image
    w = open_window(qtbot, root, tmp_path / "proj", make_settings(tmp_path / "s.ini"))
    qtbot.waitUntil(lambda: w.problems_dialog is not None, timeout=10_000)
    dlg = w.problems_dialog
    assert dlg.isVisible()
    paths = [dlg.table.item(r, 0).text() for r in range(dlg.table.rowCount())]
    assert labels[0].relative_to(root).as_posix() in paths
    assert labels[1].relative_to(root).as_posix() in paths
    assert "2 problems" in dlg.intro.text()
    # the broken frame cannot be shown: a message, the window keeps the previous frame
    broken_key = labels[0].relative_to(root).as_posix().replace("/Labels/", "/Images/")
    shown = w.doc.key
    assert shown is not None and shown != broken_key  # opened on the first frame that can be read
    assert not w.show_frame(broken_key)
    assert w.doc.key == shown and broken_key in w.last_error


def test_not_a_dataset_is_a_message(qtbot, tmp_path):
    folder = tmp_path / "notes"
    folder.mkdir()
    (folder / "readme.txt").write_text("hello")
    from desktop.main_window import MainWindow

    w = MainWindow(make_settings(tmp_path / "s.ini"))
    qtbot.addWidget(w)
    assert not w.open_source(folder, tmp_path / "proj")
    assert w.problems_dialog is not None and "CaDIS" in w.problems_dialog.intro.text()
    assert w.doc.project is None


def test_keymap_conflicts_are_detected():
    assert find_conflicts(DEFAULT_KEYMAP) == {}
    keymap = merged_keymap({"tool.fill": "B"})
    assert find_conflicts(keymap) == {"B": ["tool.brush", "tool.fill"]}
    assert "B is used by Brush and Flood fill" in describe_conflicts(find_conflicts(keymap))[0]
    assert merged_keymap({"no.such.action": "Q"}) == DEFAULT_KEYMAP


def test_preferences_warn_on_conflicts_and_store_keys(qtbot, tmp_path):
    settings = Settings(tmp_path / "s.ini")
    dlg = PreferencesDialog(settings)
    qtbot.addWidget(dlg)
    ok = dlg.buttons.button(dlg.buttons.StandardButton.Ok)
    assert ok.isEnabled() and dlg.conflict_messages() == []
    dlg.set_key("tool.fill", "E")
    assert not ok.isEnabled() and "E is used by" in dlg.conflicts.text()
    dlg.set_key("tool.fill", "K")
    assert ok.isEnabled()
    dlg.device.setCurrentIndex(dlg.device.findData("cpu"))
    dlg.sd_dir.setText(str(tmp_path / "sd"))
    dlg.apply()
    again = Settings(tmp_path / "s.ini")
    assert again.keymap()["tool.fill"] == "K" and again.keymap()["tool.brush"] == "B"
    assert again.device == "cpu" and again.sd_dir == str(tmp_path / "sd")


def test_changed_shortcut_reaches_the_window(qtbot, phantom_root, tmp_path):
    settings = make_settings(tmp_path / "s.ini")
    settings.set_keymap(merged_keymap({"tool.fill": "K"}))
    w = open_window(qtbot, phantom_root, tmp_path / "proj", settings)
    qtbot.keyClick(w.canvas, Qt.Key_K)
    assert w.canvas.tool_name() == "fill"
    qtbot.keyClick(w.canvas, Qt.Key_B)
    assert w.canvas.tool_name() == "brush"
    qtbot.keyClick(w.canvas, Qt.Key_F)  # F no longer selects the fill tool
    assert w.canvas.tool_name() == "brush"
    # the tooltips show the user's keys, not the defaults
    assert w.tool_options.tool_buttons["fill"].toolTip() == "Flood fill (K)"
    assert w.tool_options.tool_buttons["brush"].toolTip() == "Brush (B)"
    w.apply_keymap(merged_keymap({"tool.brush": "Y", "tool.fill": ""}))
    assert w.tool_options.tool_buttons["brush"].toolTip() == "Brush (Y)"
    assert w.tool_options.tool_buttons["fill"].toolTip() == "Flood fill"
    n = len(TOOL_SPECS)
    assert [a.text() for a in w.menuBar().actions()[2].menu().actions()[:n]] == [t.text for t in TOOL_SPECS]


def test_settings_recent_projects_and_reset(tmp_path):
    s = Settings(tmp_path / "s.ini")
    for i in range(12):
        s.add_recent(tmp_path / f"p{i}")
    recent = s.recent_projects()
    assert len(recent) == 10 and recent[0].endswith("p11")
    s.add_recent(tmp_path / "p5")
    assert s.recent_projects()[0].endswith("p5") and len(s.recent_projects()) == 10
    with pytest.raises(ValueError):
        s.device = "tpu"
    s.reset()
    assert s.recent_projects() == [] and s.device == "auto"


def test_window_records_recent_project(qtbot, phantom_root, tmp_path):
    settings = make_settings(tmp_path / "s.ini")
    w = open_window(qtbot, phantom_root, tmp_path / "proj", settings)
    assert settings.recent_projects()[0] == str((tmp_path / "proj").resolve())
    w.recent_menu.aboutToShow.emit()
    assert [a.text() for a in w.recent_menu.actions()] == settings.recent_projects()


def test_screenshot_option_writes_a_non_blank_png(qtbot, phantom_root, tmp_path):
    from PySide6.QtWidgets import QApplication

    from desktop.app import SCREENSHOT_SIZE, main

    out = tmp_path / "shot.png"
    app = QApplication.instance()
    sheet, style = app.styleSheet(), app.style().name()
    try:
        rc = main([str(phantom_root), "--project", str(tmp_path / "proj"), "--screenshot", str(out),
                   "--settings", str(tmp_path / "s.ini")])
    finally:  # main() styles the shared QApplication: give the other tests theirs back
        app.setStyleSheet(sheet)
        app.setStyle(style)
    assert rc == 0
    img = cv2.imread(str(out), cv2.IMREAD_COLOR)
    assert img is not None and (img.shape[1], img.shape[0]) == SCREENSHOT_SIZE
    assert img.std() > 20  # not a blank window
    # the canvas region shows the frame: many distinct colours, not a flat background
    centre = img[img.shape[0] // 3: 2 * img.shape[0] // 3, img.shape[1] // 3: 2 * img.shape[1] // 3]
    assert len(np.unique(centre.reshape(-1, 3), axis=0)) > 200


def test_open_phantom_sample_action(qtbot, phantom_root, tmp_path, monkeypatch):
    from desktop.main_window import MainWindow

    sample = tmp_path / "data" / "phantom"
    shutil.copytree(phantom_root, sample)
    (sample / ".complete").touch()  # already generated: the action only opens it
    monkeypatch.setenv("CADIS_STUDIO_DATA", str(tmp_path / "data"))  # the user's data folder
    w = MainWindow(make_settings(tmp_path / "s.ini"))
    qtbot.addWidget(w)
    w.actions["file.phantom"].trigger()
    qtbot.waitUntil(lambda: w.doc.project is not None, timeout=10_000)
    assert w.doc.project.dataset.root == sample.resolve()
    assert w.doc.key is not None
    w.runner.wait(10_000)
