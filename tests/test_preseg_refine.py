"""Proposals at the frame's size follow the image's edges (guided filter), not the coarse grid."""
from __future__ import annotations

import numpy as np
import torch

from engine.preseg import upsample_probs


def _case():
    h, w = 64, 128                         # the frame
    image = np.full((h, w, 3), 40, np.uint8)
    image[:, 50:] = 200                    # a sharp edge at x = 50
    low = torch.zeros(2, 16, 32)           # probabilities at a quarter of the size: boundary at x = 11 (44)
    low[0, :, :11] = 0.9
    low[1, :, :11] = 0.1
    low[0, :, 11:] = 0.1
    low[1, :, 11:] = 0.9
    return image, low


def _boundary(label: np.ndarray) -> float:
    return float(np.mean([np.argmax(row == 1) for row in label]))


def test_refined_boundary_snaps_to_the_image_edge():
    image, low = _case()
    plain = upsample_probs(low, image, refine=False)
    refined = upsample_probs(low, image, refine=True)
    assert refined.shape == (2, 64, 128) and np.allclose(refined.sum(0), 1, atol=1e-4) and (refined >= 0).all()
    b_plain, b_refined = _boundary(plain.argmax(0)), _boundary(refined.argmax(0))
    assert abs(b_plain - 50) >= 5                       # bilinear keeps the coarse grid's boundary (x = 44)
    assert abs(b_refined - 50) <= abs(b_plain - 50) - 1.5  # the guided filter moves it towards the edge


def test_flat_regions_stay_flat():
    image = np.full((64, 128, 3), 120, np.uint8)
    low = torch.full((3, 16, 32), 1 / 3)
    low[0] = 0.6
    low[1] = 0.2
    low[2] = 0.2
    out = upsample_probs(low, image)
    assert np.allclose(out[0], 0.6, atol=1e-3)
