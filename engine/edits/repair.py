"""Repair ops on whole frames: remove islands, fill holes, smooth one class, replace a class.

Connected components come from OpenCV (``connectedComponentsWithStats``); class-local ops work on the
class's bounding box; reassigned pixels take the most common neighbouring class (see neighbours.py).
"""
from __future__ import annotations

import cv2
import numpy as np

from engine.edits.commit import commit_mask, commit_sparse, tight_box
from engine.edits.neighbours import majority, neighbour_votes
from engine.edits.policy import PaintPolicy, check_label, check_value, class_name
from engine.edits.record import UndoRecord
from engine.taxonomy import NUM_CLASSES


def _check_connectivity(connectivity: int) -> int:
    if connectivity not in (4, 8):
        raise ValueError(f"connectivity must be 4 or 8, got {connectivity!r}")
    return connectivity


def _class_box(label: np.ndarray, cls: int, pad: int) -> tuple[int, int, int, int] | None:
    """(y0, y1, x0, x1) of class `cls` grown by `pad` and clipped, or None when the class is absent."""
    box = tight_box(label == cls)
    if box is None:
        return None
    h, w = label.shape
    y0, y1, x0, x1 = box
    return max(y0 - pad, 0), min(y1 + pad, h), max(x0 - pad, 0), min(x1 + pad, w)


def _small_component_ids(crop: np.ndarray, classes: list[int], min_size: int,
                         connectivity: int) -> tuple[np.ndarray, int]:
    """int32 ids (1..n) of the components smaller than `min_size` of each class in `classes`; 0 elsewhere."""
    ids = np.zeros(crop.shape, dtype=np.int32)
    n = 0
    for c in classes:
        m = (crop == c).view(np.uint8)
        count, comp = cv2.connectedComponents(m, connectivity=connectivity, ltype=cv2.CV_32S)
        area = np.bincount(comp.ravel(), minlength=count)
        small = np.flatnonzero(area[1:] < min_size) + 1
        if small.size == 0:
            continue
        lut = np.zeros(count, dtype=np.int32)
        lut[small] = np.arange(n + 1, n + 1 + small.size, dtype=np.int32)
        n += small.size
        ids += lut[comp]
    return ids, n


def remove_islands(label: np.ndarray, min_size: int, cls: int | None = None, connectivity: int = 8,
                   policy: PaintPolicy = PaintPolicy()) -> UndoRecord | None:
    """Reassign connected components smaller than `min_size` pixels to their most common neighbour class.

    Only components of `cls` are considered, or of every value present (255 included) when `cls` is
    None. One pass over the original label: neighbours that are themselves small islands vote only when
    an island has no other neighbour; an island with no neighbour at all (the whole frame) stays.
    """
    check_label(label)
    _check_connectivity(connectivity)
    if int(min_size) != min_size or min_size < 0:
        raise ValueError(f"min_size must be a whole number of pixels >= 0, got {min_size!r}")
    if cls is None:
        classes = [int(c) for c in np.flatnonzero(np.bincount(label.ravel(), minlength=256))]
        y0, y1, x0, x1 = 0, label.shape[0], 0, label.shape[1]
    else:
        classes = [check_value(cls, "class")]
        box = _class_box(label, classes[0], 1)
        if box is None:
            return None
        y0, y1, x0, x1 = box
    if min_size <= 1 or len(classes) == 0:
        return None
    crop = label[y0:y1, x0:x1]
    ids, n = _small_component_ids(crop, classes, int(min_size), connectivity)
    if n == 0:
        return None
    pixels = np.nonzero(ids)
    target = majority(neighbour_votes(crop, ids, n, ids == 0, connectivity, pixels))
    target[0] = -1  # id 0 = not an island
    lonely = np.flatnonzero(target[1:] < 0) + 1
    if lonely.size:  # islands touching only other islands: let those vote
        fallback = majority(neighbour_votes(crop, ids, n, np.ones(ids.shape, bool), connectivity, pixels))
        target[lonely] = fallback[lonely]
    vals = target[ids[pixels]]
    keep = vals >= 0
    ys, xs = pixels[0][keep] + y0, pixels[1][keep] + x0
    what = "" if cls is None else f" of {class_name(classes[0])}"
    return commit_sparse(label, ys, xs, vals[keep].astype(np.uint8), policy,
                         f"Remove islands{what} < {int(min_size)} px")


def fill_holes(label: np.ndarray, cls: int, policy: PaintPolicy = PaintPolicy(),
               max_size: int | None = None) -> UndoRecord | None:
    """Make `cls` the regions enclosed by `cls` (4-connected regions of other values not reaching the
    frame edge). Holes larger than `max_size` pixels are kept when it is given (e.g. the pupil inside
    the iris); locked classes inside holes stay through the policy.
    """
    check_label(label)
    cls = check_value(cls, "class")
    box = _class_box(label, cls, 0)
    if box is None:
        return None
    y0, y1, x0, x1 = box
    crop = label[y0:y1, x0:x1]
    count, comp = cv2.connectedComponents((crop != cls).view(np.uint8), connectivity=4, ltype=cv2.CV_32S)
    hole = np.ones(count, dtype=bool)
    hole[comp[0]] = hole[comp[-1]] = hole[comp[:, 0]] = hole[comp[:, -1]] = False  # reach the box edge
    if max_size is not None:
        hole &= np.bincount(comp.ravel(), minlength=count) <= max_size
    hole[0] = False  # component 0 is the class itself
    if not hole[1:].any():
        return None
    return commit_mask(label, y0, x0, hole[comp], cls, policy, f"Fill holes: {class_name(cls)}")


def smooth_class(label: np.ndarray, cls: int, radius: int = 2,
                 policy: PaintPolicy = PaintPolicy()) -> UndoRecord | None:
    """Morphological opening then closing of class `cls` with a disc of `radius`.

    Pixels the closing adds become `cls`; pixels the opening removes take the most common neighbouring
    other class (left unchanged if they touch none). Works on the class's box grown by radius + 1.
    """
    check_label(label)
    cls = check_value(cls, "class")
    if int(radius) != radius or radius < 0:
        raise ValueError(f"smoothing radius must be a whole number >= 0, got {radius!r}")
    radius = int(radius)
    box = _class_box(label, cls, radius + 1)
    if box is None or radius == 0:
        return None
    y0, y1, x0, x1 = box
    crop = label[y0:y1, x0:x1]
    m = crop == cls
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * radius + 1, 2 * radius + 1))
    smooth = cv2.morphologyEx(m.view(np.uint8), cv2.MORPH_OPEN, kernel)
    smooth = cv2.morphologyEx(smooth, cv2.MORPH_CLOSE, kernel).view(bool)
    removed = m & ~smooth
    added = smooth & ~m
    ay, ax = np.nonzero(added)
    ys, xs, vals = [ay], [ax], [np.full(ay.size, cls, np.uint8)]
    if removed.any():
        n, comp = cv2.connectedComponents(removed.view(np.uint8), connectivity=8, ltype=cv2.CV_32S)
        pixels = np.nonzero(comp)
        target = majority(neighbour_votes(crop, comp, n - 1, ~m & ~added, 8, pixels))
        target[0] = -1
        v = target[comp[pixels]]
        keep = v >= 0
        ys.append(pixels[0][keep])
        xs.append(pixels[1][keep])
        vals.append(v[keep].astype(np.uint8))
    ys, xs = np.concatenate(ys) + y0, np.concatenate(xs) + x0
    return commit_sparse(label, ys, xs, np.concatenate(vals), policy, f"Smooth: {class_name(cls)}")


def replace_class(label: np.ndarray, src: int, dst: int,
                  policy: PaintPolicy = PaintPolicy()) -> UndoRecord | None:
    """Turn every `src` pixel into `dst` (where the policy allows `src` to be overwritten)."""
    check_label(label)
    src, dst = check_value(src, "source class"), check_value(dst, "target class")
    if src == dst or not policy.allows(src):
        return None
    box = _class_box(label, src, 0)
    if box is None:
        return None
    y0, y1, x0, x1 = box
    mask = label[y0:y1, x0:x1] == src
    return commit_mask(label, y0, x0, mask, dst, policy, f"Replace {class_name(src)} by {class_name(dst)}")


REPAIRS = ("islands", "holes", "smooth", "replace")


def run_repair(label: np.ndarray, op: str, params: dict, cls: int | None,
               policy: PaintPolicy = PaintPolicy()) -> UndoRecord | None:
    """One repair as one record: "islands" (min_size), "holes" (max_size), "smooth" (radius) or "replace"
    (src, dst), for class `cls` or every class present (cls=None)."""
    classes = [cls] if cls is not None else [int(c) for c in np.flatnonzero(
        np.bincount(label.ravel(), minlength=256)[:NUM_CLASSES])]
    if op == "islands":
        calls = [lambda lb: remove_islands(lb, params["min_size"], cls, policy=policy)]
    elif op == "holes":
        calls = [lambda lb, c=c: fill_holes(lb, c, policy, params["max_size"]) for c in classes]
    elif op == "smooth":
        calls = [lambda lb, c=c: smooth_class(lb, c, params["radius"], policy) for c in classes]
    elif op == "replace":
        calls = [lambda lb: replace_class(lb, params["src"], params["dst"], policy)]
    else:
        raise ValueError(f"unknown repair {op!r}: use {', '.join(REPAIRS)}")
    merged = None
    for call in calls:
        rec = call(label)
        if rec is not None:
            merged = rec if merged is None else merged.merge(rec, label)
    return merged
