"""Issue 22, item 5: one meaning per word. A synthesized or edited result is *added to curation* (pending);
only pairs accepted in Curation are exported as "accepted synthetic pairs"; the export dialog and the
curation panel show that one rule, and the export dialog keeps its choices between runs."""
from __future__ import annotations

import json

import pytest

from desktop.panels.curation.panel import CurationPanel
from desktop.panels.export.dialog import ExportJobDialog, ExportOptions
from engine.project.pairs import ADD_TO_CURATION, PAIR_RULE
from tests.gui.panel_helpers import close, open_document, small_pair

pytestmark = pytest.mark.gui


def _export(qtbot, dialog, out):
    dialog.out_dir.setText(str(out))
    handle = dialog.start()
    assert handle is not None, dialog.last_message
    with qtbot.waitSignal(handle.finished, timeout=60_000):
        pass
    return json.loads((out / "manifest.json").read_text())


def test_added_pairs_are_pending_until_accepted_and_the_dialog_says_so(qtbot, phantom_root, tmp_path):
    from desktop.panels.synthesis.form import SynthesisForm  # noqa: F401 - the button text comes from one name
    from desktop.panels.textedit.panel import TextEditPanel

    doc, runner, settings = open_document(qtbot, phantom_root, tmp_path)
    try:
        project = doc.project
        train = [k for k in project.frame_keys() if project.dataset.by_key(k).split == "train"][0]
        image, label = small_pair(project, train)
        pid = project.add_pair(image, label, "synthesis", {}, parent_key=train)  # what "Add to curation" does
        assert project.pair(pid).status == "pending"

        edit = TextEditPanel(doc, runner, settings)
        qtbot.addWidget(edit)
        assert edit.accept_btn.text() == ADD_TO_CURATION and edit.accept_btn.toolTip() == PAIR_RULE
        curation = CurationPanel(doc, runner, settings)
        qtbot.addWidget(curation)
        assert curation.rule.toolTip() == PAIR_RULE and "not exported" in curation.rule.text()

        dialog = ExportJobDialog(doc, runner, settings)
        qtbot.addWidget(dialog)
        assert PAIR_RULE in dialog.pair_info.text() and "0 accepted" in dialog.pair_info.text()
        assert "1 pending" in dialog.pair_info.text()
        dialog.synthetic.setChecked(True)
        dialog.previews.setChecked(True)
        manifest = _export(qtbot, dialog, tmp_path / "e1")
        assert manifest["counts"]["synthetic"] == 0  # pending: not exported, as the dialog said

        project.set_pair_status(pid, "accepted")  # accepted in Curation
        dialog2 = ExportJobDialog(doc, runner, settings)  # a new run of the dialog keeps the choices
        qtbot.addWidget(dialog2)
        assert dialog2.synthetic.isChecked() and dialog2.previews.isChecked()
        assert dialog2.out_dir.text() == str(tmp_path / "e1") and not dialog2.overwrite.isChecked()
        assert "1 accepted" in dialog2.pair_info.text()
        manifest = _export(qtbot, dialog2, tmp_path / "e2")
        assert manifest["counts"]["synthetic"] == 1
        assert dialog2.options() == ExportOptions(str(tmp_path / "e2"), include=("real", "synthetic"),
                                                  previews=True, format=dialog2.options().format)
    finally:
        close(doc, runner)
