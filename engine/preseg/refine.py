"""Proposals at the frame's own size with edges that follow the image.

Class probabilities at the working resolution (256x144 for the starter model) are brought to the
frame's size with a guided filter (He, Sun and Tang, "Guided Image Filtering", 2010) with the
frame's own grey image as the guide: inside a small window each class's probability becomes a linear
function of the image intensity, so a boundary that the coarse probabilities put a few pixels off snaps
to the intensity edge nearby, and flat regions stay smooth. The filtered probabilities are clipped to
non-negative values and renormalised.
"""
from __future__ import annotations

import cv2
import numpy as np
import torch
import torch.nn.functional as F

#: window radius in working-resolution pixels and the regularisation on [0, 1] intensity
GUIDE_RADIUS = 2
GUIDE_EPS = 2e-3


def _box(x: np.ndarray, r: int) -> np.ndarray:
    return cv2.boxFilter(x, -1, (2 * r + 1, 2 * r + 1), normalize=True, borderType=cv2.BORDER_REFLECT)


def guided_filter(guide: np.ndarray, probs: np.ndarray, radius: int, eps: float) -> np.ndarray:
    """Guided-filter every channel of (K, H, W) float32 `probs` with an HxW float32 guide in [0, 1]."""
    mean_i = _box(guide, radius)
    var_i = _box(guide * guide, radius) - mean_i * mean_i
    denom = var_i + eps
    out = np.empty_like(probs)
    for k in range(probs.shape[0]):
        p = probs[k]
        mean_p = _box(p, radius)
        a = (_box(guide * p, radius) - mean_i * mean_p) / denom
        b = mean_p - a * mean_i
        out[k] = _box(a, radius) * guide + _box(b, radius)
    return out


def upsample_probs(probs: torch.Tensor, image: np.ndarray, refine: bool = True) -> np.ndarray:
    """(K, h, w) probabilities -> (K, H, W) float32 at the image's size, edge-aware when `refine`.

    The fast guided filter (He and Sun, 2015): the per-window linear coefficients are computed at the
    probabilities' own resolution against the downsized grey frame, upsampled bilinearly, and applied to
    the full-size grey frame, so edges come from the full-resolution image at little cost.
    """
    h, w = image.shape[:2]
    low = probs.float().numpy()
    k, lh, lw = low.shape
    if not refine:
        up = probs if (lh, lw) == (h, w) else F.interpolate(probs[None].float(), size=(h, w), mode="bilinear",
                                                            align_corners=False)[0]
        return up.numpy().astype(np.float32, copy=False)
    grey = cv2.cvtColor(image, cv2.COLOR_RGB2GRAY).astype(np.float32) / 255.0
    small = cv2.resize(grey, (lw, lh), interpolation=cv2.INTER_AREA) if (lh, lw) != (h, w) else grey
    radius = GUIDE_RADIUS
    mean_i = _box(small, radius)
    var_i = _box(small * small, radius) - mean_i * mean_i
    out = np.empty((k, h, w), np.float32)
    for c in range(k):
        p = np.ascontiguousarray(low[c])
        mean_p = _box(p, radius)
        a = (_box(small * p, radius) - mean_i * mean_p) / (var_i + GUIDE_EPS)
        b = mean_p - a * mean_i
        a, b = _box(a, radius), _box(b, radius)
        if (lh, lw) != (h, w):
            a = cv2.resize(a, (w, h), interpolation=cv2.INTER_LINEAR)
            b = cv2.resize(b, (w, h), interpolation=cv2.INTER_LINEAR)
        np.maximum(a * grey + b, 0.0, out=out[c])
    out /= np.maximum(out.sum(0, keepdims=True), 1e-6)
    return out
