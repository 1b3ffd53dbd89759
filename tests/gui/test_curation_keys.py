"""Curation's accept / reject keys come from the keymap: rebound in Preferences, they follow; the window does not
take them as window-wide shortcuts."""
from __future__ import annotations

import pytest
from PySide6.QtCore import Qt

from desktop.panels.curation.panel import CurationPanel
from desktop.shortcuts import ACTION_BY_ID, merged_keymap
from tests.gui.panel_helpers import add_scored_pairs, close, open_document

pytestmark = pytest.mark.gui


def test_accept_and_reject_keys_follow_the_keymap(qtbot, phantom_root, tmp_path):
    doc, runner, settings = open_document(qtbot, phantom_root, tmp_path)
    ids = add_scored_pairs(doc.project, [("augment", 0.9, 0.1)] * 4)
    settings.set_keymap(merged_keymap({"curation.accept": "K", "curation.reject": "J"}))
    panel = CurationPanel(doc, runner, settings)
    qtbot.addWidget(panel)
    panel.show()
    assert runner.wait(30_000)
    assert ACTION_BY_ID["curation.accept"].key == "A" and ACTION_BY_ID["curation.accept"].scope == "curation"
    panel.set_sort("id", reverse=True)
    assert panel.select_pair(ids[0])
    panel.gallery.setFocus()
    qtbot.keyClick(panel.gallery, Qt.Key.Key_A)  # no longer the accept key
    assert doc.project.pair(ids[0]).status == "pending"
    qtbot.keyClick(panel.gallery, Qt.Key.Key_K)
    assert doc.project.pair(ids[0]).status == "accepted" and panel.gallery.current_id() == ids[1]
    qtbot.keyClick(panel.gallery, Qt.Key.Key_J)
    assert doc.project.pair(ids[1]).status == "rejected"
    panel.apply_keymap(merged_keymap({}))  # back to the defaults, as after Preferences > Reset
    qtbot.keyClick(panel.gallery, Qt.Key.Key_X)
    assert doc.project.pair(ids[2]).status == "rejected"
    close(doc, runner)
