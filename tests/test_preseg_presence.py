"""The presence gate (no class proposed as a few stray pixels) and the ensemble's input standardisation."""
from __future__ import annotations

import json
from dataclasses import replace
import math

import numpy as np
import pytest
import torch

from engine.preseg import (
    FrameSource, PixelEnsemble, Presegmenter, class_area_fractions, load_head, open_extractor, save_head,
    suppress_small_classes, train_ensemble, train_head, update_min_fractions,
)
from engine.preseg.ensemble import EnsembleSettings

from tests.test_preseg_head import SETTINGS, make_model_dir, scene

pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory):
    return make_model_dir(tmp_path_factory.mktemp("tiny_model"))


def test_class_area_fractions_and_running_minimum():
    lab = np.zeros((10, 10), np.uint8)
    lab[:2] = 3          # 20 %
    lab[5, :5] = 255     # ignored pixels still count in the frame's size
    f = class_area_fractions(lab, 5)
    assert f.tolist() == pytest.approx([0.75, 0, 0, 0.2, 0])
    m = update_min_fractions(None, f)
    assert m[0] == pytest.approx(0.75) and m[3] == pytest.approx(0.2) and np.isnan(m[1])
    lab2 = np.full((10, 10), 1, np.uint8)
    lab2[0, :5] = 3      # 5 %
    m = update_min_fractions(m, class_area_fractions(lab2, 5))
    assert m[0] == pytest.approx(0.75)       # absent from frame 2: the minimum over frames where present
    assert m[1] == pytest.approx(0.95)
    assert m[3] == pytest.approx(0.05)
    assert np.isnan(m[2]) and np.isnan(m[4])


def _probs(label: np.ndarray, k: int, sure: float = 0.7) -> torch.Tensor:
    """(K, H, W) probabilities whose argmax is `label`, the runner-up always class 0 (or 1 where label is 0)."""
    h, w = label.shape
    p = torch.full((k, h, w), (1 - sure) / (k - 1))
    lab = torch.from_numpy(label.astype(np.int64))
    p.scatter_(0, lab[None], sure)
    second = torch.where(lab == 0, 1, 0)
    p.scatter_add_(0, second[None], torch.full((1, h, w), 0.05))
    return p / p.sum(0, keepdim=True)


def test_suppress_removes_a_class_smaller_than_gate_times_its_training_area():
    lab = np.full((20, 20), 2, np.uint8)
    lab[:10] = 0                 # class 0: 50 %
    lab[15:17, 15:17] = 1        # class 1: 4 px = 1 %; in training it covered at least 10 %
    probs = _probs(lab, 3)
    out, removed = suppress_small_classes(probs, [0.3, 0.10, 0.2], gate=0.5)
    assert removed == [1]
    got = out.argmax(0).numpy()
    assert not (got == 1).any()
    assert (got[15:17, 15:17] == 0).all()            # taken by the runner-up class
    assert (got[lab != 1] == lab[lab != 1]).all()    # nothing else changes
    assert torch.allclose(out.sum(0), torch.ones(20, 20))
    assert float(out[1].max()) == 0.0


def test_suppress_keeps_large_enough_classes_and_gate_zero_is_off():
    lab = np.zeros((20, 20), np.uint8)
    lab[:, 10:] = 1
    lab[0, 0] = 2                # one stray pixel of a class never seen in training
    probs = _probs(lab, 3)
    out, removed = suppress_small_classes(probs, [0.3, 0.3, None], gate=0.5)
    assert removed == [2] and (out.argmax(0).numpy()[:, 10:] == 1).all()
    same, none = suppress_small_classes(probs, [0.3, 0.3, None], gate=0.0)
    assert none == [] and same is probs
    _, kept = suppress_small_classes(probs, [0.3, 0.3, 1 / 400], gate=1.0)  # exactly its training area: kept
    assert kept == []


def test_suppress_never_removes_every_class_and_handles_underflow():
    lab = np.zeros((4, 4), np.uint8)
    probs = _probs(lab, 2)
    out, removed = suppress_small_classes(probs, [None, None], gate=1.0)
    assert len(removed) == 1                        # one class always stays, whatever the areas say
    assert torch.allclose(out.sum(0), torch.ones(4, 4))
    hard = torch.zeros(3, 4, 4)
    hard[1] = 1.0                # class 1 certain, the others exactly 0
    hard[0, 0, 0], hard[1, 0, 0] = 1.0, 0.0
    out, removed = suppress_small_classes(hard, [0.5, None, 0.5], gate=1.0)
    assert 1 in removed and torch.isfinite(out).all() and torch.allclose(out.sum(0), torch.ones(4, 4))


def test_standardisation_is_fitted_on_training_pixels_and_saved(tmp_path):
    rng = np.random.default_rng(0)
    x = torch.from_numpy(np.concatenate([rng.normal(0, 1, (400, 1)) * 50 + 200,      # huge scale
                                         rng.normal(0, 1, (400, 1)) * 0.01], 1)).half()
    y = torch.from_numpy((x[:, 1].float().numpy() > 0).astype(np.int64))             # the tiny channel decides
    ens, _ = train_ensemble(x, y, 2, EnsembleSettings(members=2, hidden=(16,), max_epochs=40, val_fraction=0.0))
    xt = x.float()
    # fitted on the training share (here all of it): per-channel mean and population std
    assert torch.allclose(ens.input_mean, xt.mean(0), rtol=1e-3, atol=1e-3)
    assert torch.allclose(ens.input_std, xt.std(0, unbiased=False), rtol=1e-3, atol=1e-5)
    probs, _ = ens.predict(x)
    assert float((probs.argmax(1) == y).float().mean()) > 0.9   # the small-scale channel is usable


def test_head_round_trip_keeps_areas_gate_and_standardisation(model_dir, tmp_path):
    ex = open_extractor(model_dir, SETTINGS.features)
    frames = [FrameSource(f"f{i}", lambda i=i: scene(i)) for i in range(3)]
    head = train_head(ex, frames, 1, SETTINGS)
    areas = head.min_area_fractions
    assert areas is not None and len(areas) == 8
    # scene() draws pupil (0), iris (4), skin (5) and instrument (13 -> 7 in experiment 1); nothing else
    assert all(areas[c] is not None and 0 < areas[c] < 1 for c in (0, 4, 5, 7))
    assert all(areas[c] is None for c in (1, 2, 3, 6))
    save_head(head, tmp_path / "h")
    again = load_head(tmp_path / "h")
    assert again.min_area_fractions == areas and again.area_gate == head.area_gate == 0.5
    assert torch.equal(again.ensemble.input_std, head.ensemble.input_std)
    assert not torch.equal(head.ensemble.input_std, torch.ones_like(head.ensemble.input_std))


def test_presegmenter_applies_the_gate_and_can_turn_it_off(model_dir):
    ex = open_extractor(model_dir, SETTINGS.features)
    frames = [FrameSource(f"f{i}", lambda i=i: scene(i)) for i in range(3)]
    # without jittered copies: with them this tiny head is confident on the instrument over a large region,
    # and the gate never drops such a region (test below)
    head = train_head(ex, frames, 1, replace(SETTINGS, augment_copies=0))
    img, _ = scene(9)
    free = Presegmenter(ex, head, cache_size=0, area_gate=0).presegment(img)
    present = [c for c in np.unique(free.label)]
    assert free.removed_classes == ()
    # pretend the training labels only ever showed the instrument over 90 % of a frame
    head.min_area_fractions = list(head.min_area_fractions)
    head.min_area_fractions[7] = 0.9
    gated = Presegmenter(ex, head, cache_size=0).presegment(img)
    assert 7 in present and 7 in gated.removed_classes
    assert not (gated.label == 7).any()
    kept = free.label != 7
    assert (gated.label[kept] == free.label[kept]).mean() > 0.99


def test_old_heads_without_areas_or_standardisation_still_load(model_dir, tmp_path):
    ex = open_extractor(model_dir, SETTINGS.features)
    head = train_head(ex, [FrameSource("f0", lambda: scene(0))], 1, SETTINGS)
    d = save_head(head, tmp_path / "old")
    cfg = json.loads((d / "preseg_head.json").read_text())
    del cfg["class_min_area"], cfg["area_gate"]
    (d / "preseg_head.json").write_text(json.dumps(cfg))
    from safetensors.torch import load_file, save_file

    state = load_file(str(d / "preseg_head.safetensors"))
    del state["input_mean"], state["input_std"]
    save_file(state, str(d / "preseg_head.safetensors"))
    old = load_head(d)
    assert old.min_area_fractions is None
    assert torch.equal(old.ensemble.input_mean, torch.zeros(old.ensemble.in_channels))
    assert torch.equal(old.ensemble.input_std, torch.ones(old.ensemble.in_channels))
    res = Presegmenter(ex, old, cache_size=0).presegment(scene(1)[0])
    assert res.removed_classes == () and math.isfinite(res.score)


def test_ensemble_buffers_are_in_the_state_dict():
    ens = PixelEnsemble(5, 3, members=2, hidden=(8,))
    keys = set(ens.state_dict())
    assert {"input_mean", "input_std"} <= keys


def test_gate_never_drops_a_large_confident_region():
    """The CaDIS frame case: the pupil covers 6 % of the frame, confidently, but every training frame showed it
    over 30 %: the gate must keep it (a few stray pixels are one thing, a confident region another)."""
    from engine.preseg.presence import CONFIDENT, LARGE_REGION

    lab = np.full((50, 50), 2, np.uint8)
    lab[:7, :22] = 0                                  # class 0: 154 px = 6.2 %
    lab[40:41, 40:42] = 1                             # class 1: 2 stray pixels
    probs = _probs(lab, 3, sure=0.9)
    assert float(probs.max(0).values.min()) >= CONFIDENT and 0.062 > LARGE_REGION
    out, removed = suppress_small_classes(probs, [0.30, 0.30, 0.2], gate=0.5)
    assert removed == [1]                             # the stray pixels go ...
    assert (out.argmax(0).numpy()[lab == 0] == 0).all()  # ... the large confident region stays
    # the same region proposed without confidence is not protected
    unsure = probs.clone()
    unsure[:, lab == 0] = torch.tensor([0.5, 0.2, 0.3])[:, None]
    _, removed = suppress_small_classes(unsure, [0.30, 0.30, 0.2], gate=0.5)
    assert 0 in removed


def test_format_1_heads_load_without_shift_statistics(model_dir, tmp_path):
    ex = open_extractor(model_dir, SETTINGS.features)
    head = train_head(ex, [FrameSource("f0", lambda: scene(0))], 1, SETTINGS)
    d = save_head(head, tmp_path / "v1")
    cfg = json.loads((d / "preseg_head.json").read_text())
    cfg["format"] = "cadis-preseg-head/1"
    del cfg["shift"], cfg["ensemble"]["kind"]
    (d / "preseg_head.json").write_text(json.dumps(cfg))
    old = load_head(d)
    assert old.shift is None and old.kind == "pixel-mlp"
    res = Presegmenter(ex, old, cache_size=0).presegment(scene(1)[0])
    assert res.shift is None and res.out_of_distribution is False
    cfg["format"] = "cadis-preseg-head/9"
    (d / "preseg_head.json").write_text(json.dumps(cfg))
    with pytest.raises(ValueError, match="retrain the head"):
        load_head(d)
