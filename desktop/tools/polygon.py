"""Polygon tool: click vertices, then close with a double click, Enter, a right click or a click on the
first vertex; the polygon is filled with the current class. Esc cancels, Backspace drops the last vertex.
A dashed rubber band joins the last vertex, the cursor and the first vertex while placing.

Vertices are pixel coordinates: clicking inside pixel (x, y) places a vertex at that pixel, and the
preview draws it at the pixel centre (x + 0.5, y + 0.5).
"""
from __future__ import annotations

from PySide6.QtCore import Qt

from engine.edits import fill_polygon

from desktop.tools.base import PointerEvent, Tool

CLOSE_DISTANCE_PX = 6.0  # screen pixels: a click this close to the first vertex closes the polygon


def fill_with_current_class(host, points: list[tuple[int, int]]) -> None:
    """Fill a polygon of pixel vertices with the host's current class and commit the undo record."""
    label = host.label()
    if label is None or len(points) < 3:
        return
    record = fill_polygon(label, points, host.current_class(), policy=host.policy())
    if record is not None:
        host.refresh(record.bbox)
        host.commit(record)


class PolygonTool(Tool):
    """Click-by-click polygon, filled when closed."""

    name = "polygon"

    def __init__(self, host) -> None:
        super().__init__(host)
        self._points: list[tuple[int, int]] = []
        self._cursor: tuple[float, float] | None = None

    def busy(self) -> bool:
        return bool(self._points)

    def vertices(self) -> list[tuple[int, int]]:
        """The vertices placed so far (pixel coordinates)."""
        return list(self._points)

    def press(self, ev: PointerEvent) -> None:
        if self.host.label() is None:
            return
        if ev.button == "right":
            self._close()
            return
        if ev.button != "left":
            return
        p = (ev.px, ev.py)
        if len(self._points) >= 3 and self._near_first(ev):
            self._close()
            return
        if not self._points or self._points[-1] != p:
            self._points.append(p)
        self._cursor = (ev.x, ev.y)
        self._preview()

    def double_click(self, ev: PointerEvent) -> None:
        if ev.button == "left" and self._points:
            p = (ev.px, ev.py)
            if self._points[-1] != p:
                self._points.append(p)
            self._close()

    def move(self, ev: PointerEvent) -> None:
        if self._points:
            self._cursor = (ev.x, ev.y)
            self._preview()

    def key_press(self, key: int) -> bool:
        if not self._points:
            return False
        if key in (Qt.Key_Return, Qt.Key_Enter):
            self._close()
            return True
        if key == Qt.Key_Backspace:
            self._points.pop()
            self._preview()
            return True
        return False

    def cancel(self) -> None:
        self._points = []
        self._cursor = None
        self.host.clear_preview()

    def _near_first(self, ev: PointerEvent) -> bool:
        fx, fy = self._points[0]
        d = ((ev.x - fx - 0.5) ** 2 + (ev.y - fy - 0.5) ** 2) ** 0.5
        return d * self.host.view_scale() <= CLOSE_DISTANCE_PX

    def _close(self) -> None:
        points = self._points
        self.cancel()
        fill_with_current_class(self.host, points)

    def _preview(self) -> None:
        if not self._points:
            self.host.clear_preview()
            return
        self.host.show_preview([(x + 0.5, y + 0.5) for x, y in self._points], self._cursor)
