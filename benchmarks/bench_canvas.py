"""Brush latency on the canvas: one mouse-move event end to end.

One event = a synthesized MouseMove sent to the canvas viewport while the left button is down (the
brush tool paints the new segment with engine.edits.StrokeBuilder, the overlay re-renders its dirty
rectangle, the scene schedules a repaint) + `processEvents()` until the overlay item has painted.

"ours" is the real CanvasView. "baseline" is the same canvas whose refresh re-renders the whole
overlay image and repaints the whole item on every event (what a naive overlay does).
Target: < 8 ms median at 960x540 and < 16 ms at 4096x4096 on the 2-core dev machine.

Run: QT_QPA_PLATFORM=offscreen python -m benchmarks -k canvas
"""
from __future__ import annotations

import math
import os

import numpy as np

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from PySide6.QtCore import QEvent, QPointF, Qt  # noqa: E402
from PySide6.QtGui import QMouseEvent  # noqa: E402
from PySide6.QtWidgets import QApplication  # noqa: E402

from benchmarks._timing import median_ms, print_table  # noqa: E402
from desktop.canvas import CanvasView  # noqa: E402

RADIUS = 12
STEP = 3.0  # screen pixels between two mouse positions: a steady hand at a normal speed
TARGETS = {(960, 540): 8.0, (4096, 4096): 16.0}


class FullRepaintCanvas(CanvasView):
    """Baseline: every refresh rebuilds the whole overlay image and repaints all of it."""

    def refresh(self, rect=None) -> None:
        super().refresh(None)
        self._overlay_item.update()


def _frame(w: int, h: int) -> tuple[np.ndarray, np.ndarray]:
    yy, xx = np.mgrid[0:h, 0:w]
    image = np.stack([xx * 255 // w, yy * 255 // h, np.full_like(xx, 90)], axis=2).astype(np.uint8)
    label = np.full((h, w), 4, np.uint8)
    label[(xx - w // 2) ** 2 + (yy - h // 2) ** 2 < (min(w, h) // 4) ** 2] = 0
    label[: h // 10] = 255
    return image, label


def _send(view: CanvasView, kind: QEvent.Type, x: float, y: float) -> None:
    pos = QPointF(view.mapFromScene(QPointF(x, y)))
    button = Qt.NoButton if kind == QEvent.MouseMove else Qt.LeftButton
    ev = QMouseEvent(kind, pos, pos, button, Qt.LeftButton, Qt.NoModifier)
    QApplication.sendEvent(view.viewport(), ev)


def _measure(cls: type[CanvasView], w: int, h: int, zoom: str, repeat: int) -> tuple[float, int]:
    """Median ms per brush move event, and how many events painted nothing (should be 0)."""
    app = QApplication.instance() or QApplication([])
    view = cls()
    view.resize(1280, 800)
    view.show()
    app.processEvents()
    image, label = _frame(w, h)
    view.set_frame(image, label)
    if zoom == "1:1":
        view.actual_size()
    view.set_current_class(13)
    view.set_brush_radius(RADIUS)
    app.processEvents()
    cx, cy = w / 2, h / 2
    ring = min(w, h, 700) / 3  # stay inside the visible part of the image at 1:1
    state = {"i": 0, "missed": 0}

    step = STEP / view.view_scale()  # in image pixels

    def point(i: int) -> tuple[float, float]:
        a = i * step / ring
        return cx + ring * math.cos(a) + 0.5, cy + ring * math.sin(a) + 0.5

    _send(view, QEvent.MouseButtonPress, *point(0))
    app.processEvents()
    item = view._overlay_item

    def one_event() -> None:
        state["i"] += 1
        before = item.paint_count
        _send(view, QEvent.MouseMove, *point(state["i"]))
        for _ in range(4):  # the scene posts its update, then the viewport paints
            app.processEvents()
            if item.paint_count > before:
                return
        state["missed"] += 1

    ms = median_ms(one_event, repeat=repeat, warmup=3)
    _send(view, QEvent.MouseButtonRelease, *point(state["i"]))
    view.close()
    view.deleteLater()
    app.processEvents()
    return ms, state["missed"]


def main() -> None:
    rows = []
    for (w, h), zoom in (((960, 540), "fit"), ((4096, 4096), "fit"), ((4096, 4096), "1:1")):
        big = w * h > 4_000_000
        ours, missed = _measure(CanvasView, w, h, zoom, repeat=60)
        base, _ = _measure(FullRepaintCanvas, w, h, zoom, repeat=12 if big else 40)
        target = TARGETS[(w, h)]
        rows.append((f"{w}x{h}", zoom, ours, base, f"{base / ours:.1f}x", f"< {target:g}",
                     "yes" if ours < target and missed == 0 else "NO"))
    print_table(
        f"brush move event, end to end (radius {RADIUS} image px, {STEP:g} screen px per move, median ms, viewport 1280x800)",
        rows, ("frame", "zoom", "ours ms", "full-repaint ms", "speed-up", "target ms", "met"),
    )


if __name__ == "__main__":
    main()
