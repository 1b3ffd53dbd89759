"""The synthesis gallery: a column of thumbnails of synthesized frames beside the big view (newest first), each
with what is needed to store it as a pair."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional

import numpy as np
from PySide6.QtCore import QSize, Qt, Signal
from PySide6.QtGui import QIcon
from PySide6.QtWidgets import QListView, QListWidget, QListWidgetItem, QWidget

from desktop.qt_image import pixmap_of

THUMB = QSize(72, 40)
MAX_ENTRIES = 40


@dataclass
class GalleryEntry:
    """One synthesized frame: the image, the (model-size) mask it matches, and its provenance."""

    image: np.ndarray
    mask: np.ndarray
    provenance: dict = field(default_factory=dict)
    live: bool = False          # the live-preview slot (replaced by each new preview)
    pair_id: Optional[int] = None  # set once accepted into the project

    @property
    def title(self) -> str:
        p = self.provenance
        kind = "Live preview" if self.live else f"seed {p.get('seed', '?')}"
        if p.get("repaint"):
            kind = f"Repaint {kind}"
        return f"{'⚠ ' if p.get('warning') else ''}{kind} · {p.get('sampler', '')} {p.get('steps', '')} steps"


class Gallery(QListWidget):
    """Icon-mode column of `GalleryEntry`s, one thumbnail wide; the live preview keeps the first slot, newest
    results follow."""

    entryActivated = Signal(object)  # GalleryEntry (double click)

    def __init__(self, parent: Optional[QWidget] = None):
        super().__init__(parent)
        self.setViewMode(QListView.ViewMode.IconMode)
        self.setIconSize(THUMB)
        self.setFlow(QListView.Flow.TopToBottom)
        self.setWrapping(False)  # one column: as narrow as a thumbnail, whatever the number of results
        self.setMovement(QListView.Movement.Static)
        self.setSpacing(2)
        self.setWordWrap(False)  # one caption line, elided (the tooltip has it all)
        self.setUniformItemSizes(True)
        self.setGridSize(QSize(THUMB.width() + 12, THUMB.height() + 22))
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setFixedWidth(self.gridSize().width() + self.verticalScrollBar().sizeHint().width() + 2 * self.frameWidth()
                           + 4)
        self.setMinimumHeight(self.gridSize().height() + 2 * self.frameWidth() + 4)
        self.itemDoubleClicked.connect(lambda item: self.entryActivated.emit(item.data(Qt.ItemDataRole.UserRole)))

    def entries(self) -> list[GalleryEntry]:
        return [self.item(i).data(Qt.ItemDataRole.UserRole) for i in range(self.count())]

    def live_entry(self) -> Optional[GalleryEntry]:
        if self.count() and self.item(0).data(Qt.ItemDataRole.UserRole).live:
            return self.item(0).data(Qt.ItemDataRole.UserRole)
        return None

    def selected_entry(self) -> Optional[GalleryEntry]:
        item = self.currentItem()
        return item.data(Qt.ItemDataRole.UserRole) if item is not None else None

    def _item(self, entry: GalleryEntry) -> QListWidgetItem:
        item = QListWidgetItem(QIcon(pixmap_of(entry.image, THUMB.width(), THUMB.height())), entry.title)
        item.setData(Qt.ItemDataRole.UserRole, entry)
        item.setToolTip(_tooltip(entry))
        item.setTextAlignment(Qt.AlignmentFlag.AlignHCenter | Qt.AlignmentFlag.AlignTop)
        return item

    def set_live(self, entry: GalleryEntry) -> None:
        """Put `entry` in the live-preview slot (first), replacing the previous preview."""
        entry.live = True
        selected = self.currentRow() == 0 and self.live_entry() is not None
        if self.live_entry() is not None:
            self.takeItem(0)
        self.insertItem(0, self._item(entry))
        if selected or self.currentRow() < 0:
            self.setCurrentRow(0)

    def add(self, entry: GalleryEntry) -> None:
        """Add a result after the live slot (newest first); the oldest results beyond MAX_ENTRIES go."""
        row = 1 if self.live_entry() is not None else 0
        self.insertItem(row, self._item(entry))
        self.setCurrentRow(row)
        while self.count() > MAX_ENTRIES:
            self.takeItem(self.count() - 1)

    def mark_accepted(self, entry: GalleryEntry) -> None:
        for i in range(self.count()):
            if self.item(i).data(Qt.ItemDataRole.UserRole) is entry:
                self.item(i).setText(f"pair {entry.pair_id} → Curation")
                self.item(i).setToolTip(_tooltip(entry))
                # the stored image (an accepted live preview is lifted again at full size first)
                self.item(i).setIcon(QIcon(pixmap_of(entry.image, THUMB.width(), THUMB.height())))


def _tooltip(entry: GalleryEntry) -> str:
    p = entry.provenance
    lines = [entry.title, f"model {p.get('model', '?')} · {p.get('resolution', '')} · class set {p.get('class_set', '')}",
             f"guidance {p.get('guidance', '')} · frame {p.get('source_frame') or '–'}"]
    if p.get("warning"):
        lines.append(f"⚠ {p['warning']}")
    if entry.pair_id is not None:
        lines.append(f"in Curation as pending pair {entry.pair_id} (exported once accepted there)")
    lines.append("Double click: see it at full size")
    return "\n".join(lines)
