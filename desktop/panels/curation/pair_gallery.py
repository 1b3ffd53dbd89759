"""The gallery view of synthetic pairs: a grid of image|mask thumbnails with a status badge and two caption
lines (source, parent frame; scores). Drawn by `PairDelegate`; the data come from `pair_model`."""
from __future__ import annotations

from typing import Optional

from PySide6.QtCore import QRect, QSize, Qt, Signal
from PySide6.QtGui import QColor, QKeyEvent, QPainter, QPen
from PySide6.QtWidgets import QAbstractItemView, QListView, QStyle, QStyledItemDelegate, QStyleOptionViewItem, QWidget

from desktop.panels.curation.jobs import THUMB_H, THUMB_W
from desktop.panels.curation.pair_model import PAIR_ROLE, PairItem

STATUS_COLOURS = {"pending": QColor("#7a808a"), "accepted": QColor("#3fb950"), "rejected": QColor("#f85149")}
CELL_W, CELL_H = 2 * THUMB_W + 2 + 12, THUMB_H + 66


class PairDelegate(QStyledItemDelegate):
    """Paints one pair: thumbnail, coloured status frame and badge, caption."""

    def sizeHint(self, option: QStyleOptionViewItem, index) -> QSize:  # noqa: N802 - Qt API
        return QSize(CELL_W, CELL_H)

    def paint(self, painter: QPainter, option: QStyleOptionViewItem, index) -> None:
        item: Optional[PairItem] = index.data(PAIR_ROLE)
        if item is None:
            return
        painter.save()
        r = option.rect.adjusted(3, 3, -3, -3)
        selected = bool(option.state & QStyle.StateFlag.State_Selected)
        painter.fillRect(r, QColor("#2d3440") if selected else QColor("#21252b"))
        colour = STATUS_COLOURS.get(item.status, STATUS_COLOURS["pending"])
        thumb_rect = QRect(r.left() + 3, r.top() + 3, r.width() - 6, THUMB_H)
        if item.thumb is not None and not item.thumb.isNull():
            pm = item.thumb
            x = thumb_rect.left() + (thumb_rect.width() - pm.width()) // 2
            painter.drawPixmap(x, thumb_rect.top(), pm)
        else:
            painter.fillRect(thumb_rect, QColor("#15181d"))
            painter.setPen(QColor("#7a808a"))
            painter.drawText(thumb_rect, Qt.AlignmentFlag.AlignCenter, "loading…")
        painter.setPen(QPen(QColor("#4aa3ff") if selected else colour, 2))
        painter.drawRect(r.adjusted(1, 1, -1, -1))
        badge = QRect(r.right() - 74, thumb_rect.bottom() - 16, 70, 16)
        painter.fillRect(badge, colour)
        painter.setPen(QColor("#ffffff"))
        painter.drawText(badge, Qt.AlignmentFlag.AlignCenter, item.status)
        painter.setPen(QColor("#d7dae0"))
        text_rect = QRect(r.left() + 5, thumb_rect.bottom() + 4, r.width() - 10, r.bottom() - thumb_rect.bottom() - 6)
        painter.drawText(text_rect, int(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop), item.caption())
        painter.restore()


class PairGallery(QListView):
    """Grid of pairs; Enter or double-click asks to open the current pair."""

    openRequested = Signal(int)

    def __init__(self, parent: Optional[QWidget] = None):
        super().__init__(parent)
        self.setObjectName("pairGallery")
        self.setViewMode(QListView.ViewMode.IconMode)
        self.setResizeMode(QListView.ResizeMode.Adjust)
        self.setMovement(QListView.Movement.Static)
        self.setUniformItemSizes(True)
        self.setGridSize(QSize(CELL_W + 4, CELL_H + 4))
        self.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.setItemDelegate(PairDelegate(self))
        self.setStyleSheet("QListView#pairGallery { background: #181b20; }")
        self.doubleClicked.connect(self._open)

    def current_id(self) -> Optional[int]:
        item = self.currentIndex().data(PAIR_ROLE)
        return None if item is None else item.id

    def _open(self, index) -> None:
        item = index.data(PAIR_ROLE)
        if item is not None:
            self.openRequested.emit(item.id)

    def keyPressEvent(self, event: QKeyEvent) -> None:  # noqa: N802 - Qt API
        if event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter) and self.currentIndex().isValid():
            self._open(self.currentIndex())
            return
        super().keyPressEvent(event)
