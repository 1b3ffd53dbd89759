"""Writing a chosen mask into a label as one undo step: in a class under the paint rules, or as the new
region of a class being repaired.
"""
from __future__ import annotations

import cv2
import numpy as np

from engine.edits.commit import commit_mask, commit_sparse, tight_box
from engine.edits.policy import PaintPolicy, check_label, check_value, class_name
from engine.edits.record import UndoRecord
from engine.taxonomy import IGNORE


def commit_candidate(label: np.ndarray, mask: np.ndarray, cls: int, policy: PaintPolicy = PaintPolicy(),
                     description: str | None = None) -> UndoRecord | None:
    """Paint `cls` over the True pixels of the HxW bool `mask` where `policy` allows (None if nothing changes)."""
    check_label(label)
    cls = check_value(cls, "class")
    if mask.shape != label.shape:
        raise ValueError(f"the mask {mask.shape[::-1]} does not match the frame {label.shape[::-1]}")
    box = tight_box(mask)
    if box is None:
        return None
    y0, y1, x0, x1 = box
    return commit_mask(label, y0, x0, mask[y0:y1, x0:x1], cls, policy,
                       description or f"segment {class_name(cls)}")


def class_region(label: np.ndarray, x: int, y: int) -> tuple[int, np.ndarray] | None:
    """(class, HxW bool) of the connected region (8-connected) of the class under pixel (x, y); None over
    unlabelled pixels or outside the frame."""
    h, w = label.shape
    if not (0 <= x < w and 0 <= y < h) or label[y, x] == IGNORE:
        return None
    cls = int(label[y, x])
    _, comp = cv2.connectedComponents((label == cls).view(np.uint8), connectivity=8, ltype=cv2.CV_32S)
    return cls, comp == comp[y, x]


def replace_region(label: np.ndarray, region: np.ndarray, mask: np.ndarray, cls: int,
                   policy: PaintPolicy = PaintPolicy(), description: str | None = None) -> UndoRecord | None:
    """The repaired region: `cls` where `mask` is True (over the old region, or where `policy` allows), and
    unlabelled where the old `region` is no longer covered. One undo record; locked classes stay."""
    check_label(label)
    cls = check_value(cls, "class")
    if cls in policy.locked:
        raise ValueError(f"{class_name(cls)} is locked; unlock it to repair its region")
    if region.shape != label.shape or mask.shape != label.shape:
        raise ValueError(f"the region and mask should match the frame {label.shape[::-1]}")
    grow = mask & ~region & policy.allowed(label)
    shrink = region & ~mask & (label == cls)
    ys_g, xs_g = np.nonzero(grow)
    ys_s, xs_s = np.nonzero(shrink)
    ys = np.concatenate([ys_g, ys_s])
    xs = np.concatenate([xs_g, xs_s])
    values = np.concatenate([np.full(ys_g.size, cls, np.uint8), np.full(ys_s.size, IGNORE, np.uint8)])
    if ys.size == 0:
        return None
    only_locked = PaintPolicy(locked=policy.locked)
    return commit_sparse(label, ys, xs, values, only_locked, description or f"repair {class_name(cls)}")
