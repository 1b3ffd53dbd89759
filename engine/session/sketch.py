"""A variant sketch: edits of the current frame's mask that describe a synthetic variant, never the real label.

A repaint (engine.pipelines.repaint) needs an edited mask: an instrument painted in, moved, removed. That mask
does not match the real image, so it must never become the frame's label. While a sketch is open its strokes
go to a `SketchTarget`, which journals and saves nothing, on an undo stack of their own; the frame's label and
journal are left as they were when the sketch began (`base`, what a repaint compares with). Leaving the sketch
puts `base` back into the same label array the canvas shows. A crash loses an open sketch, by design: there is
nothing of it in the project to recover into the frame.

    session.start_sketch()            # strokes from now on are the variant
    session.apply(edits.brush_stroke, pts, 6, 7)
    parent, edited = session.sketch.base, session.label   # -> SynthesisPipeline(image=..., parent_mask=parent)
    session.end_sketch()              # the frame's label is shown again, unchanged
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

import numpy as np

from engine.edits import UndoRecord
from engine.edits.commit import tight_box
from engine.session.events import Rect, SessionEvents
from engine.session.label_session import LabelSession

MOVE_DESCRIPTION = "move the edit into a variant sketch"


class SketchTarget:
    """Where a sketch's strokes go: nowhere on disk. `key` is the frame the sketch is a variant of."""

    def __init__(self, key: str):
        self.key, self.name = key, f"variant sketch of {key}"

    def journal(self, rec: UndoRecord) -> None:
        """Nothing: a sketch stroke never reaches the frame's journal (nor its crash recovery)."""

    def save(self, label: np.ndarray) -> None:
        """Nothing: a sketch is kept by accepting a result made from it as a synthetic pair."""


class SketchEvents(SessionEvents):
    """The project session's listener as a sketch sees it: edits and undo state pass, while dirty state,
    autosave and saves stay the frame's (a sketch is never saved)."""

    def __init__(self, events: SessionEvents):
        self.events = events

    def label_edited(self, rect: Optional[Rect]) -> None:
        self.events.label_edited(rect)

    def label_changed(self, rect: Optional[Rect], cause: str) -> None:
        self.events.label_changed(rect, cause)

    def undo_state_changed(self, can_undo: bool, can_redo: bool) -> None:
        self.events.undo_state_changed(can_undo, can_redo)

    def error(self, message: str) -> None:
        self.events.error(message)


def restore_record(label: np.ndarray, base: np.ndarray, description: str = MOVE_DESCRIPTION
                   ) -> Optional[UndoRecord]:
    """Put `base` back into `label` where they differ, in place; the UndoRecord of that (None: equal)."""
    if base.shape != label.shape:
        raise ValueError(f"the mask to restore is {base.shape[1]}x{base.shape[0]} but the label is "
                         f"{label.shape[1]}x{label.shape[0]}")
    box = tight_box(label != base)
    if box is None:
        return None
    y0, y1, x0, x1 = box
    rec = UndoRecord(y0, x0, label[y0:y1, x0:x1].copy(), base[y0:y1, x0:x1].copy(), description)
    label[y0:y1, x0:x1] = base[y0:y1, x0:x1]
    return rec


@dataclass
class Sketch:
    """An open sketch: its own label session (on the frame's label array), the frame's session put aside,
    and the frame's label as the sketch began."""

    session: LabelSession
    frame: LabelSession
    base: np.ndarray
    moved: int = 0  # pixels of edits that were moved off the frame into the sketch when it began

    @property
    def key(self) -> str:
        return self.session.target.key

    def changed(self) -> np.ndarray:
        """Bool HxW: where the sketch differs from the frame's label."""
        return self.session.label != self.base

    @property
    def has_changes(self) -> bool:
        return bool(self.changed().any())
