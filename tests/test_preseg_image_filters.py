"""Image-filter channels: where they sit, what they respond to, and that a head keeps the setting."""
from __future__ import annotations

import cv2
import numpy as np
import pytest
import torch

from engine.preseg import (
    EnsembleSettings, FeatureConfig, FrameSource, ModelMismatchError, PresegSettings, Presegmenter, load_head,
    open_extractor, save_head, train_head,
)
from engine.preseg.image_filters import FILTER_CHANNELS, filter_bank
from tests.test_preseg_features import make_model_dir

pytestmark = pytest.mark.usefixtures("one_torch_thread")
BLOCKS = (16, 8)


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory):
    return make_model_dir(tmp_path_factory.mktemp("tiny_model"))


def _line_image(h=144, w=256, thickness=3):
    img = np.full((h, w, 3), 120, np.uint8)
    cv2.line(img, (20, h // 2), (w - 20, h // 2), (230, 230, 230), thickness)
    return img


def test_filters_follow_the_colour_and_the_decoder_channels(model_dir):
    ex = open_extractor(model_dir, FeatureConfig(timesteps=(50,), work_size=(24, 40), image_filters=True))
    img = (np.random.default_rng(0).random((60, 90, 3)) * 255).astype(np.uint8)
    feats = ex.extract(img).tensor
    assert feats.shape == (sum(BLOCKS) + 3 + FILTER_CHANNELS, 24, 40) and ex.channels() == feats.shape[0]
    assert torch.allclose(feats[sum(BLOCKS) + 3:].float(), torch.from_numpy(filter_bank(img, (24, 40))), atol=2e-2)
    # the shift statistics use everything but the filters
    assert ex.shift_channels == sum(BLOCKS) + 3
    plain = open_extractor(model_dir, FeatureConfig(timesteps=(50,), work_size=(24, 40))).extract(img).tensor
    assert torch.equal(plain, feats[:sum(BLOCKS) + 3])


def test_a_thin_bright_line_shows_in_the_ridge_channels_not_in_flat_areas():
    img = _line_image()
    f = filter_bank(img, (72, 128))
    assert f.shape == (FILTER_CHANNELS, 72, 128) and np.isfinite(f).all()
    hess = f[-6:]  # Hessian eigenvalues, three scales x (larger, smaller)
    on_line, flat = hess[:, 36, 64], hess[:, 10, 64]
    assert np.abs(flat).max() < 1e-3
    assert on_line[1::2].min() < -0.05  # a bright ridge: strongly negative second derivative across it
    # a blurred copy of the same line gives a weaker finest-scale ridge
    blurred = filter_bank(cv2.GaussianBlur(img, (0, 0), 3), (72, 128))[-6:]
    assert blurred[1, 36, 64] > on_line[1]


def test_a_head_with_filters_saves_loads_and_refuses_other_features(model_dir, tmp_path):
    cfg = FeatureConfig(timesteps=(50,), work_size=(24, 40), image_filters=True)
    ex = open_extractor(model_dir, cfg)
    rng = np.random.default_rng(1)
    frames = []
    for i in range(2):
        img = (rng.random((60, 90, 3)) * 255).astype(np.uint8)
        lab = np.zeros((60, 90), np.uint8)
        lab[:, 45:] = 4  # pupil / iris halves (original IDs 0 and 4)
        frames.append(FrameSource(str(i), (lambda img=img, lab=lab: (img, lab))))
    settings = PresegSettings(features=cfg, ensemble=EnsembleSettings(members=2, hidden=(16,), max_epochs=2),
                              pixels_per_frame=300)
    head = train_head(ex, frames, 1, settings)
    assert head.ensemble.in_channels == sum(BLOCKS) + 3 + FILTER_CHANNELS
    save_head(head, tmp_path / "h")
    back = load_head(tmp_path / "h")
    assert back.feature_config.image_filters
    img = frames[0].load()[0]
    res = Presegmenter(ex, back, cache_size=0).presegment(img)
    assert res.label.shape == (60, 90) and res.shift is not None
    without = open_extractor(model_dir, FeatureConfig(timesteps=(50,), work_size=(24, 40)))
    with pytest.raises(ModelMismatchError, match="image filters"):
        back.check_features(without.extract(img))
