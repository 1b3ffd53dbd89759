"""Before/after class frequency in the app: the report's bar chart and its table (engine.export.report).

Wiring (done by the window; this module touches no other desktop file)::

    view = ReportView(window.doc, window.runner, window.settings)
    dock = add_dock(window, "Class frequency", view, Qt.DockWidgetArea.BottomDockWidgetArea)
    export_dialog.exported.connect(lambda outcome: view.show_rows(outcome.report.rows, outcome.class_set))

"Compute from project" counts the project's done frames (before) and those plus the accepted synthetic
pairs (after) in the chosen class set, as a background job. After an export the export dialog shows the
report written into the export folder with the same widget.
"""
from __future__ import annotations

from typing import Optional

import numpy as np
import qtawesome as qta
from PySide6.QtCore import Qt
from PySide6.QtGui import QBrush, QColor, QFont, QPixmap
from PySide6.QtWidgets import (QComboBox, QHBoxLayout, QHeaderView, QLabel, QPushButton, QScrollArea, QSplitter,
                               QTableWidget, QTableWidgetItem, QVBoxLayout, QWidget)

from desktop.qt_image import rgb_to_qimage
from engine.services.export import class_frequency, frequency_chart
from engine.taxonomy import ClassSet, get_class_set

COLUMNS = ("ID", "Class", "Frames before", "Frames after", "% frames before", "% frames after",
           "% pixels before", "% pixels after")
CLASS_SETS = (("full", "Original 36 classes"), ("1", "Experiment 1 (8 classes)"), ("2", "Experiment 2 (17 classes)"),
              ("3", "Experiment 3 (25 classes)"))
_RARE_BG = QColor(90, 74, 20)


class ReportView(QWidget):
    """The class-frequency chart (scrollable image) above the table; rare classes highlighted."""

    def __init__(self, document=None, runner=None, settings=None, parent: Optional[QWidget] = None):
        super().__init__(parent)
        self.setObjectName("reportView")
        self.doc, self.runner, self.settings = document, runner, settings
        self.rows: list[dict] = []
        self.class_set: Optional[ClassSet] = None
        self.chart_image: Optional[np.ndarray] = None
        self.title = QLabel("No report yet: compute one from the project or export the dataset.")
        self.title.setWordWrap(True)
        self.class_combo = QComboBox()
        for key, text in CLASS_SETS:
            self.class_combo.addItem(text, key)
        self.compute_btn = QPushButton(qta.icon("mdi6.chart-bar", color="#c8ccd4"), "Compute from project")
        self.compute_btn.clicked.connect(self.compute_from_project)
        self.compute_btn.setVisible(document is not None and runner is not None)
        self.class_combo.setVisible(self.compute_btn.isVisible())
        head = QHBoxLayout()
        head.addWidget(self.title, 1)
        head.addWidget(self.class_combo)
        head.addWidget(self.compute_btn)
        self.chart = QLabel()
        self.chart.setAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop)
        self.chart.setStyleSheet("background: white;")
        scroll = QScrollArea()
        scroll.setWidget(self.chart)
        scroll.setWidgetResizable(False)
        self.table = QTableWidget(0, len(COLUMNS))
        self.table.setHorizontalHeaderLabels(list(COLUMNS))
        self.table.verticalHeader().setVisible(False)
        self.table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        self.table.horizontalHeader().setSectionResizeMode(1, QHeaderView.ResizeMode.Stretch)
        self.table.setSortingEnabled(False)
        split = QSplitter(Qt.Orientation.Vertical)
        split.addWidget(scroll)
        split.addWidget(self.table)
        split.setStretchFactor(0, 3)
        split.setStretchFactor(1, 2)
        split.setSizes([600, 400])  # the chart gets the larger share
        lay = QVBoxLayout(self)
        lay.setContentsMargins(4, 4, 4, 4)
        lay.addLayout(head)
        lay.addWidget(split, 1)

    def show_rows(self, rows: list[dict], class_set: ClassSet | str | int, title: str = "") -> None:
        """Show rows of `engine.export.report.compare_rows` (chart rendered by the engine)."""
        cs = class_set if isinstance(class_set, ClassSet) else get_class_set(class_set)
        self.rows, self.class_set = list(rows), cs
        self.chart_image = frequency_chart(self.rows, cs)
        pm = QPixmap.fromImage(rgb_to_qimage(self.chart_image))
        self.chart.setPixmap(pm)
        self.chart.resize(pm.size())
        n_rare = sum(r["rare"] for r in self.rows)
        self.title.setText(title or f"Class frequency before / after ({cs.num_classes} classes, "
                                    f"{n_rare} rare: highlighted)")
        self.table.setRowCount(len(self.rows))
        bold = QFont()
        bold.setBold(True)
        for i, r in enumerate(self.rows):
            cells = (str(r["id"]), r["name"], str(r["frames_before"]), str(r["frames_after"]),
                     f"{100 * r['frame_share_before']:.1f}", f"{100 * r['frame_share_after']:.1f}",
                     f"{100 * r['pixel_share_before']:.3f}", f"{100 * r['pixel_share_after']:.3f}")
            for j, text in enumerate(cells):
                item = QTableWidgetItem(text)
                if j != 1:
                    item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
                if r["rare"]:
                    item.setBackground(QBrush(_RARE_BG))
                    item.setFont(bold)
                    item.setToolTip("rare: seen in under 10% of the frames before")
                self.table.setItem(i, j, item)

    def compute_from_project(self):
        """Count the open project's classes in a job; the table and chart update when it ends."""
        if self.doc is None or self.doc.project is None or self.runner is None:
            return None
        project, cs = self.doc.project, get_class_set(self.class_combo.currentData())
        self.title.setText("Counting classes…")
        return self.runner.submit("Class frequency", lambda ctx: class_frequency(ctx, project, cs),
                                  group="report-view",
                                  on_result=lambda rows: self.show_rows(rows, cs),
                                  on_error=lambda msg: self.title.setText(f"Could not count classes: {msg}"))
