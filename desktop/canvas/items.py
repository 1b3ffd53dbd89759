"""Graphics items of the canvas: image layers that paint only their exposed part, the brush outline and
the polygon / lasso preview. One scene unit is one image pixel; pixel (x, y) covers [x, x+1) x [y, y+1)."""
from __future__ import annotations

from PySide6.QtCore import QPointF, QRect, QRectF, Qt
from PySide6.QtGui import QColor, QImage, QPainter, QPainterPath, QPen
from PySide6.QtWidgets import QGraphicsItem, QStyleOptionGraphicsItem, QWidget


class ImageItem(QGraphicsItem):
    """Draws a QImage at the scene origin, one pixel per scene unit, repainting only the exposed rect.

    The image is held by reference: when its pixels change in place call `update(QRectF(...))` for the
    changed area (that is how the overlay repaints just a brush dab). No smoothing: pixels stay crisp.
    """

    def __init__(self, parent: QGraphicsItem | None = None) -> None:
        super().__init__(parent)
        self._image = QImage()
        self.paint_count = 0  # how many times paint() ran (benchmarks and tests read it)
        self.setFlag(QGraphicsItem.ItemUsesExtendedStyleOption, True)

    def set_image(self, image: QImage) -> None:
        if image.size() != self._image.size():
            self.prepareGeometryChange()
        self._image = image
        self.update()

    def image(self) -> QImage:
        return self._image

    def boundingRect(self) -> QRectF:
        return QRectF(0, 0, self._image.width(), self._image.height())

    def paint(self, painter: QPainter, option: QStyleOptionGraphicsItem, widget: QWidget | None = None) -> None:
        if self._image.isNull():
            return
        self.paint_count += 1
        exposed = option.exposedRect.toAlignedRect().intersected(QRect(0, 0, self._image.width(), self._image.height()))
        if exposed.isEmpty():
            return
        painter.setRenderHint(QPainter.SmoothPixmapTransform, False)
        painter.drawImage(QRectF(exposed), self._image, QRectF(exposed))


class BrushCursorItem(QGraphicsItem):
    """Brush outline: a circle of the brush radius around the hovered pixel, drawn with a cosmetic
    two-tone pen so it reads on any background and keeps a 1-2 px line at every zoom."""

    def __init__(self, parent: QGraphicsItem | None = None) -> None:
        super().__init__(parent)
        self._r = 1.0
        self._pad = 2.0
        self.setAcceptedMouseButtons(Qt.NoButton)

    def set_pad(self, pad: float) -> None:
        """Margin in scene units for the cosmetic pen (the view sets it to a few screen pixels)."""
        if pad != self._pad:
            self.prepareGeometryChange()
            self._pad = pad

    def set_radius(self, radius: float) -> None:
        r = max(0.5, float(radius) + 0.5)  # covers the outer edge of the painted disc
        if r != self._r:
            self.prepareGeometryChange()
            self._r = r

    def boundingRect(self) -> QRectF:
        m = self._r + self._pad
        return QRectF(-m, -m, 2 * m, 2 * m)

    def paint(self, painter: QPainter, option: QStyleOptionGraphicsItem, widget: QWidget | None = None) -> None:
        rect = QRectF(-self._r, -self._r, 2 * self._r, 2 * self._r)
        dark = QPen(QColor(0, 0, 0, 200), 3)
        dark.setCosmetic(True)
        light = QPen(QColor(255, 255, 255), 1)
        light.setCosmetic(True)
        painter.setRenderHint(QPainter.Antialiasing, True)
        painter.setBrush(Qt.NoBrush)
        for pen in (dark, light):
            painter.setPen(pen)
            painter.drawEllipse(rect)


class PreviewItem(QGraphicsItem):
    """Rubber-band preview of a polygon or lasso: the placed vertices, and a dashed line to the cursor."""

    def __init__(self, parent: QGraphicsItem | None = None) -> None:
        super().__init__(parent)
        self._points: list[QPointF] = []
        self._cursor: QPointF | None = None
        self._closed = False
        self._colour = QColor(255, 255, 0)
        self._pad = 4.0
        self.setAcceptedMouseButtons(Qt.NoButton)

    def set_pad(self, pad: float) -> None:
        """Margin in scene units for the cosmetic pen (the view sets it to a few screen pixels)."""
        if pad != self._pad:
            self.prepareGeometryChange()
            self._pad = pad

    def set_preview(self, points: list[tuple[float, float]], cursor: tuple[float, float] | None,
                    closed: bool = False, colour: QColor | None = None) -> None:
        self.prepareGeometryChange()
        self._points = [QPointF(x, y) for x, y in points]
        self._cursor = QPointF(*cursor) if cursor is not None else None
        self._closed = closed
        if colour is not None:
            self._colour = colour
        self.update()

    def clear(self) -> None:
        self.set_preview([], None)

    def has_preview(self) -> bool:
        return bool(self._points)

    def boundingRect(self) -> QRectF:
        pts = self._points + ([self._cursor] if self._cursor is not None else [])
        if not pts:
            return QRectF()
        xs = [p.x() for p in pts]
        ys = [p.y() for p in pts]
        m = self._pad
        return QRectF(min(xs) - m, min(ys) - m, max(xs) - min(xs) + 2 * m, max(ys) - min(ys) + 2 * m)

    def paint(self, painter: QPainter, option: QStyleOptionGraphicsItem, widget: QWidget | None = None) -> None:
        if not self._points:
            return
        path = QPainterPath(self._points[0])
        for p in self._points[1:]:
            path.lineTo(p)
        if self._closed:
            path.closeSubpath()
        painter.setRenderHint(QPainter.Antialiasing, True)
        dark = QPen(QColor(0, 0, 0, 180), 3)
        dark.setCosmetic(True)
        line = QPen(self._colour, 1)
        line.setCosmetic(True)
        for pen in (dark, line):
            painter.setPen(pen)
            painter.drawPath(path)
        if self._cursor is not None and not self._closed:
            rubber = QPen(self._colour, 1, Qt.DashLine)
            rubber.setCosmetic(True)
            painter.setPen(rubber)
            painter.drawLine(self._points[-1], self._cursor)
            if len(self._points) > 2:
                painter.drawLine(self._cursor, self._points[0])
