"""The filter and sort bar above the pair gallery: source, status, class present, minimum label consistency,
sort key and order. It drives a `PairFilterProxy` directly and emits `changed` after each change."""
from __future__ import annotations

from typing import Optional

import qtawesome as qta
from PySide6.QtCore import Signal
from PySide6.QtWidgets import QComboBox, QDoubleSpinBox, QHBoxLayout, QLabel, QToolButton, QVBoxLayout, QWidget

from desktop.panels.curation.pair_model import SORT_KEYS, PairFilterProxy
from engine.taxonomy import CLASS_NAMES

STATUS_FILTERS = (("", "All statuses"), ("pending", "Pending"), ("accepted", "Accepted"), ("rejected", "Rejected"))
_DESCENDING_FIRST = ("id", "uncertainty")  # newest and most uncertain first by default


class PairFilterBar(QWidget):
    """Combo boxes and a spin box that set the proxy's filters and sort order."""

    changed = Signal()

    def __init__(self, proxy: PairFilterProxy, parent: Optional[QWidget] = None):
        super().__init__(parent)
        self.proxy = proxy
        self.source_filter, self.status_filter, self.class_filter = QComboBox(), QComboBox(), QComboBox()
        self.source_filter.addItem("All sources", "")
        for value, text in STATUS_FILTERS:
            self.status_filter.addItem(text, value)
        self.class_filter.addItem("Any class", None)
        for i, name in enumerate(CLASS_NAMES):
            self.class_filter.addItem(f"{i} {name}", i)
        self.min_score = QDoubleSpinBox()
        self.min_score.setRange(0.0, 1.0)
        self.min_score.setSingleStep(0.05)
        self.min_score.setSpecialValueText("any")
        self.min_score.setToolTip("show only pairs whose label consistency is at least this (0 = no filter); "
                                  "for a text edit restricted to classes, the consistency inside its region")
        self.sort_key = QComboBox()
        for key, text in SORT_KEYS:
            self.sort_key.addItem(text, key)
        self.sort_order = QToolButton()
        self.sort_order.setCheckable(True)
        self.sort_order.setToolTip("reverse the order")
        self.sort_order.setIcon(qta.icon("mdi6.swap-vertical", color="#c8ccd4"))
        for w in (self.source_filter, self.status_filter, self.class_filter):
            w.currentIndexChanged.connect(self.apply_filters)
        self.min_score.valueChanged.connect(self.apply_filters)
        self.sort_key.currentIndexChanged.connect(self.apply_sort)
        self.sort_order.toggled.connect(self.apply_sort)
        for combo in (self.source_filter, self.status_filter, self.class_filter, self.sort_key):
            combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
            combo.setMinimumContentsLength(6)  # stays usable in a narrow dock
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.setSpacing(3)
        for row_widgets in ((self.source_filter, self.status_filter, self.class_filter),
                            (QLabel("Min. consistency"), self.min_score),
                            (QLabel("Sort"), self.sort_key, self.sort_order)):
            row = QHBoxLayout()
            for w in row_widgets:
                row.addWidget(w)
            row.addStretch(1)
            lay.addLayout(row)
        self.apply_sort()

    def set_sources(self, sources: list[str]) -> None:
        """Offer these sources (the current choice is kept when still present)."""
        current = self.source_filter.currentData()
        self.source_filter.blockSignals(True)
        self.source_filter.clear()
        self.source_filter.addItem("All sources", "")
        for s in sources:
            self.source_filter.addItem(s, s)
        self.source_filter.setCurrentIndex(max(0, self.source_filter.findData(current)))
        self.source_filter.blockSignals(False)
        self.apply_filters()

    def apply_filters(self) -> None:
        score = self.min_score.value()
        self.proxy.set_filters(self.source_filter.currentData() or "", self.status_filter.currentData() or "",
                               self.class_filter.currentData(), score if score > 0 else None)
        self.changed.emit()

    def apply_sort(self) -> None:
        key = self.sort_key.currentData()
        self.proxy.set_sort_key(key, (key in _DESCENDING_FIRST) != self.sort_order.isChecked())
        self.changed.emit()

    def set_filters(self, source: str = "", status: str = "", class_id: Optional[int] = None,
                    min_consistency: float = 0.0) -> None:
        """Set the widgets (scripts and tests); "" / None / 0 switch a filter off."""
        self.source_filter.setCurrentIndex(max(0, self.source_filter.findData(source)))
        self.status_filter.setCurrentIndex(max(0, self.status_filter.findData(status)))
        self.class_filter.setCurrentIndex(0 if class_id is None else self.class_filter.findData(class_id))
        self.min_score.setValue(min_consistency)
        self.apply_filters()

    def set_sort(self, key: str, reverse: bool = False) -> None:
        self.sort_key.setCurrentIndex(self.sort_key.findData(key))
        self.sort_order.setChecked(reverse)
        self.apply_sort()
