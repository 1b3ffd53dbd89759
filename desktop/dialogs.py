"""Dialogs: the problems of a broken dataset, the crash-recovery offer, and export settings."""
from __future__ import annotations

from pathlib import Path
from typing import Optional, Sequence

import qtawesome as qta
from PySide6.QtCore import Qt
from PySide6.QtWidgets import (QApplication, QCheckBox, QComboBox, QDialog, QDialogButtonBox, QFileDialog,
                               QFormLayout, QHBoxLayout, QHeaderView, QLabel, QLineEdit, QMessageBox,
                               QPushButton, QTableWidget, QTableWidgetItem, QVBoxLayout, QWidget)

EXPERIMENTS = ((None, "Original 36 classes"), (1, "Experiment 1 (8 classes)"), (2, "Experiment 2 (17 classes)"),
               (3, "Experiment 3 (25 classes)"))
SPLITS = (("all", "All splits"), ("train", "Train"), ("val", "Validation"), ("test", "Test"))
STATUS_CHOICES = ((("done",), "Done frames"), (("done", "in_progress"), "Done and in-progress frames"),
                  (("done", "in_progress", "unlabelled", "flagged"), "Everything except rejected frames"))


class ProblemsDialog(QDialog):
    """Lists problems as (file, reason) rows with a short explanation; non-modal so work can go on."""

    def __init__(self, title: str, intro: str, problems: Sequence, parent: Optional[QWidget] = None):
        super().__init__(parent)
        self.setWindowTitle(title)
        self.setObjectName("problemsDialog")
        self.problems = list(problems)
        icon = QLabel()
        icon.setPixmap(qta.icon("mdi6.alert-outline", color="#e3b341").pixmap(32, 32))
        self.intro = QLabel(intro)
        self.intro.setWordWrap(True)
        head = QHBoxLayout()
        head.addWidget(icon, 0, Qt.AlignmentFlag.AlignTop)
        head.addWidget(self.intro, 1)
        self.table = QTableWidget(len(self.problems), 2)
        self.table.setHorizontalHeaderLabels(["File", "Problem"])
        self.table.verticalHeader().setVisible(False)
        self.table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self.table.horizontalHeader().setSectionResizeMode(0, QHeaderView.ResizeMode.ResizeToContents)
        self.table.horizontalHeader().setStretchLastSection(True)
        for row, p in enumerate(self.problems):
            path, reason = QTableWidgetItem(str(getattr(p, "path", ""))), QTableWidgetItem(str(getattr(p, "reason", p)))
            path.setToolTip(path.text())
            reason.setToolTip(reason.text())
            self.table.setItem(row, 0, path)
            self.table.setItem(row, 1, reason)
        self.table.setVisible(bool(self.problems))
        copy = QPushButton(qta.icon("mdi6.content-copy", color="#c8ccd4"), "Copy list")
        copy.clicked.connect(self.copy_to_clipboard)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        buttons.addButton(copy, QDialogButtonBox.ButtonRole.ActionRole)
        lay = QVBoxLayout(self)
        lay.addLayout(head)
        lay.addWidget(self.table, 1)
        lay.addWidget(buttons)
        self.resize(760, 420 if self.problems else 160)

    def as_text(self) -> str:
        return "\n".join(f"{getattr(p, 'path', '')}\t{getattr(p, 'reason', p)}" for p in self.problems)

    def copy_to_clipboard(self) -> None:
        QApplication.clipboard().setText(self.as_text())


def ask_recovery(parent: Optional[QWidget], pending: dict[str, int]) -> bool:
    """Ask whether to restore unsaved strokes found in the journal; True = recover."""
    n = sum(pending.values())
    frames = sorted(pending)
    shown = "\n".join(f"  {k}  ({pending[k]} strokes)" for k in frames[:8])
    more = f"\n  … and {len(frames) - 8} more frames" if len(frames) > 8 else ""
    box = QMessageBox(parent)
    box.setIcon(QMessageBox.Icon.Question)
    box.setWindowTitle("Recover unsaved work")
    box.setText(f"The app closed without saving {n} stroke{'s' if n != 1 else ''} on "
                f"{len(frames)} frame{'s' if len(frames) != 1 else ''}. Restore them?")
    box.setInformativeText(shown + more)
    box.setStandardButtons(QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.Discard)
    box.button(QMessageBox.StandardButton.Yes).setText("Recover")
    box.setDefaultButton(QMessageBox.StandardButton.Yes)
    return box.exec() == QMessageBox.StandardButton.Yes


class ExportDialog(QDialog):
    """Where and how to export: output folder, class set, split, colour previews."""

    def __init__(self, default_dir: str = "", parent: Optional[QWidget] = None):
        super().__init__(parent)
        self.setWindowTitle("Export dataset")
        self.out_dir = QLineEdit(default_dir)
        self.out_dir.setPlaceholderText("An empty or new folder")
        browse = QPushButton(qta.icon("mdi6.folder-open-outline", color="#c8ccd4"), "")
        browse.clicked.connect(self._browse)
        row = QHBoxLayout()
        row.addWidget(self.out_dir, 1)
        row.addWidget(browse)
        self.experiment = QComboBox()
        for value, text in EXPERIMENTS:
            self.experiment.addItem(text, value)
        self.split = QComboBox()
        for value, text in SPLITS:
            self.split.addItem(text, value)
        self.statuses = QComboBox()
        for value, text in STATUS_CHOICES:
            self.statuses.addItem(text, value)
        self.previews = QCheckBox("Also write colour previews")
        self.hint = QLabel("Labels are written as single-channel index PNGs in the CaDIS layout.")
        self.hint.setObjectName("hint")
        self.hint.setWordWrap(True)
        form = QFormLayout()
        form.addRow("Output folder", row)
        form.addRow("Classes", self.experiment)
        form.addRow("Frames", self.statuses)
        form.addRow("Split", self.split)
        form.addRow("", self.previews)
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        self.buttons.button(QDialogButtonBox.StandardButton.Ok).setText("Export")
        self.buttons.accepted.connect(self._accept)
        self.buttons.rejected.connect(self.reject)
        lay = QVBoxLayout(self)
        lay.addLayout(form)
        lay.addWidget(self.hint)
        lay.addWidget(self.buttons)

    def values(self) -> dict:
        """Keyword arguments for `engine.export.export_cadis` (besides the project)."""
        return {"out_dir": self.out_dir.text().strip(), "experiment": self.experiment.currentData(),
                "split": self.split.currentData(), "statuses": tuple(self.statuses.currentData()),
                "previews": self.previews.isChecked()}

    def _browse(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Export to folder", self.out_dir.text())
        if folder:
            self.out_dir.setText(folder)

    def _accept(self) -> None:
        if not self.out_dir.text().strip():
            self.hint.setText("Choose an output folder first.")
            return
        if Path(self.out_dir.text().strip()).is_file():
            self.hint.setText("That path is a file; choose a folder.")
            return
        self.accept()
