"""*Curation → What is it worth?*: the project's accepted pairs measured on its own frames (`cadis eval-augment`).

    dialog = WorthDialog(project, runner, parent)   # shows the last result, if any; Run starts a new one

Runs `engine.services.eval_augment.eval_augment` as one job on the window's JobRunner (progress and cancel; a
cancelled run leaves the project as it was), with the budget the user can see and change (folds by video,
training steps, working size). Shows the summary, a per-class table (IoU without and with the pairs, what they
add ± the spread over folds) and a bar chart of the per-class gain drawn with QPainter.
"""
from __future__ import annotations

import math
from typing import Optional

from PySide6.QtCore import QRectF, QSize, Qt
from PySide6.QtGui import QColor, QFont, QPainter, QPen
from PySide6.QtWidgets import (QAbstractItemView, QDialog, QFormLayout, QHBoxLayout, QHeaderView, QLabel,
                               QLineEdit, QProgressBar, QPushButton, QScrollArea, QSpinBox, QSplitter,
                               QTableWidget, QTableWidgetItem, QVBoxLayout, QWidget)

from desktop.workers import FINAL_STATES
from engine.services.eval_augment import EvalAugmentRequest, EvalAugmentResult, eval_augment, last_result

GAIN, LOSS, RARE = QColor(46, 139, 87), QColor(200, 60, 50), QColor(170, 90, 0)


class WorthChart(QWidget):
    """Horizontal bars: per class, what the pairs add (right, green) or cost (left, red), ± spread whiskers."""

    ROW, LABEL_W = 20, 210

    def __init__(self, parent: Optional[QWidget] = None):
        super().__init__(parent)
        self.rows: list[dict] = []

    def set_rows(self, rows: list[dict]) -> None:
        self.rows = [r for r in rows if not math.isnan(r["delta"])]
        self.updateGeometry()
        self.update()

    def sizeHint(self) -> QSize:  # noqa: N802 - Qt API
        return QSize(self.LABEL_W + 300, self.ROW * (len(self.rows) + 2))

    def minimumSizeHint(self) -> QSize:  # noqa: N802 - Qt API
        return QSize(self.LABEL_W + 160, self.ROW * (len(self.rows) + 2))

    def paintEvent(self, _event) -> None:  # noqa: N802 - Qt API
        p = QPainter(self)
        p.fillRect(self.rect(), self.palette().base())
        if not self.rows:
            p.drawText(self.rect(), Qt.AlignmentFlag.AlignCenter, "no result yet")
            return
        span = max(0.05, max(abs(r["delta"]) + (0 if math.isnan(r["spread"]) else r["spread"]) for r in self.rows))
        x0, w = self.LABEL_W, max(40, self.width() - self.LABEL_W - 50)
        mid = x0 + w / 2
        scale = (w / 2) / span
        p.setPen(QPen(self.palette().text().color()))
        font = QFont(self.font())
        p.setFont(font)
        p.drawText(QRectF(4, 0, self.width() - 8, self.ROW), Qt.AlignmentFlag.AlignCenter,
                   f"IoU the pairs add (−{span:.2f} … +{span:.2f}); whiskers: spread over folds")
        for i, r in enumerate(self.rows):
            y = self.ROW * (i + 1)
            name = f"{r['class']} {r['name']}" + (" (rare)" if r.get("rare") else "")
            p.setPen(RARE if r.get("rare") else self.palette().text().color())
            p.drawText(QRectF(4, y, x0 - 8, self.ROW), Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter,
                       p.fontMetrics().elidedText(name, Qt.TextElideMode.ElideRight, x0 - 8))
            d = r["delta"]
            bar = QRectF(min(mid, mid + d * scale), y + 4, abs(d * scale), self.ROW - 8)
            p.fillRect(bar, GAIN if d >= 0 else LOSS)
            if not math.isnan(r["spread"]):
                p.setPen(QPen(self.palette().text().color(), 1))
                lo, hi = mid + (d - r["spread"]) * scale, mid + (d + r["spread"]) * scale
                yc = y + self.ROW / 2
                p.drawLine(int(lo), int(yc), int(hi), int(yc))
                p.drawLine(int(lo), int(yc - 3), int(lo), int(yc + 3))
                p.drawLine(int(hi), int(yc - 3), int(hi), int(yc + 3))
            p.setPen(self.palette().text().color())
            p.drawText(QRectF(x0 + w + 4, y, 46, self.ROW), Qt.AlignmentFlag.AlignVCenter, f"{d:+.3f}")
        p.setPen(QPen(self.palette().mid().color(), 1))
        p.drawLine(int(mid), self.ROW, int(mid), self.ROW * (len(self.rows) + 1))
        p.end()


class WorthDialog(QDialog):
    """Budget, Run/Cancel with progress, the summary, the per-class table and the chart."""

    COLUMNS = ("class", "without", "with", "pairs add ± spread", "folds")

    def __init__(self, project, runner, parent: Optional[QWidget] = None):
        super().__init__(parent)
        self.setWindowTitle("What are the accepted pairs worth?")
        self.project, self.runner, self.job = project, runner, None
        d = EvalAugmentRequest()
        self.folds = QSpinBox()
        self.folds.setRange(2, 25)
        self.folds.setValue(d.folds)
        self.steps = QSpinBox()
        self.steps.setRange(1, 20000)
        self.steps.setSingleStep(50)
        self.steps.setValue(d.steps)
        self.size_edit = QLineEdit("x".join(map(str, d.size)))
        for w in (self.folds, self.steps, self.size_edit):
            w.setMaximumWidth(110)
        form = QFormLayout()
        form.addRow("Folds by video", self.folds)
        form.addRow("Training steps per model", self.steps)
        form.addRow("Working size (WxH)", self.size_edit)
        intro = QLabel("Trains the small segmenter on your done frames with and without the accepted synthetic pairs "
                       "(each fold holds out whole videos; pairs made from a held-out video's frames are left out of "
                       "its training) and shows per class what the pairs add or cost. The budget is small so it "
                       "ends in minutes on a CPU; the numbers are for comparing, not a final score.")
        intro.setWordWrap(True)
        self.run_btn = QPushButton("Run")
        self.run_btn.clicked.connect(self.start)
        self.cancel_btn = QPushButton("Cancel")
        self.cancel_btn.clicked.connect(self.cancel)
        self.cancel_btn.setEnabled(False)
        self.progress = QProgressBar()
        self.progress.setRange(0, 1000)
        self.status = QLabel("")
        self.status.setWordWrap(True)
        self.summary = QLabel("")
        self.summary.setWordWrap(True)
        self.summary.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.table = QTableWidget(0, len(self.COLUMNS))
        self.table.setHorizontalHeaderLabels(self.COLUMNS)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.verticalHeader().setVisible(False)
        self.table.horizontalHeader().setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        self.chart = WorthChart()
        scroll = QScrollArea()
        scroll.setWidget(self.chart)
        scroll.setWidgetResizable(True)
        split = QSplitter(Qt.Orientation.Horizontal)
        split.addWidget(self.table)
        split.addWidget(scroll)
        split.setSizes([440, 500])
        buttons = QHBoxLayout()
        for w in (self.run_btn, self.cancel_btn, self.progress):
            buttons.addWidget(w)
        lay = QVBoxLayout(self)
        lay.addWidget(intro)
        lay.addLayout(form)
        lay.addLayout(buttons)
        lay.addWidget(self.status)
        lay.addWidget(self.summary)
        lay.addWidget(split, 1)
        self.resize(980, 620)
        last = last_result(project)
        if last is not None:
            self.show_result(last, f"Last run {last.finished_at}.")

    def request(self) -> EvalAugmentRequest:
        """The budget in the fields (ValueError with one line for a bad size)."""
        from engine.resolution import parse_width_height

        req = EvalAugmentRequest(folds=self.folds.value(), steps=self.steps.value(),
                                 size=parse_width_height(self.size_edit.text()))
        req.check()
        return req

    def start(self):
        """Run the service as a job; returns its JobHandle (None when the budget is not valid)."""
        try:
            request = self.request()
        except ValueError as exc:
            self.status.setText(str(exc))
            return None
        project = self.project
        self.job = self.runner.submit("What is it worth?", lambda ctx: eval_augment(ctx, project, request),
                                      group="curation-worth", on_result=self.show_result,
                                      on_error=lambda msg: self.status.setText(f"Failed: {msg}"))
        self.job.progressChanged.connect(self._progress)
        self.job.finished.connect(self._finished)
        self.run_btn.setEnabled(False)
        self.cancel_btn.setEnabled(True)
        self.status.setText(f"Running: {request.budget()}.")
        return self.job

    def cancel(self) -> None:
        if self.job is not None and self.job.state not in FINAL_STATES:
            self.job.cancel()

    def _progress(self, fraction: float, message: str) -> None:
        self.progress.setValue(int(1000 * fraction))
        self.status.setText(message)

    def _finished(self, state: str) -> None:
        self.run_btn.setEnabled(True)
        self.cancel_btn.setEnabled(False)
        if state == "cancelled":
            self.status.setText("Cancelled: nothing was changed in the project.")

    def show_result(self, result: EvalAugmentResult, note: str = "") -> None:
        """Fill the summary, the table and the chart (or say why nothing was measured)."""
        if result.value is None:
            self.status.setText(result.problem)
            return
        s = result.summary()
        rare = ", ".join(map(str, result.rare)) or "none seen"
        self.summary.setText(
            f"{note + ' ' if note else ''}{result.request.budget()}, {len(result.value.splits)} folds, "
            f"{result.pairs} accepted pairs. mIoU {s['miou_without']:.3f} without → {s['miou_with']:.3f} with "
            f"({_pm(s['miou_delta'], s['miou_spread'])}); rare instruments ({rare}): "
            f"{_pm(s['rare_delta'], s['rare_spread'])}.")
        rows = result.rows()
        self.table.setRowCount(len(rows))
        for i, r in enumerate(rows):
            cells = (f"{r['class']} {r['name']}" + (" (rare)" if r["rare"] else ""), _n(r["without"]),
                     _n(r["with"]), _pm(r["delta"], r["spread"]), str(r["splits"]))
            for j, text in enumerate(cells):
                item = QTableWidgetItem(text)
                if j:
                    item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
                if r["rare"]:
                    item.setForeground(RARE)
                self.table.setItem(i, j, item)
        self.table.resizeColumnsToContents()
        self.chart.set_rows(rows)
        if not note:
            self.status.setText(f"Done {result.finished_at}; the export report carries this result.")


def _n(v: float) -> str:
    return "–" if math.isnan(v) else f"{v:.3f}"


def _pm(mean: float, spread: float) -> str:
    if math.isnan(mean):
        return "–"
    return f"{mean:+.3f}" + ("" if math.isnan(spread) else f" ± {spread:.3f}")
