"""The open document as Qt signals: a thin adapter over `engine.session.ProjectSession`.

All the logic (journal-before-anything ordering, undo stacks, dirty state, saving on switch and close,
recovery) is in the engine; this class turns the session's events into signals the window repaints from,
and owns the one thing Qt must: the single-shot timer that runs the autosave the policy schedules.
"""
from __future__ import annotations

from typing import Optional

from PySide6.QtCore import QObject, QTimer, Signal

from engine.session import AutosavePolicy, ProjectSession, SessionEvents


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
    labelEdited = Signal(object)      # Rect (x0, y0, x1, y1) changed by undo/redo/repair/recovery, or None
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

    def __getattr__(self, name: str):
        """Everything else is the session's: state (`project`, `key`, `image`, `label`, `name`, `dirty`) and
        operations (`set_frame`, `apply`, `repair`, `undo`, `redo`, `save`, `set_status`, `recover`,
        `start_sketch`, `end_sketch`, ...)."""
        if name == "session":  # not set yet (during __init__)
            raise AttributeError(name)
        return getattr(self.session, name)

    def forget_unsaved(self) -> None:
        """Leave the current frame's unsaved edits unwritten (they stay in the journal), as a kill would."""
        self.autosave_timer.stop()
        if self.session.frame_session is not None:
            self.session.frame_session.set_dirty(False)
