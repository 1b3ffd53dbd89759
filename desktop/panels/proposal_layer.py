"""A model proposal (pre-segmentation or propagation) on the canvas, and accepting (part of) it as one undoable edit.

`ProposalLayer` is an extra image layer in the canvas scene, above the label overlay: it shows the
proposed classes where they differ from the current label (what accepting would change), or the
per-pixel uncertainty as a heat map. Accepting it is the engine edit op `engine.edits.accept_proposal`.
"""
from __future__ import annotations

from typing import Optional

import cv2
import numpy as np

from desktop.canvas.items import ImageItem
from desktop.canvas.overlay import class_colour_table
from desktop.qt_image import argb_values, wrap_argb32

PROPOSAL_Z = 1.5  # above the label overlay (1), below tool previews (2)
MODES = ("proposal", "uncertainty")


def heat_colours(uncertainty: np.ndarray, scale: Optional[float] = None) -> np.ndarray:
    """HxW uncertainty -> HxW uint32 premultiplied ARGB: transparent where sure, hot and opaque where unsure."""
    u = np.asarray(uncertainty, np.float32)
    top = float(scale if scale is not None else max(1e-6, float(np.percentile(u, 99.5))))
    norm = np.clip(u / top, 0.0, 1.0)
    grey = (norm * 255).astype(np.uint8)
    rgb = cv2.cvtColor(cv2.applyColorMap(grey, cv2.COLORMAP_INFERNO), cv2.COLOR_BGR2RGB)
    alpha = (np.sqrt(norm) * 230).astype(np.uint32)
    return argb_values(rgb.reshape(-1, 3), alpha.reshape(-1)).reshape(u.shape)


class ProposalLayer:
    """Owns the canvas item that draws a proposal (or its uncertainty) over the frame."""

    def __init__(self, canvas) -> None:
        self.canvas = canvas
        self.item = ImageItem()
        self.item.setZValue(PROPOSAL_Z)
        self.item.setOpacity(0.7)
        self.item.setVisible(False)
        canvas.scene().addItem(self.item)
        self._buf = np.zeros((1, 1), np.uint32)
        self.proposal: Optional[np.ndarray] = None
        self.uncertainty: Optional[np.ndarray] = None
        self.mode = "proposal"
        self.shown = True
        self._tables: dict[str, np.ndarray] = {}
        canvas.paletteChanged.connect(self._on_palette)

    def _on_palette(self, _name: str) -> None:
        self.render()

    def set_proposal(self, proposal: Optional[np.ndarray], uncertainty: Optional[np.ndarray] = None) -> None:
        """Show a proposal (HxW original IDs, same size as the frame), or clear it with None."""
        self.proposal, self.uncertainty = proposal, uncertainty
        self.render()

    def set_mode(self, mode: str) -> None:
        if mode not in MODES:
            raise ValueError(f"unknown proposal view {mode!r}: use {' or '.join(MODES)}")
        self.mode = mode
        self.render()

    def set_shown(self, shown: bool) -> None:
        self.shown = bool(shown)
        self.render()

    def render(self) -> None:
        """Redraw from the proposal and the canvas's current label (call after the label changed)."""
        label = self.canvas.label()
        if self.proposal is None or label is None or label.shape != self.proposal.shape or not self.shown:
            self.item.setVisible(False)
            return
        if self.mode == "uncertainty" and self.uncertainty is not None:
            buf = heat_colours(self.uncertainty)
        else:
            name = self.canvas.palette_name()  # the colours of the label overlay beneath
            table = self._tables.setdefault(name, class_colour_table(palette=name))
            buf = np.where(self.proposal != label, table[self.proposal], np.uint32(0)).astype(np.uint32)
        self._buf = np.ascontiguousarray(buf)
        self.item.set_image(wrap_argb32(self._buf))
        self.item.setVisible(True)

    def pixels(self) -> np.ndarray:
        """The layer's ARGB pixels as drawn (tests and screenshots)."""
        return self._buf

    def visible(self) -> bool:
        return self.item.isVisible()
