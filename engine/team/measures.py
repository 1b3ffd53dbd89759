"""Pixel measures between two labels of one frame, per class: overlap (IoU) and boundary F-score.

Boundary pixels of a class are its pixels with a 4-neighbour of another class (the image edge is not a
boundary). Two boundaries match within `tol` pixels (a (2*tol+1)^2 square, as in the DAVIS F measure):
precision = share of A's boundary within tol of B's, recall = the reverse; F = 2PR / (P + R).
Counts are returned rather than ratios so they can be pooled over frames.
"""
from __future__ import annotations

import cv2
import numpy as np

IGNORE = 255
N_SLOTS = 256  # class IDs 0..35 and 255 index one table


def boundary(mask: np.ndarray) -> np.ndarray:
    """Pixels of `mask` with a 4-neighbour outside it (edges replicated, so the frame border is no boundary)."""
    m = np.pad(mask, 1, mode="edge")
    inner = m[1:-1, 1:-1] & m[:-2, 1:-1] & m[2:, 1:-1] & m[1:-1, :-2] & m[1:-1, 2:]
    return mask & ~inner


def dilate(mask: np.ndarray, tol: int) -> np.ndarray:
    if tol <= 0:
        return mask.copy()
    kernel = np.ones((2 * tol + 1, 2 * tol + 1), np.uint8)
    return cv2.dilate(mask.astype(np.uint8), kernel).astype(bool)


def pair_counts(a: np.ndarray, b: np.ndarray, classes, tol: int = 2) -> np.ndarray:
    """Per class in `classes`: [intersection, union, A-boundary matched, A-boundary, B-boundary matched,
    B-boundary] as an int64 array of shape (len(classes), 6)."""
    out = np.zeros((len(classes), 6), np.int64)
    for i, c in enumerate(classes):
        ma, mb = a == c, b == c
        union = int(np.count_nonzero(ma | mb))
        if union == 0:
            continue
        out[i, 0] = np.count_nonzero(ma & mb)
        out[i, 1] = union
        ba, bb = boundary(ma), boundary(mb)
        out[i, 2] = np.count_nonzero(ba & dilate(bb, tol))
        out[i, 3] = np.count_nonzero(ba)
        out[i, 4] = np.count_nonzero(bb & dilate(ba, tol))
        out[i, 5] = np.count_nonzero(bb)
    return out


def iou(counts: np.ndarray) -> np.ndarray:
    """IoU per row of pooled counts (NaN where the class is in neither label)."""
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(counts[:, 1] > 0, counts[:, 0] / np.maximum(counts[:, 1], 1), np.nan)


def boundary_f(counts: np.ndarray) -> np.ndarray:
    """Boundary F-score per row of pooled counts (1 where neither has a boundary, NaN where the class is absent)."""
    p = np.where(counts[:, 3] > 0, counts[:, 2] / np.maximum(counts[:, 3], 1), 1.0)
    r = np.where(counts[:, 5] > 0, counts[:, 4] / np.maximum(counts[:, 5], 1), 1.0)
    with np.errstate(invalid="ignore", divide="ignore"):
        f = np.where(p + r > 0, 2 * p * r / np.maximum(p + r, 1e-12), 0.0)
    return np.where(counts[:, 1] > 0, f, np.nan)


def mean_iou(a: np.ndarray, b: np.ndarray) -> float:
    """Mean IoU over the classes either label holds (255 excluded); 1.0 for two empty labels."""
    classes = [c for c in np.union1d(np.unique(a), np.unique(b)).tolist() if c != IGNORE]
    if not classes:
        return 1.0
    return float(np.nanmean(iou(pair_counts(a, b, classes, tol=0))))
