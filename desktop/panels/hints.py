"""The hint lines of the panels: a word-wrapped, selectable message (or error) in the app's style, and one line that elides."""
from __future__ import annotations

from typing import Optional

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel, QSizePolicy, QWidget


def hint_label(text: str = "", parent: Optional[QWidget] = None, error: bool = False) -> QLabel:
    """A word-wrapped hint (or error) line in the app's style."""
    label = QLabel(text, parent)
    label.setObjectName("error" if error else "hint")
    label.setWordWrap(True)
    label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
    return label


class ElidedLabel(QLabel):
    """One line of hint text that elides in the middle when narrower than its text (a long head path must not
    wrap and push the buttons below it down under the pointer); the whole text is its tooltip and `text()`."""

    def __init__(self, text: str = "", parent: Optional[QWidget] = None):
        super().__init__(parent)
        self.setObjectName("hint")
        self.setWordWrap(False)
        self.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Fixed)
        self._full = ""
        self.setText(text)

    def setText(self, text: str) -> None:  # noqa: N802 - Qt's name
        self._full = str(text)
        self.setToolTip(self._full)
        self._elide()

    def text(self) -> str:
        return self._full

    def resizeEvent(self, event) -> None:  # noqa: N802 - Qt's name
        super().resizeEvent(event)
        self._elide()

    def _elide(self) -> None:
        QLabel.setText(self, self.fontMetrics().elidedText(self._full, Qt.TextElideMode.ElideMiddle,
                                                           max(40, self.contentsRect().width())))
