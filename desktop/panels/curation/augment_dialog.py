"""The "Augment…" dialog: how many layout variants and samples per frame, on which frames, and the filters.

`AugmentDialog(frame_count, current_key, has_head).request()` gives the `engine.services.augment.AugmentRequest`
that `cadis augment` makes from its options (model and head folders are filled in by the curation panel)."""
from __future__ import annotations

from typing import Optional

from PySide6.QtWidgets import (QCheckBox, QComboBox, QDialog, QDialogButtonBox, QDoubleSpinBox, QFormLayout,
                               QLabel, QSpinBox, QVBoxLayout, QWidget)

from engine.services.augment import AugmentRequest


class AugmentDialog(QDialog):
    """Settings of a batch augment run (`cadis augment` in the app)."""

    def __init__(self, done_frames: int, current_key: Optional[str], has_head: bool, model_text: str,
                 parent: Optional[QWidget] = None):
        super().__init__(parent)
        self.setWindowTitle("Augment: new layouts, new frames")
        self._current = current_key
        self.frames = QComboBox()
        self.frames.addItem(f"All done frames ({done_frames})", "done")
        if current_key:
            self.frames.addItem(f"Current frame only ({current_key.rsplit('/', 1)[-1]})", "current")
        self.mode = QComboBox()
        self.mode.addItem("Repaint what the layout changed", "repaint")
        self.mode.addItem("Synthesize whole frames", "full")
        self.mode.setToolTip("repaint keeps the real frame outside each change (plus the margin), like "
                             "`cadis augment --mode repaint`; whole frames are `--mode full`")
        self.margin = self._spin(0, 256, AugmentRequest.margin, "pixels around a change that are repainted too")
        self.mode.currentIndexChanged.connect(lambda _i: self.margin.setEnabled(self.mode.currentData() == "repaint"))
        self.layouts = self._spin(1, 64, 4, "layout variants of each frame's mask (move, rotate, mirror, paste)")
        self.samples = self._spin(1, 16, 2, "synthesized images per layout variant")
        self.steps = self._spin(1, 200, 20, "sampling steps of the synthesis model")
        self.seed = self._spin(0, 2**31 - 1, 0, "base seed; the same seed resumes the same run")
        self.use_min = QCheckBox("Drop pairs with label consistency under")
        self.min_consistency = QDoubleSpinBox()
        self.min_consistency.setRange(0.0, 1.0)
        self.min_consistency.setSingleStep(0.05)
        self.min_consistency.setValue(0.5)
        self.drop = QDoubleSpinBox()
        self.drop.setRange(0.0, 90.0)
        self.drop.setSuffix(" %")
        self.drop.setValue(10.0 if has_head else 0.0)
        self.drop.setToolTip("after the run, reject this share of the most uncertain new pairs "
                             "(the reference method drops 10%)")
        for w in (self.use_min, self.min_consistency, self.drop):
            w.setEnabled(has_head)
        self.min_consistency.setEnabled(False)
        self.use_min.toggled.connect(self.min_consistency.setEnabled)
        form = QFormLayout()
        form.addRow("Frames", self.frames)
        form.addRow("Mode", self.mode)
        form.addRow("Margin (px)", self.margin)
        form.addRow("Layouts per frame (K)", self.layouts)
        form.addRow("Samples per layout (M)", self.samples)
        form.addRow("Steps", self.steps)
        form.addRow("Seed", self.seed)
        form.addRow(self.use_min, self.min_consistency)
        form.addRow("Drop most uncertain", self.drop)
        hint = QLabel(f"Model: {model_text}" + ("" if has_head else
                      "<br>No pre-segmentation head: pairs are stored without consistency / uncertainty scores "
                      "(train one to filter automatically)."))
        hint.setWordWrap(True)
        hint.setObjectName("hint")
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        buttons.button(QDialogButtonBox.StandardButton.Ok).setText("Run")
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        lay = QVBoxLayout(self)
        lay.addLayout(form)
        lay.addWidget(hint)
        lay.addWidget(buttons)

    @staticmethod
    def _spin(lo: int, hi: int, value: int, tip: str) -> QSpinBox:
        s = QSpinBox()
        s.setRange(lo, hi)
        s.setValue(value)
        s.setToolTip(tip)
        return s

    def request(self) -> AugmentRequest:
        frames = [self._current] if self.frames.currentData() == "current" and self._current else None
        return AugmentRequest(
            layouts=self.layouts.value(), samples=self.samples.value(), steps=self.steps.value(),
            seed=self.seed.value(), frames=frames, mode=self.mode.currentData(), margin=self.margin.value(),
            preset="final",
            min_consistency=self.min_consistency.value() if self.use_min.isChecked() else None,
            drop_uncertain=self.drop.value() / 100.0 if self.drop.isEnabled() else 0.0)
