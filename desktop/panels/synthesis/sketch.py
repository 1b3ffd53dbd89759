"""The Synthesize panel's variant sketch (engine.session.sketch): what a repaint is made from, kept off the frame.

A repaint needs an edited mask (an instrument painted in, moved, removed) that the real image does not show, so
it must never become the frame's label. "Sketch" (a variant) opens a sketch: strokes from then on change only the
sketch (no journal, no autosave). Pressing *Repaint changed region* with plain edits made since the frame was
opened asks to move them into a sketch (the frame's label goes back as it was, one undo step of the frame).
Accepting a result made from the sketch stores the edited mask with the pair and closes the sketch; the frame
shows its own, untouched label again. Throwing away a sketch with changes (Discard, another frame, another
project, quitting) asks first. The window's title and save field say while a sketch is open. A mixin of
`SynthesisPanel` (uses its `doc`, `status`, `sketch_button` and `_parent`); every change of data is a call of
the engine session.
"""
from __future__ import annotations

from pathlib import Path
from typing import Optional

import numpy as np
from PySide6.QtWidgets import QMessageBox, QWidget


def ask_move_into_sketch(parent: QWidget, frame: str, pixels: int) -> bool:
    """May the edits made since the frame was opened become the variant to repaint?"""
    box = QMessageBox(QMessageBox.Icon.Question, "Repaint from your edit?",
                      f"Repaint makes a synthetic variant from what you changed. Your {pixels:,} changed pixels "
                      f"are edits of {frame}'s own label right now, which must match the real image.",
                      QMessageBox.StandardButton.Cancel, parent)
    box.setInformativeText("Move them into a variant sketch: the frame's label goes back to how you opened it, the "
                           "edit goes only with the synthetic pair you accept (Ctrl+Z after the sketch puts it back "
                           "on the frame). If some of it corrects the real label, cancel, and use Sketch "
                           "for the variant only.")
    move = box.addButton("Move into a sketch", QMessageBox.ButtonRole.AcceptRole)
    box.setDefaultButton(move)
    box.exec()
    return box.clickedButton() is move


def ask_discard_sketch(parent: QWidget, frame: str, pixels: int) -> bool:
    """May an open sketch with changes that are in no stored pair be thrown away?"""
    box = QMessageBox(QMessageBox.Icon.Question, "Discard the variant sketch?",
                      f"The sketch of {frame} changes {pixels:,} pixels that are in no stored pair. Discard it? "
                      "The frame's own label is not affected either way.",
                      QMessageBox.StandardButton.Cancel, parent)
    discard = box.addButton("Discard sketch", QMessageBox.ButtonRole.DestructiveRole)
    box.exec()
    return box.clickedButton() is discard


class SketchControls:
    """The sketch button and banner, the parent mask of a repaint, and closing the sketch."""

    ask_move_into_sketch = staticmethod(ask_move_into_sketch)  # tests and scripts replace the questions
    ask_discard_sketch = staticmethod(ask_discard_sketch)

    def _frame_name(self) -> str:
        return Path(self.doc.key or "").name or "this frame"

    def toggle_sketch(self) -> bool:
        done = self.start_sketch() if self.doc.sketch is None else self.discard_sketch()
        self.sketch_button.setChecked(self.doc.sketch is not None)  # also when the user kept the sketch
        return done

    def start_sketch(self) -> bool:
        """Open a sketch of the current frame (its label as it is now is the unchanged part)."""
        if self.doc.label is None:
            self.status.setText("Open a frame first: a sketch is a variant of the current frame.")
            return False
        self.doc.start_sketch()
        self.status.setText(f"Sketching a variant of {self._frame_name()}: paint the change (an instrument added, "
                            "moved, removed), then Repaint changed region and accept the result as a pair.")
        return True

    def discard_sketch(self, ask: bool = True) -> bool:
        """Close the open sketch (asked first when it has changes); False when the user keeps it."""
        sketch = self.doc.sketch
        if sketch is None:
            return True
        n = int(sketch.changed().sum())
        if ask and n and not self.ask_discard_sketch(self, self._frame_name(), n):
            return False
        self.doc.end_sketch()
        self.status.setText(f"Sketch discarded: {self._frame_name()} shows its own label again, unchanged.")
        return True

    def confirm_leave_sketch(self) -> bool:
        """Before another frame or project is shown, or the app quits: True when nothing (more) is in the way."""
        return self.discard_sketch(ask=True)

    def _repaint_parent(self) -> Optional[np.ndarray]:
        """The frame's mask a repaint compares the edited one with: the open sketch's; else the edits made since
        the frame was opened move into a sketch (asked first). None: nothing to repaint (the status says why)."""
        doc, name = self.doc, self._frame_name()
        if doc.sketch is None:
            opened = self._parent[1] if self._parent is not None and self._parent[0] == doc.key else None
            n = int((opened != doc.label).sum()) if opened is not None and opened.shape == doc.label.shape else 0
            if not n:
                self.status.setText("Nothing to repaint: press Sketch, paint the change (an instrument "
                                    "added, moved or removed), then press Repaint changed region.")
                return None
            if not self.ask_move_into_sketch(self, name, n):
                self.status.setText(f"Nothing repainted; {name}'s label keeps your edit.")
                return None
            doc.start_sketch(opened)
        if not doc.sketch.has_changes:
            self.status.setText(f"Nothing to repaint: the sketch is still {name}'s label. Paint the change first.")
            return None
        return doc.sketch.base

    def _sketch_after_accept(self, entry) -> str:
        """`entry` was stored as a pair: the sketch it was made from closes. Returns a note for the status."""
        sketch = self.doc.sketch
        if sketch is None or str(entry.provenance.get("source_frame") or "") != sketch.key:
            return ""
        if not np.array_equal(entry.mask, sketch.session.label):
            return ": you are still sketching (the sketch changed since this result)"
        self.doc.end_sketch()
        return ": the edited mask went with the pair; the frame's own label is unchanged"

    def _on_sketch_changed(self, active: bool) -> None:
        self.sketch_button.setChecked(active)
