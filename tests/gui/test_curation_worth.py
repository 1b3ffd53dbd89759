"""*Curation → What is it worth?*: the eval-augment service as a job with progress and cancel, its per-class table
and bar chart, and the last result shown when the dialog opens again."""
from __future__ import annotations

import os

import numpy as np
import pytest

from desktop.document import Document
from desktop.panels.curation.panel import CurationPanel
from desktop.qt_image import qimage_to_rgb
from desktop.settings import Settings
from desktop.workers import JobRunner
from engine.project import Project
from engine.project.eval_augment_file import EVAL_AUGMENT_FILE
from tests.eval_augment_helpers import project_with_pairs

pytestmark = [pytest.mark.gui, pytest.mark.usefixtures("one_torch_thread")]
SHOTS = os.environ.get("CADIS_SHOTS", "")


def _open(qtbot, tmp_path, accepted=True):
    root, _ = project_with_pairs(tmp_path / "p", accepted=accepted)
    doc = Document(autosave_ms=60_000)
    runner = JobRunner(max_threads=1)
    settings = Settings(tmp_path / "settings.ini")
    settings.model_dir = str(tmp_path / "no-model")
    doc.open_project(Project.open_or_create(root, journal_fsync=False))
    panel = CurationPanel(doc, runner, settings)
    qtbot.addWidget(panel)
    return root, doc, runner, panel


@pytest.fixture
def opened(qtbot, tmp_path):
    root, doc, runner, panel = _open(qtbot, tmp_path)
    yield root, panel
    runner.shutdown()
    runner.wait(5000)
    doc.close_project()


def _budget(dialog, steps=3):
    dialog.folds.setValue(3)
    dialog.steps.setValue(steps)
    dialog.size_edit.setText("48x32")


def test_runs_as_a_job_and_shows_the_table_and_chart(qtbot, opened):
    root, panel = opened
    assert panel.worth_btn.isEnabled() and panel.worth_btn.text() == "What is it worth?"
    dialog = panel.show_worth()
    qtbot.addWidget(dialog)
    _budget(dialog)
    seen = []
    handle = dialog.start()
    handle.progressChanged.connect(lambda f, m: seen.append(m))
    qtbot.waitUntil(handle.is_finished, timeout=120_000)
    assert handle.state == "done" and (root / EVAL_AUGMENT_FILE).is_file()
    rows = [dialog.table.item(i, 0).text() for i in range(dialog.table.rowCount())]
    assert "0 Pupil" in rows and len(rows) == len(dialog.chart.rows) > 3
    assert "±" in dialog.table.item(0, 3).text()  # the spread over 3 folds
    assert "mIoU" in dialog.summary.text() and "3 steps at 48x32" in dialog.summary.text()
    assert "export report carries" in dialog.status.text()
    dialog.resize(980, 620)  # its size at 1366x768
    shot = dialog.grab()
    assert len(np.unique(qimage_to_rgb(shot.toImage()).reshape(-1, 3), axis=0)) > 20
    if SHOTS:
        shot.save(os.path.join(SHOTS, "worth-dialog.png"))
    again = panel.show_worth()  # the last result is shown at once
    qtbot.addWidget(again)
    assert again.table.rowCount() == dialog.table.rowCount() and "Last run" in again.summary.text()


def test_cancel_leaves_the_project_untouched(qtbot, opened):
    root, panel = opened
    dialog = panel.show_worth()
    qtbot.addWidget(dialog)
    _budget(dialog, steps=20000)
    handle = dialog.start()
    qtbot.waitUntil(lambda: "without the pairs" in dialog.status.text(), timeout=60_000)
    dialog.cancel_btn.click()
    qtbot.waitUntil(handle.is_finished, timeout=60_000)
    assert handle.state == "cancelled" and not (root / EVAL_AUGMENT_FILE).exists()
    assert "nothing was changed" in dialog.status.text() and dialog.run_btn.isEnabled()


def test_without_accepted_pairs_it_says_so(qtbot, tmp_path):
    root, doc, runner, panel = _open(qtbot, tmp_path, accepted=False)
    try:
        dialog = panel.show_worth()
        qtbot.addWidget(dialog)
        handle = dialog.start()
        qtbot.waitUntil(handle.is_finished, timeout=30_000)
        assert "no accepted synthetic pairs" in dialog.status.text() and dialog.table.rowCount() == 0
    finally:
        runner.shutdown()
        runner.wait(5000)
        doc.close_project()


def test_a_bad_size_is_one_line(qtbot, opened):
    _root, panel = opened
    dialog = panel.show_worth()
    qtbot.addWidget(dialog)
    dialog.size_edit.setText("huge")
    assert dialog.start() is None and dialog.status.text() and dialog.job is None
