"""The Help menu's windows: the keyboard shortcut sheet (F1, from the live keymap) and About."""
from __future__ import annotations

from typing import Optional

from PySide6.QtWidgets import (QDialog, QDialogButtonBox, QHeaderView, QLabel, QMessageBox, QTableWidget,
                               QTableWidgetItem, QVBoxLayout, QWidget)

from desktop.shortcuts import ACTIONS, digit_class

MOUSE_AND_CLASS_KEYS = (
    ("Two digits in a row", "Class 10..35 (1 then 2: class 12)"),
    ("Mouse wheel", "Zoom at the cursor"),
    ("Space + drag / middle drag", "Pan"),
    ("Right click (brush)", "Erase"),
    ("Double click (polygon)", "Close and fill the polygon"),
)


def shortcut_rows(keymap: dict[str, str]) -> list[tuple[str, str]]:
    """(key, what it does) for every bound action, then the mouse and two-digit gestures."""
    rows = []
    for spec in ACTIONS:
        key = keymap.get(spec.id, "")
        if not key:
            continue
        cid = digit_class(spec.id)
        what = f"Class {cid}" if cid is not None else spec.text
        rows.append((key, what + (f" — {spec.tip}" if spec.tip else "")))
    return rows + list(MOUSE_AND_CLASS_KEYS)


class ShortcutSheet(QDialog):
    """Every shortcut in one table (non-modal, stays open beside the canvas)."""

    def __init__(self, keymap: dict[str, str], parent: Optional[QWidget] = None):
        super().__init__(parent)
        self.setWindowTitle("Keyboard shortcuts")
        rows = shortcut_rows(keymap)
        self.table = QTableWidget(len(rows), 2)
        self.table.setHorizontalHeaderLabels(["Key", "Action"])
        self.table.verticalHeader().setVisible(False)
        self.table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self.table.horizontalHeader().setSectionResizeMode(0, QHeaderView.ResizeMode.ResizeToContents)
        self.table.horizontalHeader().setStretchLastSection(True)
        for r, (key, what) in enumerate(rows):
            self.table.setItem(r, 0, QTableWidgetItem(key))
            self.table.setItem(r, 1, QTableWidgetItem(what))
        hint = QLabel("Change keys in File › Preferences › Shortcuts.")
        hint.setObjectName("hint")
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        lay = QVBoxLayout(self)
        lay.addWidget(self.table, 1)
        lay.addWidget(hint)
        lay.addWidget(buttons)
        self.resize(560, 560)


def about_text() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        ver = version("cadis-studio")
    except PackageNotFoundError:
        ver = "development copy"
    from desktop.settings import phantom_dir, user_data_dir

    return (f"<b>CaDIS Studio</b> {ver}<br>Paint and repair segmentation masks of cataract surgery frames "
            "(CaDIS: 36 classes), synthesize frames from masks and pre-segment new frames.<br><br>"
            f"Your data folder: {user_data_dir()}<br>Phantom sample: {phantom_dir()}<br><br>"
            "CaDIS: Grammatikopoulos et al., arXiv 1906.11586.")


def show_about(parent: QWidget) -> None:
    QMessageBox.about(parent, "About CaDIS Studio", about_text())
