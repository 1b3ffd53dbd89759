"""Jittered training copies: deterministic, labels follow only the mirror, shift statistics from the originals."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from engine.preseg import FrameSource, PresegSettings, augmented_sources, jittered, open_extractor, train_head
from tests.test_preseg_head import SETTINGS, make_model_dir, scene

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def test_jittered_changes_colour_keeps_label_and_mirrors_both():
    image, label = scene(0)
    out, lab = jittered(image, label, np.random.default_rng(1), mirror=False)
    assert out.shape == image.shape and out.dtype == np.uint8
    assert np.abs(out.astype(int) - image.astype(int)).mean() > 2  # the look changed
    assert lab is label or np.array_equal(lab, label)
    out_m, lab_m = jittered(image, label, np.random.default_rng(1), mirror=True)
    np.testing.assert_array_equal(lab_m, label[:, ::-1])
    np.testing.assert_array_equal(out_m, out[:, ::-1])  # same draw, mirrored
    again, _ = jittered(image, label, np.random.default_rng(1), mirror=False)
    np.testing.assert_array_equal(again, out)


def test_augmented_sources_are_lazy_deterministic_and_leave_originals_alone():
    calls = []
    base = [FrameSource(f"f{i}", lambda i=i: (calls.append(i), scene(i))[1]) for i in range(3)]
    copies = augmented_sources(base, 2, seed=5)
    assert [c.key for c in copies] == ["f0#aug0", "f1#aug0", "f2#aug0", "f0#aug1", "f1#aug1", "f2#aug1"]
    assert calls == []
    a, b = copies[1].load(), augmented_sources(base, 2, seed=5)[1].load()
    np.testing.assert_array_equal(a[0], b[0])
    np.testing.assert_array_equal(a[1], scene(1)[1][:, ::-1])  # copy 0 is mirrored
    np.testing.assert_array_equal(copies[4].load()[1], scene(1)[1])  # copy 1 is not
    assert np.array_equal(base[1].load()[0], scene(1)[0])
    assert augmented_sources(base, 0) == []


def test_head_trains_on_copies_but_fits_shift_on_originals(tmp_path):
    ex = open_extractor(make_model_dir(tmp_path / "m"), SETTINGS.features)
    frames = [FrameSource(f"f{i}", lambda i=i: scene(i)) for i in range(3)]
    plain = train_head(ex, frames, 1, PresegSettings(**{**SETTINGS.__dict__, "augment_copies": 0}))
    aug = train_head(ex, frames, 1, PresegSettings(**{**SETTINGS.__dict__, "augment_copies": 2}))
    assert aug.meta["training_pixels"] > plain.meta["training_pixels"]
    assert aug.meta["frames"] == ["f0", "f1", "f2"] and aug.meta["augment_copies"] == 2
    assert aug.shift.reference == pytest.approx(plain.shift.reference)
    assert torch.equal(aug.shift.centroids, plain.shift.centroids)
    assert aug.shift.sharpness_range == plain.shift.sharpness_range
    assert torch.equal(aug.shift.colour_centroids, plain.shift.colour_centroids)
