"""The Synthesize panel's controls: model line, preset, steps, sampler, guidance, seed, variants, repaint margin,
live preview, buttons, progress, the big view and the gallery. A mixin of `SynthesisPanel` (`_build` sets the
widgets as its attributes and connects them to its slots); layout only."""
from __future__ import annotations

import random

import qtawesome as qta
from PySide6.QtCore import Qt
from PySide6.QtWidgets import (QCheckBox, QComboBox, QDoubleSpinBox, QFormLayout, QHBoxLayout, QLabel, QProgressBar,
                               QPushButton, QSpinBox, QToolButton, QVBoxLayout, QWidget)

from desktop.panels.hints import hint_label
from desktop.panels.synthesis.gallery import Gallery

ICON = "#c8ccd4"


class SynthesisForm:
    """Builds the panel's widgets."""

    def _build(self) -> None:
        from engine.pipelines.synthesis import SAMPLERS

        self.model_label = hint_label()
        self.message = hint_label(error=True)
        self.train_button = QPushButton(qta.icon("mdi6.school-outline", color=ICON), "Train a model…")
        self.train_button.clicked.connect(self.trainRequested.emit)
        self.prefs_button = QPushButton(qta.icon("mdi6.folder-cog-outline", color=ICON), "Choose folder…")
        self.prefs_button.clicked.connect(self.preferencesRequested.emit)
        fix = QHBoxLayout()
        fix.addWidget(self.train_button)
        fix.addWidget(self.prefs_button)
        fix.addStretch(1)
        self.fix_row = QWidget()
        self.fix_row.setLayout(fix)
        fix.setContentsMargins(0, 0, 0, 0)

        self.preset = QComboBox()
        for name in ("preview", "final"):
            self.preset.addItem(name.capitalize(), name)
        self.preset.currentIndexChanged.connect(self._apply_preset)
        self.steps = QSpinBox()
        self.steps.setRange(1, 200)
        self.sampler = QComboBox()
        for s, text in zip(SAMPLERS, ("DDIM", "DPM-Solver++", "UniPC")):
            self.sampler.addItem(text, s)
        self.guidance = QDoubleSpinBox()
        self.guidance.setRange(0.0, 20.0)
        self.guidance.setSingleStep(0.5)
        self.seed = QSpinBox()
        self.seed.setRange(0, 2**31 - 1)
        self.new_seed = QCheckBox("New seed each run")
        self.new_seed.setToolTip("Off: the seed stays fixed, so only your mask changes the picture")
        dice = QToolButton()
        dice.setIcon(qta.icon("mdi6.dice-5-outline", color=ICON))
        dice.setToolTip("Pick a new seed now")
        dice.clicked.connect(lambda: self.seed.setValue(random.randrange(2**31 - 1)))
        seed_row = QHBoxLayout()
        seed_row.setContentsMargins(0, 0, 0, 0)
        seed_row.addWidget(self.seed, 1)
        seed_row.addWidget(dice)
        self.variants = QSpinBox()
        self.variants.setRange(1, 16)
        self.margin = QSpinBox()
        self.margin.setRange(0, 128)
        self.margin.setValue(16)
        self.margin.setSuffix(" px")
        self.margin.setToolTip("Repaint: pixels around your change that are re-synthesized too, to blend the seam")
        form = QFormLayout()
        form.addRow("Preset", self.preset)
        form.addRow("Steps", self.steps)
        form.addRow("Sampler", self.sampler)
        form.addRow("Guidance", self.guidance)
        form.addRow("Seed", seed_row)
        form.addRow("", self.new_seed)
        form.addRow("Variants", self.variants)
        form.addRow("Repaint margin", self.margin)
        self._apply_preset()

        self.live = QCheckBox("Live preview")
        self.live.setToolTip("Re-render a fast preview after every stroke (the newest request wins)")
        self.live.toggled.connect(self.set_live)
        self.run_button = QPushButton(qta.icon("mdi6.creation", color=ICON), "Synthesize")
        self.run_button.clicked.connect(self.synthesize)
        self.progress = QProgressBar()
        self.progress.setRange(0, 1000)
        self.progress.setTextVisible(False)
        self.progress.setFixedHeight(6)
        self.repaint_button = QPushButton(qta.icon("mdi6.brush-variant", color=ICON), "Repaint changed region")
        self.repaint_button.setToolTip("Keep the real frame; re-synthesize only where you changed the mask since "
                                       "opening the frame (plus the margin)")
        self.repaint_button.clicked.connect(lambda: self.repaint())
        run_row = QHBoxLayout()
        run_row.addWidget(self.live)
        run_row.addStretch(1)
        run_row.addWidget(self.run_button)
        repaint_row = QHBoxLayout()
        repaint_row.addStretch(1)
        repaint_row.addWidget(self.repaint_button)

        self.preview = QLabel()
        self.preview.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.preview.setMinimumSize(256, 144)
        self.preview.setObjectName("synthPreview")
        self.preview.setToolTip("The selected result")
        self.gallery = Gallery()
        self.gallery.currentItemChanged.connect(lambda *_: self._show_selected())
        self.accept_button = QPushButton(qta.icon("mdi6.check-bold", color="#3fb950"), "Accept as synthetic pair")
        self.accept_button.clicked.connect(self.accept_selected)
        self.save_button = QPushButton(qta.icon("mdi6.content-save-outline", color=ICON), "Save as…")
        self.save_button.clicked.connect(lambda: self.save_selected())
        out_row = QHBoxLayout()
        out_row.addWidget(self.accept_button, 1)
        out_row.addWidget(self.save_button)
        self.status = hint_label()

        lay = QVBoxLayout(self)
        lay.setContentsMargins(6, 6, 6, 6)
        lay.addWidget(self.model_label)
        lay.addWidget(self.message)
        lay.addWidget(self.fix_row)
        lay.addLayout(form)
        lay.addLayout(run_row)
        lay.addLayout(repaint_row)
        lay.addWidget(self.progress)
        lay.addWidget(self.preview, 2)
        lay.addWidget(self.gallery, 1)
        lay.addLayout(out_row)
        lay.addWidget(self.status)
        self._update_buttons()
