"""The main window's reactions to the document: a new frame, a stroke, a save, a status, the undo state, the
cursor and brush. A mixin of `desktop.main_window.MainWindow` (uses its canvas, palette, frame list, status
fields and actions); it only shows what the engine's session reports: also the dataset check (frames to
label, real problems once per change) and the frames with unreviewed model-made pixels."""
from __future__ import annotations

from desktop.canvas.segment_assist import frames_ahead
from desktop.docks.frame_browser import STATUS_STYLE, thumbnail_of
from engine.taxonomy import CLASS_NAMES, IGNORE


class WindowReactionsMixin:
    """Slots connected to the document's signals."""

    def _on_stroke(self, rec) -> None:
        source = self.canvas.take_model_source()
        if source:  # a committed segmentation: the model's pixels, recorded as model-made until reviewed
            self.doc.record_model_output(rec, source)
        else:
            self.doc.record_edit(rec)
        self.palette.set_counts(self.doc.label)

    def _on_frame(self, key: str) -> None:
        self.canvas.set_frame(self.doc.image, self.doc.label)
        self.segment_assist.set_frame(key, self.doc.image, frames_ahead(self.doc))
        self.palette.set_counts(self.doc.label)
        self.frames.set_current(key)
        self.note_edit.setText(self.doc.note())
        self._on_status(key, self.doc.status())
        self.refresh_title()
        if self.doc.project is not None:
            self.settings.set_last_frame(self.doc.project.root, key)

    def _on_saved(self, key: str) -> None:
        self.saved_label.setText("Saved")
        if key == self.doc.key and self.doc.image is not None:  # the frame list shows the edit
            self.frames.set_thumbnail(key, thumbnail_of(self.doc.image, self.doc.label, self.palette.palette_name()))

    def _on_label_edited(self, rect) -> None:
        self.canvas.refresh(rect)
        self.palette.set_counts(self.doc.label)

    def _on_status(self, key: str, status: str) -> None:
        self.frames.set_status(key, status)
        if key == self.doc.key:
            colour, _icon, text = STATUS_STYLE.get(status, STATUS_STYLE["unlabelled"])
            self.status_badge.setText(f"●  {text}")
            self.status_badge.setStyleSheet(f"color: {colour};")

    def _on_undo_state(self, can_undo: bool, can_redo: bool) -> None:
        self.actions["edit.undo"].setEnabled(can_undo)
        self.actions["edit.redo"].setEnabled(can_redo)
        self.actions["edit.redo_alt"].setEnabled(can_redo)

    def _on_cursor(self, x: int, y: int, cls: int) -> None:
        self.pos_label.setText(f"x {x}  y {y}" if cls >= 0 else "–")
        name = "unlabelled pixel" if cls == IGNORE else (CLASS_NAMES[cls] if 0 <= cls < len(CLASS_NAMES) else "")
        self.class_label.setText(name)

    def _on_radius(self, r: int) -> None:
        self.tool_options.set_brush_radius(r)
        self.brush_label.setText(f"Brush {r} px")

    def _on_validated(self, report, root) -> None:
        """Frames without a label are listed as "to label" (normal); real problems open the dialog once
        per change of what is wrong, not at every open."""
        self.frames.set_to_label(report.to_label)
        if not report.problems:
            self.settings.set_problems_shown(root, "")
            return
        seen = report.problems_fingerprint()
        if self.settings.problems_shown(root) == seen:
            n = len(report.problems)
            self.statusBar().showMessage(f"{n} known problem{'s' if n != 1 else ''} in {root.name} "
                                         "(unchanged since last shown)", 15000)
            return
        self.settings.set_problems_shown(root, seen)
        n = len(report.problems)
        self.show_problems("Problems in the dataset", f"{n} problem{'s' if n != 1 else ''} found in "
                           f"{root}. The files listed cannot be used until they are "
                           "fixed (re-export or re-download them); all other frames can be edited.",
                           report.problems)

    def refresh_model_made(self, *_) -> None:
        """The frame list marks the frames with unreviewed model-made pixels (share of the frame)."""
        project = self.doc.project
        if project is None:
            return
        shares = {}
        for key, n in project.model_made_pixels().items():
            h, w = project.image_size(key)
            shares[key] = n / max(1, h * w)
        self.frames.set_model_made(shares)
