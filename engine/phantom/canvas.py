"""The drawing surface of the phantom: the label is drawn first, from geometry, together with a material map
and a shading map that the renderer turns into the image.

Every primitive rasterises one polygon (no antialiasing) into a small mask over its clipped bounding box and
writes the same pixels into the label, the material map and the shading map, so the label is exactly the
pixels drawn as each class.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Sequence

import cv2
import numpy as np

_SHIFT = 4  # sub-pixel bits for cv2.fillPoly: vertices are placed to 1/16 pixel
_ONE = 1 << _SHIFT

ShadeFn = Callable[[np.ndarray, np.ndarray], np.ndarray]  # (xs, ys) grids -> cross coordinate in [-1, 1]


@dataclass
class Canvas:
    """Label (class IDs), material IDs and a cross-section coordinate for shading, all HxW."""

    height: int
    width: int
    background: int = 5
    label: np.ndarray = field(init=False)
    material: np.ndarray = field(init=False)
    shade: np.ndarray = field(init=False)

    def __post_init__(self) -> None:
        self.label = np.full((self.height, self.width), self.background, np.uint8)
        self.material = np.zeros((self.height, self.width), np.uint8)
        self.shade = np.zeros((self.height, self.width), np.float32)

    def fill(self, points: np.ndarray | Sequence, cls: int, material: int,
             shade: ShadeFn | None = None) -> int:
        """Fill a polygon (Nx2 float x, y) with class `cls`; returns how many pixels it set."""
        pts = np.asarray(points, np.float64).reshape(-1, 2)
        if len(pts) < 3 or not np.all(np.isfinite(pts)):
            return 0
        x0 = max(int(np.floor(pts[:, 0].min())), 0)
        y0 = max(int(np.floor(pts[:, 1].min())), 0)
        x1 = min(int(np.ceil(pts[:, 0].max())) + 1, self.width)
        y1 = min(int(np.ceil(pts[:, 1].max())) + 1, self.height)
        if x1 <= x0 or y1 <= y0:
            return 0
        mask = np.zeros((y1 - y0, x1 - x0), np.uint8)
        # Far-away vertices are clamped so the fixed-point coordinates stay well inside int32.
        local = np.clip(pts - (x0, y0), -8192, 8192)
        cv2.fillPoly(mask, [np.round(local * _ONE).astype(np.int32)], 1, cv2.LINE_8, _SHIFT)
        return self._commit(mask, x0, y0, cls, material, shade)

    def fill_mask(self, mask: np.ndarray, x0: int, y0: int, cls: int, material: int,
                  shade: ShadeFn | None = None) -> int:
        """Commit a ready-made uint8 mask whose top-left corner is (x0, y0) (clipped to the canvas)."""
        h, w = mask.shape
        cx0, cy0 = max(x0, 0), max(y0, 0)
        cx1, cy1 = min(x0 + w, self.width), min(y0 + h, self.height)
        if cx1 <= cx0 or cy1 <= cy0:
            return 0
        sub = mask[cy0 - y0:cy1 - y0, cx0 - x0:cx1 - x0]
        return self._commit(np.ascontiguousarray(sub), cx0, cy0, cls, material, shade)

    def _commit(self, mask: np.ndarray, x0: int, y0: int, cls: int, material: int,
                shade: ShadeFn | None) -> int:
        sel = mask > 0
        n = int(sel.sum())
        if n == 0:
            return 0
        h, w = mask.shape
        self.label[y0:y0 + h, x0:x0 + w][sel] = cls
        self.material[y0:y0 + h, x0:x0 + w][sel] = material
        if shade is not None:
            ys, xs = np.nonzero(sel)
            s = shade((xs + x0).astype(np.float32), (ys + y0).astype(np.float32))
            self.shade[y0:y0 + h, x0:x0 + w][sel] = np.clip(s, -1.0, 1.0)
        else:
            self.shade[y0:y0 + h, x0:x0 + w][sel] = 0.0
        return n


def unit(v: np.ndarray) -> np.ndarray:
    """The unit vector along `v` (x, y)."""
    v = np.asarray(v, np.float64)
    n = float(np.hypot(v[0], v[1]))
    return v / n if n > 1e-9 else np.array([1.0, 0.0])


def rotate(v: np.ndarray, angle: float) -> np.ndarray:
    """Rotate a 2-vector by `angle` radians (image coordinates, y down)."""
    c, s = np.cos(angle), np.sin(angle)
    return np.array([c * v[0] - s * v[1], s * v[0] + c * v[1]])


def normal(u: np.ndarray) -> np.ndarray:
    return np.array([-u[1], u[0]])


def bar_polygon(p0: np.ndarray, p1: np.ndarray, w0: float, w1: float) -> np.ndarray:
    """A quadrilateral from p0 to p1 whose full width goes linearly from w0 to w1."""
    u = unit(np.asarray(p1) - np.asarray(p0))
    n = normal(u)
    return np.array([p0 + n * w0 / 2, p1 + n * w1 / 2, p1 - n * w1 / 2, p0 - n * w0 / 2])


def bar_shade(p0: np.ndarray, p1: np.ndarray, w0: float, w1: float) -> ShadeFn:
    """Cross coordinate of a tapered bar: -1 at one edge, 0 on the axis, +1 at the other edge."""
    p0 = np.asarray(p0, np.float64)
    d = np.asarray(p1, np.float64) - p0
    length = max(float(np.hypot(*d)), 1e-6)
    u = d / length
    n = normal(u)

    def fn(xs: np.ndarray, ys: np.ndarray) -> np.ndarray:
        rx, ry = xs - p0[0], ys - p0[1]
        t = np.clip((rx * u[0] + ry * u[1]) / length, 0.0, 1.0)
        half = np.maximum((w0 + (w1 - w0) * t) / 2.0, 0.5)
        return (rx * n[0] + ry * n[1]) / half

    return fn


def disk_shade(cx: float, cy: float, r: float) -> ShadeFn:
    """Cross coordinate of a round part: its offset from the centre along the diagonal, over the radius
    (continuous, so a cap or a palm shades like the cylinders around it without a seam)."""
    def fn(xs: np.ndarray, ys: np.ndarray) -> np.ndarray:
        return ((xs - cx) + (ys - cy)) * (np.sqrt(0.5) / max(r, 0.5))

    return fn


def disk_polygon(cx: float, cy: float, r: float, n: int = 32, ry: float | None = None,
                 angle: float = 0.0) -> np.ndarray:
    """A circle (or an ellipse with semi-axes r, ry rotated by `angle`) as a polygon."""
    t = np.linspace(0.0, 2 * np.pi, n, endpoint=False)
    ex, ey = r * np.cos(t), (r if ry is None else ry) * np.sin(t)
    c, s = np.cos(angle), np.sin(angle)
    return np.stack([cx + c * ex - s * ey, cy + s * ex + c * ey], axis=1)


def bar(canvas: Canvas, p0, p1, w0: float, w1: float, cls: int, material: int) -> int:
    """Draw a shaded tapered bar."""
    p0, p1 = np.asarray(p0, np.float64), np.asarray(p1, np.float64)
    return canvas.fill(bar_polygon(p0, p1, w0, w1), cls, material, bar_shade(p0, p1, w0, w1))


def tube(canvas: Canvas, points: Sequence, width: float, cls: int, material: int,
         width_end: float | None = None) -> int:
    """Draw a shaded polyline of (possibly tapering) width with round joints."""
    pts = [np.asarray(p, np.float64) for p in points]
    w_end = width if width_end is None else width_end
    n = 0
    seg = len(pts) - 1
    for i in range(seg):
        wa = width + (w_end - width) * i / seg
        wb = width + (w_end - width) * (i + 1) / seg
        n += bar(canvas, pts[i], pts[i + 1], wa, wb, cls, material)
        if i + 1 < seg:  # a round joint, shaded like the end of the segment it closes (no seam)
            r = wb / 2
            n += canvas.fill(disk_polygon(pts[i + 1][0], pts[i + 1][1], r, 16), cls, material,
                             bar_shade(pts[i], pts[i + 1], wa, wb))
    return n
