"""Lasso: drag a free-hand outline; on release the enclosed area is filled with the current class.
Esc while dragging cancels. Vertices are the pixels the pointer passed through."""
from __future__ import annotations

from desktop.tools.base import PointerEvent, Tool
from desktop.tools.polygon import fill_with_current_class


class LassoTool(Tool):
    """Free-hand filled outline."""

    name = "lasso"

    def __init__(self, host) -> None:
        super().__init__(host)
        self._points: list[tuple[int, int]] | None = None

    def busy(self) -> bool:
        return self._points is not None

    def press(self, ev: PointerEvent) -> None:
        if self.host.label() is None or ev.button != "left" or self._points is not None:
            return
        self._points = [(ev.px, ev.py)]
        self._preview()

    def move(self, ev: PointerEvent) -> None:
        if self._points is None:
            return
        p = (ev.px, ev.py)
        if self._points[-1] != p:
            self._points.append(p)
            self._preview()

    def release(self, ev: PointerEvent) -> None:
        if self._points is None or ev.button != "left":
            return
        self.move(ev)
        points = self._points
        self.cancel()
        fill_with_current_class(self.host, points)

    def cancel(self) -> None:
        self._points = None
        self.host.clear_preview()

    def _preview(self) -> None:
        self.host.show_preview([(x + 0.5, y + 0.5) for x, y in self._points], None, closed=True)
