"""One label open for editing: its pixels, undo stack, dirty flag, journal and autosave (Qt-free).

Order of every finished edit: it is already in the label array (a canvas stroke) or is applied now (an op),
then it goes on the undo stack and, before anything else can happen, into the journal of its target (a
frame's or a pair's), so a kill loses nothing finished. Undo and redo are journalled too (as the inverse
record / the record again), so a replay of the journal rebuilds exactly what was shown. Saving writes the
label through the target, which then drops its journal strokes.
"""
from __future__ import annotations

from typing import Callable, Iterable, Optional, Protocol

import numpy as np

from engine.edits import PaintPolicy, UndoRecord, UndoStack, run_repair
from engine.session.autosave import AutosavePolicy
from engine.session.events import SessionEvents


class LabelTarget(Protocol):
    """Where a label session's strokes and saves go (a project frame or a synthetic pair)."""

    name: str  # for messages, e.g. "Video01/frame000001" or "pair #3"

    def journal(self, rec: UndoRecord) -> None: ...

    def save(self, label: np.ndarray) -> None: ...


def inverse(rec: UndoRecord) -> UndoRecord:
    """The record that undoes `rec` when replayed with `redo` (for journalling an undo)."""
    return UndoRecord(rec.y0, rec.x0, rec.after.copy(), rec.before.copy(),
                      f"undo {rec.description}".strip(), None if rec.mask is None else rec.mask.copy())


class LabelSession:
    """Editing state of one label. `label` is the array edits write into (the canvas paints it in place)."""

    def __init__(self, target: LabelTarget, image: np.ndarray, label: np.ndarray,
                 stack: Optional[UndoStack] = None, events: Optional[SessionEvents] = None,
                 autosave: Optional[AutosavePolicy] = None):
        self.target = target
        self.image = image
        self.label = label if label.flags.writeable else label.copy()
        self.stack = stack if stack is not None else UndoStack()
        self.events = events if events is not None else SessionEvents()
        self.autosave = autosave if autosave is not None else AutosavePolicy(0)
        self._dirty = False

    # -- edits -------------------------------------------------------------------------------------
    def record_edit(self, rec: Optional[UndoRecord]) -> None:
        """An edit already applied to `self.label` (a canvas stroke): undo stack, then journal, then the
        `label_changed` event."""
        if rec is None:
            return
        self._record(rec)
        self.events.label_changed(rec.bbox, "stroke")

    def record_moved(self, rec: UndoRecord) -> None:
        """Record an edit whose pixels another session shows unchanged (a sketch taking the frame's edits):
        undo stack and journal, no `label_changed`."""
        self._record(rec)

    def _record(self, rec: UndoRecord) -> None:
        self.stack.push(rec)
        self._journal(rec)
        self._touch()

    def apply(self, op: Callable[..., Optional[UndoRecord]], *args, **kwargs) -> Optional[UndoRecord]:
        """Run an engine edit op on the label (`op(label, *args, **kwargs)`) and record it."""
        rec = op(self.label, *args, **kwargs)
        if rec is not None:
            self._record(rec)
            self._changed(rec.bbox, "edit")
        return rec

    def _changed(self, rect, cause: str) -> None:
        self.events.label_edited(rect)
        self.events.label_changed(rect, cause)

    def repair(self, op: str, params: dict, cls: Optional[int], policy: PaintPolicy) -> Optional[UndoRecord]:
        """A repair (see `engine.edits.run_repair`) as one undo step."""
        return self.apply(run_repair, op, params, cls, policy)

    def undo(self) -> Optional[UndoRecord]:
        rec = self.stack.undo(self.label)
        if rec is not None:
            self._journal(inverse(rec))
            self._touch()
            self._changed(rec.bbox, "undo")
        return rec

    def redo(self) -> Optional[UndoRecord]:
        rec = self.stack.redo(self.label)
        if rec is not None:
            self._journal(rec)
            self._touch()
            self._changed(rec.bbox, "redo")
        return rec

    def replay(self, records: Iterable[UndoRecord]) -> int:
        """Re-apply strokes recovered from the target's journal (already journalled: not written again), each
        as an undo step; returns how many."""
        n = 0
        for rec in records:
            rec.redo(self.label)
            self.stack.push(rec)
            n += 1
        if n:
            self._touch()
            self._changed(None, "recovery")
        return n

    # strokes whose journal write failed since the last save: they exist only on screen until a save works
    unjournalled = 0

    def _journal(self, rec: UndoRecord) -> None:
        try:
            self.target.journal(rec)
        except Exception as exc:  # noqa: BLE001 - the edit stays on screen; the user is told to save
            self.unjournalled += 1
            self.events.error(f"Could not write the edit journal ({exc}): this stroke exists only on screen "
                              "until the frame is saved; save with Ctrl+S.")

    def _touch(self) -> None:
        self.set_dirty(True)
        if self.autosave.edited():
            self.events.autosave_scheduled(self.autosave.delay_ms)
        self.emit_undo_state()

    # -- saving ------------------------------------------------------------------------------------
    @property
    def dirty(self) -> bool:
        return self._dirty

    def set_dirty(self, dirty: bool) -> None:
        if dirty != self._dirty:
            self._dirty = dirty
            self.events.dirty_changed(dirty)

    def save(self) -> bool:
        """Write the label through the target if it changed; returns True when something was written.
        A failure raises (the label, its stack and the journal are kept) for the caller to report."""
        self.cancel_autosave()
        if not self._dirty:
            return False
        self.target.save(self.label)
        self.unjournalled = 0
        self.set_dirty(False)
        return True

    def cancel_autosave(self) -> None:
        if self.autosave.pending:
            self.autosave.saved()
            self.events.autosave_cancelled()

    def emit_undo_state(self) -> None:
        self.events.undo_state_changed(self.stack.can_undo, self.stack.can_redo)
