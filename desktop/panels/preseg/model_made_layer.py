"""Model-made pixels on the canvas: a hatched layer over the label pixels a model wrote (accepted from a
proposal) that no person has edited or reviewed yet (`engine.project.store_model_made`)."""
from __future__ import annotations

from typing import Optional

import numpy as np

from desktop.canvas.items import ImageItem
from desktop.qt_image import argb_values, wrap_argb32

MODEL_MADE_Z = 1.4  # above the label overlay (1), below a proposal (1.5)
HATCH = (255, 0, 255)  # magenta stripes, alternating with black ones


class ModelMadeLayer:
    """Owns the canvas item that hatches the current frame's model-made pixels (when shown)."""

    def __init__(self, canvas) -> None:
        self.canvas = canvas
        self.item = ImageItem()
        self.item.setZValue(MODEL_MADE_Z)
        self.item.setVisible(False)
        canvas.scene().addItem(self.item)
        self.values: Optional[np.ndarray] = None  # the model's value per pixel (255: none), of the shown frame
        self.shown = False
        self._buf = np.zeros((1, 1), np.uint32)

    def set_values(self, values: Optional[np.ndarray]) -> None:
        self.values = values
        self.render()

    def set_shown(self, shown: bool) -> None:
        self.shown = bool(shown)
        self.render()

    def mask(self) -> np.ndarray:
        """HxW bool: pixels of the canvas's label that still hold the model's value."""
        label = self.canvas.label()
        if self.values is None or label is None or label.shape != self.values.shape:
            return np.zeros((0, 0) if label is None else label.shape, bool)
        return (self.values != 255) & (label == self.values)

    def render(self) -> None:
        mask = self.mask()
        if not self.shown or not mask.any():
            self.item.setVisible(False)
            return
        h, w = mask.shape
        stripes = ((np.arange(h)[:, None] + np.arange(w)[None, :]) // 4) % 2 == 0
        alpha = np.where(mask, np.where(stripes, 210, 150), 0).astype(np.uint32)
        # magenta and black stripes: visible over any class colour, magenta ones included
        rgb = np.where(stripes.reshape(-1, 1), np.array(HATCH, np.uint8), np.zeros(3, np.uint8))
        self._buf = np.ascontiguousarray(argb_values(rgb, alpha.reshape(-1)).reshape(h, w))
        self.item.set_image(wrap_argb32(self._buf))
        self.item.setVisible(True)

    def pixels(self) -> np.ndarray:
        return self._buf

    def visible(self) -> bool:
        return self.item.isVisible()
