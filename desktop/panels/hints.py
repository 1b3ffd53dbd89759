"""The hint line of the panels: a word-wrapped, selectable message (or error) in the app's style."""
from __future__ import annotations

from typing import Optional

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel, QWidget


def hint_label(text: str = "", parent: Optional[QWidget] = None, error: bool = False) -> QLabel:
    """A word-wrapped hint (or error) line in the app's style."""
    label = QLabel(text, parent)
    label.setObjectName("error" if error else "hint")
    label.setWordWrap(True)
    label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
    return label
