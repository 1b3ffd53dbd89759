"""Mask-level layout operations: move, rotate, scale, mirror or remove one instrument (with its handle),
or paste an instrument from another frame's mask.

Every operation returns a new label; the input is never modified. Exactness guarantees:
- only the instrument's old pixels (filled with anatomy by `fill_vacated`) and its new pixels change;
- move and mirror map pixels one to one (each moved pixel keeps its class ID; pixels pushed out of the
  frame are dropped); rotate and scale sample the instrument with nearest-neighbour inverse mapping, so
  no class ID is ever blended or invented;
- the moved instrument is drawn on top of whatever lies at its new place.
Constraints (tips over the eye, pupil inside iris, no overlap) are checked by `engine.augment.sampler`.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import cv2
import numpy as np

from engine.augment.instruments import Instrument, fill_vacated


@dataclass
class Placed:
    """The result of one operation: the new label, where the instrument now is, its tip, and what was done."""

    label: np.ndarray
    mask: np.ndarray = field(repr=False)
    tip: tuple[float, float]
    op: dict


def _shift(arr: np.ndarray, dx: int, dy: int, fill=0) -> np.ndarray:
    """`arr` translated by (dx, dy) whole pixels; uncovered pixels get `fill`."""
    out = np.full_like(arr, fill)
    h, w = arr.shape[:2]
    if abs(dx) >= w or abs(dy) >= h:
        return out
    ys, yd = (slice(0, h - dy), slice(dy, h)) if dy >= 0 else (slice(-dy, h), slice(0, h + dy))
    xs, xd = (slice(0, w - dx), slice(dx, w)) if dx >= 0 else (slice(-dx, w), slice(0, w + dx))
    out[yd, xd] = arr[ys, xs]
    return out


def _compose(base: np.ndarray, ids: np.ndarray, mask: np.ndarray) -> np.ndarray:
    out = base.copy()
    out[mask] = ids[mask]
    return out


def _apply(m: np.ndarray, point: tuple[float, float]) -> tuple[float, float]:
    x, y = point
    return float(m[0, 0] * x + m[0, 1] * y + m[0, 2]), float(m[1, 0] * x + m[1, 1] * y + m[1, 2])


def _warp(label: np.ndarray, mask: np.ndarray, m: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Nearest-neighbour warp of the instrument's IDs and mask by the forward affine `m` (2x3)."""
    h, w = label.shape
    ids = np.where(mask, label, 0).astype(np.uint8)
    flags = cv2.INTER_NEAREST
    new_ids = cv2.warpAffine(ids, m, (w, h), flags=flags, borderMode=cv2.BORDER_CONSTANT, borderValue=0)
    new_mask = cv2.warpAffine(mask.astype(np.uint8), m, (w, h), flags=flags, borderMode=cv2.BORDER_CONSTANT,
                              borderValue=0).astype(bool)
    return new_ids, new_mask


def default_pivot(inst: Instrument) -> tuple[float, float]:
    """Where an instrument turns or grows from: where it enters the frame (the incision side), else its
    centre."""
    if inst.touches_border and inst.anchor is not None:
        return inst.anchor
    ys, xs = np.nonzero(inst.mask)
    return float(xs.mean()), float(ys.mean())


def remove_instrument(label: np.ndarray, inst: Instrument) -> np.ndarray:
    """The label without `inst`: its pixels get the surrounding anatomy."""
    return fill_vacated(label, inst.mask)


def move_instrument(label: np.ndarray, inst: Instrument, dx: int, dy: int) -> Placed:
    """Translate the instrument by whole pixels (dx right, dy down)."""
    dx, dy = int(dx), int(dy)
    ids = _shift(np.where(inst.mask, label, 0).astype(np.uint8), dx, dy)
    mask = _shift(inst.mask, dx, dy, False)
    out = _compose(remove_instrument(label, inst), ids, mask)
    tip = (inst.tip[0] + dx, inst.tip[1] + dy)
    return Placed(out, mask, tip, {"op": "move", **inst.describe(), "dx": dx, "dy": dy})


def rotate_instrument(label: np.ndarray, inst: Instrument, angle: float,
                      pivot: tuple[float, float] | None = None) -> Placed:
    """Rotate the instrument by `angle` degrees (counter-clockwise on screen) about `pivot` (x, y)."""
    pivot = default_pivot(inst) if pivot is None else pivot
    m = cv2.getRotationMatrix2D((float(pivot[0]), float(pivot[1])), float(angle), 1.0)
    ids, mask = _warp(label, inst.mask, m)
    out = _compose(remove_instrument(label, inst), ids, mask)
    return Placed(out, mask, _apply(m, inst.tip),
                  {"op": "rotate", **inst.describe(), "angle": round(float(angle), 3),
                   "pivot": [round(float(pivot[0]), 1), round(float(pivot[1]), 1)]})


def scale_instrument(label: np.ndarray, inst: Instrument, factor: float,
                     pivot: tuple[float, float] | None = None) -> Placed:
    """Scale the instrument by `factor` about `pivot` (x, y)."""
    if not factor > 0:
        raise ValueError(f"scale factor must be positive, got {factor}")
    pivot = default_pivot(inst) if pivot is None else pivot
    m = cv2.getRotationMatrix2D((float(pivot[0]), float(pivot[1])), 0.0, float(factor))
    ids, mask = _warp(label, inst.mask, m)
    out = _compose(remove_instrument(label, inst), ids, mask)
    return Placed(out, mask, _apply(m, inst.tip),
                  {"op": "scale", **inst.describe(), "factor": round(float(factor), 4),
                   "pivot": [round(float(pivot[0]), 1), round(float(pivot[1]), 1)]})


def mirror_instrument(label: np.ndarray, inst: Instrument, axis: str = "vertical",
                      center: float | None = None) -> Placed:
    """Mirror the instrument about a vertical line x = center (axis "vertical") or a horizontal line
    y = center ("horizontal"); the default line runs through the middle of the frame. `center` is rounded
    to a half pixel so the mirror maps pixels one to one."""
    h, w = label.shape
    if axis not in ("vertical", "horizontal"):
        raise ValueError(f"mirror axis must be 'vertical' or 'horizontal', got {axis!r}")
    size = w if axis == "vertical" else h
    c2 = int(round(2 * ((size - 1) / 2 if center is None else float(center))))  # 2 * center, a whole number
    ys, xs = np.nonzero(inst.mask)
    vals = label[ys, xs]
    if axis == "vertical":
        xs = c2 - xs
        keep = (xs >= 0) & (xs < w)
    else:
        ys = c2 - ys
        keep = (ys >= 0) & (ys < h)
    mask = np.zeros_like(inst.mask)
    ids = np.zeros_like(label)
    mask[ys[keep], xs[keep]] = True
    ids[ys[keep], xs[keep]] = vals[keep]
    out = _compose(remove_instrument(label, inst), ids, mask)
    tx, ty = inst.tip
    tip = (c2 - tx, ty) if axis == "vertical" else (tx, c2 - ty)
    return Placed(out, mask, tip, {"op": "mirror", **inst.describe(), "axis": axis, "center": c2 / 2})


def paste_instrument(label: np.ndarray, donor_label: np.ndarray, donor: Instrument, dx: int = 0, dy: int = 0,
                     replace: Instrument | None = None) -> Placed:
    """Copy the instrument `donor` of `donor_label` (same size as `label`) into `label`, shifted by (dx, dy).

    With `replace`, that instrument of `label` is removed first (its pixels get anatomy)."""
    if donor_label.shape != label.shape:
        raise ValueError(f"the donor mask is {donor_label.shape[1]}x{donor_label.shape[0]} but the target is "
                         f"{label.shape[1]}x{label.shape[0]}; resize the donor first")
    dx, dy = int(dx), int(dy)
    ids = _shift(np.where(donor.mask, donor_label, 0).astype(np.uint8), dx, dy)
    mask = _shift(donor.mask, dx, dy, False)
    base = remove_instrument(label, replace) if replace is not None else label
    op = {"op": "paste", **donor.describe(), "dx": dx, "dy": dy}
    if replace is not None:
        op["replaced"] = replace.describe()
    return Placed(_compose(base, ids, mask), mask, (donor.tip[0] + dx, donor.tip[1] + dy), op)

