"""Near-duplicate detection: a synthetic frame too close to another one or to its source frame.

Two signals, both cheap and deterministic:
- thumbnail distance: frames shrunk to 16x16 grey (area averaging), normalised to zero mean and unit
  length, compared by L2 distance (0 = identical up to brightness and contrast, about 1.41 = unrelated);
- difference hash (dHash, 64 bits): signs of horizontal gradients of a 9x8 grey thumbnail, compared by
  Hamming distance.
`find_near_duplicates` flags the later item of every pair closer than the threshold, and every item closer
than the threshold to a reference frame (e.g. the real frame it was derived from).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Hashable, Mapping, Sequence

import cv2
import numpy as np

THUMB_SIZE = 16
DEFAULT_THRESHOLD = 0.1


def _grey(image: np.ndarray) -> np.ndarray:
    if image.ndim == 3:
        return cv2.cvtColor(image, cv2.COLOR_RGB2GRAY)
    return image


def thumbnail(image: np.ndarray, size: int = THUMB_SIZE) -> np.ndarray:
    """(size*size,) float32: the grey thumbnail, zero mean, unit length (all zeros for a flat image)."""
    t = cv2.resize(_grey(image), (size, size), interpolation=cv2.INTER_AREA).astype(np.float32).ravel()
    t -= t.mean()
    n = float(np.linalg.norm(t))
    return t / n if n > 1e-6 else np.zeros_like(t)


def thumb_distance(a: np.ndarray, b: np.ndarray, size: int = THUMB_SIZE) -> float:
    """Thumbnail distance between two images (0 .. 2)."""
    return float(np.linalg.norm(thumbnail(a, size) - thumbnail(b, size)))


def dhash(image: np.ndarray) -> int:
    """64-bit difference hash of an image."""
    t = cv2.resize(_grey(image), (9, 8), interpolation=cv2.INTER_AREA).astype(np.int16)
    bits = (t[:, 1:] > t[:, :-1]).ravel()
    return int(sum(1 << i for i, b in enumerate(bits) if b))


def hamming(a: int, b: int) -> int:
    """Number of differing bits of two hashes."""
    return bin(int(a) ^ int(b)).count("1")


@dataclass
class DuplicateReport:
    """`pairs`: (item, other, distance) with `other` an item or a reference; `flags`: item -> near-duplicate."""

    pairs: list[tuple[Hashable, Hashable, float]] = field(default_factory=list)
    flags: dict = field(default_factory=dict)

    @property
    def flagged(self) -> list:
        return [k for k, v in self.flags.items() if v]


def _stack(images: Mapping[Hashable, np.ndarray], size: int) -> tuple[list, np.ndarray]:
    keys = list(images)
    if not keys:
        return keys, np.zeros((0, size * size), np.float32)
    return keys, np.stack([thumbnail(images[k], size) for k in keys])


def _pairwise(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    d2 = (a * a).sum(1)[:, None] + (b * b).sum(1)[None, :] - 2.0 * a @ b.T
    return np.sqrt(np.clip(d2, 0.0, None))


def find_near_duplicates(items: Mapping[Hashable, np.ndarray], threshold: float = DEFAULT_THRESHOLD,
                         references: Mapping[Hashable, np.ndarray] | None = None,
                         source_of: Mapping[Hashable, Hashable] | None = None,
                         size: int = THUMB_SIZE) -> DuplicateReport:
    """Flag items closer than `threshold` (thumbnail distance) to an earlier item or to a reference.

    Items are compared in their mapping order; of two near-identical items the first is kept. With
    `source_of` (item -> reference key) an item is compared only with its own source among the references;
    without it, with every reference."""
    keys, thumbs = _stack(items, size)
    report = DuplicateReport(flags={k: False for k in keys})
    if not keys:
        return report
    d = _pairwise(thumbs, thumbs)
    for j in range(len(keys)):
        for i in range(j):
            if d[i, j] < threshold:
                report.pairs.append((keys[j], keys[i], float(d[i, j])))
                report.flags[keys[j]] = True
    if references:
        ref_keys, ref_thumbs = _stack(references, size)
        dr = _pairwise(thumbs, ref_thumbs)
        col = {k: n for n, k in enumerate(ref_keys)}
        for i, k in enumerate(keys):
            cols: Sequence[int] = range(len(ref_keys))
            if source_of is not None:
                cols = [col[source_of[k]]] if source_of.get(k) in col else []
            for c in cols:
                if dr[i, c] < threshold:
                    report.pairs.append((k, ref_keys[c], float(dr[i, c])))
                    report.flags[k] = True
    return report


def is_near_duplicate(image: np.ndarray, others: Sequence[np.ndarray], threshold: float = DEFAULT_THRESHOLD,
                      size: int = THUMB_SIZE) -> tuple[bool, float]:
    """(closer than threshold to any of `others`, the smallest distance; inf without others)."""
    if not len(others):
        return False, float("inf")
    t = thumbnail(image, size)[None]
    d = _pairwise(t, np.stack([thumbnail(o, size) for o in others]))[0]
    best = float(d.min())
    return best < threshold, best
