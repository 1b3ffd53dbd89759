"""Issue 22 in the Pre-segment panel: training never replaces another project's head unless chosen and asked;
too few frames are said before training and on every proposal; flagged proposals ask before "Accept
confident" / "Accept all"; accepted pixels are shown as model-made in the frame list and on the canvas until
reviewed."""
from __future__ import annotations

import json
import os
import shutil

import numpy as np
import pytest

from tests.gui.test_panel_preseg import _finish, _window, head_dir, model_dir  # noqa: F401 - fixtures

pytestmark = [pytest.mark.gui, pytest.mark.usefixtures("one_torch_thread")]
SHOTS = os.environ.get("CADIS_SHOTS")  # a folder: screenshots at 1366x768 are saved there


def _foreign_head(head_dir, tmp_path):  # noqa: F811
    """A copy of the trained head as project B's own head."""
    b = tmp_path / "B.cadis-project"
    foreign = b / "preseg-head"
    shutil.copytree(head_dir, foreign)
    cfg = json.loads((foreign / "preseg_head.json").read_text())
    cfg["meta"]["owner"] = str(b.resolve())
    (foreign / "preseg_head.json").write_text(json.dumps(cfg))
    return foreign


def test_training_in_a_project_never_replaces_another_projects_head(qtbot, phantom_root, tmp_path, model_dir,  # noqa: F811
                                                                     head_dir):  # noqa: F811
    foreign = _foreign_head(head_dir, tmp_path)
    before = {p.name: p.read_bytes() for p in foreign.iterdir()}
    window = _window(qtbot, phantom_root, tmp_path, model_dir, foreign)
    panel, doc = window.model_panels.preseg, window.doc
    for k in doc.project.frame_keys()[:2]:
        doc.project.set_status(k, "done")
    asked, picked = [], []
    panel.confirm = lambda title, text: asked.append(text) or True
    panel.pick_train_target = lambda f: picked.append(f) or None  # the user cancels
    assert panel.train() is None and picked == [foreign] and "left as it is" in panel.status.text()
    panel.pick_train_target = lambda f: (panel.own_head_dir(), False)  # "This project's head folder"
    _finish(qtbot, panel.train())
    assert any("Too few training frames" in a and "2 labelled frames" in a for a in asked)  # asked first
    assert {p.name: p.read_bytes() for p in foreign.iterdir()} == before  # B's head untouched
    own = doc.project.root / "preseg-head"
    assert panel.head_dir() == own and panel.has_head()
    assert json.loads((own / "preseg_head.json").read_text())["meta"]["owner"] == str(doc.project.root.resolve())
    # replacing B's head needs the explicit choice (and the dialog's second question)
    panel.settings.preseg_dir = str(foreign)
    panel.pick_train_target = lambda f: (f, True)
    _finish(qtbot, panel.train())
    assert (foreign / "preseg_head.safetensors").read_bytes() != before["preseg_head.safetensors"]


def test_flagged_proposal_warns_asks_and_accepted_pixels_stay_model_made(qtbot, phantom_root, tmp_path,
                                                                         model_dir, head_dir):  # noqa: F811
    window = _window(qtbot, phantom_root, tmp_path, model_dir, head_dir)
    if SHOTS:
        window.showNormal()
        window.resize(1366, 768)
    panel, doc = window.model_panels.preseg, window.doc
    keys = doc.project.frame_keys()
    key = keys[4]
    window.show_frame(key)
    h, w = doc.label.shape
    doc.label[:, : w // 2] = 255  # half of the frame still to label
    window.canvas.refresh(None)
    _finish(qtbot, panel.presegment())
    r = panel.result
    assert any("Too few training frames" in x for x in r.warnings)  # the head saw 3 frames of one video
    assert any("new video" in x for x in r.warnings)  # frame 4 is of a video the head never saw
    assert panel.ood_warning.isVisibleTo(panel) and "Too few training frames" in panel.ood_warning.text()
    asked = []
    panel.confirm = lambda title, text: asked.append(text) or False
    before = doc.label.copy()
    assert panel.accept_confident(0.0) is None and "cancelled" in panel.status.text()
    assert panel.accept_all() is None and len(asked) == 2
    np.testing.assert_array_equal(doc.label, before)
    panel.confirm = lambda title, text: True
    rec = panel.accept_confident(0.0)
    assert rec is not None
    made = doc.project.model_made_mask(key, doc.label)
    assert made.any() and (before[made] == 255).all()
    assert key in window.frames.model_made_keys() and "model" in window.frames._items[key].text(0)
    panel.made_box.setChecked(True)
    assert panel.made_layer.visible() and (panel.made_layer.mask() == made).all()
    assert panel.review_button.isEnabled()
    if SHOTS:
        qtbot.wait(200)
        window.grab().save(os.path.join(SHOTS, "preseg_flagged_model_made_1366x768.png"))
        window.model_panels.docks["preseg"].raise_()
        scroll = window.model_panels.docks["preseg"].widget()
        scroll.ensureWidgetVisible(panel.ood_warning)
        qtbot.wait(200)
        window.grab().save(os.path.join(SHOTS, "preseg_panel_warnings_1366x768.png"))
        panel.grab().save(os.path.join(SHOTS, "preseg_panel_full.png"))
    doc.save()
    assert panel.review_model_made() == made.sum()
    assert key not in window.frames.model_made_keys() and not panel.made_layer.visible()
    assert not doc.project.model_made_pixels()
