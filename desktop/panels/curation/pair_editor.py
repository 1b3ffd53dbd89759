"""Repair the mask of a synthetic pair in a canvas, like any frame.

    editor = PairEditor(project, pair_id, parent, palette="distinct")   # modeless: canvas + tools + class + undo/redo + save
    editor.saved.connect(lambda pid: curation.refresh_pair(pid))

The dialog embeds the same `CanvasView` as the main window (all its tools) over an `engine.session` label
session: every finished stroke goes on its undo stack and into the pair's journal before anything else, so a
crash loses none (the next editor of the pair replays them); saving goes through `Project.save_pair_label`
(one atomic write). Closing with unsaved changes asks first. `palette` is the main canvas's display palette, so a
pair is drawn (and its classes listed) in the colours the user sees everywhere else.
"""
from __future__ import annotations

from typing import Optional

import numpy as np
import qtawesome as qta
from PySide6.QtCore import Signal
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QComboBox, QDialog, QHBoxLayout, QLabel, QMessageBox, QPushButton, QSpinBox, QToolButton, QVBoxLayout, QWidget,
)

from desktop.canvas.view import CanvasView
from desktop.shortcuts import TOOL_BY_NAME
from engine.session import SessionEvents, open_pair
from engine.taxonomy import CLASS_NAMES, DISPLAY_PALETTES



class _EditorEvents(SessionEvents):
    """The session's events for the editor's widgets (none reach it before they exist: `editor` is set then)."""

    def __init__(self):
        self.editor: Optional["PairEditor"] = None

    def label_edited(self, rect) -> None:
        if self.editor is not None:
            self.editor.canvas.refresh(rect)

    def error(self, message: str) -> None:
        if self.editor is not None:
            self.editor.problem = message
            self.editor._update()


class PairEditor(QDialog):
    """A modeless editor for one pair's label; `saved(pair_id)` after each successful save."""

    saved = Signal(int)

    def __init__(self, project, pair_id: int, parent: Optional[QWidget] = None, palette: str = "cadis"):
        super().__init__(parent)
        self.project, self.pair_id = project, int(pair_id)
        self.problem = ""
        events = _EditorEvents()
        self.session, self.recovered = open_pair(project, self.pair_id, events)
        image, self.label = self.session.image, self.session.label
        rec = project.pair(self.pair_id)
        self.setWindowTitle(f"Repair pair #{self.pair_id} ({rec.source}"
                            + (f", from {rec.parent_key}" if rec.parent_key else "") + ")")
        self.canvas = CanvasView(self)
        self.canvas.set_palette(palette)
        self.canvas.set_frame(image, self.label)
        self.canvas.strokeFinished.connect(self._stroke)
        self.canvas.classPicked.connect(self.set_class)
        self._build()
        self.set_class(int(np.bincount(self.label[self.label != 255].ravel(), minlength=36)[7:].argmax() + 7)
                       if (self.label[(self.label >= 7) & (self.label < 36)]).size else 6)
        self.resize(1100, 720)
        events.editor = self

    # -- layout ------------------------------------------------------------------------------------
    def _build(self) -> None:
        bar = QHBoxLayout()
        self.tool_buttons: dict[str, QToolButton] = {}
        for name in self.canvas.tool_names():
            b = QToolButton(self)
            b.setIcon(qta.icon(TOOL_BY_NAME[name].icon))
            b.setToolTip(TOOL_BY_NAME[name].text)
            b.setCheckable(True)
            b.clicked.connect(lambda _=False, n=name: self.set_tool(n))
            bar.addWidget(b)
            self.tool_buttons[name] = b
        self.class_box = QComboBox(self)
        colours = DISPLAY_PALETTES[self.canvas.palette_name()]
        for i, name in enumerate(CLASS_NAMES):
            pix = qta.icon("mdi6.square", color="#%02x%02x%02x" % tuple(colours[i]))
            self.class_box.addItem(pix, f"{i}  {name}", i)
        self.class_box.currentIndexChanged.connect(lambda i: self.canvas.set_current_class(int(self.class_box.itemData(i))))
        self.radius = QSpinBox(self)
        self.radius.setRange(1, 200)
        self.radius.setValue(self.canvas.brush_radius())
        self.radius.setSuffix(" px")
        self.radius.valueChanged.connect(self.canvas.set_brush_radius)
        self.canvas.brushRadiusChanged.connect(self.radius.setValue)
        bar.addSpacing(12)
        bar.addWidget(QLabel("Class", self))
        bar.addWidget(self.class_box, 1)
        bar.addWidget(QLabel("Radius", self))
        bar.addWidget(self.radius)
        self.undo_btn = QPushButton(qta.icon("mdi6.undo"), "Undo", self)
        self.redo_btn = QPushButton(qta.icon("mdi6.redo"), "Redo", self)
        self.undo_btn.clicked.connect(self.undo)
        self.redo_btn.clicked.connect(self.redo)
        bar.addWidget(self.undo_btn)
        bar.addWidget(self.redo_btn)
        buttons = QHBoxLayout()
        self.info = QLabel("", self)
        self.save_btn = QPushButton(qta.icon("mdi6.content-save"), "Save mask", self)
        self.save_btn.clicked.connect(self.save)
        close = QPushButton("Close", self)
        close.clicked.connect(self.close)
        buttons.addWidget(self.info, 1)
        buttons.addWidget(self.save_btn)
        buttons.addWidget(close)
        layout = QVBoxLayout(self)
        layout.addLayout(bar)
        layout.addWidget(self.canvas, 1)
        layout.addLayout(buttons)
        QShortcut(QKeySequence.StandardKey.Undo, self, self.undo)
        QShortcut(QKeySequence.StandardKey.Redo, self, self.redo)
        QShortcut(QKeySequence.StandardKey.Save, self, self.save)
        self.set_tool("brush")
        self._update()

    # -- actions -----------------------------------------------------------------------------------
    def set_tool(self, name: str) -> None:
        self.canvas.set_tool(name)
        for n, b in self.tool_buttons.items():
            b.setChecked(n == name)

    def set_class(self, cls: int) -> None:
        self.class_box.setCurrentIndex(int(cls))
        self.canvas.set_current_class(int(cls))

    @property
    def stack(self):
        return self.session.stack

    @property
    def dirty(self) -> bool:
        return self.session.dirty

    def _stroke(self, rec) -> None:
        self.session.record_edit(rec)  # undo stack, then the pair's journal
        self._update()

    def undo(self) -> None:
        if self.session.undo() is not None:
            self._update()

    def redo(self) -> None:
        if self.session.redo() is not None:
            self._update()

    def save(self) -> bool:
        try:
            wrote = self.session.save()
        except Exception as exc:  # noqa: BLE001 - a failed save is a message; the edits stay in the dialog
            QMessageBox.warning(self, "Save failed", f"The mask of pair #{self.pair_id} was not saved: {exc}\n"
                                "Your edits are still here; free disk space or check permissions and save again.")
            return False
        if wrote:
            self.problem = ""
            self._update()
            self.saved.emit(self.pair_id)
        return True

    def _update(self) -> None:
        self.undo_btn.setEnabled(self.stack.can_undo)
        self.redo_btn.setEnabled(self.stack.can_redo)
        self.save_btn.setEnabled(self.dirty)
        text = "Unsaved changes" if self.dirty else "Saved"
        if self.recovered and self.dirty:
            text += f" ({self.recovered} stroke{'s' if self.recovered != 1 else ''} recovered after a crash)"
        self.info.setText(f"{self.problem}  {text}" if self.problem else text)

    def closeEvent(self, event) -> None:  # noqa: N802 - Qt API
        if self.dirty:
            answer = QMessageBox.question(
                self, "Unsaved mask", f"Save the repaired mask of pair #{self.pair_id}?",
                QMessageBox.StandardButton.Save | QMessageBox.StandardButton.Discard
                | QMessageBox.StandardButton.Cancel)
            if answer == QMessageBox.StandardButton.Cancel or (
                    answer == QMessageBox.StandardButton.Save and not self.save()):
                event.ignore()
                return
        super().closeEvent(event)
