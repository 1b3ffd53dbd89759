"""The small supervised UNet baseline: trains from scratch, predicts at the image's size in class-set IDs."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from engine.baselines import SmallUNet, predict_small_unet, train_small_unet
from engine.jobs import JobCancelled, JobContext
from engine.taxonomy import get_class_set

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def blobs(seed: int, h: int = 36, w: int = 64):
    """Dark disc = pupil (0), red ring = iris (4), grey bar = phaco handpiece (13), skin (5) elsewhere."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[:h, :w]
    r = np.hypot(yy - h / 2 - rng.integers(-3, 4), xx - w / 2 - rng.integers(-6, 7))
    label = np.full((h, w), 5, np.uint8)
    label[r < 14] = 4
    label[r < 7] = 0
    label[(np.abs(yy - rng.integers(5, 30)) < 2) & (xx > 40)] = 13
    colours = {0: (10, 10, 20), 4: (200, 40, 30), 5: (230, 180, 150), 13: (140, 140, 140)}
    image = np.zeros((h, w, 3), np.uint8)
    for c, rgb in colours.items():
        image[label == c] = rgb
    return np.clip(image + rng.normal(0, 5, image.shape), 0, 255).astype(np.uint8), label


def test_small_unet_any_size_forward():
    net = SmallUNet(5, width=4)
    assert net(torch.zeros(2, 3, 30, 50)).shape == (2, 5, 30, 50)


def test_train_and_predict_small_unet():
    pairs = [blobs(i) for i in range(3)]
    model = train_small_unet(pairs, class_set=1, resolution=(64, 36), steps=120, seed=0, width=8, lr=5e-3)
    image, label = blobs(7)
    big = np.repeat(np.repeat(image, 2, 0), 2, 1)
    pred = predict_small_unet(model, big)
    assert pred.shape == big.shape[:2] and pred.dtype == np.uint8
    small = predict_small_unet(model, image)
    gt = get_class_set(1).remap(label)
    assert small.max() <= 7
    assert (small == gt).mean() > 0.8


def test_train_small_unet_is_seeded_and_cancellable():
    pairs = [blobs(0)]
    a = train_small_unet(pairs, 1, (32, 16), steps=3, seed=4, width=4)
    b = train_small_unet(pairs, 1, (32, 16), steps=3, seed=4, width=4)
    for pa, pb in zip(a.net.parameters(), b.net.parameters()):
        assert torch.equal(pa, pb)
    with pytest.raises(JobCancelled):
        train_small_unet(pairs, 1, (32, 16), steps=5, width=4, ctx=JobContext(cancelled=lambda: True))
    with pytest.raises(ValueError):
        train_small_unet([], 1)
