"""Tiny synthesis models and masks shared by the tests/test_synthesis_*.py files (CPU, milliseconds)."""
from __future__ import annotations

import numpy as np
import torch

TINY_SIZE = (16, 32)  # (H, W): 2:1 like the frames, divisible by 2 for two levels


def tiny_model(class_set: str = "1", seed: int = 0, size=TINY_SIZE):
    from engine.models import SpadeUNet2DModel
    from engine.taxonomy import get_class_set

    torch.manual_seed(seed)
    cs = get_class_set(class_set)
    return SpadeUNet2DModel(sample_size=size, num_classes=cs.num_classes, class_set=cs.key, block_out_channels=(8, 16),
                            layers_per_block=1, spade_hidden=8, head_dim=8).eval()


def two_masks(h: int = 54, w: int = 96) -> tuple[np.ndarray, np.ndarray]:
    """Two different CaDIS labels (original IDs) of the same size."""
    a = np.full((h, w), 6, np.uint8)
    a[h // 4: 3 * h // 4, w // 4: 3 * w // 4] = 4
    a[h // 3: 2 * h // 3, w // 3: 2 * w // 3] = 0
    b = np.full((h, w), 5, np.uint8)
    b[:, w // 2:] = 13
    return a, b


def training_pairs(n=10, h=36, w=64, seed=0):
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(n):
        lab = np.full((h, w), 6, np.uint8)
        cy, cx = rng.integers(10, h - 10), rng.integers(15, w - 15)
        lab[cy - 8: cy + 8, cx - 12: cx + 12] = 4
        lab[cy - 3: cy + 3, cx - 5: cx + 5] = 0
        lab[rng.integers(0, h), :] = rng.integers(7, 36)
        img = np.array([200, 170, 160], np.uint8)[None, None].repeat(h, 0).repeat(w, 1)
        img[lab == 4], img[lab == 0], img[lab >= 7] = (120, 60, 40), (15, 15, 20), (190, 190, 200)
        out.append((img, lab))
    return out


def train_config(**kw):
    base = dict(resolution=(16, 32), class_set="1", block_out_channels=(8, 16), layers_per_block=1, spade_hidden=8,
                max_steps=4, batch_size=2, checkpoint_every=2, sample_every=0, num_holdout=2, device="cpu",
                warmup_steps=2, log_every=1)
    base.update(kw)
    from engine.training import TrainConfig

    return TrainConfig(**base)


def model_weights(folder):
    from safetensors.torch import load_file

    return load_file(str(folder / "diffusion_pytorch_model.safetensors"))
