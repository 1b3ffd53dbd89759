"""The Synthesize panel's controls: model line, preset, steps, sampler, guidance, seed, variants, repaint margin
(in a "Settings" section that folds away, summarized in its tooltip), live preview, the sketch and run buttons,
progress, and the results: the big view beside a one-thumbnail-wide gallery column, accept and save.
Compact on purpose: on a 1366x768 laptop the results show without scrolling the dock. A mixin of
`SynthesisPanel` (`_build` sets the widgets as its attributes and connects them to its slots); layout only."""
from __future__ import annotations

import random

import qtawesome as qta
from PySide6.QtCore import Qt
from PySide6.QtWidgets import (QCheckBox, QComboBox, QDoubleSpinBox, QFormLayout, QHBoxLayout, QLabel, QProgressBar,
                               QPushButton, QSizePolicy, QSpinBox, QToolButton, QVBoxLayout, QWidget)

from desktop.panels.hints import hint_label
from desktop.panels.synthesis.gallery import Gallery
from engine.project.pairs import ADD_TO_CURATION, PAIR_RULE

ICON = "#c8ccd4"
SKETCH_TIP = ("Sketch a variant of this frame: paint an instrument in, move or remove one, without changing the "
              "frame's own label (nothing of a sketch is saved into it). Repaint changed region then re-synthesizes "
              "what you changed; accepting the result stores your edited mask with the pair. Click again to discard.")


class SynthesisForm:
    """Builds the panel's widgets."""

    def _build(self) -> None:
        from engine.samplers import SAMPLERS

        self.model_label = hint_label()
        self.message = hint_label(error=True)
        self.knows_label = hint_label()  # what the model was trained on (engine.models.trained_on)
        self.knows_label.setObjectName("synthKnows")
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
        for sampler in SAMPLERS.values():
            self.sampler.addItem(sampler.label, sampler.name)
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
        self.settings_toggle = QToolButton()
        self.settings_toggle.setText("Settings")
        self.settings_toggle.setCheckable(True)
        self.settings_toggle.setAutoRaise(True)
        self.settings_toggle.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        self.settings_box = QWidget()
        box = QVBoxLayout(self.settings_box)
        box.setContentsMargins(0, 0, 0, 0)
        box.addWidget(self.model_label)
        box.addLayout(form)
        self.settings_toggle.toggled.connect(self._fold_settings)
        for w in (self.preset, self.sampler):
            w.currentIndexChanged.connect(self._summarize_settings)
        for w in (self.steps, self.seed, self.variants, self.margin, self.guidance):
            w.valueChanged.connect(self._summarize_settings)
        self._fold_settings(False)

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
        self.sketch_button = QPushButton(qta.icon("mdi6.draw", color=ICON), "Sketch")
        self.sketch_button.setCheckable(True)  # pressed while a sketch is open
        self.sketch_button.setToolTip(SKETCH_TIP)
        self.sketch_button.clicked.connect(lambda: self.toggle_sketch())
        run_row = QHBoxLayout()
        run_row.addWidget(self.settings_toggle)
        run_row.addWidget(self.live)
        run_row.addStretch(1)
        run_row.addWidget(self.run_button)
        repaint_row = QHBoxLayout()
        repaint_row.addWidget(self.sketch_button)
        repaint_row.addStretch(1)
        repaint_row.addWidget(self.repaint_button)

        self.preview = QLabel()
        self.preview.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.preview.setMinimumSize(160, 90)
        self.preview.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Ignored)  # the pixmap follows it
        self.preview.setObjectName("synthPreview")
        self.preview.setToolTip("The selected result")
        self.gallery = Gallery()
        self.gallery.currentItemChanged.connect(lambda *_: self._show_selected())
        self.accept_button = QPushButton(qta.icon("mdi6.check-bold", color="#3fb950"), ADD_TO_CURATION)
        self.accept_button.setToolTip(PAIR_RULE)
        self.accept_button.clicked.connect(self.accept_selected)
        self.save_button = QPushButton(qta.icon("mdi6.content-save-outline", color=ICON), "Save as…")
        self.save_button.clicked.connect(lambda: self.save_selected())
        out_row = QHBoxLayout()
        out_row.addWidget(self.accept_button, 1)
        out_row.addWidget(self.save_button)
        self.status = hint_label()

        lay = QVBoxLayout(self)
        lay.setContentsMargins(6, 4, 6, 4)
        lay.setSpacing(4)
        lay.addWidget(self.message)
        lay.addWidget(self.fix_row)
        lay.addWidget(self.knows_label)
        lay.addLayout(run_row)
        lay.addWidget(self.settings_box)
        lay.addLayout(repaint_row)
        lay.addWidget(self.progress)
        results = QHBoxLayout()
        results.setSpacing(4)
        results.addWidget(self.preview, 1)  # the big view takes what the column has left
        results.addWidget(self.gallery)
        lay.addLayout(results, 1)
        lay.addLayout(out_row)
        lay.addWidget(self.status)
        self._update_buttons()

    def _fold_settings(self, shown: bool) -> None:
        self.settings_box.setVisible(shown)
        self.settings_toggle.setArrowType(Qt.ArrowType.DownArrow if shown else Qt.ArrowType.RightArrow)
        self._summarize_settings()

    def settings_summary(self) -> str:
        """What the settings are, in one line: "Preview · DDIM 4 steps · guidance 2.0 · seed 0 · ..."."""
        n = self.variants.value()
        return (f"{self.preset.currentText()} · {self.sampler.currentText()} {self.steps.value()} steps · "
                f"guidance {self.guidance.value():.1f} · seed {self.seed.value()} · {n} variant{'s' if n != 1 else ''}"
                f" · repaint margin {self.margin.value()} px")

    def _summarize_settings(self, *_) -> None:
        if hasattr(self, "settings_toggle"):  # (not while the form is being built)
            self.settings_toggle.setToolTip(f"{self.settings_summary()}\nClick to show or hide the model line and "
                                            "these settings")
