"""Starting again where the user left off, recovery at start, the folder guard, docks reset on a project switch,
review status in the frame list, the unlabelled-pixels warning, unreadable frames, class keys and Help."""
from __future__ import annotations

import shutil

import cv2
import numpy as np
import pytest
from PySide6.QtCore import Qt

from desktop.app import build_parser, start_source
from desktop.main_window import MainWindow
from tests.gui.window_helpers import STROKE_CLASS, crash, make_settings, middle_stroke, open_window, paint

pytestmark = pytest.mark.gui


def _start(qtbot, settings, argv=()):
    """What `cadis-studio` does at start, without entering the event loop."""
    source, project_dir = start_source(build_parser().parse_args(list(argv)), settings)
    w = MainWindow(settings)
    qtbot.addWidget(w)
    w.show()
    assert source is not None, "expected the last project"
    assert w.open_source(source, project_dir)
    w.runner.wait(30_000)
    return w


def test_no_argument_reopens_last_project_on_its_last_frame(qtbot, phantom_root, tmp_path):
    settings = make_settings(tmp_path / "s.ini")
    w = open_window(qtbot, phantom_root, tmp_path / "proj", settings)
    keys = w.doc.project.frame_keys()
    w.show_frame(keys[4])
    w.close()
    w2 = _start(qtbot, settings)
    assert w2.doc.project.root == (tmp_path / "proj").resolve()
    assert w2.doc.key == keys[4] and w2.frames.current_key() == keys[4]


def test_sample_option_and_first_start_use_the_user_data_folder(tmp_path, monkeypatch):
    from desktop.settings import phantom_dir

    monkeypatch.setenv("CADIS_STUDIO_DATA", str(tmp_path / "data"))
    settings = make_settings(tmp_path / "s.ini")
    assert start_source(build_parser().parse_args([]), settings) == (None, None)  # first start: the sample
    assert phantom_dir() == tmp_path / "data" / "phantom"
    settings.add_recent(tmp_path)
    assert start_source(build_parser().parse_args([]), settings)[0] == str(tmp_path.resolve())
    assert start_source(build_parser().parse_args(["--sample"]), settings) == (None, None)


def test_recovery_at_start_lands_on_the_recovered_frame(qtbot, phantom_root, tmp_path, monkeypatch):
    settings = make_settings(tmp_path / "s.ini", recovery="ask")
    w = open_window(qtbot, phantom_root, tmp_path / "proj", settings)
    keys = w.doc.project.frame_keys()
    w.show_frame(keys[2])
    paint(w, middle_stroke(w))
    expected = w.doc.label.copy()
    crash(w)
    settings.set_last_frame(tmp_path / "proj", keys[5])  # the user had looked elsewhere afterwards
    asked = []
    monkeypatch.setattr("desktop.main_window.ask_recovery", lambda parent, pending: asked.append(pending) or True)
    w2 = _start(qtbot, settings)
    assert asked == [{keys[2]: 1}]
    assert w2.doc.key == keys[2] and w2.frames.current_key() == keys[2]
    np.testing.assert_array_equal(w2.doc.label, expected)
    assert w2.doc.project.pending_recovery() == {}


def test_folder_guard_asks_before_creating_a_project(qtbot, tmp_path):
    folder = tmp_path / "stuff"
    folder.mkdir()
    for i, (wd, ht) in enumerate(((96, 54), (640, 480), (200, 100))):
        cv2.imwrite(str(folder / f"img{i}.png"), np.full((ht, wd, 3), 40 * i, np.uint8))
    w = MainWindow(make_settings(tmp_path / "s.ini"))
    qtbot.addWidget(w)
    asked = []
    w.ask_open_anyway = lambda parent, check: asked.append(check) or False
    assert not w.open_source(folder)
    assert len(asked) == 1 and "different sizes" in asked[0].message()
    assert w.doc.project is None
    assert not (tmp_path / "stuff.cadis-project").exists()  # no project folder appeared
    w.ask_open_anyway = lambda parent, check: True  # the user insists
    assert w.open_source(folder)
    assert w.doc.project is not None and len(w.doc.project.frame_keys()) == 3
    w.runner.wait(30_000)


def test_every_dock_resets_when_the_project_changes(qtbot, phantom_root, tmp_path):
    from types import SimpleNamespace

    w = open_window(qtbot, phantom_root, tmp_path / "a", make_settings(tmp_path / "s.ini"))
    mp = w.model_panels
    mp.synthesis.status.setText("Stored as synthetic pair 1 (from frame000090.png)")
    key = w.doc.key
    mp.preseg._fill_ranked(mp.preseg.next_list, [SimpleNamespace(key=key, score=0.5)], "uncertainty")
    mp.preseg._fill_ranked(mp.preseg.sus_list, [SimpleNamespace(key=key, score=0.7)], "disagreement")
    curation = mp.panel("curation")
    if curation is not None:
        curation.details.setPlainText("pair 1 · synthesis · pending")
    other = tmp_path / "other"
    shutil.copytree(phantom_root, other)
    assert w.open_source(other, tmp_path / "b")
    w.runner.wait(30_000)
    assert mp.synthesis.status.text() == "" and mp.synthesis.gallery.count() == 0
    assert mp.preseg.next_list.count() == 0 and mp.preseg.sus_list.count() == 0
    if curation is not None:
        assert curation.details.toPlainText() == ""
    assert w.frames.keys() == w.doc.project.frame_keys()


def test_review_status_shows_in_the_frame_list_and_thumbnails_follow_edits(qtbot, phantom_root, tmp_path):
    w = open_window(qtbot, phantom_root, tmp_path / "proj", make_settings(tmp_path / "s.ini"))
    key = w.doc.key
    item = w.frames._items[key]
    grey = item.foreground(0).color().name()
    before = w.frames._thumbs[key].toImage()
    paint(w, middle_stroke(w))
    w.doc.save()
    assert w.frames._thumbs[key].toImage() != before  # the thumbnail shows the edit
    w.set_status("done")
    assert w.frames.status_of(key) == "done"
    assert item.foreground(0).color().name() != grey and item.font(0).bold()
    assert item.toolTip(1) == "Done"
    w.frames.status_filter.setCurrentIndex(w.frames.status_filter.findData("done"))
    assert w.frames.visible_keys() == [key]
    assert w.frames.status_filter.itemText(w.frames.status_filter.findData("unlabelled")) == "Not reviewed"


def test_done_with_unlabelled_pixels_warns(qtbot, phantom_root, tmp_path):
    w = open_window(qtbot, phantom_root, tmp_path / "proj", make_settings(tmp_path / "s.ini"))
    key = w.doc.key
    w.set_tool("eraser")
    paint(w, middle_stroke(w), cls=0)
    w.set_tool("eraser")
    from tests.gui.canvas_helpers import drag

    drag(w.canvas, middle_stroke(w), Qt.LeftButton)
    n = int((w.doc.label == 255).sum())
    assert n > 0
    asked = []
    w.confirm_unlabelled = lambda parent, pixels, share: asked.append((pixels, share)) or False
    w.set_status("done")
    assert asked == [(n, n / w.doc.label.size)] and w.doc.project.status(key) != "done"
    w.confirm_unlabelled = lambda parent, pixels, share: True
    w.set_status("done")
    assert w.doc.project.status(key) == "done"
    assert "Unlabelled pixels" in w.palette.unlabelled.text()


def test_clicking_an_unreadable_frame_keeps_list_and_canvas_together(qtbot, phantom_root, tmp_path):
    root = tmp_path / "broken"
    shutil.copytree(phantom_root, root)
    images = sorted(root.glob("Video*/Images/*.png"))
    images[3].write_bytes(b"not a png")
    w = open_window(qtbot, root, tmp_path / "proj", make_settings(tmp_path / "s.ini"))
    shown = w.doc.key
    broken = images[3].relative_to(root).as_posix()
    item = w.frames._items[broken]
    w.frames.tree.setCurrentItem(item)
    w.frames.tree.itemClicked.emit(item, 0)
    assert w.doc.key == shown
    assert w.frames.current_key() == shown  # the selection follows the canvas, not the click
    assert "Cannot be opened" in item.toolTip(0)
    before = w.doc.label.copy()
    paint(w, middle_stroke(w))
    w.doc.save()
    assert (w.doc.label != before).any() and w.doc.project.has_saved_label(shown)
    assert not w.doc.project.has_saved_label(broken)


def test_class_popup_and_help(qtbot, phantom_root, tmp_path):
    w = open_window(qtbot, phantom_root, tmp_path / "proj", make_settings(tmp_path / "s.ini"))
    w.actions["class.search"].trigger()
    popup = w.class_search
    assert popup.isVisible()
    qtbot.keyClicks(popup.edit, "knife")
    assert popup.list.count() == 4
    qtbot.keyClick(popup.edit, Qt.Key_Return)
    assert w.palette.current_class() == 12 and not popup.isVisible()  # Primary Knife
    w.actions["help.shortcuts"].trigger()
    table = w.shortcut_sheet.table
    rows = {table.item(r, 0).text(): table.item(r, 1).text() for r in range(table.rowCount())}
    assert rows["F1"] == "Keyboard shortcuts" and rows["D"].startswith("Done") and "Canvas only" in rows["F11"]
    assert w.actions["help.shortcuts"].shortcut().toString() == "F1"
    assert w.palette.tree.topLevelItem(STROKE_CLASS).text(1) == "3 4"  # every class shows its keys


def test_jobs_keep_few_finished_rows_and_full_titles(qtbot, phantom_root, tmp_path):
    w = open_window(qtbot, phantom_root, tmp_path / "proj", make_settings(tmp_path / "s.ini"))
    title = "Rank 1234 unlabelled frames of a project with a long name " * 2
    handles = [w.runner.submit(f"{title}{i}", lambda ctx: 1) for i in range(7)]
    w.runner.wait(30_000)
    qtbot.waitUntil(lambda: all(h.is_finished() for h in handles), timeout=10_000)
    rows = w.jobs_panel._rows
    assert len(rows) <= 4
    newest = w.jobs_panel.row_for(handles[-1])
    assert newest.title.toolTip() == handles[-1].title and newest.title.wordWrap()


def test_status_bar_zoom_follows_the_view(qtbot, phantom_root, tmp_path):
    w = open_window(qtbot, phantom_root, tmp_path / "proj", make_settings(tmp_path / "s.ini"))
    w.actions["view.actual"].trigger()
    assert w.zoom_label.text() == "100%"
    w.actions["view.fit"].trigger()
    assert w.zoom_label.text() == f"{w.canvas.view_scale() * 100:.0f}%" != "100%"
