"""Dialogs: the problems of a broken dataset, the crash-recovery offer, opening a folder that is not a dataset,
marking done with unlabelled pixels (export: desktop/panels/export_dialog2.py)."""
from __future__ import annotations

from typing import Optional, Sequence

import qtawesome as qta
from PySide6.QtCore import Qt
from PySide6.QtWidgets import (QApplication, QDialog, QDialogButtonBox, QHBoxLayout, QHeaderView, QLabel, QMessageBox,
                               QPushButton, QTableWidget, QTableWidgetItem, QVBoxLayout, QWidget)


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


def read_only_box(parent: Optional[QWidget], holder: str) -> QMessageBox:
    """The question asked when a project is open for writing elsewhere (`holder` names the program)."""
    box = QMessageBox(parent)
    box.setIcon(QMessageBox.Icon.Warning)
    box.setWindowTitle("Project in use")
    box.setText("This project is already open for writing in another program.")
    box.setInformativeText(f"It is open in {holder}.\n\nOnly one program may write a project at a time. "
                           "Open it read-only to look at it (changes are not kept), or cancel "
                           "and close it in the other program first.")
    box.setStandardButtons(QMessageBox.StandardButton.Open | QMessageBox.StandardButton.Cancel)
    box.button(QMessageBox.StandardButton.Open).setText("Open read-only")
    box.setDefaultButton(QMessageBox.StandardButton.Cancel)
    return box


def ask_read_only(parent: Optional[QWidget], holder: str) -> bool:
    """Offer to open a project another program writes read-only; True = open read-only."""
    return read_only_box(parent, holder).exec() == QMessageBox.StandardButton.Open


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


def ask_open_anyway(parent: Optional[QWidget], check) -> bool:
    """A folder that does not look like a dataset (`engine.project.folder_guard.FolderCheck`): open it anyway?
    The default answer is no; nothing has been scanned or created yet."""
    box = QMessageBox(parent)
    box.setIcon(QMessageBox.Icon.Warning)
    box.setWindowTitle("This folder does not look like a dataset")
    box.setText(check.message())
    box.setInformativeText("Open a CaDIS dataset (the folder holding Video01, Video02, …), a folder of frames of "
                           "one size, or a project folder. Open this folder anyway?")
    box.setStandardButtons(QMessageBox.StandardButton.Open | QMessageBox.StandardButton.Cancel)
    box.setDefaultButton(QMessageBox.StandardButton.Cancel)
    return box.exec() == QMessageBox.StandardButton.Open


def confirm_done_with_unlabelled(parent: Optional[QWidget], pixels: int, share: float) -> bool:
    """Marking a frame done while some of its pixels are unlabelled (255): True = mark it done anyway."""
    box = QMessageBox(parent)
    box.setIcon(QMessageBox.Icon.Warning)
    box.setWindowTitle("Unlabelled pixels left")
    box.setText(f"{pixels:,} pixels ({share:.1%} of the frame) are still unlabelled. Mark the frame done anyway?")
    box.setInformativeText("Unlabelled pixels are ignored by training and exported as 255. Set the paint mode to "
                           "'Only over unlabelled' to fill them without touching the rest.")
    box.setStandardButtons(QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.Cancel)
    box.button(QMessageBox.StandardButton.Yes).setText("Mark done")
    box.setDefaultButton(QMessageBox.StandardButton.Cancel)
    return box.exec() == QMessageBox.StandardButton.Yes
def rebuild_box(parent: Optional[QWidget], message: str) -> QMessageBox:
    """The question `ask_rebuild` asks: the database is damaged (and kept); rebuild it?"""
    box = QMessageBox(parent)
    box.setIcon(QMessageBox.Icon.Warning)
    box.setWindowTitle("Project database damaged")
    box.setText("The project database is damaged. Rebuild it from the saved labels and the edit journal?")
    box.setInformativeText(message)
    box.setStandardButtons(QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.Cancel)
    box.button(QMessageBox.StandardButton.Yes).setText("Rebuild")
    box.setDefaultButton(QMessageBox.StandardButton.Cancel)
    return box


def ask_rebuild(parent: Optional[QWidget], message: str) -> bool:
    """Say that the project database is damaged (and kept) and ask whether to rebuild it; True = rebuild."""
    return rebuild_box(parent, message).exec() == QMessageBox.StandardButton.Yes
