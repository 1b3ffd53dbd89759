"""Flood fill: recolour the connected region of the seed's class.

OpenCV's floodFill walks only the region (MASK_ONLY, zero tolerance) and reports its bounding box,
so the work and the undo record follow the size of the filled region, not of the frame.
"""
from __future__ import annotations

import cv2
import numpy as np

from engine.edits.commit import commit_mask
from engine.edits.policy import PaintPolicy, check_label, check_value, class_name
from engine.edits.record import UndoRecord


def flood_fill(label: np.ndarray, seed: tuple[float, float], value: int, connectivity: int = 4,
               policy: PaintPolicy = PaintPolicy()) -> UndoRecord | None:
    """Fill the `connectivity`-connected region of the seed pixel's class with `value`.

    `seed` is (x, y), rounded to the nearest pixel; a seed outside the image changes nothing. The
    region is the whole connected component of the seed's class; if the policy forbids that class
    (locked, or not the class/unlabelled the mode paints over) nothing changes.
    """
    check_label(label)
    value = check_value(value)
    if connectivity not in (4, 8):
        raise ValueError(f"connectivity must be 4 or 8, got {connectivity!r}")
    h, w = label.shape
    x, y = int(np.floor(float(seed[0]) + 0.5)), int(np.floor(float(seed[1]) + 0.5))
    if not (0 <= x < w and 0 <= y < h):
        return None
    old = int(label[y, x])
    if old == value or not policy.allows(old):
        return None
    region = np.zeros((h + 2, w + 2), dtype=np.uint8)
    flags = connectivity | cv2.FLOODFILL_MASK_ONLY | cv2.FLOODFILL_FIXED_RANGE | (1 << 8)
    _, _, _, (rx, ry, rw, rh) = cv2.floodFill(label, region, (x, y), 0, 0, 0, flags)
    mask = region[ry + 1:ry + 1 + rh, rx + 1:rx + 1 + rw].view(bool)
    return commit_mask(label, ry, rx, mask, value, policy, f"Fill: {class_name(value)}")
