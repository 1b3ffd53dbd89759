"""The Synthesize panel in the main window: live preview after strokes (newest request wins), accepting a
result as a synthetic pair with provenance, "save as", and a clear message when there is no model."""
from __future__ import annotations

import numpy as np
import pytest

from desktop.workers import CANCELLED, DONE
from tests.gui.window_helpers import make_settings, middle_stroke, open_window, paint
from tests.gui.synthesis_fixtures import model_dir, window  # noqa: F401 - fixtures

pytestmark = [pytest.mark.gui, pytest.mark.usefixtures("one_torch_thread")]


def _wait_done(qtbot, handle, timeout=60_000):
    qtbot.waitUntil(lambda: handle.is_finished(), timeout=timeout)


def test_live_preview_follows_strokes_and_newest_request_wins(window, qtbot):
    panel = window.model_panels.synthesis
    assert panel.model_problem is None and panel.run_button.isEnabled()
    panel.live.setChecked(True)  # turning it on renders the current mask once
    first = panel.preview_handle
    assert first is not None and first.group == "synth-preview"
    _wait_done(qtbot, first)
    assert first.state == DONE and panel.gallery.live_entry() is not None

    paint(window, middle_stroke(window))
    stale = panel.preview_handle
    assert stale is not first and stale.group == "synth-preview"
    h, w = window.doc.label.shape
    paint(window, [(x, h // 3) for x in range(w // 4, w // 2, 8)], cls=13)  # a second quick stroke
    newest = panel.preview_handle
    assert newest is not stale
    _wait_done(qtbot, newest)
    window.runner.wait(30_000)
    assert stale.state == CANCELLED and stale.superseded  # the stale request was cancelled
    assert newest.state == DONE
    entry = panel.gallery.live_entry()
    assert panel.gallery.count() == 1  # the live slot is replaced, not appended
    # the preview was made from the mask after BOTH strokes
    np.testing.assert_array_equal(entry.mask, window.doc.label)  # the label itself, at its own size
    assert entry.image.shape == (*window.doc.label.shape, 3) and entry.image.dtype == np.uint8
    assert entry.image.std() > 0  # a real picture, not a blank
    assert not panel.preview.pixmap().isNull()


def test_synthesize_variants_then_accept_stores_pair_with_provenance(window, qtbot, tmp_path):
    panel = window.model_panels.synthesis
    panel.preset.setCurrentIndex(panel.preset.findData("preview"))
    panel.steps.setValue(3)
    panel.sampler.setCurrentIndex(panel.sampler.findData("ddim"))
    panel.guidance.setValue(1.5)
    panel.seed.setValue(77)
    panel.variants.setValue(2)
    handle = window.model_panels.synthesize()
    _wait_done(qtbot, handle)
    assert handle.state == DONE
    entries = panel.gallery.entries()
    assert len(entries) == 2 and {e.provenance["seed"] for e in entries} == {77, 78}
    assert not np.array_equal(entries[0].image, entries[1].image)  # different seeds, different frames

    pair_id = panel.accept_selected()
    assert pair_id is not None
    project = window.doc.project
    rec = project.pair(pair_id)
    entry = panel.gallery.selected_entry()
    assert rec.source == "synthesis" and rec.parent_key == window.doc.key
    prov = rec.provenance
    assert prov["model"] == panel.synth_cache.peek().fingerprint and len(prov["model"]) == 16
    assert (prov["sampler"], prov["steps"], prov["guidance"]) == ("ddim", 3, 1.5)
    assert prov["seed"] == entry.provenance["seed"] and prov["source_frame"] == window.doc.key
    image, label = project.load_pair(pair_id)
    np.testing.assert_array_equal(image, entry.image)
    np.testing.assert_array_equal(label, entry.mask)
    assert panel.accept_selected() == pair_id and len(project.pairs()) == 1  # accepting twice stores once

    out = panel.save_selected(str(tmp_path / "out" / "frame.png"))
    from engine.imageio import read_image, read_label

    np.testing.assert_array_equal(read_image(out), entry.image)
    np.testing.assert_array_equal(read_label(tmp_path / "out" / "frame.mask.png"), entry.mask)


def test_repaint_changed_region_keeps_the_real_frame_and_accepts_with_provenance(window, qtbot, tmp_path):
    from engine.pipelines.repaint import decode_region, grow

    panel = window.model_panels.synthesis
    assert panel.repaint() is None and "Nothing to repaint" in panel.status.text()  # no edit yet
    asked = []
    panel.ask_move_into_sketch = lambda _parent, frame, n: asked.append((frame, n)) or True
    parent = window.doc.label.copy()
    h, w = parent.shape
    paint(window, [(x, h // 2) for x in range(w // 4, w // 2, 4)], cls=7)  # paint an instrument
    panel.preset.setCurrentIndex(panel.preset.findData("preview"))
    panel.steps.setValue(2)
    panel.margin.setValue(6)
    handle = panel.repaint()
    assert handle is not None and len(asked) == 1  # the edit became a variant sketch (asked first)
    assert window.doc.sketch is not None and window.doc.sketch.base.tobytes() == parent.tobytes()
    _wait_done(qtbot, handle)
    entry = panel.gallery.selected_entry()
    real = window.doc.image
    changed = parent != window.doc.label
    outside = ~grow(changed, 6)
    assert entry.image.shape == real.shape
    np.testing.assert_array_equal(entry.image[outside], real[outside])
    assert "Repainted" in panel.status.text()
    pair_id = panel.accept_selected()
    rec = window.doc.project.pair(pair_id)
    prov = rec.provenance["repaint"]
    assert rec.parent_key == window.doc.key and prov["parent_frame"] == window.doc.key
    np.testing.assert_array_equal(decode_region(prov["changed_region"]), changed)
    assert prov["model"] == panel.synth_cache.peek().fingerprint and prov["seed"] == panel.seed.value()
    # the sketch closed with the accept: the frame shows its own label again, the pair has the edit
    assert window.doc.sketch is None and window.doc.label.tobytes() == parent.tobytes()
    np.testing.assert_array_equal(window.doc.project.load_pair(pair_id)[1], entry.mask)


def test_missing_model_shows_what_to_do_instead_of_crashing(qtbot, phantom_root, tmp_path):
    settings = make_settings(tmp_path / "s.ini")
    settings.model_dir = str(tmp_path / "no-such-model")
    window = open_window(qtbot, phantom_root, tmp_path / "proj", settings)
    panel = window.model_panels.synthesis
    assert panel.model_problem is not None
    text = panel.message.text()
    assert "does not exist" in text and "Train synthesis model" in text and "Preferences" in text
    assert panel.message.isVisibleTo(panel) and panel.fix_row.isVisibleTo(panel)
    assert not panel.run_button.isEnabled()
    n_jobs = len(window.runner.jobs())
    assert panel.synthesize() is None and panel.request_preview() is None
    assert len(window.runner.jobs()) == n_jobs  # nothing was started
    paint(window, middle_stroke(window))  # strokes keep working without a model
    assert "Train" in panel.status.text()
    # a folder with pickle weights is refused with the reason
    bad = tmp_path / "pickled"
    bad.mkdir()
    (bad / "model.bin").write_bytes(b"\x80\x04junk")
    settings.model_dir = str(bad)
    window.model_panels.settings_changed()
    assert "pickle" in panel.message.text()
    # the "Train a model…" button opens the training dialog
    panel.train_button.click()
    dlg = window.model_panels.training_dialog
    assert dlg is not None and dlg.isVisible()
    dlg.close()


def test_model_folder_defaults_to_the_starter_model_and_preferences_store_the_head_folder(
        qtbot, tmp_path, model_dir, monkeypatch):
    from desktop.preferences import PreferencesDialog
    from desktop.settings import Settings

    monkeypatch.setenv("CADIS_SYNTH_MODEL", str(model_dir))  # where starter_model_dir() looks first
    s = Settings(tmp_path / "s.ini")
    assert s.model_dir == str(model_dir)  # nothing chosen yet: the starter model
    monkeypatch.setenv("CADIS_SYNTH_MODEL", str(tmp_path / "absent"))
    assert Settings(tmp_path / "s2.ini").model_dir == ""  # no starter model shipped: nothing, not a bad path
    dlg = PreferencesDialog(s)
    qtbot.addWidget(dlg)
    dlg.preseg_dir.setText(str(tmp_path / "heads"))
    dlg.model_dir.setText(str(tmp_path / "mine"))
    dlg.apply()
    again = Settings(tmp_path / "s.ini")
    assert again.preseg_dir == str(tmp_path / "heads") and again.model_dir == str(tmp_path / "mine")


def test_models_menu_and_docks(window):
    from PySide6.QtCore import Qt

    menus = {a.text(): a.menu() for a in window.menuBar().actions()}
    assert "&Models" in menus
    texts = [a.text() for a in menus["&Models"].actions() if a.text()]
    for t in ("Train synthesis model…", "Synthesize", "Live preview", "Train pre-segmenter", "Pre-segment"):
        assert t in texts
    docks = window.model_panels.docks
    assert window.dockWidgetArea(docks["synthesis"]) == Qt.DockWidgetArea.RightDockWidgetArea
    assert docks["preseg"] in window.tabifiedDockWidgets(docks["synthesis"])
    live = window.model_panels.actions["models.live_preview"]
    live.setChecked(True)  # the menu toggle and the panel checkbox are one switch
    assert window.model_panels.synthesis.live.isChecked()
    window.model_panels.synthesis.live.setChecked(False)
    assert not live.isChecked()
    window.runner.wait(30_000)
    for key in window.model_panels.extra:  # curation / text edits, when their modules are present
        dock = docks[key]
        assert not dock.isVisible()  # opened from the Models menu
        window.model_panels.actions[f"models.show_{key}"].trigger()
        assert dock.isVisible() and dock in window.tabifiedDockWidgets(docks["synthesis"])
