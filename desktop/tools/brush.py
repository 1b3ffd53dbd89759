"""Brush and eraser: paint a disc along the pointer path with `engine.edits.StrokeBuilder`.

Each mouse move paints only the new segment and refreshes only its dirty rectangle, so the brush never
lags on big frames. A press-drag-release is one stroke and one undo record. With the brush, dragging
with the right button erases (paints the eraser value, 255 = unlabelled by default).
"""
from __future__ import annotations

from engine.edits import StrokeBuilder

from desktop.tools.base import PointerEvent, Tool, erase_policy


class BrushTool(Tool):
    """Left drag paints the current class under the paint policy; right drag erases."""

    name = "brush"
    shows_brush = True
    erases = False  # the eraser subclass erases with either button

    def __init__(self, host) -> None:
        super().__init__(host)
        self._stroke: StrokeBuilder | None = None
        self._button = ""

    def busy(self) -> bool:
        return self._stroke is not None

    def press(self, ev: PointerEvent) -> None:
        label = self.host.label()
        if label is None or self._stroke is not None or ev.button not in ("left", "right"):
            return
        erase = self.erases or ev.button == "right"
        policy = self.host.policy()
        if erase:
            value, policy = self.host.eraser_value(), erase_policy(policy)
        else:
            value = self.host.current_class()
        self._stroke = StrokeBuilder(label, self.host.brush_radius(), value, policy, erase=erase)
        self._button = ev.button
        self._add(ev)

    def move(self, ev: PointerEvent) -> None:
        if self._stroke is not None:
            self._add(ev)

    def release(self, ev: PointerEvent) -> None:
        if self._stroke is None or ev.button != self._button:
            return
        self._add(ev)
        stroke, self._stroke = self._stroke, None
        record = stroke.finish()
        if record is not None:
            self.host.commit(record)

    def _add(self, ev: PointerEvent) -> None:
        # points outside the image are passed on too: the segment from the last point may cross it
        rect = self._stroke.add_point(ev.px, ev.py)
        if rect is not None:
            self.host.refresh(rect)

    def cancel(self) -> None:
        """Esc during a stroke: take back what this stroke painted so far."""
        if self._stroke is None:
            return
        stroke, self._stroke = self._stroke, None
        record = stroke.finish()
        label = self.host.label()
        if record is not None and label is not None:
            record.undo(label)
            self.host.refresh(record.bbox)

    def finish(self) -> None:
        if self._stroke is None:
            return
        stroke, self._stroke = self._stroke, None
        record = stroke.finish()
        if record is not None:
            self.host.commit(record)


class EraserTool(BrushTool):
    """Paints the eraser value (255 = unlabelled by default) with either button; locked classes stay."""

    name = "eraser"
    erases = True

