"""The curation gallery: every pair shown with its thumbnail, filters and sort, one-key accept / reject,
open in canvas, the uncertainty auto-filter and the augment job (with progress and cancel)."""
from __future__ import annotations

import time

import numpy as np
import pytest
from PySide6.QtCore import Qt

from desktop.panels.curation.jobs import pair_thumbnail
from desktop.panels.curation.panel import CurationPanel
from desktop.qt_image import qimage_to_rgb
from engine.services.augment import AugmentRequest
from tests.augment_helpers import fake_generate
from tests.gui.panel_helpers import add_scored_pairs, close, open_document, small_pair

pytestmark = pytest.mark.gui

SPECS = [("augment", 0.9, 0.10), ("augment", 0.4, 0.50), ("text_edit", 0.7, None), ("synthesis", None, None),
         ("augment", 0.6, 0.30), ("augment", 0.8, 0.05)]


@pytest.fixture
def setup(qtbot, phantom_root, tmp_path):
    doc, runner, settings = open_document(qtbot, phantom_root, tmp_path)
    ids = add_scored_pairs(doc.project, SPECS)
    panel = CurationPanel(doc, runner, settings)
    qtbot.addWidget(panel)
    panel.resize(1100, 600)
    panel.show()
    assert runner.wait(30_000)
    yield panel, doc, runner, ids
    close(doc, runner)


def test_gallery_lists_every_pair_with_image_and_mask_thumbnail(setup):
    panel, doc, _runner, ids = setup
    assert panel.proxy.visible_ids() == sorted(ids, reverse=True)  # newest first
    for pid in ids:
        item = panel.model.item(pid)
        assert item.thumb is not None and not item.thumb.isNull()
        image, label = doc.project.load_pair(pid)
        expected = pair_thumbnail(image, label)
        got = qimage_to_rgb(item.thumb.toImage())
        assert got.shape == expected.shape and np.array_equal(got, expected)
        assert item.classes == frozenset(np.unique(label).tolist()) - {255}
    shot = panel.grab().toImage()
    assert len(np.unique(qimage_to_rgb(shot).reshape(-1, 3), axis=0)) > 50  # really painted, not blank


def test_filters_by_source_status_class_and_score(setup):
    panel, doc, _runner, ids = setup
    panel.set_filters(source="augment")
    assert set(panel.proxy.visible_ids()) == {ids[0], ids[1], ids[4], ids[5]}
    panel.set_filters(min_consistency=0.65)
    assert set(panel.proxy.visible_ids()) == {ids[0], ids[2], ids[5]}
    doc.project.set_pair_status(ids[2], "accepted")
    panel.model.set_status(ids[2], "accepted")
    panel.set_filters(status="accepted")
    assert panel.proxy.visible_ids() == [ids[2]]
    # a class shown by exactly some of the masks
    present = {pid: panel.model.item(pid).classes for pid in ids}
    all_classes = set().union(*present.values())
    cls = next(c for c in sorted(all_classes) if 0 < sum(c in v for v in present.values()) < len(ids))
    panel.set_filters(class_id=cls)
    assert set(panel.proxy.visible_ids()) == {pid for pid, v in present.items() if cls in v}
    panel.set_filters()
    assert len(panel.proxy.visible_ids()) == len(ids)


def test_sort_by_scores_puts_missing_scores_last(setup):
    panel, _doc, _runner, ids = setup
    panel.set_sort("consistency")
    assert panel.proxy.visible_ids() == [ids[1], ids[4], ids[2], ids[5], ids[0], ids[3]]
    panel.set_sort("consistency", reverse=True)
    assert panel.proxy.visible_ids() == [ids[0], ids[5], ids[2], ids[4], ids[1], ids[3]]
    panel.set_sort("uncertainty")
    assert panel.proxy.visible_ids()[:4] == [ids[1], ids[4], ids[0], ids[5]]
    assert set(panel.proxy.visible_ids()[4:]) == {ids[2], ids[3]}


def test_a_and_x_keys_accept_and_reject_then_move_on(qtbot, setup):
    panel, doc, _runner, ids = setup
    panel.set_sort("id", reverse=True)  # oldest first
    assert panel.select_pair(ids[0])
    panel.gallery.setFocus()
    qtbot.keyClick(panel.gallery, Qt.Key.Key_A)
    assert doc.project.pair(ids[0]).status == "accepted"
    assert panel.gallery.current_id() == ids[1]
    qtbot.keyClick(panel.gallery, Qt.Key.Key_X)
    assert doc.project.pair(ids[1]).status == "rejected"
    assert panel.model.item(ids[1]).status == "rejected"
    assert [doc.project.pair(i).status for i in ids[2:]] == ["pending"] * 4
    # with a "pending" filter the reviewed pair leaves the view and the next one is selected
    panel.set_filters(status="pending")
    assert panel.select_pair(ids[3])
    qtbot.keyClick(panel.gallery, Qt.Key.Key_A)
    assert ids[3] not in panel.proxy.visible_ids() and panel.gallery.current_id() == ids[4]


def test_enter_and_double_click_ask_to_open_the_pair(qtbot, setup):
    panel, _doc, _runner, ids = setup
    assert panel.select_pair(ids[2])
    panel.gallery.setFocus()
    with qtbot.waitSignal(panel.openPairRequested, timeout=1000) as sig:
        qtbot.keyClick(panel.gallery, Qt.Key.Key_Return)
    assert sig.args == [ids[2]]
    with qtbot.waitSignal(panel.openPairRequested, timeout=1000) as sig:
        panel.open_btn.click()
    assert sig.args == [ids[2]]


def test_drop_most_uncertain_rejects_only_pending_scored_pairs(setup):
    panel, doc, _runner, ids = setup
    assert panel.drop_btn.isEnabled()
    doc.project.set_pair_status(ids[1], "accepted")  # the most uncertain, but a person accepted it
    panel.refresh()
    panel.drop_share.setValue(34.0)  # 34% of the 3 pending scored pairs = 1 pair
    rejected = panel.drop_uncertain()
    assert rejected == [ids[4]]  # uncertainty 0.30: the highest among pending ones
    assert doc.project.pair(ids[4]).status == "rejected" and doc.project.pair(ids[1]).status == "accepted"
    assert doc.project.pair(ids[0]).status == "pending"


def test_drop_is_disabled_without_uncertainty_scores(qtbot, phantom_root, tmp_path):
    doc, runner, settings = open_document(qtbot, phantom_root, tmp_path)
    add_scored_pairs(doc.project, [("synthesis", None, None), ("text_edit", 0.5, None)])
    panel = CurationPanel(doc, runner, settings)
    qtbot.addWidget(panel)
    assert not panel.drop_btn.isEnabled()
    close(doc, runner)


def test_augment_without_model_says_what_to_do(setup):
    panel, doc, _runner, _ids = setup
    before = len(doc.project.pairs())
    panel.choose_augment()
    assert "Preferences" in panel.last_message and "model" in panel.last_message
    assert len(doc.project.pairs()) == before


def test_augment_job_stores_pairs_and_refreshes_gallery(qtbot, setup):
    panel, doc, runner, ids = setup
    panel.generator_factory = lambda: (fake_generate, "fake", {"kind": "test"})
    key = doc.project.frame_keys()[0]
    handle = panel.start_augment(AugmentRequest(layouts=2, samples=1, frames=[key], mode="full"))
    seen = []
    handle.progressChanged.connect(lambda f, m: seen.append(m))
    assert panel.progress.isVisible()
    with qtbot.waitSignal(handle.finished, timeout=60_000):
        pass
    assert handle.state == "done", handle.error
    res, _rejected = handle.result
    new = [p for p in doc.project.pairs(source="augment") if p.id not in ids]
    assert len(new) == len(res.stored) >= 1 and all(p.parent_key == key for p in new)
    assert runner.wait(30_000)
    assert set(p.id for p in new) <= set(panel.proxy.visible_ids())
    assert "pair(s) stored" in panel.last_message and not panel.progress.isVisible()


def test_augment_cancel_stops_and_keeps_finished_pairs(qtbot, setup):
    panel, doc, _runner, _ids = setup
    panel.generator_factory = lambda: (lambda lab, seed: fake_generate(lab, seed, sleep=0.3), "slow", {})
    handle = panel.start_augment(AugmentRequest(layouts=3, samples=3, mode="full"))
    qtbot.waitUntil(lambda: handle.state == "running", timeout=10_000)
    time.sleep(0.4)
    panel.cancel_btn.click()
    with qtbot.waitSignal(handle.finished, timeout=30_000):
        pass
    assert handle.state == "cancelled"
    stored = [p for p in doc.project.pairs(source="augment") if p.id not in _ids]
    planned = 3 * 3 * len(doc.project.frame_keys())
    assert len(stored) < planned
    assert "resumes" in panel.last_message and panel.augment_btn.isEnabled()


def test_near_duplicates_of_source_frame_or_earlier_pair_are_shown(qtbot, phantom_root, tmp_path):
    doc, runner, settings = open_document(qtbot, phantom_root, tmp_path)
    project = doc.project
    keys = project.frame_keys()
    k0 = keys[0]
    k1, k2 = [k for k in keys if k.split("/")[0] != k0.split("/")[0]][:2]  # other videos: unlike k0
    copy0 = project.add_pair(*small_pair(project, k0), "synthesis", {}, parent_key=k0)  # = its source frame
    image1, label1 = small_pair(project, k1)
    other = project.add_pair(image1, label1, "synthesis", {}, parent_key=k0)  # unlike its source k0
    brighter = np.clip(image1.astype(np.int16) + 3, 0, 255).astype(np.uint8)
    twin = project.add_pair(brighter, label1, "synthesis", {}, parent_key=k2)  # = the earlier pair `other`
    panel = CurationPanel(doc, runner, settings)
    qtbot.addWidget(panel)
    assert runner.wait(30_000)
    handle = panel.find_duplicates()
    with qtbot.waitSignal(handle.finished, timeout=30_000):
        pass
    assert handle.state == "done", handle.error
    assert set(panel.duplicates) == {copy0, twin}
    assert set(panel.proxy.visible_ids()) == {copy0, twin} and "2 of 3" in panel.last_message
    panel.dup_btn.setChecked(False)
    assert set(panel.proxy.visible_ids()) == {copy0, other, twin}
    close(doc, runner)


def test_augment_with_a_synthesis_model_folder(qtbot, setup):
    from engine.models.model_dir import save_synthesis_model
    from tests.synthesis_helpers import tiny_model

    panel, doc, _runner, ids = setup
    _tmp_model = doc.project.root.parent / "tiny-model"
    save_synthesis_model(tiny_model("full"), _tmp_model)
    panel.settings.model_dir = str(_tmp_model)
    panel.settings.device = "cpu"
    key = doc.project.frame_keys()[1]
    handle = panel.start_augment(AugmentRequest(layouts=1, samples=1, steps=2, frames=[key]))
    with qtbot.waitSignal(handle.finished, timeout=120_000):
        pass
    assert handle.state == "done", handle.error
    new = [p for p in doc.project.pairs(source="augment") if p.id not in ids]
    res, _ = handle.result
    assert len(new) == len(res.stored) and new
    prov = new[0].provenance
    assert prov["model_info"]["model_dir"] == str(_tmp_model) and prov["frame"] == key
    image, label = doc.project.load_pair(new[0].id)
    assert image.shape[:2] == label.shape == doc.project.load_label(key).shape  # the frame's own size


def test_refresh_keeps_the_selected_pair_and_picks_up_new_ones(setup):
    panel, doc, runner, ids = setup
    assert panel.select_pair(ids[2])
    image, label = doc.project.load_pair(ids[0])
    new = doc.project.add_pair(image, label, "synthesis", {}, parent_key=doc.project.frame_keys()[0])
    panel.refresh()
    assert panel.gallery.current_id() == ids[2] and new in panel.proxy.visible_ids()
    assert runner.wait(30_000) and panel.model.item(new).thumb is not None
