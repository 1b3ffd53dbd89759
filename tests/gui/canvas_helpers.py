"""Shared helpers for the canvas tests: a synthetic frame and synthesized mouse / wheel / key events."""
from __future__ import annotations

import numpy as np
from PySide6.QtCore import QEvent, QPoint, QPointF, Qt
from PySide6.QtGui import QKeyEvent, QMouseEvent, QWheelEvent
from PySide6.QtWidgets import QApplication

W, H = 120, 80


def synthetic_frame(w: int = W, h: int = H) -> tuple[np.ndarray, np.ndarray]:
    """A gradient RGB image and a label with a few classes and an unlabelled band."""
    yy, xx = np.mgrid[0:h, 0:w]
    image = np.stack([(xx * 255 // max(w - 1, 1)), (yy * 255 // max(h - 1, 1)), np.full_like(xx, 90)], axis=2)
    image = image.astype(np.uint8)
    label = np.full((h, w), 4, dtype=np.uint8)  # iris everywhere
    label[(xx - w // 2) ** 2 + (yy - h // 2) ** 2 < (h // 4) ** 2] = 0  # pupil disc
    label[:, : w // 6] = 5  # skin band on the left
    label[h - 10 :, :] = 255  # unlabelled strip at the bottom
    return image, label


def widget_point(view, x: float, y: float) -> QPoint:
    """Viewport point of scene point (x, y)."""
    return view.mapFromScene(QPointF(x, y))


def mouse(view, kind: str, x: float, y: float, button=Qt.LeftButton, buttons=None,
          modifiers=Qt.NoModifier) -> None:
    """Send a press/move/release/double event at scene point (x, y) to the canvas viewport."""
    types = {"press": QEvent.MouseButtonPress, "move": QEvent.MouseMove,
             "release": QEvent.MouseButtonRelease, "double": QEvent.MouseButtonDblClick}
    pos = QPointF(widget_point(view, x, y))
    glob = QPointF(view.viewport().mapToGlobal(pos.toPoint()))
    if buttons is None:
        buttons = Qt.NoButton if kind == "release" else button
    if kind == "move":
        button = Qt.NoButton
    ev = QMouseEvent(types[kind], pos, glob, button, buttons, modifiers)
    QApplication.sendEvent(view.viewport(), ev)


def pixel_click(view, x: int, y: int, button=Qt.LeftButton) -> None:
    """Click in the middle of pixel (x, y)."""
    mouse(view, "press", x + 0.5, y + 0.5, button)
    mouse(view, "release", x + 0.5, y + 0.5, button)


def drag(view, pixels: list[tuple[int, int]], button=Qt.LeftButton, modifiers=Qt.NoModifier) -> None:
    """Press at the first pixel centre, move through the others, release at the last."""
    (x0, y0), rest = pixels[0], pixels[1:]
    mouse(view, "press", x0 + 0.5, y0 + 0.5, button, modifiers=modifiers)
    for x, y in rest:
        mouse(view, "move", x + 0.5, y + 0.5, button, buttons=button, modifiers=modifiers)
    x, y = pixels[-1]
    mouse(view, "release", x + 0.5, y + 0.5, button, modifiers=modifiers)


def wheel(view, pos: QPointF, delta: int = 120, modifiers=Qt.NoModifier) -> None:
    """A vertical wheel event at viewport position `pos`."""
    glob = QPointF(view.viewport().mapToGlobal(pos.toPoint()))
    ev = QWheelEvent(pos, glob, QPoint(0, 0), QPoint(0, delta), Qt.NoButton, modifiers,
                     Qt.NoScrollPhase, False)
    QApplication.sendEvent(view.viewport(), ev)


def key(view, k, release: bool = False) -> None:
    """Press (or release) a key on the canvas."""
    ev = QKeyEvent(QEvent.KeyRelease if release else QEvent.KeyPress, k, Qt.NoModifier)
    QApplication.sendEvent(view, ev)


def make_canvas(qtbot, size=(420, 320)):
    """A shown CanvasView holding `synthetic_frame()`."""
    from desktop.canvas import CanvasView

    view = CanvasView()
    qtbot.addWidget(view)
    view.resize(*size)
    view.show()
    qtbot.waitExposed(view)
    view.set_frame(*synthetic_frame())
    return view
