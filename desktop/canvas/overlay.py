"""The label overlay: a CaDIS label array turned into an ARGB image, updated one dirty rectangle at a time.

The overlay owns an HxW uint32 buffer and a QImage that shares its memory. Each class ID maps to one
premultiplied ARGB value through a 256-entry table, so refreshing a rectangle is a single numpy lookup over
that rectangle. Opacity is not baked into the colours (the canvas item applies it when painting), so
changing it costs nothing.

Modes: "fill" draws every labelled pixel; "contour" draws only pixels whose colour differs from a
4-neighbour (class boundaries, one image pixel wide); "hidden" keeps the buffer current but the canvas
does not draw it. Unlabelled pixels (255) and hidden classes are transparent. With a benchmark class set
(experiment 1/2/3) merged classes share their first member's colour (and no boundary is drawn between
them) and classes the experiment ignores are drawn black, as in the CaDIS figures.
"""
from __future__ import annotations

import numpy as np
from PySide6.QtGui import QImage

from desktop.qt_image import argb_values, wrap_argb32
from engine.taxonomy import IGNORE, NUM_CLASSES, ClassSet, display_colours, get_class_set

Rect = tuple[int, int, int, int]  # x0, y0, x1, y1 with x1, y1 exclusive
MODES = ("fill", "contour", "hidden")


def class_colour_table(class_set: ClassSet | None = None, hidden: set[int] | frozenset[int] = frozenset(),
                       palette: str = "cadis") -> np.ndarray:
    """256-entry uint32 ARGB table for original CaDIS IDs as drawn in the view of `class_set`, in a display
    palette of `engine.taxonomy.DISPLAY_PALETTES`.

    `hidden` holds original IDs that are not drawn. IDs outside 0..35 (255 = unlabelled) are transparent.
    """
    cs = class_set or get_class_set("full")
    ids = np.arange(NUM_CLASSES)
    new_ids = cs.lut[ids]
    rgb = display_colours(cs, palette)[new_ids].copy()
    rgb[new_ids == IGNORE] = 0  # ignored by this experiment: black
    alpha = np.full(NUM_CLASSES, 255, dtype=np.uint32)
    for h in hidden:
        if 0 <= h < NUM_CLASSES:
            alpha[h] = 0
    table = np.zeros(256, dtype=np.uint32)
    table[:NUM_CLASSES] = argb_values(rgb, alpha)
    return table


def clip_rect(rect: Rect, width: int, height: int) -> Rect | None:
    """Clip a rectangle to the image; None when nothing is left."""
    x0, y0, x1, y1 = (int(v) for v in rect)
    x0, y0, x1, y1 = max(0, x0), max(0, y0), min(width, x1), min(height, y1)
    if x0 >= x1 or y0 >= y1:
        return None
    return x0, y0, x1, y1


class Overlay:
    """ARGB rendering of a label array with incremental updates (`update`) and a shared-memory QImage."""

    def __init__(self) -> None:
        self._label: np.ndarray | None = None
        self._buf = np.zeros((1, 1), dtype=np.uint32)
        self._image = wrap_argb32(self._buf)
        self._class_set: ClassSet = get_class_set("full")
        self._hidden: frozenset[int] = frozenset()
        self._mode = "fill"
        self._palette = "cadis"
        self._table = class_colour_table(self._class_set)

    # -- state ---------------------------------------------------------------------------------------
    @property
    def image(self) -> QImage:
        """The QImage drawn by the canvas; it shares memory with `buffer`."""
        return self._image

    @property
    def buffer(self) -> np.ndarray:
        """The HxW uint32 ARGB pixels (read them, don't write them)."""
        return self._buf

    @property
    def mode(self) -> str:
        return self._mode

    @property
    def hidden_classes(self) -> frozenset[int]:
        return self._hidden

    @property
    def class_set(self) -> ClassSet:
        return self._class_set

    @property
    def colour_table(self) -> np.ndarray:
        return self._table

    @property
    def size(self) -> tuple[int, int]:
        """(width, height) of the current label, (0, 0) without one."""
        if self._label is None:
            return 0, 0
        return self._label.shape[1], self._label.shape[0]

    def set_label(self, label: np.ndarray | None) -> None:
        """Track a new label array (kept by reference: edits to it show after `update`) and render it."""
        if label is None:
            self._label = None
            self._buf = np.zeros((1, 1), dtype=np.uint32)
            self._image = wrap_argb32(self._buf)
            return
        if label.ndim != 2 or label.dtype != np.uint8:
            raise ValueError(f"a label must be an HxW uint8 array of class IDs, got {label.dtype} {label.shape}")
        self._label = label
        if self._buf.shape != label.shape:
            self._buf = np.zeros(label.shape, dtype=np.uint32)
            self._image = wrap_argb32(self._buf)
        self.update(None)

    def set_mode(self, mode: str) -> None:
        if mode not in MODES:
            raise ValueError(f"unknown overlay mode {mode!r}: use one of {', '.join(MODES)}")
        if mode != self._mode:
            was_contour = self._mode == "contour"
            self._mode = mode
            if was_contour or mode == "contour":
                self.update(None)

    def set_hidden_classes(self, ids: set[int] | frozenset[int]) -> None:
        """Original CaDIS IDs not to draw (to hide a merged experiment class, pass all its IDs)."""
        self._hidden = frozenset(int(i) for i in ids)
        self._retable()

    def set_class_set(self, class_set: ClassSet | str | int | None) -> None:
        """Colour the original IDs as in the view of a class set (`get_class_set` keys accepted too)."""
        self._class_set = class_set if isinstance(class_set, ClassSet) else get_class_set(class_set)
        self._retable()

    def set_palette(self, palette: str) -> None:
        """Draw in another display palette ("cadis" or "distinct")."""
        self._palette = palette
        self._retable()

    def _retable(self) -> None:
        table = class_colour_table(self._class_set, self._hidden, self._palette)
        if not np.array_equal(table, self._table):
            self._table = table
            self.update(None)

    # -- rendering ----------------------------------------------------------------------------------------
    def update(self, rect: Rect | None = None) -> Rect | None:
        """Re-render the pixels of `rect` (None = everything) from the label.

        Returns the rectangle of overlay pixels that may have changed (in contour mode it is one pixel
        larger on each side, since boundaries depend on neighbours), or None when nothing is in range.
        """
        if self._label is None:
            return None
        h, w = self._label.shape
        r = (0, 0, w, h) if rect is None else clip_rect(rect, w, h)
        if r is None:
            return None
        if self._mode == "contour":
            r = clip_rect((r[0] - 1, r[1] - 1, r[2] + 1, r[3] + 1), w, h)
            self._render_contour(*r)
        else:
            x0, y0, x1, y1 = r
            np.take(self._table, self._label[y0:y1, x0:x1], out=self._buf[y0:y1, x0:x1])
        return r

    def _render_contour(self, x0: int, y0: int, x1: int, y1: int) -> None:
        h, w = self._label.shape
        ex0, ey0, ex1, ey1 = max(0, x0 - 1), max(0, y0 - 1), min(w, x1 + 1), min(h, y1 + 1)
        c = self._table[self._label[ey0:ey1, ex0:ex1]]
        edge = np.zeros(c.shape, dtype=bool)
        dx = c[:, 1:] != c[:, :-1]
        edge[:, 1:] |= dx
        edge[:, :-1] |= dx
        dy = c[1:, :] != c[:-1, :]
        edge[1:, :] |= dy
        edge[:-1, :] |= dy
        out = np.where(edge, c, np.uint32(0))
        self._buf[y0:y1, x0:x1] = out[y0 - ey0 : y1 - ey0, x0 - ex0 : x1 - ex0]
