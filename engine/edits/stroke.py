"""StrokeBuilder: paint a stroke while the mouse moves, and hand back one undo step at the end."""
from __future__ import annotations

import numpy as np

from engine.edits.paint import paint_stroke
from engine.edits.policy import PaintPolicy, check_label, check_value, class_name
from engine.edits.raster import effective_radius
from engine.edits.record import UndoRecord
from engine.taxonomy import IGNORE


class StrokeBuilder:
    """One brush or eraser stroke, painted segment by segment into `label` (in place).

    ``add_point`` paints only the new segment (a dab for the first point) and returns the dirty
    rectangle (x0, y0, x1, y1), exclusive, that the caller must repaint, or None when no pixel changed.
    ``finish`` returns a single UndoRecord whose ``before`` is the state before the stroke, equal to
    what :func:`brush_stroke` over all the points would have returned. `erase` only changes the
    description: the eraser paints `value` (the chosen background, 255 by default in the UI).
    """

    def __init__(self, label: np.ndarray, radius: float, value: int,
                 policy: PaintPolicy = PaintPolicy(), erase: bool = False) -> None:
        check_label(label)
        self.label = label
        self.radius = effective_radius(radius)
        self.value = check_value(value)
        self.policy = policy
        self.erase = erase
        self._last: tuple[float, float] | None = None
        self._records: list[UndoRecord] = []
        self._finished = False

    @property
    def description(self) -> str:
        if self.erase:
            return "Eraser" if self.value == IGNORE else f"Eraser: {class_name(self.value)}"
        return f"Brush: {class_name(self.value)}"

    def add_point(self, x: float, y: float) -> tuple[int, int, int, int] | None:
        """Paint from the previous point to (x, y); return the changed rectangle or None."""
        if self._finished:
            raise RuntimeError("this stroke is finished; start a new StrokeBuilder")
        pts = [(x, y)] if self._last is None else [self._last, (x, y)]
        rec = paint_stroke(self.label, pts, self.radius, self.value, self.policy, self.description)
        self._last = (x, y)  # only once the point was accepted (a bad point raises and is skipped)
        if rec is None:
            return None
        self._records.append(rec)
        return rec.bbox

    def finish(self) -> UndoRecord | None:
        """End the stroke: one record over the union of changed boxes, or None if nothing changed."""
        self._finished = True
        records, self._records = self._records, []
        if not records:
            return None
        x0 = min(r.x0 for r in records)
        y0 = min(r.y0 for r in records)
        x1 = max(r.bbox[2] for r in records)
        y1 = max(r.bbox[3] for r in records)
        after = self.label[y0:y1, x0:x1].copy()
        before = after.copy()
        for rec in reversed(records):  # undo the segments on the copy, newest first
            h, w = rec.shape
            before[rec.y0 - y0:rec.y0 - y0 + h, rec.x0 - x0:rec.x0 - x0 + w] = rec.before
        return UndoRecord(y0, x0, before, after, self.description)
