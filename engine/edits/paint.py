"""Painting ops: brush and eraser strokes along a polyline, and polygon (lasso) fill.

Each op works on the box the shape can touch, edits `label` in place where the policy allows, and
returns the UndoRecord of the changed pixels (None when nothing changed).
"""
from __future__ import annotations

from typing import Sequence

import cv2
import numpy as np

from engine.edits.commit import commit_mask
from engine.edits.policy import PaintPolicy, check_label, check_value, class_name
from engine.edits.raster import draw_polyline, effective_radius, stroke_extent, to_pixel_points
from engine.edits.record import UndoRecord
from engine.taxonomy import IGNORE

Points = Sequence[Sequence[float]] | np.ndarray


def paint_stroke(label: np.ndarray, points: Points, radius: float, value: int, policy: PaintPolicy,
                 description: str) -> UndoRecord | None:
    """Shared body of brush and eraser: validate, rasterise on the stroke's box, commit."""
    check_label(label)
    value = check_value(value)
    pts = to_pixel_points(points)
    r = effective_radius(radius)
    box = stroke_extent(pts, r, label.shape)
    if box is None:
        return None
    y0, y1, x0, x1 = box
    mask = np.zeros((y1 - y0, x1 - x0), dtype=bool)
    draw_polyline(mask, y0, x0, pts, r)
    return commit_mask(label, y0, x0, mask, value, policy, description)


def brush_stroke(label: np.ndarray, points: Points, radius: float, value: int,
                 policy: PaintPolicy = PaintPolicy()) -> UndoRecord | None:
    """Paint `value` on every pixel whose centre is within `radius` of the polyline `points` ((x, y)).

    One point gives one round dab; consecutive points are joined by a thick segment, so fast mouse
    moves leave no gaps. Points are rounded to whole pixels and may lie outside the image.
    """
    return paint_stroke(label, points, radius, value, policy, f"Brush: {class_name(check_value(value))}")


def erase_stroke(label: np.ndarray, points: Points, radius: float, value: int = IGNORE,
                 policy: PaintPolicy = PaintPolicy()) -> UndoRecord | None:
    """The eraser: a brush stroke painting the "background" value (255 = unlabelled by default)."""
    v = check_value(value)
    desc = "Eraser" if v == IGNORE else f"Eraser: {class_name(v)}"
    return paint_stroke(label, points, radius, v, policy, desc)


def fill_polygon(label: np.ndarray, points: Points, value: int,
                 policy: PaintPolicy = PaintPolicy()) -> UndoRecord | None:
    """Fill the polygon (or lasso outline) `points` ((x, y), at least 3) with `value`, edges included.

    Vertices are rounded to whole pixels; rasterised by OpenCV's fillPoly on the polygon's box.
    """
    check_label(label)
    value = check_value(value)
    pts = to_pixel_points(points)
    if len(pts) < 3:
        raise ValueError(f"a polygon needs at least 3 points, got {len(pts)}")
    h, w = label.shape
    x0, y0 = max(int(pts[:, 0].min()), 0), max(int(pts[:, 1].min()), 0)
    x1, y1 = min(int(pts[:, 0].max()) + 1, w), min(int(pts[:, 1].max()) + 1, h)
    if x0 >= x1 or y0 >= y1:
        return None
    local = (pts - np.array([x0, y0])).astype(np.int32).reshape(-1, 1, 2)
    canvas = np.zeros((y1 - y0, x1 - x0), dtype=np.uint8)
    cv2.fillPoly(canvas, [local], 1, lineType=cv2.LINE_8)
    return commit_mask(label, y0, x0, canvas.view(bool), value, policy, f"Polygon: {class_name(value)}")
