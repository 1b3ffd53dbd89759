"""Class histograms of labels without widening the whole label to 64-bit integers.

`np.bincount` converts its input to int64 first: 8 bytes per pixel, 2.1 GB for one 16384x16384 label.
Counting a million pixels at a time keeps that copy at 8 MB whatever the label's size.
"""
from __future__ import annotations

import numpy as np

CHUNK = 1 << 20


def label_histogram(label: np.ndarray, chunk: int = CHUNK) -> np.ndarray:
    """Pixel count of every value 0..255 of a uint8 label (int64, length 256)."""
    flat = np.asarray(label, np.uint8).reshape(-1)
    counts = np.zeros(256, np.int64)
    for start in range(0, flat.size, chunk):
        counts += np.bincount(flat[start:start + chunk], minlength=256)
    return counts
