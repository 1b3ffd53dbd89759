"""Write a computed change into a label and return its UndoRecord (shared by every edit op).

Ops compute *what they would paint* (a bool mask on a crop, or scattered pixels with new values); these
helpers apply the paint policy, skip pixels that already hold the new value, shrink the box to the
changed pixels, and write in place.
"""
from __future__ import annotations

import numpy as np

from engine.edits.policy import PaintPolicy
from engine.edits.record import UndoRecord


def tight_box(mask: np.ndarray) -> tuple[int, int, int, int] | None:
    """(y0, y1, x0, x1) of the True pixels of a 2-D bool array (exclusive ends), or None if none."""
    rows = np.flatnonzero(mask.any(axis=1))
    if rows.size == 0:
        return None
    y0, y1 = int(rows[0]), int(rows[-1]) + 1
    cols = np.flatnonzero(mask[y0:y1].any(axis=0))
    return y0, y1, int(cols[0]), int(cols[-1]) + 1


def commit_mask(label: np.ndarray, y0: int, x0: int, mask: np.ndarray, value: int,
                policy: PaintPolicy, description: str) -> UndoRecord | None:
    """Paint `value` where `mask` (a bool crop whose top-left is (y0, x0)) is True and the policy allows."""
    h, w = mask.shape
    crop = label[y0:y0 + h, x0:x0 + w]
    changed = mask & (crop != value)
    if not policy.allows_everything:
        changed &= policy.allowed(crop)
    return _write(crop, y0, x0, changed, value, description)


def commit_sparse(label: np.ndarray, ys: np.ndarray, xs: np.ndarray, values: np.ndarray,
                  policy: PaintPolicy, description: str) -> UndoRecord | None:
    """Write `values` at the pixels (ys, xs) where they differ and the policy allows (for scattered edits)."""
    current = label[ys, xs]
    ok = current != values
    if not policy.allows_everything:
        ok &= policy.allowed(current)
    if not ok.any():
        return None
    ys, xs, values = ys[ok], xs[ok], values[ok]
    y0, y1, x0, x1 = int(ys.min()), int(ys.max()) + 1, int(xs.min()), int(xs.max()) + 1
    before = label[y0:y1, x0:x1].copy()
    label[ys, xs] = values
    return UndoRecord(y0, x0, before, label[y0:y1, x0:x1].copy(), description)


def _write(crop: np.ndarray, y0: int, x0: int, changed: np.ndarray, value: int,
           description: str) -> UndoRecord | None:
    box = tight_box(changed)
    if box is None:
        return None
    ty0, ty1, tx0, tx1 = box
    sub = crop[ty0:ty1, tx0:tx1]
    before = sub.copy()
    np.copyto(sub, value, where=changed[ty0:ty1, tx0:tx1])
    return UndoRecord(y0 + ty0, x0 + tx0, before, sub.copy(), description)
