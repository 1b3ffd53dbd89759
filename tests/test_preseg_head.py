"""Heads on disk, refusing another model's features, predicting at the image's size, ranking frames."""
from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from engine.preseg import (
    EnsembleSettings, FeatureConfig, FrameSource, ModelMismatchError, Presegmenter, PresegSettings, label_disagreement,
    load_head, open_extractor, rank_label_next, rank_suspicious, save_head, to_original_ids, train_head,
)
from engine.taxonomy import get_class_set


pytestmark = pytest.mark.usefixtures("one_torch_thread")

SETTINGS = PresegSettings(features=FeatureConfig(timesteps=(50, 150)),
                          ensemble=EnsembleSettings(members=3, hidden=(32, 16), max_epochs=8, batch_size=256))


def make_model_dir(path, seed: int = 0):
    from engine.models import SpadeUNet2DModel, save_synthesis_model

    torch.manual_seed(seed)
    model = SpadeUNet2DModel(sample_size=(16, 32), num_classes=8, class_set="1", block_out_channels=(8, 16),
                             layers_per_block=1, spade_hidden=8, head_dim=8)
    return save_synthesis_model(model, path)


def scene(seed: int, h: int = 48, w: int = 96):
    """A frame with a dark 'pupil' disc (0), red 'iris' ring (4), skin (5) and a grey bar 'instrument' (7)."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[:h, :w]
    cy, cx = h / 2 + rng.integers(-4, 5), w / 2 + rng.integers(-8, 9)
    r = np.hypot(yy - cy, xx - cx)
    label = np.full((h, w), 5, np.uint8)
    label[r < 18] = 4
    label[r < 9] = 0
    bar = (np.abs(yy - (xx * 0.3 + rng.integers(0, 10))) < 3) & (xx > w // 2)
    label[bar] = 13
    colours = {0: (10, 10, 20), 4: (200, 40, 30), 5: (230, 180, 150), 13: (140, 140, 140)}
    image = np.zeros((h, w, 3), np.uint8)
    for c, rgb in colours.items():
        image[label == c] = rgb
    image = np.clip(image + rng.normal(0, 6, image.shape), 0, 255).astype(np.uint8)
    return image, label


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory):
    return make_model_dir(tmp_path_factory.mktemp("tiny_model"))


@pytest.fixture(scope="module")
def trained(model_dir):
    ex = open_extractor(model_dir, SETTINGS.features)
    frames = [FrameSource(f"f{i}", lambda i=i: scene(i)) for i in range(4)]
    return ex, train_head(ex, frames, 1, SETTINGS)


def test_save_load_round_trip_predicts_identically(trained, tmp_path):
    ex, head = trained
    save_head(head, tmp_path / "head")
    cfg = json.loads((tmp_path / "head" / "preseg_head.json").read_text())
    assert cfg["model_fingerprint"] == ex.fingerprint and cfg["class_set"] == "1"
    assert (tmp_path / "head" / "preseg_head.safetensors").read_bytes()[:8] != b"\x80\x04\x95"  # not a pickle
    back = load_head(tmp_path / "head")
    feats = ex.extract(scene(9)[0])
    p1, u1 = head.predict(feats)
    p2, u2 = back.predict(feats)
    assert torch.equal(p1, p2) and torch.equal(u1, u2)
    assert back.feature_config == head.feature_config and back.class_set.key == "1"
    assert back.meta["frames"] == ["f0", "f1", "f2", "f3"]


def test_head_refuses_features_from_another_model(trained, tmp_path):
    ex, head = trained
    other_dir = make_model_dir(tmp_path / "other", seed=5)
    other = open_extractor(other_dir, SETTINGS.features)
    with pytest.raises(ModelMismatchError, match="another|retrain|trained on"):
        head.predict(other.extract(scene(1)[0]))
    save_head(head, tmp_path / "head")
    with pytest.raises(ModelMismatchError):
        Presegmenter.open(other_dir, tmp_path / "head")


def test_head_refuses_other_feature_settings(trained, model_dir):
    _, head = trained
    ex2 = open_extractor(model_dir, FeatureConfig(timesteps=(50, 250)))
    with pytest.raises(ModelMismatchError, match="feature settings"):
        head.predict(ex2.extract(scene(1)[0]))


def test_load_head_clear_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match="train-preseg"):
        load_head(tmp_path)


def test_presegment_at_image_size_and_learns_the_scene(trained):
    ex, head = trained
    pre = Presegmenter(ex, head)
    image, label = scene(11)
    big = np.repeat(np.repeat(image, 2, 0), 2, 1)
    res = pre.presegment(big, key="a")
    assert res.label.shape == big.shape[:2] and res.label.dtype == np.uint8
    assert res.probs.shape == (8, *big.shape[:2]) and res.uncertainty.shape == big.shape[:2]
    assert np.allclose(res.probs.sum(0), 1, atol=1e-4)
    assert (res.uncertainty >= 0).all() and res.score >= float(np.mean(res.uncertainty)) - 1e-6
    small = pre.presegment(image)
    gt = get_class_set(1).remap(label)
    assert (small.label == gt).mean() > 0.7  # a tiny untrained diffusion model still separates flat colours
    assert "a" in pre.cache and pre.features(big, key="a") is pre.cache.get("a")


def test_to_original_ids():
    cs = get_class_set(1)
    out = to_original_ids(np.array([[0, 7, 255]], np.uint8), cs)
    assert out.tolist() == [[0, 7, 255]]
    cs2 = get_class_set(2)
    assert to_original_ids(np.array([[8]], np.uint8), cs2).tolist() == [[9]]  # Cap. Cystotome -> 9


def test_rank_label_next_orders_by_uncertainty(trained):
    ex, head = trained
    pre = Presegmenter(ex, head)
    noise = (np.random.default_rng(0).random((48, 96, 3)) * 255).astype(np.uint8)
    frames = [("easy", lambda: scene(20)[0]), ("noise", lambda: noise)]
    ranked = rank_label_next(pre, frames)
    scores = {r.key: r.score for r in ranked}
    assert [r.score for r in ranked] == sorted(scores.values(), reverse=True)
    expect = {k: pre.presegment(load()).score for k, load in frames}
    assert scores == pytest.approx(expect)


def test_label_disagreement():
    lab = np.array([[0, 0, 1, 255]], np.uint8)
    assert label_disagreement(lab, np.array([[0, 1, 1, 1]], np.uint8)) == pytest.approx(1 / 3)
    conf = np.array([[1.0, 0.5, 1.0, 1.0]])
    assert label_disagreement(lab, np.array([[0, 1, 1, 1]], np.uint8), conf) == pytest.approx(0.5 / 3)


def test_rank_suspicious_finds_the_wrong_label(model_dir):
    ex = open_extractor(model_dir, SETTINGS.features)
    frames = [FrameSource(f"f{i}", lambda i=i: scene(i)) for i in range(5)]
    img, lab = scene(99)
    wrong = lab.copy()
    wrong[lab == 0], wrong[lab == 4] = 4, 0  # pupil and iris swapped: a clearly wrong label
    frames.append(FrameSource("bad", lambda: (img, wrong)))
    ranked = rank_suspicious(ex, frames, 1, SETTINGS, folds=3)
    assert len(ranked) == 6 and ranked[0].key == "bad"


def test_rank_suspicious_says_so_when_no_fold_head_can_train(model_dir):
    """Frames with no labelled pixels a person made train no fold head: one line saying so, not a ranking of
    0.000 scores that nothing measured."""
    from engine.preseg import CannotRankError

    ex = open_extractor(model_dir, SETTINGS.features)
    blank = [FrameSource(f"f{i}", lambda i=i: (scene(i)[0], np.full_like(scene(i)[1], 255))) for i in range(3)]
    with pytest.raises(CannotRankError, match="no label could be checked") as info:
        rank_suspicious(ex, blank, 1, SETTINGS, folds=3)
    assert "\n" not in str(info.value)
    filled = [FrameSource(f"f{i}", lambda i=i: scene(i)) for i in range(2)]
    with pytest.raises(CannotRankError, match="2 filled by the model"):  # every frame filled by the model
        rank_suspicious(ex, filled, 1, SETTINGS, folds=2, model_made={"f0": 1.0, "f1": 1.0})


def test_rank_suspicious_trains_one_member_per_fold(model_dir, monkeypatch):
    """The folds' heads are single members (the speed-up of docs/benchmarks/preseg_speed.md), whatever the
    ensemble size of the settings; the held-out ranking still comes from heads that never saw the frame."""
    import engine.preseg.ranking as ranking

    seen = []
    real = ranking.train_head

    def spy(ex, train, cs, settings, ctx):
        head = real(ex, train, cs, settings, ctx)
        seen.append((head.ensemble.num_members, {f.key for f in train}))
        return head

    monkeypatch.setattr(ranking, "train_head", spy)
    ex = open_extractor(model_dir, SETTINGS.features)
    frames = [FrameSource(f"f{i}", lambda i=i: scene(i)) for i in range(4)]
    ranked = rank_suspicious(ex, frames, 1, SETTINGS, folds=2)
    assert SETTINGS.ensemble.members == 3 and [m for m, _ in seen] == [1, 1]
    assert seen[0][1] == {"f1", "f3"} and seen[1][1] == {"f0", "f2"}
    assert sorted(r.key for r in ranked) == ["f0", "f1", "f2", "f3"]


def test_training_reports_progress_and_can_be_cancelled(model_dir):
    from engine.jobs import JobCancelled, JobContext

    ex = open_extractor(model_dir, SETTINGS.features)
    frames = [FrameSource(f"f{i}", lambda i=i: scene(i)) for i in range(2)]
    seen = []
    train_head(ex, frames, 1, SETTINGS, JobContext(progress=lambda f, m: seen.append(f)))
    assert seen and seen == sorted(seen) and seen[-1] == pytest.approx(1.0)
    calls = {"n": 0}

    def cancel_after_first_frame() -> bool:
        calls["n"] += 1
        return calls["n"] > 1

    with pytest.raises(JobCancelled):
        train_head(ex, frames, 1, SETTINGS, JobContext(cancelled=cancel_after_first_frame))


def test_head_fingerprint_is_the_model_folders(trained, model_dir):
    from engine.models import model_fingerprint

    _, head = trained
    assert head.model_fingerprint == model_fingerprint(model_dir)
