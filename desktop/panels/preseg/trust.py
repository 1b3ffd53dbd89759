"""The Pre-segment panel's trust parts (issue 22), a mixin of `PresegPanel`: where training may write (a head
of another project is used read-only unless the user chooses to replace it, and is asked), why a proposal
is flagged (a flagged proposal is accepted only after asking), and the current frame's model-made pixels
(shown by `ModelMadeLayer`, forgotten by "Reviewed")."""
from __future__ import annotations

from pathlib import Path
from typing import Optional

from PySide6.QtWidgets import QFileDialog, QMessageBox


class PresegTrustMixin:
    def own_head_dir(self) -> Optional[Path]:
        """The open project's own head folder, `<project>/preseg-head`."""
        from engine.services.preseg import own_head_dir

        return own_head_dir(self.doc.project.root) if self.doc.project is not None else None

    def _pick_train_target(self, foreign: Path):
        """Where to train when the chosen head belongs to another project: this project's own head folder
        (the default), a new folder the user names, or (asked twice) the other head itself."""
        box = QMessageBox(QMessageBox.Icon.Warning, "Head of another project", (
            f"The head folder {foreign} holds a head of another project. Training here would replace it with a "
            "head trained on this project's frames.\n\nWhere should the new head go?"), parent=self)
        own = box.addButton("This project's head folder", QMessageBox.ButtonRole.AcceptRole)
        new = box.addButton("New folder…", QMessageBox.ButtonRole.ActionRole)
        rep = box.addButton("Replace the other head", QMessageBox.ButtonRole.DestructiveRole)
        box.addButton(QMessageBox.StandardButton.Cancel)
        box.setDefaultButton(own)
        box.exec()
        clicked = box.clickedButton()
        if clicked is own:
            return self.own_head_dir(), False
        if clicked is new:
            path = QFileDialog.getExistingDirectory(self, "New folder for the head", str(self.doc.project.root))
            return (Path(path), False) if path else None
        if clicked is rep and self.confirm("Replace the other project's head?",
                                           f"Replace the head in {foreign}? The other project loses its trained "
                                           "head; this cannot be undone."):
            return foreign, True
        return None

    def _flag_worries(self) -> list[str]:
        """Why the current proposal is flagged (shifted frame, too few training frames, new video,
        contradictions): a flagged proposal is accepted only after asking."""
        r = self.result
        if r is None:
            return []
        out = []
        if r.out_of_distribution:
            out.append("this frame is unlike the frames the head was trained on, so the proposal may be badly wrong")
        return out + list(r.warnings)

    def _load_model_made(self) -> None:
        project, key = self.doc.project, self.doc.key
        values = None
        if project is not None and key is not None:
            try:
                values = project.model_values(key)
            except Exception as exc:  # noqa: BLE001 - a broken record is reported, the frame still opens
                self.status.setText(str(exc))
        self.made_layer.set_values(values)
        self._update_review_button()

    def _update_review_button(self) -> None:
        self.review_button.setEnabled(bool(self.made_layer.values is not None and self.made_layer.mask().any()))

    def review_model_made(self) -> int:
        """The person has checked the current frame's model-made pixels: they become the person's labels."""
        if self.doc.project is None or self.doc.key is None:
            return 0
        n = int(self.made_layer.mask().sum())
        self.doc.review_model_made()
        self._load_model_made()
        self.modelMadeChanged.emit(self.doc.key)
        self.status.setText(f"Reviewed: {n:,} model-made pixels of this frame now count as your labels")
        return n
