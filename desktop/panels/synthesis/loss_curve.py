"""A small live loss plot drawn with QPainter (no plotting library): raw points and a smoothed line."""
from __future__ import annotations

import math
from typing import Optional

from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QColor, QPainter, QPainterPath, QPen
from PySide6.QtWidgets import QSizePolicy, QWidget

_BG, _GRID, _TEXT = QColor("#15171b"), QColor("#2c2f36"), QColor("#8b93a1")
_RAW, _SMOOTH = QColor(74, 163, 255, 90), QColor("#4aa3ff")


def smooth(values: list[float], weight: float = 0.8) -> list[float]:
    """Exponential moving average with bias correction (the curve training dashboards draw)."""
    out, avg = [], 0.0
    for i, v in enumerate(values):
        avg = weight * avg + (1 - weight) * v
        out.append(avg / (1 - weight ** (i + 1)))
    return out


class LossCurve(QWidget):
    """Loss against step; `add(step, loss)` appends a point and repaints, `clear()` starts over."""

    def __init__(self, parent: Optional[QWidget] = None):
        super().__init__(parent)
        self.steps: list[int] = []
        self.losses: list[float] = []
        self.setMinimumSize(260, 140)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)

    def add(self, step: int, loss: float) -> None:
        if math.isfinite(loss):
            self.steps.append(int(step))
            self.losses.append(float(loss))
            self.update()

    def clear(self) -> None:
        self.steps, self.losses = [], []
        self.update()

    def _plot_rect(self) -> QRectF:
        return QRectF(58, 10, max(10, self.width() - 70), max(10, self.height() - 34))

    def paintEvent(self, _event) -> None:  # noqa: N802 - Qt name
        p = QPainter(self)
        p.setRenderHint(QPainter.RenderHint.Antialiasing)
        p.fillRect(self.rect(), _BG)
        r = self._plot_rect()
        p.setPen(QPen(_GRID, 1))
        for i in range(5):
            y = r.top() + r.height() * i / 4
            p.drawLine(QPointF(r.left(), y), QPointF(r.right(), y))
        p.setPen(_TEXT)
        if len(self.losses) < 1:
            p.drawText(self.rect(), Qt.AlignmentFlag.AlignCenter, "The loss appears here as training runs")
            return
        lo, hi = min(self.losses), max(self.losses)
        if hi - lo < 1e-12:
            lo, hi = lo - 0.5 * abs(lo or 1), hi + 0.5 * abs(hi or 1)
        s0, s1 = self.steps[0], max(self.steps[-1], self.steps[0] + 1)

        def pt(step: int, loss: float) -> QPointF:
            return QPointF(r.left() + r.width() * (step - s0) / (s1 - s0),
                           r.bottom() - r.height() * (loss - lo) / (hi - lo))

        for i in range(5):
            value = hi - (hi - lo) * i / 4
            p.drawText(QRectF(0, r.top() + r.height() * i / 4 - 8, 54, 16),
                       Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter, f"{value:.3g}")
        p.drawText(QRectF(r.left(), r.bottom() + 4, r.width(), 16), Qt.AlignmentFlag.AlignLeft, f"step {s0}")
        p.drawText(QRectF(r.left(), r.bottom() + 4, r.width(), 16), Qt.AlignmentFlag.AlignRight, f"step {s1}")
        for values, colour, width in ((self.losses, _RAW, 1.0), (smooth(self.losses), _SMOOTH, 2.0)):
            path = QPainterPath(pt(self.steps[0], values[0]))
            for s, v in zip(self.steps[1:], values[1:]):
                path.lineTo(pt(s, v))
            p.setPen(QPen(colour, width))
            p.drawPath(path)
        p.end()
