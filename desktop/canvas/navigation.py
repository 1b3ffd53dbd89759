"""ZoomPanView: a QGraphicsView over an image of one scene unit per pixel, with exact zoom about a point,
fit / 1:1 and panning. CanvasView builds on it; it knows nothing of labels or tools.

The scene extends SCENE_MARGIN units around the image so any point (even outside the image) can stay
under the cursor while zooming; scroll bars are hidden, panning replaces them.
"""
from __future__ import annotations

from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QColor, QPainter, QTransform
from PySide6.QtWidgets import QFrame, QGraphicsView, QWidget

MIN_SCALE, MAX_SCALE = 1 / 64, 64.0
ZOOM_STEP = 1.25  # zoom factor per wheel notch
SCENE_MARGIN = 100_000  # scene units around the image


class ZoomPanView(QGraphicsView):
    """Zoom and pan for an image placed at the scene origin."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._image_size: tuple[int, int] | None = None  # (width, height)
        self._zoom_anchor: tuple[tuple[float, float, int, int], QPointF] | None = None
        self._fitted = False  # True until the user zooms or pans: resizing then keeps the image fitted
        self._pan_from: QPointF | None = None
        self.setFrameShape(QFrame.NoFrame)
        self.setBackgroundBrush(QColor(38, 38, 42))
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarAlwaysOff)
        self.setVerticalScrollBarPolicy(Qt.ScrollBarAlwaysOff)
        self.setTransformationAnchor(QGraphicsView.NoAnchor)
        self.setResizeAnchor(QGraphicsView.AnchorViewCenter)
        self.setViewportUpdateMode(QGraphicsView.MinimalViewportUpdate)
        self.setCacheMode(QGraphicsView.CacheNone)
        self.setOptimizationFlag(QGraphicsView.DontSavePainterState, True)
        self.setRenderHint(QPainter.SmoothPixmapTransform, False)

    def set_image_size(self, width: int, height: int) -> bool:
        """Declare the image size; returns True when it changed (the caller may then `fit`)."""
        changed = self._image_size != (width, height)
        self._image_size = (width, height)
        m = SCENE_MARGIN
        self.scene().setSceneRect(QRectF(-m, -m, width + 2 * m, height + 2 * m))
        return changed

    # -- zoom ----------------------------------------------------------------------------------------
    def view_scale(self) -> float:
        """Screen pixels per image pixel."""
        return self.transform().m11()

    def fit(self) -> None:
        """Zoom so the whole image is visible, centred; stays fitted when the widget is resized."""
        if self._image_size is None:
            return
        w, h = self._image_size
        vp = self.viewport().size()
        self._set_scale(min(max(vp.width() - 8, 1) / w, max(vp.height() - 8, 1) / h))
        self.centerOn(w / 2, h / 2)
        self._fitted = True

    def actual_size(self) -> None:
        """One screen pixel per image pixel, keeping the view centre."""
        centre = self.map_to_scene(QPointF(self.viewport().width() / 2, self.viewport().height() / 2))
        self._set_scale(1.0)
        self.centerOn(centre)
        self._fitted = False

    def zoom_at(self, factor: float, view_pos: QPointF) -> None:
        """Multiply the zoom by `factor` (clamped to 1/64..64), keeping the scene point under `view_pos`."""
        view_pos = QPointF(view_pos)
        h, v = self.horizontalScrollBar(), self.verticalScrollBar()
        last = self._zoom_anchor
        if last is not None and last[0] == (view_pos.x(), view_pos.y(), h.value(), v.value()):
            anchor = last[1]  # same spot, nothing moved since: reuse the exact point (no rounding drift)
        else:
            anchor = self.map_to_scene(view_pos)
        self._set_scale(self.view_scale() * factor)
        moved = self.viewportTransform().map(anchor) - view_pos
        self._scroll_by(moved.x(), moved.y())
        self._fitted = False
        self._zoom_anchor = ((view_pos.x(), view_pos.y(), h.value(), v.value()), anchor)

    def map_to_scene(self, view_pos: QPointF) -> QPointF:
        """Exact (sub-pixel) scene point of a viewport position."""
        inverse, _ = self.viewportTransform().inverted()
        return inverse.map(QPointF(view_pos))

    def scale_changed(self, scale: float) -> None:
        """Hook for subclasses: the zoom is now `scale` screen pixels per image pixel."""

    def _set_scale(self, s: float) -> None:
        s = max(MIN_SCALE, min(MAX_SCALE, s))
        self.setTransform(QTransform.fromScale(s, s))
        self.scale_changed(s)

    def _scroll_by(self, dx: float, dy: float) -> None:
        h, v = self.horizontalScrollBar(), self.verticalScrollBar()
        h.setValue(h.value() + round(dx))
        v.setValue(v.value() + round(dy))

    def resizeEvent(self, ev) -> None:
        super().resizeEvent(ev)
        if self._fitted:
            self.fit()

    # -- pan -----------------------------------------------------------------------------------------
    def panning(self) -> bool:
        return self._pan_from is not None

    def start_pan(self, view_pos: QPointF) -> None:
        self._pan_from = QPointF(view_pos)
        self.viewport().setCursor(Qt.ClosedHandCursor)

    def pan_to(self, view_pos: QPointF) -> None:
        """Move the image with the pointer."""
        d = view_pos - self._pan_from
        self._pan_from = QPointF(view_pos)
        self._scroll_by(-d.x(), -d.y())
        self._fitted = False

    def end_pan(self) -> None:
        self._pan_from = None
