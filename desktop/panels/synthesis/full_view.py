"""A synthesized result at its own size (960x540 for a CaDIS frame), in a window of its own: the gallery and
the big view show it scaled down, too small to judge a repaint's seam or an instrument's shape."""
from __future__ import annotations

from typing import Optional

import numpy as np
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QDialog, QLabel, QScrollArea, QVBoxLayout, QWidget

from desktop.panels.hints import hint_label
from desktop.qt_image import pixmap_of


class FullSizeView(QDialog):
    """The image pixel for pixel (scrolls where the screen is smaller), with the result's warning above it."""

    def __init__(self, image: np.ndarray, title: str, warning: Optional[str] = None, parent: Optional[QWidget] = None):
        super().__init__(parent)
        self.setWindowTitle(f"{title} — {image.shape[1]}x{image.shape[0]}")
        self.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        h, w = image.shape[:2]
        self.picture = QLabel()
        self.picture.setPixmap(pixmap_of(image))  # pixel for pixel
        self.picture.setFixedSize(w, h)
        scroll = QScrollArea()
        scroll.setWidget(self.picture)
        scroll.setAlignment(Qt.AlignmentFlag.AlignCenter)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(4, 4, 4, 4)
        self.warning = hint_label(f"⚠ {warning}" if warning else "", error=True)
        self.warning.setVisible(bool(warning))
        lay.addWidget(self.warning)
        lay.addWidget(scroll, 1)
        screen = self.screen().availableGeometry() if self.screen() is not None else None
        want_w, want_h = w + 40, h + 40 + (60 if warning else 0)
        if screen is not None:
            want_w, want_h = min(want_w, screen.width() - 40), min(want_h, screen.height() - 80)
        self.resize(want_w, want_h)
