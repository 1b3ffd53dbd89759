"""The main window's view commands and its title and status-bar fields: class keys and the class popup,
canvas-only, reset layout, Help, and the dock reset when the project changes. A mixin of
`desktop.main_window.MainWindow` (uses its docks, palette, actions, status bar and model panels); layout
and widgets only."""
from __future__ import annotations

import time

from desktop.window_layout import arrange_docks, size_docks
from engine.taxonomy import CLASS_NAMES, NUM_CLASSES

SECOND_DIGIT_S = 0.8  # a second digit within this time makes a two-digit class (1, 2 -> class 12)


class WindowViewMixin:
    """View commands of the main window."""

    def refresh_title(self) -> None:
        parts = ["CaDIS Studio"] + [p for p in (self.doc.name, self.doc.key) if p]
        if getattr(self.doc.project, "read_only", False):
            parts.append("read-only")
        if self.doc.sketch is not None:
            parts.append("variant sketch (not saved into the frame)")
        self.setWindowTitle(" — ".join(parts) + (" •" if self.doc.dirty else ""))
        saved = "Unsaved changes" if self.doc.dirty else ("Saved" if self.doc.key else "")
        self.saved_label.setText("Sketch · not saved into the frame" if self.doc.sketch is not None else saved)
        self.zoom_label.setText(f"{self.canvas.view_scale() * 100:.0f}%")
        self.brush_label.setText(f"Brush {self.canvas.brush_radius()} px")

    def class_digit(self, digit: int) -> None:
        """Digit keys: d selects class d; a second digit right after makes a two-digit class (1, 2 -> 12)."""
        now = time.monotonic()
        pending = self._pending_digit
        self._pending_digit = None
        if pending is not None and now - pending[1] <= SECOND_DIGIT_S and pending[0] * 10 + digit < NUM_CLASSES:
            cid = pending[0] * 10 + digit
        else:
            cid = digit
            if 0 < digit * 10 < NUM_CLASSES:
                self._pending_digit = (digit, now)
        self.palette.set_current_class(cid)
        self.statusBar().showMessage(f"Class {cid}: {CLASS_NAMES[cid]}", 2000)

    def choose_class(self) -> None:
        """The quick class popup (C): type part of a name or a number, Enter."""
        self.class_search.open_at_centre(self.canvas)

    def set_canvas_only(self, on: bool) -> None:
        """Hide every dock (the canvas takes the window) or bring the hidden ones back."""
        self.canvas_only.set_active(on)
        self.actions["view.canvas_only"].setChecked(self.canvas_only.active)

    def reset_layout(self) -> None:
        """Every dock back in the right-hand column at its default size."""
        self.canvas_only.set_active(False)
        self.actions["view.canvas_only"].setChecked(False)
        arrange_docks(self, self.docks)

    def default_layout(self) -> None:
        """Dock sizes of a fresh window for its current size (the arrangement itself is `reset_layout`)."""
        size_docks(self, self.docks)

    def mark_laid_out(self) -> None:
        """A saved dock state was restored: keep its sizes when the window is first shown."""
        self._laid_out = True

    def show_shortcuts(self) -> None:
        from desktop.help import ShortcutSheet

        self.shortcut_sheet = ShortcutSheet(self.settings.keymap(), self)
        self.shortcut_sheet.show()

    def show_about(self) -> None:
        from desktop.help import show_about

        show_about(self)

    def _reset_docks(self) -> None:
        """The project changed (opened, switched or closed): no dock keeps the previous project's state."""
        project = self.doc.project
        self.class_search.hide()
        if project is None:
            self.frames.set_frames([], {})
            self.palette.set_counts(None)
            self.note_edit.clear()
            self.status_badge.clear()
        self.runner.clear_finished()
        for key in ("synthesis", "preseg", "curation", "textedit"):
            panel = self.model_panels.panel(key)
            if panel is not None and hasattr(panel, "reset_for_project"):
                panel.reset_for_project(project)

