"""The Segment tool's layer on the canvas: the candidate mask's outline in the class colour, the prompt's
points (green: on the structure, red: off it) and its box. Rendered into one ARGB image of the frame's size."""
from __future__ import annotations

import cv2
import numpy as np
from PySide6.QtCore import QRectF

from desktop.canvas.items import ImageItem
from desktop.qt_image import wrap_argb32

_ON, _OFF, _BOX = (0xFF00E676, 0xFFFF3B30, 0xFFFFFFFF)


def outline_argb(shape: tuple[int, int], mask: np.ndarray | None, colour: tuple[int, int, int], points=(),
                 box=None) -> np.ndarray:
    """HxW uint32 ARGB: a 2-pixel outline of `mask` (dark edge inside, class colour outside), points and box."""
    h, w = shape
    out = np.zeros((h, w), np.uint32)
    if mask is not None and mask.any():
        m = mask.view(np.uint8) if mask.dtype == bool else mask.astype(np.uint8)
        k = np.ones((3, 3), np.uint8)
        outer = cv2.dilate(m, k, iterations=2).astype(bool) & ~mask
        inner = mask & ~cv2.erode(m, k).astype(bool)
        r, g, b = (int(c) for c in colour)
        out[outer] = np.uint32(0xFF000000 | (r << 16) | (g << 8) | b)
        out[inner] = np.uint32(0xE0000000)
    if box is not None:
        x0, y0, x1, y1 = box
        view = out.view(np.uint8).reshape(h, w, 4)
        cv2.rectangle(view, (x0, y0), (x1 - 1, y1 - 1), _bgra(_BOX), 1)
    for x, y, positive in points:
        view = out.view(np.uint8).reshape(h, w, 4)
        cv2.circle(view, (int(x), int(y)), 5, _bgra(0xFF000000), -1)
        cv2.circle(view, (int(x), int(y)), 4, _bgra(_ON if positive else _OFF), -1)
    return out


def _bgra(argb: int) -> tuple[int, int, int, int]:
    # ARGB32 in little-endian memory is B, G, R, A
    return (argb & 0xFF, (argb >> 8) & 0xFF, (argb >> 16) & 0xFF, (argb >> 24) & 0xFF)


class SegmentLayer(ImageItem):
    """Shows the candidate outline; `show(...)` redraws, `clear()` hides."""

    def __init__(self) -> None:
        super().__init__()
        self._buf: np.ndarray | None = None
        self.mask: np.ndarray | None = None  # the candidate on show (tests and screenshots read it)

    def show(self, shape, mask, colour, points=(), box=None) -> None:
        self.mask = mask
        self._buf = outline_argb(shape, mask, colour, points, box)
        self.set_image(wrap_argb32(self._buf))
        self.update(QRectF(0, 0, shape[1], shape[0]))

    def clear(self) -> None:
        self.mask = None
        if self._buf is not None:
            self._buf[:] = 0
            self.update()
