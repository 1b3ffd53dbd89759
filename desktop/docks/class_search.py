"""The quick class popup (key C): type part of a class name or its number, Enter picks the first match."""
from __future__ import annotations

from typing import Callable, Optional

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QKeyEvent
from PySide6.QtWidgets import QFrame, QLineEdit, QListWidget, QListWidgetItem, QVBoxLayout, QWidget

from desktop.docks.class_palette import swatch_icon
from engine.taxonomy import CLASS_NAMES


def matching_classes(text: str) -> list[int]:
    """Class IDs whose number is `text` or whose name contains every word of it (case-insensitive);
    names that start with the text come first."""
    needle = text.strip().lower()
    if not needle:
        return list(range(len(CLASS_NAMES)))
    if needle.isdigit():
        return [int(needle)] if int(needle) < len(CLASS_NAMES) else []
    words = needle.split()
    found = [c for c, name in enumerate(CLASS_NAMES) if all(w in name.lower() for w in words)]
    return sorted(found, key=lambda c: (not CLASS_NAMES[c].lower().startswith(needle), c))


class ClassSearchPopup(QFrame):
    """A small popup list of classes filtered as you type; emits `chosen(class_id)` and closes."""

    chosen = Signal(int)

    def __init__(self, colour_of: Callable[[int], tuple[int, int, int]], parent: Optional[QWidget] = None):
        super().__init__(parent, Qt.WindowType.Popup)
        self.colour_of = colour_of
        self.setObjectName("classSearch")
        self.setFrameShape(QFrame.Shape.StyledPanel)
        self.edit = QLineEdit()
        self.edit.setPlaceholderText("Class name or number, Enter to pick")
        self.list = QListWidget()
        self.list.setMinimumHeight(240)
        self.edit.textChanged.connect(self._fill)
        self.edit.returnPressed.connect(self.accept_current)
        self.list.itemActivated.connect(lambda _it: self.accept_current())
        self.list.itemClicked.connect(lambda _it: self.accept_current())
        lay = QVBoxLayout(self)
        lay.setContentsMargins(6, 6, 6, 6)
        lay.addWidget(self.edit)
        lay.addWidget(self.list)
        self.resize(300, 320)
        self._fill("")

    def open_at_centre(self, widget: QWidget) -> None:
        """Show over the middle of `widget` with an empty search field focused."""
        self.edit.clear()
        self._fill("")
        centre = widget.mapToGlobal(widget.rect().center())
        self.move(centre.x() - self.width() // 2, centre.y() - self.height() // 2)
        self.show()
        self.edit.setFocus()

    def accept_current(self) -> None:
        item = self.list.currentItem() or (self.list.item(0) if self.list.count() else None)
        if item is None:
            return
        self.hide()
        self.chosen.emit(int(item.data(Qt.ItemDataRole.UserRole)))

    def keyPressEvent(self, event: QKeyEvent) -> None:  # noqa: N802 - Qt name
        if event.key() in (Qt.Key.Key_Down, Qt.Key.Key_Up):
            row = self.list.currentRow() + (1 if event.key() == Qt.Key.Key_Down else -1)
            self.list.setCurrentRow(max(0, min(self.list.count() - 1, row)))
            return
        super().keyPressEvent(event)

    def _fill(self, text: str) -> None:
        self.list.clear()
        for cid in matching_classes(text):
            item = QListWidgetItem(swatch_icon(self.colour_of(cid)), f"{cid:>2}  {CLASS_NAMES[cid]}")
            item.setData(Qt.ItemDataRole.UserRole, cid)
            self.list.addItem(item)
        if self.list.count():
            self.list.setCurrentRow(0)
