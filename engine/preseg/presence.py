"""Class presence from the training labels: do not propose a class as a few stray pixels.

A per-pixel classifier proposes a class wherever a handful of pixels look like it, even in frames where
the class is absent. The usual IoU sums over a set of frames and counts a class as soon as it appears on
either side, so a few such pixels score that class 0 for the whole set. An annotator has the same
problem: stray pixels of a wrong class to clean up.

While a head is trained, the smallest share of a frame that each class covers in the training labels
(where it is present at all) is recorded. When a frame is pre-segmented, a class whose proposed area is
below `gate` times that share is removed and its pixels go to their next most likely class; this repeats
until no class is too small. A class that never appears in the training labels cannot be proposed. With
`gate = 0` nothing is removed.

The gate never removes a class that the proposal itself gives a large, confident region: one covering at
least `LARGE_REGION` of the frame with probability `CONFIDENT` or more (a class never seen in training is
still never proposed). Such a region is not a few stray
pixels, whatever the training labels showed (a frame from another kind of video can show the pupil at
another size than any training frame).
"""
from __future__ import annotations

from typing import Sequence

import numpy as np
import torch

DEFAULT_AREA_GATE = 0.5
#: a class proposed with probability >= CONFIDENT over >= LARGE_REGION of the frame is never gated
CONFIDENT = 0.8
LARGE_REGION = 0.02


def class_area_fractions(label: np.ndarray, num_classes: int) -> np.ndarray:
    """(K,) float64: the share of the frame's pixels each class 0..K-1 covers (ignored pixels count too)."""
    counts = np.bincount(label.reshape(-1), minlength=256)[:num_classes]
    return counts / max(1, label.size)


def update_min_fractions(current: np.ndarray | None, fractions: np.ndarray) -> np.ndarray:
    """Fold one frame's class areas into the running minimum; NaN = not seen in any frame yet."""
    present = fractions > 0
    if current is None:
        current = np.full(fractions.shape, np.nan)
    out = current.copy()
    seen = ~np.isnan(out)
    out[present & ~seen] = fractions[present & ~seen]
    both = present & seen
    out[both] = np.minimum(out[both], fractions[both])
    return out


def suppress_small_classes(probs: torch.Tensor, min_fractions: Sequence[float | None], gate: float
                           ) -> tuple[torch.Tensor, list[int]]:
    """Remove classes proposed over too small an area from (K, H, W) probabilities.

    `min_fractions[k]` is the smallest share of a frame class k covered in the training labels (None or
    NaN: never seen). Returns (probabilities renormalised over the classes kept, classes removed).
    """
    if gate <= 0:
        return probs, []
    k, h, w = probs.shape
    limits = torch.tensor([np.inf if f is None or not np.isfinite(f) else float(f) * gate for f in min_fractions],
                          dtype=torch.float64)
    if limits.numel() != k:
        raise ValueError(f"{limits.numel()} class areas for {k} classes")
    keep = torch.ones(k, dtype=torch.bool)
    top, arg = probs.max(0)
    confident_area = torch.bincount(arg[top >= CONFIDENT].reshape(-1), minlength=k).double() / (h * w)
    protected = (confident_area >= LARGE_REGION) & torch.isfinite(limits)  # never-seen classes stay out
    removed: list[int] = []
    for _ in range(k):
        masked = probs.masked_fill(~keep[:, None, None], -1.0)
        area = torch.bincount(masked.argmax(0).reshape(-1), minlength=k).double() / (h * w)
        small = keep & (area > 0) & (area < limits) & ~protected
        if not small.any() or int(keep.sum()) - int(small.sum()) < 1:
            break
        keep &= ~small
        removed += [int(c) for c in torch.nonzero(small).reshape(-1)]
    if not removed:
        return probs, []
    kept = probs * keep[:, None, None].to(probs.dtype)
    total = kept.sum(0, keepdim=True)
    empty = total <= 0  # every kept class underflowed to 0 here: spread evenly over the kept classes
    if bool(empty.any()):
        kept = torch.where(empty, keep[:, None, None].to(probs.dtype), kept)
        total = kept.sum(0, keepdim=True)
    return kept / total, sorted(removed)
