"""The open document as Qt signals: a thin adapter over `engine.session.ProjectSession`.

All the logic (journal-before-anything ordering, undo stacks, dirty state, saving on switch and close,
recovery) is in the engine; this class turns the session's events into signals the window repaints from,
and owns the one thing Qt must: the single-shot timer that runs the autosave the policy schedules.
"""
from __future__ import annotations

from typing import Callable, Optional

import numpy as np
from PySide6.QtCore import QObject, QTimer, Signal

from engine.edits import PaintPolicy, UndoRecord, UndoStack
from engine.session import AutosavePolicy, LabelSession, ProjectSession, SessionEvents, Sketch


class QtSessionEvents(SessionEvents):
    """Forwards a session's events to the signals of `owner` (a Document or a pair editor), and runs its
    autosave on `timer`."""

    def __init__(self, owner, timer: Optional[QTimer] = None):
        self.owner, self.timer = owner, timer

    def project_changed(self) -> None:
        self.owner.projectChanged.emit()

    def frame_changed(self, key: str) -> None:
        self.owner.frameChanged.emit(key)

    def label_edited(self, rect) -> None:
        self.owner.labelEdited.emit(rect)

    def label_changed(self, rect, cause: str) -> None:
        self.owner.labelChanged.emit(rect, cause)

    def dirty_changed(self, dirty: bool) -> None:
        self.owner.dirtyChanged.emit(dirty)

    def status_changed(self, key: str, status: str) -> None:
        self.owner.statusChanged.emit(key, status)

    def saved(self, key) -> None:
        self.owner.saved.emit(key)

    def undo_state_changed(self, can_undo: bool, can_redo: bool) -> None:
        self.owner.undoStateChanged.emit(can_undo, can_redo)

    def error(self, message: str) -> None:
        self.owner.errorOccurred.emit(message)

    def autosave_scheduled(self, delay_ms: int) -> None:
        if self.timer is not None:
            self.timer.start(delay_ms)  # restarts: saves after this many ms without edits

    def autosave_cancelled(self) -> None:
        if self.timer is not None:
            self.timer.stop()

    def sketch_changed(self, active: bool) -> None:
        self.owner.sketchChanged.emit(active)


class Document(QObject):
    """State of the open project and frame (see ProjectSession); emits signals the window turns into repaints."""

    projectChanged = Signal()
    frameChanged = Signal(str)        # key of the frame now shown
    labelEdited = Signal(object)      # repaint: Rect (x0, y0, x1, y1) changed by undo/redo/repair/recovery, or None
    labelChanged = Signal(object, str)  # every label change once, whatever its cause: (Rect or None, cause)
    dirtyChanged = Signal(bool)
    statusChanged = Signal(str, str)  # key, status
    saved = Signal(str)               # key
    undoStateChanged = Signal(bool, bool)
    errorOccurred = Signal(str)       # a message for the user
    sketchChanged = Signal(bool)      # a variant sketch opened (strokes are not the frame's label) / closed

    def __init__(self, autosave_ms: int = 3000, max_steps: int = 500, parent: Optional[QObject] = None):
        super().__init__(parent)
        self.autosave_timer = QTimer(self)
        self.autosave_timer.setSingleShot(True)
        self.autosave_timer.setInterval(autosave_ms)
        self.session = ProjectSession(QtSessionEvents(self, self.autosave_timer), AutosavePolicy(autosave_ms),
                                      max_steps)
        self.autosave_timer.timeout.connect(self.session.save)

    # -- the session's surface, typed (anything else: `doc.session`) -------------------------------------
    @property
    def project(self):
        """The open `engine.project.Project`, or None."""
        return self.session.project

    @property
    def current(self) -> Optional[LabelSession]:
        """Where edits go: the frame's label session, or an open sketch's."""
        return self.session.current

    @property
    def frame_session(self) -> Optional[LabelSession]:
        return self.session.frame_session

    @property
    def sketch(self) -> Optional[Sketch]:
        return self.session.sketch

    @property
    def name(self) -> str:
        return self.session.name

    @property
    def key(self) -> Optional[str]:
        return self.session.key

    @property
    def dirty(self) -> bool:
        return self.session.dirty

    @property
    def image(self) -> Optional[np.ndarray]:
        return self.session.image

    @property
    def label(self) -> Optional[np.ndarray]:
        return self.session.label

    def open_project(self, project) -> None:
        self.session.open_project(project)

    def close_project(self) -> bool:
        return self.session.close_project()

    def keys(self) -> list[str]:
        return self.session.keys()

    def set_frame(self, key: str) -> bool:
        return self.session.set_frame(key)

    def neighbour(self, offset: int) -> Optional[str]:
        return self.session.neighbour(offset)

    def next_unfinished(self) -> Optional[str]:
        return self.session.next_unfinished()

    def stack(self, key: Optional[str] = None) -> UndoStack:
        return self.session.stack(key)

    def record_edit(self, rec: Optional[UndoRecord]) -> None:
        self.session.record_edit(rec)

    def apply(self, op: Callable[..., Optional[UndoRecord]], *args, **kwargs) -> Optional[UndoRecord]:
        return self.session.apply(op, *args, **kwargs)

    def accept_model_output(self, proposal: np.ndarray, where: np.ndarray, policy: PaintPolicy, description: str,
                            replace_labels: bool = False, source: str = "preseg") -> Optional[UndoRecord]:
        """Accept a model's proposal as one undo step, its pixels recorded as model-made (engine.session)."""
        return self.session.accept_model_output(proposal, where, policy, description, replace_labels, source)

    def record_model_output(self, rec: Optional[UndoRecord], source: str) -> None:
        self.session.record_model_output(rec, source)

    def review_model_made(self) -> int:
        return self.session.review_model_made()

    def repair(self, op: str, params: dict, cls: Optional[int], policy: PaintPolicy) -> Optional[UndoRecord]:
        return self.session.repair(op, params, cls, policy)

    def undo(self) -> Optional[UndoRecord]:
        return self.session.undo()

    def redo(self) -> Optional[UndoRecord]:
        return self.session.redo()

    def start_sketch(self, opened: Optional[np.ndarray] = None) -> Optional[Sketch]:
        return self.session.start_sketch(opened)

    def end_sketch(self) -> Optional[np.ndarray]:
        return self.session.end_sketch()

    def save(self) -> bool:
        return self.session.save()

    def set_status(self, status: str, note: Optional[str] = None) -> bool:
        return self.session.set_status(status, note)

    def status(self) -> str:
        return self.session.status()

    def note(self) -> str:
        return self.session.note()

    def set_note(self, note: str) -> None:
        self.session.set_note(note)

    def pending_recovery(self) -> dict[str, int]:
        return self.session.pending_recovery()

    def recover(self, keys: Optional[list[str]] = None) -> list[str]:
        return self.session.recover(keys)

    def discard_recovery(self) -> None:
        self.session.discard_recovery()

    def forget_unsaved(self) -> None:
        """Leave the current frame's unsaved edits unwritten (they stay in the journal), as a kill would."""
        self.autosave_timer.stop()
        if self.session.frame_session is not None:
            self.session.frame_session.set_dirty(False)
