"""Label arrays (HxW uint8 class IDs): resizing without blending IDs, and mapping class-set IDs back."""
from __future__ import annotations

from typing import Sequence

import cv2
import numpy as np

from engine.taxonomy import IGNORE, ClassSet


def resize_label(label: np.ndarray, size: Sequence[int]) -> np.ndarray:
    """Nearest-neighbour resize of an HxW uint8 label to `size` = (H, W) (IDs are never blended); the same
    array when it already has that size."""
    h, w = int(size[0]), int(size[1])
    if label.shape[:2] == (h, w):
        return label
    return cv2.resize(label, (w, h), interpolation=cv2.INTER_NEAREST)


def to_original_ids(label: np.ndarray, class_set: ClassSet) -> np.ndarray:
    """Class-set IDs -> original CaDIS IDs (a merged class takes the first original ID of its group, so
    remapping gives it back; 255 stays)."""
    lut = np.full(256, IGNORE, dtype=np.uint8)
    for new_id, group in enumerate(class_set.groups):
        lut[new_id] = group[0]
    return lut[label]
