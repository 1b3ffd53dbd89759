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
