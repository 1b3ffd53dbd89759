"""Diffusion features: shapes per block and timestep, determinism, bounded memory of the pixel bank."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from engine.preseg import (
    DEFAULT_BLOCKS, FeatureConfig, FrameSource, PixelBank, bank_capacity, class_balanced_indices, collect_pixels,
    open_extractor,
)
from engine.preseg.features import image_to_tensor
from engine.taxonomy import get_class_set


pytestmark = pytest.mark.usefixtures("one_torch_thread")

BLOCKS = (16, 8)  # decoder (up_blocks) output channels of the tiny model, lowest resolution first


def make_model_dir(path, seed: int = 0, size=(16, 32), channels=(8, 16)):
    from engine.models import SpadeUNet2DModel, save_synthesis_model

    torch.manual_seed(seed)
    model = SpadeUNet2DModel(sample_size=size, num_classes=8, class_set="1", block_out_channels=channels,
                             layers_per_block=1, spade_hidden=8, head_dim=8)
    return save_synthesis_model(model, path)


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory):
    return make_model_dir(tmp_path_factory.mktemp("tiny_model"))


def _image(seed=0, h=40, w=60):
    return (np.random.default_rng(seed).random((h, w, 3)) * 255).astype(np.uint8)


@pytest.mark.parametrize("timesteps,blocks,rgb", [((50,), (0,), False), ((50, 150, 250), None, True),
                                                  ((10, 900), (1,), False), ((50,), (-1,), True)])
def test_feature_shape_per_block_and_timestep(model_dir, timesteps, blocks, rgb):
    ex = open_extractor(model_dir, FeatureConfig(timesteps=timesteps, blocks=blocks, include_rgb=rgb))
    feats = ex.extract(_image())
    chosen = [BLOCKS[b] for b in (blocks if blocks is not None else range(len(BLOCKS)))]
    assert feats.tensor.dtype == torch.float16
    # the default working resolution is twice the model's sample size (16x32)
    assert feats.tensor.shape == (len(timesteps) * sum(chosen) + (3 if rgb else 0), 32, 64)
    assert feats.channels_per_block == tuple(chosen)
    assert ex.channels() == feats.channels
    assert torch.isfinite(feats.tensor.float()).all()


def test_work_size_upsamples_to_label_resolution(model_dir):
    ex = open_extractor(model_dir, FeatureConfig(timesteps=(50,), work_size=(24, 40), include_rgb=False))
    assert ex.extract(_image()).tensor.shape == (sum(BLOCKS), 24, 40)


def test_rgb_channels_are_the_frame_colour_at_working_resolution(model_dir):
    img = _image(5)
    ex = open_extractor(model_dir, FeatureConfig(timesteps=(50,), blocks=(1,), work_size=(20, 30)))
    t = ex.extract(img).tensor
    assert t.shape == (BLOCKS[1] + 3, 20, 30)
    want = image_to_tensor(img, (20, 30))[0]
    assert torch.allclose(t[-3:].float(), want, atol=1e-2)
    assert float(want.min()) >= -1 and float(want.max()) <= 1


def test_default_blocks_are_the_three_finest(tmp_path):
    deep = make_model_dir(tmp_path / "deep", channels=(8, 8, 16, 16))
    ex = open_extractor(deep)
    assert ex.config.blocks == (1, 2, 3) and FeatureConfig().blocks == DEFAULT_BLOCKS
    assert ex.config.include_rgb and ex.config.timesteps == (50,)
    feats = ex.extract(_image())
    assert feats.channels_per_block == (16, 8, 8)  # the model's decoder widths, finest last
    assert feats.channels == 16 + 8 + 8 + 3


def test_default_blocks_on_a_shallow_model_take_all(model_dir):
    assert open_extractor(model_dir).config.blocks == (0, 1)


def test_old_head_settings_without_colour_read_as_colourless():
    cfg = FeatureConfig.from_dict({"timesteps": [50, 150], "blocks": [0, 1], "seed": 0, "work_size": [16, 32]})
    assert cfg.include_rgb is False and cfg.blocks == (0, 1)
    assert FeatureConfig.from_dict(FeatureConfig(work_size=(8, 8)).to_dict()) == FeatureConfig(work_size=(8, 8))


def test_timesteps_give_different_features(model_dir):
    ex = open_extractor(model_dir, FeatureConfig(timesteps=(50, 900), blocks=(1,), include_rgb=False))
    t = ex.extract(_image()).tensor.float()
    assert not torch.allclose(t[:8], t[8:])


def test_same_seed_same_features_other_seed_differs(model_dir):
    img = _image(3)
    a = open_extractor(model_dir, FeatureConfig(seed=7)).extract(img).tensor
    b = open_extractor(model_dir, FeatureConfig(seed=7)).extract(img).tensor
    c = open_extractor(model_dir, FeatureConfig(seed=8)).extract(img).tensor
    assert torch.equal(a, b)
    assert not torch.equal(a, c)


def test_features_carry_model_fingerprint(model_dir, tmp_path):
    other = make_model_dir(tmp_path / "other", seed=1)
    fa = open_extractor(model_dir).extract(_image())
    fb = open_extractor(other).extract(_image())
    assert fa.fingerprint != fb.fingerprint and len(fa.fingerprint) >= 16


def test_bad_settings_are_refused(model_dir):
    with pytest.raises(ValueError, match="up_blocks"):
        open_extractor(model_dir, FeatureConfig(blocks=(5,)))
    with pytest.raises(ValueError, match="timesteps"):
        open_extractor(model_dir, FeatureConfig(timesteps=(1000,)))
    with pytest.raises(FileNotFoundError):
        open_extractor(model_dir.parent / "nothing")


def test_class_balanced_indices_share_evenly():
    label = np.zeros((100, 100), np.uint8)  # class 0: 9,890 px
    label[:10, :10] = 3                     # class 3: 100 px
    label[50, :10] = 5                      # class 5: 10 px
    label[60, :5] = 255                     # ignored
    idx = class_balanced_indices(label, 300, np.random.default_rng(0))
    got = label.reshape(-1)[idx]
    assert len(np.unique(idx)) == len(idx) == 300
    assert (got == 5).sum() == 10               # all of the rare class
    assert (got == 3).sum() == 100
    assert (got == 0).sum() == 190              # the rest goes to the big class
    assert not (got == 255).any()


def test_class_balanced_indices_edge_cases():
    rng = np.random.default_rng(0)
    assert len(class_balanced_indices(np.full((4, 4), 255, np.uint8), 10, rng)) == 0
    assert len(class_balanced_indices(np.zeros((4, 4), np.uint8), 100, rng)) == 16


def test_pixel_bank_stays_within_byte_budget(model_dir):
    """Scaled-down memory bound: 6 frames wanting 512 px each but a budget for ~600 pixels in all."""
    ex = open_extractor(model_dir, FeatureConfig(timesteps=(50, 150, 250)))
    c = ex.channels()
    budget = 600 * (c * 2 + 12)
    rng = np.random.default_rng(1)
    frames = []
    for i in range(6):
        lab = rng.integers(0, 8, (40, 60)).astype(np.uint8)
        frames.append(FrameSource(f"f{i}", lambda lab=lab, i=i: (_image(i), lab)))
    bank = collect_pixels(frames, ex, get_class_set(1), pixels_per_frame=512, max_bytes=budget)
    assert bank.nbytes <= budget
    assert bank.features.dtype == torch.float16
    x, y, fid = bank.view()
    assert x.shape == (bank.count, c) and bank.count >= 594
    assert set(fid.tolist()) == set(range(6))  # every frame represented
    assert int(y.max()) < 8


def test_bank_capacity_and_add():
    assert bank_capacity(10, 100, 50, max_bytes=10**9) == 1000
    assert bank_capacity(10, 100, 50, max_bytes=112 * 10) == 10
    bank = PixelBank(4, 2)
    feats = torch.arange(2 * 3 * 3, dtype=torch.float32).reshape(2, 3, 3)
    label = np.arange(9, dtype=np.uint8).reshape(3, 3)
    assert bank.add(feats, label, np.array([1, 5, 8]), frame_id=2) == 3
    x, y, f = bank.view()
    assert x.tolist() == [[1, 10], [5, 14], [8, 17]] and y.tolist() == [1, 5, 8] and f.tolist() == [2, 2, 2]
    assert bank.add(feats, label, np.array([0, 2]), frame_id=3) == 1  # full after one more
