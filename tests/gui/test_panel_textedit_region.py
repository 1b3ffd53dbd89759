"""The Text edits dock's region picker (issue 28) on a tiny RANDOM Stable Diffusion and a phantom frame:
the frame's classes are listed, an empty selection is a message (no job), editing only the pupil leaves
every other pixel of the frame byte-identical and the accepted pair keeps the frame's label with the region
in provenance, keep mode protects the checked classes, and the prompt's proposal checks classes the user can
still change before running."""
from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import Qt

from tests.gui.panel_helpers import close, open_textedit_panel
from tests.textedit_helpers import _one_torch_thread, tiny_sd_dir  # noqa: F401 - fixtures

pytestmark = pytest.mark.gui
PUPIL = 0


@pytest.fixture
def setup(qtbot, phantom_root, tmp_path, tiny_sd_dir):  # noqa: F811
    panel, doc, runner, settings = open_textedit_panel(qtbot, phantom_root, tmp_path, tiny_sd_dir, "a red pupil", 2)
    panel.settings_ = settings
    yield panel, doc, runner
    close(doc, runner)


def _wait(qtbot, handle):
    assert handle is not None, "no job started"
    with qtbot.waitSignal(handle.finished, timeout=120_000):
        pass
    assert handle.state == "done", handle.error


def _listed(panel):
    picker = panel.region.classes
    return [picker.item(i).data(Qt.ItemDataRole.UserRole) for i in range(picker.count())]


def test_picker_lists_the_frames_classes_and_refuses_an_empty_choice(qtbot, setup):
    panel, doc, _runner = setup
    assert _listed(panel) == sorted(int(c) for c in np.unique(doc.label) if c != 255)
    assert not panel.region.classes.isEnabled()             # whole frame: nothing to pick
    panel.region.set_mode("only")
    assert panel.region.classes.isEnabled()
    assert panel.run() is None
    assert "No class is checked" in panel.last_message and panel.job is None
    # the next frame lists its own classes
    doc.set_frame(doc.keys()[1])
    assert _listed(panel) == sorted(int(c) for c in np.unique(doc.label) if c != 255)


def test_editing_only_the_pupil_leaves_the_rest_of_the_frame_and_its_label(qtbot, setup):
    panel, doc, _runner = setup
    panel.region.set_mode("only")
    panel.region.set_checked([PUPIL])
    assert "Edits Pupil" in panel.region.summary.text()
    _wait(qtbot, panel.run())
    (res,) = panel.results
    ed = res.region.editable
    assert ed[doc.label == PUPIL].all()
    assert np.array_equal(res.image[~ed], doc.image[~ed]) and np.any(res.image[ed] != doc.image[ed])
    assert "only Pupil" in panel.gallery.item(0).text()
    panel.gallery.item(0).setSelected(True)
    (pid,) = panel.accept_selected()
    rec = doc.project.pair(pid)
    image, label = doc.project.load_pair(pid)
    assert np.array_equal(label, doc.label) and np.array_equal(image, res.image)
    assert rec.provenance["region"]["mode"] == "only" and rec.provenance["region"]["classes"] == [PUPIL]


def test_keep_mode_protects_the_checked_classes(qtbot, setup):
    panel, doc, _runner = setup
    kept = [c for c in _listed(panel) if c != PUPIL][:2]
    panel.region.set_mode("keep")
    panel.region.set_checked(kept)
    _wait(qtbot, panel.run())
    protected = np.isin(doc.label, kept)
    assert np.array_equal(panel.results[0].image[protected], doc.image[protected])
    assert "kept" in panel.gallery.item(0).text()


def test_prompt_proposal_checks_classes_the_user_can_change(qtbot, setup):
    panel, _doc, _runner = setup
    _wait(qtbot, panel.propose())
    prop = panel.region.proposal
    assert prop is not None and panel.region.mode_value() == "only"
    assert panel.region.checked_classes() == prop.classes
    assert all(prop.shares[c] >= 0.5 for c in prop.classes)
    extra = next(c for c in _listed(panel) if c not in prop.classes)
    panel.region.set_checked(set(prop.classes) | {extra})   # the user adds a class
    assert extra in panel.region.checked_classes()
    assert "prompt's mask" in panel.region.summary.text()


def test_region_consistency_is_shown_and_filters_the_curation_gallery(qtbot, setup):
    from desktop.panels.curation.panel import CurationPanel

    panel, doc, runner = setup
    label = doc.label.copy()
    panel.region.set_mode("only")
    panel.region.set_checked([PUPIL])
    ids = []
    for proposal in (label, np.full_like(label, 4)):     # right inside the pupil / iris everywhere
        panel.presegment = lambda _img, p=proposal: p
        _wait(qtbot, panel.run())
        assert "label mIoU in region" in panel.gallery.item(0).text()
        panel.gallery.item(0).setSelected(True)
        ids += panel.accept_selected()
    good, bad = (doc.project.pair(i).provenance["scores"]["consistency"] for i in ids)
    assert good == pytest.approx(1.0) and bad < 0.5   # (the margin ring holds some iris: not exactly 0)
    curation = CurationPanel(doc, runner, panel.settings_)
    qtbot.addWidget(curation)
    curation.refresh()
    curation.set_filters(min_consistency=0.5)
    assert set(curation.proxy.visible_ids()) == {ids[0]}
