"""The class palette: 36 CaDIS classes with colour swatch, name, pixel count in the current frame,
visibility (eye) and lock toggles, digit-shortcut hints, and the class set the canvas shows."""
from __future__ import annotations

from typing import Optional

import numpy as np
import qtawesome as qta
from PySide6.QtCore import QSize, Qt, Signal
from PySide6.QtGui import QColor, QIcon, QPainter, QPixmap
from PySide6.QtWidgets import (QComboBox, QHBoxLayout, QHeaderView, QLabel, QLineEdit, QTreeWidget,
                               QTreeWidgetItem, QVBoxLayout, QWidget)

from engine.taxonomy import CLASS_NAMES, IGNORE, NUM_CLASSES, ClassSet, display_colours, get_class_set

COL_NAME, COL_KEY, COL_COUNT, COL_EYE, COL_LOCK = range(5)
CLASS_SET_CHOICES = (("full", "All 36 classes"), ("1", "Experiment 1 (8)"), ("2", "Experiment 2 (17)"),
                     ("3", "Experiment 3 (25)"))
PALETTE_CHOICES = (("distinct", "Distinct colours"), ("cadis", "CaDIS colours"))
_ICON_COLOUR, _OFF_COLOUR, _LOCK_COLOUR = "#c8ccd4", "#5b616b", "#e3b341"


def swatch_icon(rgb: tuple[int, int, int], size: int = 14, crossed: bool = False) -> QIcon:
    """A rounded colour square (crossed out for a class the current class set ignores)."""
    pm = QPixmap(size, size)
    pm.fill(Qt.GlobalColor.transparent)
    p = QPainter(pm)
    p.setRenderHint(QPainter.RenderHint.Antialiasing)
    p.setPen(QColor(0, 0, 0, 160))
    p.setBrush(QColor(*rgb))
    p.drawRoundedRect(0.5, 0.5, size - 1, size - 1, 3, 3)
    if crossed:
        p.setPen(QColor(220, 80, 80))
        p.drawLine(2, size - 3, size - 3, 2)
    p.end()
    return QIcon(pm)


def format_count(n: int) -> str:
    """Compact pixel count: 950, 12.3k, 1.2M."""
    if n >= 1_000_000:
        return f"{n / 1e6:.1f}M"
    if n >= 10_000:
        return f"{n / 1e3:.0f}k"
    if n >= 1_000:
        return f"{n / 1e3:.1f}k"
    return str(n)


class ClassPalette(QWidget):
    """Pick the class to paint; hide and lock classes; choose the class set for viewing."""

    currentClassChanged = Signal(int)
    hiddenChanged = Signal(object)    # set[int] of original IDs not drawn
    lockedChanged = Signal(object)    # set[int] of original IDs never painted over
    classSetChanged = Signal(object)  # ClassSet
    paletteChanged = Signal(str)      # display palette key ("distinct" | "cadis")

    def __init__(self, parent: Optional[QWidget] = None):
        super().__init__(parent)
        self._hidden: set[int] = set()
        self._locked: set[int] = set()
        self._counts = np.zeros(256, np.int64)
        self._class_set = get_class_set("full")
        self._palette = "distinct"
        self.colours_combo = QComboBox()
        for key, text in PALETTE_CHOICES:
            self.colours_combo.addItem(text, key)
        self.colours_combo.setToolTip("Overlay colours: distinct colours told apart at a glance, or the CaDIS "
                                      "paper's colours (exports always use the CaDIS colours)")
        self.colours_combo.currentIndexChanged.connect(lambda _i: self.set_palette(self.colours_combo.currentData()))
        self.set_combo = QComboBox()
        for key, text in CLASS_SET_CHOICES:
            self.set_combo.addItem(text, key)
        self.set_combo.setToolTip("View the mask as one of the CaDIS benchmark class sets (painting always "
                                  "uses the 36 original classes)")
        self.set_combo.currentIndexChanged.connect(self._on_set_changed)
        self.search = QLineEdit()
        self.search.setPlaceholderText("Filter classes")
        self.search.setClearButtonEnabled(True)
        self.search.textChanged.connect(self._apply_filter)
        self.tree = QTreeWidget()
        self.tree.setHeaderLabels(["Class", "Key", "Pixels", "", ""])
        self.tree.setRootIsDecorated(False)
        self.tree.setUniformRowHeights(True)
        self.tree.setIconSize(QSize(14, 14))
        self.tree.setAlternatingRowColors(True)
        head = self.tree.header()
        head.setStretchLastSection(False)
        head.setSectionResizeMode(COL_NAME, QHeaderView.ResizeMode.Stretch)
        for col, width in ((COL_KEY, 34), (COL_COUNT, 56), (COL_EYE, 26), (COL_LOCK, 26)):
            head.setSectionResizeMode(col, QHeaderView.ResizeMode.Fixed)
            head.resizeSection(col, width)
        self._items: list[QTreeWidgetItem] = []
        for cid, name in enumerate(CLASS_NAMES):
            item = QTreeWidgetItem([f"{cid:>2}  {name}", "", "0", "", ""])
            item.setData(COL_NAME, Qt.ItemDataRole.UserRole, cid)
            item.setTextAlignment(COL_COUNT, Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
            item.setTextAlignment(COL_KEY, Qt.AlignmentFlag.AlignCenter)
            item.setToolTip(COL_EYE, "Show / hide this class in the overlay")
            item.setToolTip(COL_LOCK, "Lock: strokes never paint over this class")
            self._items.append(item)
        self.tree.addTopLevelItems(self._items)
        self.tree.itemClicked.connect(self._on_clicked)
        self.tree.currentItemChanged.connect(self._on_current)
        self.unlabelled = QLabel()
        self.unlabelled.setObjectName("hint")
        top = QHBoxLayout()
        top.addWidget(QLabel("View"))
        top.addWidget(self.set_combo, 1)
        top.addWidget(self.colours_combo)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(4, 4, 4, 4)
        lay.addLayout(top)
        lay.addWidget(self.search)
        lay.addWidget(self.tree, 1)
        lay.addWidget(self.unlabelled)
        self._refresh_swatches()
        self._refresh_toggles()
        self.tree.setCurrentItem(self._items[0])
        self.set_counts(None)

    # -- state -------------------------------------------------------------------------------------
    def current_class(self) -> int:
        item = self.tree.currentItem()
        return int(item.data(COL_NAME, Qt.ItemDataRole.UserRole)) if item else 0

    def set_current_class(self, cid: int) -> None:
        if 0 <= cid < NUM_CLASSES:
            self.tree.setCurrentItem(self._items[cid])
            self.tree.scrollToItem(self._items[cid])

    def hidden_classes(self) -> set[int]:
        return set(self._hidden)

    def locked_classes(self) -> set[int]:
        return set(self._locked)

    def class_set(self) -> ClassSet:
        return self._class_set

    def count(self, cid: int) -> int:
        return int(self._counts[cid])

    def set_hidden(self, cid: int, hidden: bool) -> None:
        (self._hidden.add if hidden else self._hidden.discard)(cid)
        self._refresh_toggles()
        self.hiddenChanged.emit(set(self._hidden))

    def set_locked(self, cid: int, locked: bool) -> None:
        (self._locked.add if locked else self._locked.discard)(cid)
        self._refresh_toggles()
        self.lockedChanged.emit(set(self._locked))

    def set_class_set(self, key: str) -> None:
        idx = self.set_combo.findData(str(key))
        if idx >= 0:
            self.set_combo.setCurrentIndex(idx)

    def palette_name(self) -> str:
        return self._palette

    def set_palette(self, palette: str) -> None:
        """Swatches (and, through paletteChanged, the canvas) in a display palette."""
        idx = self.colours_combo.findData(palette)
        if idx < 0:
            return
        changed = palette != self._palette
        self._palette = palette
        if self.colours_combo.currentIndex() != idx:
            self.colours_combo.setCurrentIndex(idx)
        self._refresh_swatches()
        if changed:
            self.paletteChanged.emit(palette)

    def colour_of(self, cid: int) -> tuple[int, int, int]:
        """The display colour of original class `cid` in the current class set and palette."""
        new_id = int(self._class_set.lut[cid])
        return tuple(int(c) for c in display_colours(self._class_set, self._palette)[new_id])

    def set_key_hints(self, hints: dict[int, str]) -> None:
        """Show the shortcut key that selects each class (class ID -> key text)."""
        for cid, item in enumerate(self._items):
            item.setText(COL_KEY, hints.get(cid, ""))

    def set_counts(self, label: Optional[np.ndarray]) -> None:
        """Update the pixel counts from the current frame's label (None clears them)."""
        if label is None:
            self._counts = np.zeros(256, np.int64)
        else:
            self._counts = np.bincount(label.ravel(), minlength=256)
        for cid, item in enumerate(self._items):
            n = int(self._counts[cid])
            item.setText(COL_COUNT, format_count(n) if n else "·")
            item.setToolTip(COL_COUNT, f"{n:,} pixels")
        total = int(self._counts.sum())
        n_un = int(self._counts[IGNORE])
        share = f" ({100 * n_un / total:.1f}%)" if total else ""
        self.unlabelled.setText(f"Unlabelled pixels: {n_un:,}{share}")

    # -- internals ---------------------------------------------------------------------------------
    def _on_current(self, cur: Optional[QTreeWidgetItem], _prev) -> None:
        if cur is not None:
            self.currentClassChanged.emit(int(cur.data(COL_NAME, Qt.ItemDataRole.UserRole)))

    def _on_clicked(self, item: QTreeWidgetItem, column: int) -> None:
        cid = int(item.data(COL_NAME, Qt.ItemDataRole.UserRole))
        if column == COL_EYE:
            self.set_hidden(cid, cid not in self._hidden)
        elif column == COL_LOCK:
            self.set_locked(cid, cid not in self._locked)

    def _on_set_changed(self, _index: int) -> None:
        self._class_set = get_class_set(self.set_combo.currentData())
        self._refresh_swatches()
        self.classSetChanged.emit(self._class_set)

    def _refresh_swatches(self) -> None:
        cs = self._class_set
        colours = display_colours(cs, self._palette)
        for cid, item in enumerate(self._items):
            new_id = int(cs.lut[cid])
            ignored = new_id == IGNORE
            rgb = (0, 0, 0) if ignored else tuple(int(c) for c in colours[new_id])
            item.setIcon(COL_NAME, swatch_icon(rgb, crossed=ignored))
            shown = CLASS_NAMES[cid] if cs.key == "full" else (
                f"{CLASS_NAMES[cid]}  → ignored" if ignored else f"{CLASS_NAMES[cid]}  → {cs.names[new_id]}")
            item.setToolTip(COL_NAME, shown)

    def _refresh_toggles(self) -> None:
        eye_on = qta.icon("mdi6.eye-outline", color=_ICON_COLOUR)
        eye_off = qta.icon("mdi6.eye-off-outline", color=_OFF_COLOUR)
        lock_on = qta.icon("mdi6.lock", color=_LOCK_COLOUR)
        lock_off = qta.icon("mdi6.lock-open-variant-outline", color=_OFF_COLOUR)
        for cid, item in enumerate(self._items):
            item.setIcon(COL_EYE, eye_off if cid in self._hidden else eye_on)
            item.setIcon(COL_LOCK, lock_on if cid in self._locked else lock_off)

    def _apply_filter(self, text: str) -> None:
        needle = text.strip().lower()
        for cid, item in enumerate(self._items):
            item.setHidden(bool(needle) and needle not in CLASS_NAMES[cid].lower() and needle != str(cid))
