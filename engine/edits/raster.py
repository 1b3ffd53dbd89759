"""Rasterise brush strokes: the pixels whose centre lies within `radius` of a polyline.

Pixel (x, y) has its centre at (x, y) (numpy / OpenCV convention). Stroke points are rounded to the
nearest pixel, and the radius is at least 0.5 so a stroke is always an 8-connected band without gaps,
however far apart two mouse positions are. The test "distance from the pixel centre to the segment
<= radius" is evaluated exactly on the integer grid, only on a narrow band around each segment (long
segments are cut into short pieces along their major axis), so cost follows the painted area.
"""
from __future__ import annotations

import math
from typing import Sequence

import numpy as np

MIN_RADIUS = 0.5


def to_pixel_points(points: Sequence[Sequence[float]] | np.ndarray) -> np.ndarray:
    """(n, 2) int64 array of (x, y) pixel positions; raises ValueError on empty or non-finite input."""
    pts = np.asarray(points, dtype=np.float64)
    if pts.ndim == 1 and pts.size == 2:
        pts = pts.reshape(1, 2)
    if pts.ndim != 2 or pts.shape[1] != 2 or pts.shape[0] == 0:
        raise ValueError(f"points must be a non-empty sequence of (x, y) pairs, got shape {pts.shape}")
    if not np.isfinite(pts).all():
        raise ValueError("points must be finite numbers")
    return np.floor(pts + 0.5).astype(np.int64)


def effective_radius(radius: float) -> float:
    """The radius actually painted (at least 0.5); raises ValueError for negative or non-finite input."""
    r = float(radius)
    if not math.isfinite(r) or r < 0:
        raise ValueError(f"brush radius must be a finite number >= 0, got {radius!r}")
    return max(r, MIN_RADIUS)


def stroke_extent(pts: np.ndarray, radius: float, shape: tuple[int, int]) -> tuple[int, int, int, int] | None:
    """(y0, y1, x0, x1) box (exclusive ends) of the stroke clipped to the image, or None if outside."""
    reach = int(math.floor(radius))
    h, w = shape
    x0 = max(int(pts[:, 0].min()) - reach, 0)
    x1 = min(int(pts[:, 0].max()) + reach + 1, w)
    y0 = max(int(pts[:, 1].min()) - reach, 0)
    y1 = min(int(pts[:, 1].max()) + reach + 1, h)
    if x0 >= x1 or y0 >= y1:
        return None
    return y0, y1, x0, x1


def draw_polyline(mask: np.ndarray, oy: int, ox: int, pts: np.ndarray, radius: float) -> None:
    """OR the stroke (round dabs joined by thick segments) into the bool `mask` whose top-left is (oy, ox)."""
    local = pts - np.array([ox, oy], dtype=np.int64)
    if len(local) == 1:
        draw_capsule(mask, local[0], local[0], radius)
    for a, b in zip(local[:-1], local[1:]):
        draw_capsule(mask, a, b, radius)


def draw_capsule(mask: np.ndarray, a: np.ndarray, b: np.ndarray, radius: float) -> None:
    """OR into `mask` the pixels within `radius` of segment a-b (integer (x, y), mask coordinates)."""
    ax, ay, bx, by = int(a[0]), int(a[1]), int(b[0]), int(b[1])
    if abs(bx - ax) >= abs(by - ay):
        _capsule_x_major(mask, ax, ay, bx, by, radius)
    else:  # work on the transposed view so the major axis is always the column axis
        _capsule_x_major(mask.T, ay, ax, by, bx, radius)


def _capsule_x_major(m: np.ndarray, ax: int, ay: int, bx: int, by: int, r: float) -> None:
    h, w = m.shape
    if ax > bx:
        ax, ay, bx, by = bx, by, ax, ay
    reach = int(math.floor(r))
    c_lo, c_hi = max(ax - reach, 0), min(bx + reach + 1, w)
    if c_lo >= c_hi:
        return
    dx, dy = bx - ax, by - ay
    dd = float(dx * dx + dy * dy)
    r2 = r * r
    band = max(16, 2 * reach + 1)
    for c0 in range(c_lo, c_hi, band):
        c1 = min(c0 + band, c_hi)
        # rows the capsule can reach inside columns [c0, c1): segment's y over x in [c0-r, c1-1+r]
        if dx == 0:
            ys = (ay, by)
        else:
            xa = min(max(c0 - reach, ax), bx)
            xb = min(max(c1 - 1 + reach, ax), bx)
            ys = (ay + dy * (xa - ax) / dx, ay + dy * (xb - ax) / dx)
        r0 = max(int(math.floor(min(ys))) - reach, 0)
        r1 = min(int(math.ceil(max(ys))) + reach + 1, h)
        if r0 >= r1:
            continue
        px = np.arange(c0 - ax, c1 - ax, dtype=np.float64)[None, :]
        py = np.arange(r0 - ay, r1 - ay, dtype=np.float64)[:, None]
        if dd == 0:
            inside = px * px + py * py <= r2
        else:
            t = px * dx + py * dy
            cross = px * dy - py * dx
            qx, qy = px - dx, py - dy
            inside = np.where(
                t <= 0, px * px + py * py <= r2,
                np.where(t >= dd, qx * qx + qy * qy <= r2, cross * cross <= r2 * dd),
            )
        m[r0:r1, c0:c1] |= inside
