"""Repairing a synthetic pair's mask in the canvas: strokes, undo, save through the project."""
from __future__ import annotations

import numpy as np
import pytest

from desktop.panels.curation.pair_editor import PairEditor
from tests.gui.canvas_helpers import drag
from tests.gui.panel_helpers import close, open_document, small_pair

pytestmark = pytest.mark.gui


def test_stroke_undo_redo_and_save_write_the_pair_label(qtbot, phantom_root, tmp_path):
    doc, runner, _settings = open_document(qtbot, phantom_root, tmp_path)
    try:
        key = doc.project.frame_keys()[0]
        image, label = small_pair(doc.project, key)
        pid = doc.project.add_pair(image, label, "synthesis", {"seed": 1}, parent_key=key)
        editor = PairEditor(doc.project, pid)
        qtbot.addWidget(editor)
        editor.show()
        qtbot.waitExposed(editor)
        editor.set_tool("brush")
        editor.set_class(13)
        editor.canvas.set_brush_radius(3)
        drag(editor.canvas, [(20, 20), (40, 20)])
        painted = editor.label.copy()
        assert (painted[20, 20:41] == 13).all() and not np.array_equal(painted, label)
        editor.undo()
        assert np.array_equal(editor.label, label)
        editor.redo()
        assert np.array_equal(editor.label, painted)
        with qtbot.waitSignal(editor.saved, timeout=5000) as sig:
            assert editor.save()
        assert sig.args == [pid]
        assert np.array_equal(doc.project.load_pair(pid)[1], painted)
        assert np.array_equal(doc.project.load_pair(pid)[0], image)  # the image is never touched
        assert not editor.dirty
        editor.close()
    finally:
        close(doc, runner)


def test_open_in_canvas_from_the_curation_gallery_opens_the_editor(qtbot, phantom_root, tmp_path):
    from tests.gui.window_helpers import make_settings, open_window

    window = open_window(qtbot, phantom_root, tmp_path / "p.cadis-project", make_settings(tmp_path / "s.ini"))
    project = window.doc.project
    key = project.frame_keys()[0]
    pid = project.add_pair(*small_pair(project, key), "synthesis", {}, parent_key=key)
    curation = window.model_panels.panel("curation")
    curation.refresh()
    curation.openPairRequested.emit(pid)
    editors = window.model_panels.pair_editors
    assert editors and editors[-1].pair_id == pid and editors[-1].isVisible()
    editors[-1].close()


def test_a_pair_opens_in_the_main_canvas_palette(qtbot, phantom_root, tmp_path):
    from engine.taxonomy import DISPLAY_PALETTES
    from tests.gui.window_helpers import make_settings, open_window

    window = open_window(qtbot, phantom_root, tmp_path / "p.cadis-project", make_settings(tmp_path / "s.ini"))
    project = window.doc.project
    key = project.frame_keys()[0]
    pid = project.add_pair(*small_pair(project, key), "synthesis", {}, parent_key=key)
    for name in ("distinct", "cadis"):
        window.canvas.set_palette(name)
        window.model_panels.panel("curation").openPairRequested.emit(pid)
        editor = window.model_panels.pair_editors[-1]
        assert editor.canvas.palette_name() == name
        swatch = editor.class_box.itemIcon(4).pixmap(16, 16).toImage().pixelColor(8, 8)
        assert (swatch.red(), swatch.green(), swatch.blue()) == tuple(DISPLAY_PALETTES[name][4])
        editor.close()
