"""Settings that last: panel options kept between runs, and a versioned settings file whose older versions
are migrated when opened."""
from __future__ import annotations

import pytest
from PySide6.QtCore import QSettings

from desktop.settings import VERSION, Settings
from tests.gui.panel_helpers import close, open_document

pytestmark = pytest.mark.gui


def test_a_version_1_file_is_migrated_once_and_a_new_file_is_stamped(tmp_path):
    path = tmp_path / "old.ini"
    q = QSettings(str(path), QSettings.Format.IniFormat)
    q.setValue("window/geometry", b"geometry")
    q.setValue("window/state", b"docks of version 1")
    q.setValue("shortcuts/tool_dot_brush", "Y")
    q.setValue("shortcuts/tool_dot_gone", "Q")  # an action that no longer exists
    q.setValue("compute/device", "cpu")
    q.sync()
    del q
    s = Settings(path)
    assert s.migrated_from == 1 and s.version == VERSION == 2
    geometry, state = s.window_state()
    assert geometry == b"geometry" and state is None  # the old dock layout is dropped, the window's place kept
    assert s.keymap()["tool.brush"] == "Y" and s.device == "cpu"
    s.sync()
    assert "shortcuts/tool_dot_gone" not in QSettings(str(path), QSettings.Format.IniFormat).allKeys()
    again = Settings(path)
    assert again.migrated_from is None and again.keymap()["tool.brush"] == "Y"
    fresh = Settings(tmp_path / "new.ini")
    assert fresh.migrated_from is None and fresh.version == VERSION


def test_a_newer_file_is_read_as_it_is(tmp_path):
    path = tmp_path / "newer.ini"
    q = QSettings(str(path), QSettings.Format.IniFormat)
    q.setValue("meta/version", VERSION + 5)
    q.setValue("window/state", b"docks")
    q.sync()
    s = Settings(path)
    assert s.migrated_from is None and s.version == VERSION + 5 and s.window_state()[1] == b"docks"


def test_synthesis_and_preseg_options_are_kept_between_runs(qtbot, phantom_root, tmp_path):
    from desktop.canvas.view import CanvasView
    from desktop.panels.preseg.panel import PresegPanel
    from desktop.panels.synthesis.panel import SynthesisPanel

    doc, runner, settings = open_document(qtbot, phantom_root, tmp_path)
    canvas = CanvasView()
    qtbot.addWidget(canvas)
    synth = SynthesisPanel(doc, runner, settings)
    pre = PresegPanel(doc, runner, settings, canvas)
    qtbot.addWidget(synth)
    qtbot.addWidget(pre)
    synth.preset.setCurrentIndex(synth.preset.findData("final"))
    synth.sampler.setCurrentIndex(synth.sampler.findData("ddim"))
    synth.steps.setValue(17)
    synth.guidance.setValue(3.5)
    synth.margin.setValue(40)
    pre.class_set.setCurrentIndex(pre.class_set.findData("2"))
    pre.heat.setChecked(not pre.heat.isChecked())
    heat = pre.heat.isChecked()
    settings.sync()
    # the next run: a new Settings on the same file, new panels
    later = Settings(settings.file_name)
    synth2 = SynthesisPanel(doc, runner, later)
    pre2 = PresegPanel(doc, runner, later, canvas)
    qtbot.addWidget(synth2)
    qtbot.addWidget(pre2)
    assert synth2.preset.currentData() == "final" and synth2.sampler.currentData() == "ddim"
    assert synth2.steps.value() == 17 and synth2.guidance.value() == 3.5 and synth2.margin.value() == 40
    assert pre2.class_set.currentData() == "2" and pre2.heat.isChecked() == heat
    close(doc, runner)
