"""One pre-segmentation use case (`engine.services.preseg`): the same request through `cadis preseg` and
through the Pre-segment panel proposes the same label; "Suspicious labels" says in one line when no fold head
can be trained, instead of listing 0.000 scores."""
from __future__ import annotations

import numpy as np
import pytest

from engine.cli import main
from engine.imageio import read_label
from tests.gui.test_panel_preseg import _finish, _window, head_dir, model_dir  # noqa: F401 - fixtures

pytestmark = [pytest.mark.gui, pytest.mark.usefixtures("one_torch_thread")]


def test_cli_and_panel_propose_the_same_label(qtbot, phantom_root, tmp_path, model_dir, head_dir):  # noqa: F811
    window = _window(qtbot, phantom_root, tmp_path, model_dir, head_dir)
    panel, doc = window.model_panels.preseg, window.doc
    key = doc.project.frame_keys()[4]
    window.show_frame(key)
    _finish(qtbot, panel.presegment())
    app_label = panel.proposal

    out = tmp_path / "cli"
    image = phantom_root / key
    assert main(["preseg", "--model", str(model_dir), "--head", str(head_dir), str(image), "--out-dir", str(out),
                 "--device", "cpu", "--quiet"]) == 0
    cli_label = read_label(out / image.with_suffix(".png").name)
    assert cli_label.shape == app_label.shape and len(np.unique(cli_label)) > 1
    np.testing.assert_array_equal(cli_label, app_label)  # a full-class-set head: original IDs in both


def test_suspicious_labels_say_why_when_no_fold_head_can_train(qtbot, phantom_root, tmp_path, model_dir,  # noqa: F811
                                                               head_dir):  # noqa: F811
    window = _window(qtbot, phantom_root, tmp_path, model_dir, head_dir)
    panel, doc = window.model_panels.preseg, window.doc
    keys = doc.project.frame_keys()[:2]
    for k in keys:  # done, but holding no labelled pixel a person made
        doc.project.save_label(k, np.full_like(doc.project.load_label(k), 255))
        doc.project.set_status(k, "done")
    _finish(qtbot, panel.find_suspicious())
    assert panel.sus_list.count() == 0
    text = panel.status.text()
    assert text.startswith("Suspicious labels: No label could be checked") and "\n" not in text
