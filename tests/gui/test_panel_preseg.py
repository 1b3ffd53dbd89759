"""The Pre-segment panel: one-click training on done frames, the proposal overlay, accepting (all, confident
only, chosen classes) as ONE undo step, the feature cache of the next frame, "label next" and "suspicious"."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from desktop.workers import DONE
from tests.gui.window_helpers import make_settings, open_window, paint

pytestmark = [pytest.mark.gui, pytest.mark.usefixtures("one_torch_thread")]


def small_settings():
    from engine.preseg import EnsembleSettings, FeatureConfig, PresegSettings

    return PresegSettings(features=FeatureConfig(timesteps=(50, 150)), pixels_per_frame=1500,
                          ensemble=EnsembleSettings(members=3, hidden=(32, 16), max_epochs=6, batch_size=256))


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory):
    from engine.models import SpadeUNet2DModel, save_synthesis_model

    torch.manual_seed(0)
    model = SpadeUNet2DModel(sample_size=(16, 32), num_classes=8, class_set="1", block_out_channels=(8, 16),
                             layers_per_block=1, spade_hidden=8, head_dim=8)
    return save_synthesis_model(model, tmp_path_factory.mktemp("preseg_model") / "tiny")


@pytest.fixture(scope="module")
def head_dir(model_dir, phantom_root, tmp_path_factory):
    """A head trained once (engine side) on the first three phantom frames, for the tests that only use one."""
    from engine.preseg import train_preseg, training_frames

    frames = training_frames(phantom_root)[:3]
    out = tmp_path_factory.mktemp("preseg_head") / "head"
    train_preseg(model_dir, frames, "full", out, small_settings(), "cpu")
    return out


def _window(qtbot, phantom_root, tmp_path, model_dir, head_dir=None):
    settings = make_settings(tmp_path / "s.ini")
    settings.model_dir = str(model_dir)
    settings.device = "cpu"
    if head_dir is not None:
        settings.preseg_dir = str(head_dir)
    w = open_window(qtbot, phantom_root, tmp_path / "proj", settings)
    w.model_panels.preseg.preseg_settings = small_settings()
    w.model_panels.preseg.confirm = lambda title, text: True  # no modal dialog in tests
    return w


def _finish(qtbot, handle):
    assert handle is not None
    qtbot.waitUntil(handle.is_finished, timeout=120_000)
    assert handle.state == DONE, handle.error


def test_train_presegment_and_accept_all_is_one_undo_step(qtbot, phantom_root, tmp_path, model_dir):
    window = _window(qtbot, phantom_root, tmp_path, model_dir)
    panel, doc = window.model_panels.preseg, window.doc
    keys = doc.project.frame_keys()
    assert not panel.run_button.isEnabled()  # no head yet
    assert panel.train() is None and "done" in panel.status.text()  # nothing marked done yet: a hint
    for k in keys[:2]:
        doc.project.set_status(k, "done")
    _finish(qtbot, panel.train())
    assert panel.has_head() and panel.head_dir().parent == doc.project.root and panel.run_button.isEnabled()

    window.show_frame(keys[3])
    h, w = doc.label.shape
    paint(window, [(x, h // 2) for x in range(w // 4, 3 * w // 4, 6)], cls=34)  # a stroke the proposal undoes
    before = doc.label.copy()
    _finish(qtbot, panel.presegment())
    proposal = panel.proposal
    assert proposal.shape == before.shape and panel.result_key == keys[3]
    differs = proposal != before
    assert differs.any() and panel.layer.visible()
    drawn = panel.layer.pixels() != 0
    np.testing.assert_array_equal(drawn, differs)  # the layer shows exactly what accepting would change
    assert window.canvas.scene() is panel.layer.item.scene()
    # features of the next frame were computed in the same job: opening it will not recompute
    assert keys[4] in panel.cache.peek().cache

    panel.heat.setChecked(True)
    assert panel.layer.mode == "uncertainty" and panel.layer.visible()
    alpha = panel.layer.pixels() >> 24
    unc = panel.result.uncertainty
    assert alpha.flat[unc.argmax()] > alpha.flat[unc.argmin()]  # unsure pixels glow, sure ones fade out
    panel.heat.setChecked(False)

    panel.accept_all()  # by default only unlabelled pixels take the proposal: the painted stroke stays
    painted = before != 255
    np.testing.assert_array_equal(doc.label[painted], before[painted])
    assert (doc.label[~painted] == proposal[~painted]).all()
    before = doc.label.copy()
    panel.replace_box.setChecked(True)  # "Replace my labels"
    rec = panel.accept_all()
    assert rec is not None
    np.testing.assert_array_equal(doc.label, proposal)
    assert not panel.layer.pixels().any()  # nothing left to accept
    window.actions["edit.undo"].trigger()  # ONE undo restores the exact mask
    np.testing.assert_array_equal(doc.label, before)
    window.actions["edit.redo"].trigger()
    np.testing.assert_array_equal(doc.label, proposal)

    window.show_frame(keys[4])  # another frame: the old proposal goes away
    assert panel.proposal is None and not panel.layer.visible()
    assert not panel.accept_all_button.isEnabled()


def test_confident_and_class_accepts_touch_only_their_pixels(qtbot, phantom_root, tmp_path, model_dir, head_dir):
    window = _window(qtbot, phantom_root, tmp_path, model_dir, head_dir)
    panel, doc = window.model_panels.preseg, window.doc
    window.show_frame(doc.project.frame_keys()[5])
    h, w = doc.label.shape
    doc.label[h // 4: 3 * h // 4, w // 4: 3 * w // 4] = 255  # an unlabelled hole (as if erased)
    window.canvas.refresh(None)
    before = doc.label.copy()
    _finish(qtbot, panel.presegment())
    conf, proposal = panel.result.confidence, panel.proposal
    candidates = conf[proposal != before]
    t = float(np.quantile(candidates, 0.5))
    assert (candidates >= t).any() and (candidates < t).any()

    hole = before == 255
    panel.accept_confident(t)  # default: into the unlabelled hole only
    changed = doc.label != before
    assert changed.any() and not (changed & ~(hole & (conf >= t))).any()
    window.actions["edit.undo"].trigger()
    np.testing.assert_array_equal(doc.label, before)

    panel.replace_box.setChecked(True)
    rec = panel.accept_confident(t)
    assert rec is not None
    after = doc.label.copy()
    sure = conf >= t
    changed = after != before
    assert changed.any() and not (changed & ~sure).any()  # nothing below the threshold was touched
    np.testing.assert_array_equal(after[sure], proposal[sure])
    np.testing.assert_array_equal(after[~sure], before[~sure])
    window.actions["edit.undo"].trigger()
    np.testing.assert_array_equal(doc.label, before)

    # the slider drives the default threshold
    panel.threshold.setValue(95)
    assert "95%" in panel.threshold_label.text()

    # accept chosen classes: tick one proposed class in the list
    ids = [panel.classes.item(i).data(256) for i in range(panel.classes.count())]
    assert ids and set(ids) == set(np.unique(proposal).tolist()) - {255}
    target = max(ids, key=lambda c: int(((proposal == c) & (proposal != before)).sum()))
    from PySide6.QtCore import Qt

    panel.classes.item(ids.index(target)).setCheckState(Qt.CheckState.Checked)
    rec = panel.accept_classes()
    assert rec is not None
    changed = doc.label != before
    assert changed.any() and not (changed & (proposal != target)).any()
    assert (doc.label[changed] == target).all()
    window.actions["edit.undo"].trigger()
    np.testing.assert_array_equal(doc.label, before)

    # a locked class is never overwritten by an accept
    locked = int(np.bincount(before[(proposal != before) & (before != 255)].ravel()).argmax())
    window.palette.set_locked(locked, True)
    assert locked in window.canvas.policy().locked
    panel.accept_all()
    assert (doc.label[before == locked] == locked).all()  # locked pixels kept their class
    elsewhere = before != locked
    np.testing.assert_array_equal(doc.label[elsewhere], proposal[elsewhere])


def test_label_next_and_suspicious_lists_open_frames(qtbot, phantom_root, tmp_path, model_dir, head_dir):
    window = _window(qtbot, phantom_root, tmp_path, model_dir, head_dir)
    panel, doc = window.model_panels.preseg, window.doc
    keys = doc.project.frame_keys()
    for k in keys[:3]:
        doc.project.set_status(k, "done")
    _finish(qtbot, panel.rank_label_next())
    ranked = [panel.next_list.item(i).data(256) for i in range(panel.next_list.count())]
    assert sorted(ranked) == sorted(keys[3:])  # every unfinished frame, no done one
    scores = [float(panel.next_list.item(i).text().split()[0]) for i in range(panel.next_list.count())]
    assert scores == sorted(scores, reverse=True)  # most uncertain first
    panel.next_list.itemClicked.emit(panel.next_list.item(0))
    assert doc.key == ranked[0]

    _finish(qtbot, panel.find_suspicious())
    sus = [panel.sus_list.item(i).data(256) for i in range(panel.sus_list.count())]
    assert sorted(sus) == sorted(keys[:3])


def test_status_names_classes_the_presence_gate_left_out(qtbot, phantom_root, tmp_path, model_dir, head_dir):
    import dataclasses

    window = _window(qtbot, phantom_root, tmp_path, model_dir, head_dir)
    panel, doc = window.model_panels.preseg, window.doc
    window.show_frame(doc.project.frame_keys()[4])
    _finish(qtbot, panel.presegment())
    assert "Left out" not in panel.status.text() or panel.result.removed_classes
    names = panel.result.class_set.names
    gated = dataclasses.replace(panel.result, removed_classes=(2, 5))
    panel.show_result(doc.key, gated, panel.proposal)
    text = panel.status.text()
    assert "Left out as too small to be real" in text and names[2] in text and names[5] in text
    panel.show_result(doc.key, dataclasses.replace(gated, removed_classes=()), panel.proposal)
    assert "Left out" not in panel.status.text()


def test_out_of_distribution_proposal_warns_and_accept_all_asks(qtbot, phantom_root, tmp_path, model_dir, head_dir):
    import dataclasses

    window = _window(qtbot, phantom_root, tmp_path, model_dir, head_dir)
    panel, doc = window.model_panels.preseg, window.doc
    window.show_frame(doc.project.frame_keys()[4])
    _finish(qtbot, panel.presegment())
    assert panel.result.shift is not None and "shift" in panel.status.text()
    asked = []
    panel.confirm = lambda title, text: asked.append(text) or False
    panel.replace_box.setChecked(True)
    ood = dataclasses.replace(panel.result, out_of_distribution=True, shift_part="balance")
    panel.show_result(doc.key, ood, panel.proposal)
    assert panel.ood_warning.isVisibleTo(panel) and "unlike the frames" in panel.ood_warning.text()
    assert "colour channels swapped" in panel.ood_warning.text()  # says which respect
    before = doc.label.copy()
    assert panel.accept_all() is None and asked and "unlike" in asked[0]  # asked, and "Cancel" keeps the label
    np.testing.assert_array_equal(doc.label, before)
    assert "cancelled" in panel.status.text()
    panel.confirm = lambda title, text: True
    assert panel.accept_all() is not None
    panel.show_result(doc.key, dataclasses.replace(ood, out_of_distribution=False, warnings=()), panel.proposal)
    assert not panel.ood_warning.isVisibleTo(panel)


def test_dock_picks_a_head_folder_directly(qtbot, phantom_root, tmp_path, model_dir, head_dir):
    window = _window(qtbot, phantom_root, tmp_path, model_dir)
    panel = window.model_panels.preseg
    assert panel.head_button.isEnabled()
    assert panel.choose_head(str(head_dir)) == head_dir
    assert panel.settings.preseg_dir == str(head_dir) and panel.has_head() and panel.run_button.isEnabled()
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "preseg_head.json").write_text("{not json")
    (broken / "preseg_head.safetensors").write_bytes(b"x")
    assert panel.choose_head(str(broken)) is None and "Not used" in panel.status.text()
    assert panel.settings.preseg_dir == str(head_dir)  # the working choice is kept


def test_proposal_is_drawn_in_the_window_palette(qtbot, phantom_root, tmp_path, model_dir, head_dir):
    """The proposal layer and its class list use the colours of the label overlay, and follow a switch."""
    from PySide6.QtCore import Qt

    from desktop.canvas.overlay import class_colour_table
    from engine.taxonomy import DISPLAY_PALETTES

    window = _window(qtbot, phantom_root, tmp_path, model_dir, head_dir)
    panel, doc = window.model_panels.preseg, window.doc
    window.show_frame(doc.project.frame_keys()[4])
    doc.label[:, :] = 255  # nothing labelled: the whole proposal is drawn
    _finish(qtbot, panel.presegment())
    for name in ("distinct", "cadis"):
        window.palette.set_palette(name)
        panel.show_result(doc.key, panel.result, panel.proposal)
        drawn = panel.layer.pixels()
        np.testing.assert_array_equal(drawn, class_colour_table(palette=name)[panel.proposal])
        first = panel.classes.item(0)
        c = int(first.data(Qt.ItemDataRole.UserRole))
        icon = first.icon().pixmap(8, 8).toImage().pixelColor(4, 4)
        assert (icon.red(), icon.green(), icon.blue()) == DISPLAY_PALETTES[name][c]
