"""One resolution per export: the size an export uses, and the explicit resize of pairs of another size.

The export size is the most common size of the real frames (ties: the larger), or of all items when there are
no real frames. A pair of another size is resized explicitly, image with area interpolation when shrinking
and bicubic when enlarging, label with nearest neighbour (class IDs are never blended), and the manifest and
report list each resized pair with its original size, so no export mixes sizes silently.
"""
from __future__ import annotations

from collections import Counter
from typing import Iterable, Optional

import cv2
import numpy as np


def pick_export_size(real_sizes: Iterable[tuple[int, int]], other_sizes: Iterable[tuple[int, int]] = ()
                     ) -> Optional[tuple[int, int]]:
    """(width, height) most common among the real frames' sizes, else among the others; None when none."""
    for sizes in (list(real_sizes), list(other_sizes)):
        sizes = [tuple(s) for s in sizes if s]
        if sizes:
            counts = Counter(sizes)
            return max(counts, key=lambda s: (counts[s], s[0] * s[1]))
    return None


def resize_pair(image: np.ndarray, label: np.ndarray, size: tuple[int, int]) -> tuple[np.ndarray, np.ndarray]:
    """`image` (HxWx3) and `label` (HxW IDs) at `size` = (width, height): area/bicubic and nearest."""
    w, h = int(size[0]), int(size[1])
    if image.shape[:2] == (h, w) and label.shape == (h, w):
        return image, label
    shrink = w * h < image.shape[0] * image.shape[1]
    img = cv2.resize(image, (w, h), interpolation=cv2.INTER_AREA if shrink else cv2.INTER_CUBIC)
    lab = cv2.resize(label, (w, h), interpolation=cv2.INTER_NEAREST)
    return img, lab


def size_text(size: tuple[int, int]) -> str:
    return f"{int(size[0])}x{int(size[1])}"


__all__ = ["pick_export_size", "resize_pair", "size_text"]
