"""What an edit session tells its front end: a listener with one method per event (all do nothing here).

The desktop subclasses it to turn each call into a Qt signal; a script or a test can record them."""
from __future__ import annotations

from typing import Optional

Rect = tuple[int, int, int, int]  # (x0, y0, x1, y1), ends exclusive


class SessionEvents:
    """Listener of an edit session. Override the events you need."""

    def project_changed(self) -> None: ...

    def frame_changed(self, key: str) -> None: ...

    def label_edited(self, rect: Optional[Rect]) -> None:
        """Repaint: pixels in `rect` changed by undo/redo/repair/recovery (None: anywhere); not sent for canvas
        strokes, which the canvas already shows."""

    def label_changed(self, rect: Optional[Rect], cause: str) -> None:
        """The label changed, whatever caused it: sent exactly once per change, after it is recorded (undo
        stack and journal) and after `label_edited`. `cause`: "stroke", "edit", "undo", "redo", "recovery",
        "sketch" (a sketch closed: the frame's label is shown again).
        Listeners that follow the mask (previews, proposal layers) subscribe to this alone."""

    def dirty_changed(self, dirty: bool) -> None: ...

    def status_changed(self, key: str, status: str) -> None: ...

    def saved(self, key: str) -> None: ...

    def undo_state_changed(self, can_undo: bool, can_redo: bool) -> None: ...

    def error(self, message: str) -> None:
        """Something failed; `message` says what and what to do, for the user."""

    def autosave_scheduled(self, delay_ms: int) -> None:
        """Call the session's `save` after `delay_ms` unless this is sent again or cancelled first."""

    def autosave_cancelled(self) -> None: ...

    def sketch_changed(self, active: bool) -> None:
        """A variant sketch opened (its strokes are not the frame's label) or closed (the label is shown again)."""
