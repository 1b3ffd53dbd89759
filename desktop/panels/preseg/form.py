"""The Pre-segment panel's controls: model and head lines, train and pre-segment buttons, the proposal view and
its accept buttons, the class list, and the two annotator-aid lists. A mixin of `PresegPanel` (`_build` sets the
widgets as its attributes and connects them to its slots); layout only."""
from __future__ import annotations

import qtawesome as qta
from PySide6.QtCore import Qt
from PySide6.QtWidgets import (QCheckBox, QComboBox, QFormLayout, QGroupBox, QHBoxLayout, QLabel, QListWidget,
                               QProgressBar, QPushButton, QSlider, QVBoxLayout)

from desktop.panels.hints import ElidedLabel, hint_label

_ICON = "#c8ccd4"


class PresegForm:
    """Builds the panel's widgets."""

    def _build(self) -> None:
        self.info = ElidedLabel()  # a long head path elides: it must not push the buttons down
        self.message = hint_label(error=True)
        self.head_button = QPushButton(qta.icon("mdi6.folder-open-outline", color=_ICON), "Head folder…")
        self.head_button.setToolTip("Choose the folder of a trained pre-segmentation head (or where to train one)")
        self.head_button.clicked.connect(lambda: self.choose_head())
        self.ood_warning = hint_label(error=True)
        self.ood_warning.setVisible(False)
        self.class_set = QComboBox()
        for key, text in (("full", "All 36 classes"), ("1", "Experiment 1 (8)"), ("2", "Experiment 2 (17)"),
                          ("3", "Experiment 3 (25)")):
            self.class_set.addItem(text, key)
        self.train_button = QPushButton(qta.icon("mdi6.school-outline", color=_ICON), "Train from done frames")
        self.train_button.clicked.connect(self.train)
        self.run_button = QPushButton(qta.icon("mdi6.auto-fix", color=_ICON), "Pre-segment this frame")
        self.run_button.clicked.connect(self.presegment)
        self.auto = QCheckBox("Pre-segment each frame I open")
        self.progress = QProgressBar()
        self.progress.setRange(0, 1000)
        self.progress.setTextVisible(False)
        self.progress.setFixedHeight(6)
        form = QFormLayout()
        form.addRow("Classes", self.class_set)

        self.show_box = QCheckBox("Show proposal")
        self.show_box.setChecked(True)
        self.show_box.toggled.connect(self.layer.set_shown)
        self.heat = QCheckBox("Uncertainty heat map")
        self.heat.toggled.connect(lambda on: self.layer.set_mode("uncertainty" if on else "proposal"))
        self.threshold = QSlider(Qt.Orientation.Horizontal)
        self.threshold.setRange(50, 99)
        self.threshold.setValue(90)
        self.threshold_label = QLabel()
        self.threshold.valueChanged.connect(self._update_threshold_label)
        self.accept_all_button = QPushButton(qta.icon("mdi6.check-all", color="#3fb950"), "Accept all")
        self.accept_all_button.clicked.connect(self.accept_all)
        self.accept_conf_button = QPushButton(qta.icon("mdi6.check", color="#3fb950"), "Accept confident")
        self.accept_conf_button.clicked.connect(lambda: self.accept_confident())
        self.classes = QListWidget()
        self.classes.setMaximumHeight(110)
        self.accept_classes_button = QPushButton("Accept ticked classes")
        self.accept_classes_button.clicked.connect(lambda: self.accept_classes())
        self.replace_box = QCheckBox("Replace my labels")
        self.replace_box.setToolTip("Off: accepting fills only unlabelled pixels. On: it also overwrites what you "
                                    "painted (locked classes stay).")
        self.ignore_button = QPushButton(qta.icon("mdi6.close", color=_ICON), "Ignore")
        self.ignore_button.clicked.connect(self.clear_proposal)
        self.made_box = QCheckBox("Show model-made pixels")
        self.made_box.setToolTip("Hatch the label pixels accepted from a model that nobody has edited or reviewed")
        self.made_box.toggled.connect(self.made_layer.set_shown)
        self.review_button = QPushButton(qta.icon("mdi6.eye-check-outline", color=_ICON), "Reviewed")
        self.review_button.setToolTip("I have checked this frame's model-made pixels: count them as my labels "
                                      "(training and Suspicious labels then trust them). Marking Done alone does not.")
        self.review_button.clicked.connect(lambda: self.review_model_made())
        view_row = QHBoxLayout()
        view_row.addWidget(self.show_box)
        view_row.addWidget(self.heat)
        made_row = QHBoxLayout()
        made_row.addWidget(self.made_box, 1)
        made_row.addWidget(self.review_button)
        thr_row = QHBoxLayout()
        thr_row.addWidget(QLabel("Confidence ≥"))
        thr_row.addWidget(self.threshold, 1)
        thr_row.addWidget(self.threshold_label)
        acc_row = QHBoxLayout()
        acc_row.addWidget(self.accept_all_button)
        acc_row.addWidget(self.accept_conf_button)
        cls_row = QHBoxLayout()
        cls_row.addWidget(self.accept_classes_button)
        cls_row.addWidget(self.ignore_button)
        prop = QGroupBox("Proposal")
        pl = QVBoxLayout(prop)
        pl.addWidget(self.ood_warning)
        pl.addLayout(view_row)
        pl.addLayout(thr_row)
        pl.addLayout(acc_row)
        pl.addWidget(self.replace_box)
        pl.addWidget(self.classes)
        pl.addLayout(cls_row)
        pl.addLayout(made_row)

        self.next_list, self.next_button = self._ranked_list("Rank unlabelled frames", self.rank_label_next)
        self.sus_list, self.sus_button = self._ranked_list("Find suspicious labels", self.find_suspicious)
        aids = QGroupBox("Label next  ·  Suspicious labels")
        al = QVBoxLayout(aids)
        al.addWidget(self.next_button)
        al.addWidget(self.next_list)
        al.addWidget(self.sus_button)
        al.addWidget(self.sus_list)
        self.status = hint_label()

        lay = QVBoxLayout(self)
        lay.setContentsMargins(6, 6, 6, 6)
        head_row = QHBoxLayout()
        head_row.addWidget(self.info, 1)
        head_row.addWidget(self.head_button)
        lay.addLayout(head_row)
        lay.addWidget(self.message)
        lay.addLayout(form)
        lay.addWidget(self.train_button)
        lay.addWidget(self.run_button)
        lay.addWidget(self.auto)
        lay.addWidget(self.progress)
        lay.addWidget(prop)
        lay.addWidget(aids, 1)
        lay.addWidget(self.status)
        self._update_threshold_label()

    def _ranked_list(self, text: str, slot) -> tuple[QListWidget, QPushButton]:
        lst = QListWidget()
        lst.setMaximumHeight(120)
        lst.itemActivated.connect(lambda it: self.frameRequested.emit(it.data(Qt.ItemDataRole.UserRole)))
        lst.itemClicked.connect(lambda it: self.frameRequested.emit(it.data(Qt.ItemDataRole.UserRole)))
        button = QPushButton(qta.icon("mdi6.sort-descending", color=_ICON), text)
        button.clicked.connect(slot)
        return lst, button
