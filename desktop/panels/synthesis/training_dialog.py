"""Train a synthesis model as a background job: pick data, resolution, class set, steps and device; watch the
loss curve and the sample grid improve; cancel (a checkpoint is saved) and resume later.

The work is `engine.training.train_synthesis` run through the window's JobRunner; its events (loss every
few steps, a sample grid every N steps) reach this dialog through a queued Qt signal.
"""
from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Optional

import qtawesome as qta
from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtGui import QPixmap
from PySide6.QtWidgets import (QCheckBox, QComboBox, QDialog, QFileDialog, QFormLayout, QHBoxLayout, QLabel,
                               QLineEdit, QProgressBar, QPushButton, QSpinBox, QVBoxLayout, QWidget)

from desktop.panels.hints import hint_label
from desktop.panels.synthesis.loss_curve import LossCurve
from desktop.settings import DEVICES
from desktop.workers import CANCELLED, DONE, FAILED, JobHandle, JobRunner

GROUP = "train-synthesis"
RESOLUTIONS = ("128x72", "256x144", "384x216", "512x288")
CLASS_SETS = (("full", "All 36 classes"), ("1", "Experiment 1 (8 classes)"), ("2", "Experiment 2 (17 classes)"),
              ("3", "Experiment 3 (25 classes)"))
_ICON = "#c8ccd4"


class _Events(QObject):
    """Carries training events from the job thread to the dialog (queued: slots run in the GUI thread)."""

    event = Signal(object)


def has_run(folder: str | Path) -> bool:
    """True when `folder` holds a training run that can be resumed."""
    return (Path(folder) / "training" / "train_config.json").is_file()


class TrainingDialog(QDialog):
    """Non-modal dialog. `base_config` (an engine TrainConfig) gives the architecture and cadence; the form
    sets resolution, class set, steps and device on top of it."""

    modelReady = Signal(str)  # the trained model folder, when the user chooses to use it

    def __init__(self, runner: JobRunner, settings, project=None, base_config=None, parent: Optional[QWidget] = None):
        super().__init__(parent)
        from engine.training import TrainConfig

        self.setWindowTitle("Train a synthesis model")
        self.runner, self.settings, self.project = runner, settings, project
        self.base_config = base_config or TrainConfig()
        self.handle: Optional[JobHandle] = None
        self.result = None
        self.last_step = 0
        self._events = _Events(self)
        self._events.event.connect(self._on_event, Qt.ConnectionType.QueuedConnection)
        self._build()
        self._on_out_changed()

    # -- layout ------------------------------------------------------------------------------------
    def _build(self) -> None:
        self.source = QComboBox()
        if self.project is not None:
            self.source.addItem(f"Done frames of {self.project.name}", "project")
        self.source.addItem("A dataset, project or pair folder…", "folder")
        self.folder = QLineEdit()
        self.folder.setPlaceholderText("CaDIS dataset, project, or NAME.png + NAME.mask.png folder")
        browse = QPushButton(qta.icon("mdi6.folder-open-outline", color=_ICON), "")
        browse.clicked.connect(lambda: self._browse(self.folder))
        data_row = QHBoxLayout()
        data_row.addWidget(self.folder, 1)
        data_row.addWidget(browse)
        self.source.currentIndexChanged.connect(self._on_source)
        self.out = QLineEdit(str(self._default_out()))
        self.out.textChanged.connect(self._on_out_changed)
        out_browse = QPushButton(qta.icon("mdi6.folder-open-outline", color=_ICON), "")
        out_browse.clicked.connect(lambda: self._browse(self.out))
        out_row = QHBoxLayout()
        out_row.addWidget(self.out, 1)
        out_row.addWidget(out_browse)
        self.resolution = QComboBox()
        self.resolution.setEditable(True)
        self.resolution.addItems(RESOLUTIONS)
        h, w = self.base_config.resolution
        self.resolution.setCurrentText(f"{w}x{h}")
        self.class_set = QComboBox()
        for key, text in CLASS_SETS:
            self.class_set.addItem(text, key)
        self.class_set.setCurrentIndex(max(0, self.class_set.findData(str(self.base_config.class_set))))
        self.steps = QSpinBox()
        self.steps.setRange(1, 10_000_000)
        self.steps.setSingleStep(100)
        self.steps.setValue(int(self.base_config.max_steps))
        self.device = QComboBox()
        for d in DEVICES:
            self.device.addItem({"auto": "Automatic (GPU when present)", "cpu": "CPU", "cuda": "CUDA GPU"}[d], d)
        self.device.setCurrentIndex(DEVICES.index(self.settings.device))
        self.resume = QCheckBox("Continue the run in this folder")
        form = QFormLayout()
        form.addRow("Training data", self.source)
        form.addRow("", data_row)
        form.addRow("Model folder", out_row)
        form.addRow("Resolution", self.resolution)
        form.addRow("Classes", self.class_set)
        form.addRow("Steps", self.steps)
        form.addRow("Device", self.device)
        form.addRow("", self.resume)

        self.progress = QProgressBar()
        self.progress.setRange(0, 1000)
        self.status = hint_label("Pick the data and press Start. Cancel keeps a checkpoint to continue from.")
        self.curve = LossCurve()
        self.grid = QLabel("Samples from held-out masks appear here")
        self.grid.setObjectName("hint")
        self.grid.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.grid.setMinimumSize(300, 160)
        views = QHBoxLayout()
        views.addWidget(self.curve, 1)
        views.addWidget(self.grid, 1)
        self.start_button = QPushButton(qta.icon("mdi6.play", color="#3fb950"), "Start")
        self.start_button.clicked.connect(lambda: self.start())
        self.cancel_button = QPushButton(qta.icon("mdi6.stop", color="#f85149"), "Cancel training")
        self.cancel_button.clicked.connect(self.cancel)
        self.use_button = QPushButton(qta.icon("mdi6.check", color=_ICON), "Use this model")
        self.use_button.clicked.connect(self._use_model)
        close = QPushButton("Close")
        close.clicked.connect(self.close)
        buttons = QHBoxLayout()
        buttons.addWidget(self.start_button)
        buttons.addWidget(self.cancel_button)
        buttons.addStretch(1)
        buttons.addWidget(self.use_button)
        buttons.addWidget(close)
        lay = QVBoxLayout(self)
        lay.addLayout(form)
        lay.addWidget(self.progress)
        lay.addWidget(self.status)
        lay.addLayout(views, 1)
        lay.addLayout(buttons)
        self.resize(820, 620)
        self._on_source()
        self._set_running(False)

    def _default_out(self) -> Path:
        if self.project is not None:
            return Path(self.project.root) / "models" / "synthesis"
        return Path.home() / "CaDIS Studio" / "models" / "synthesis"

    def _browse(self, edit: QLineEdit) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Choose a folder", edit.text())
        if folder:
            edit.setText(folder)

    def _on_source(self, *_) -> None:
        self.folder.setEnabled(self.source.currentData() == "folder")

    def _on_out_changed(self, *_) -> None:
        resumable = has_run(self.out.text().strip())
        self.resume.setEnabled(resumable)
        self.resume.setChecked(resumable)

    def _set_running(self, running: bool) -> None:
        self.start_button.setEnabled(not running)
        self.cancel_button.setEnabled(running)
        self.use_button.setEnabled(not running and (Path(self.out.text().strip()) / "config.json").is_file())

    # -- running -----------------------------------------------------------------------------------
    def config(self):
        """The TrainConfig the form describes."""
        from engine.resolution import parse_width_height

        width, height = parse_width_height(self.resolution.currentText().strip())
        return replace(self.base_config, resolution=(height, width),
                       class_set=self.class_set.currentData(), max_steps=self.steps.value(),
                       device=self.device.currentData())

    def _data(self):
        if self.source.currentData() == "project" and self.project is not None:
            return None  # read in the job from the open project
        folder = self.folder.text().strip()
        if not folder:
            raise ValueError("choose a dataset, project or pair folder to train on")
        return folder

    def start(self) -> Optional[JobHandle]:
        """Start (or, with 'Continue' ticked, resume) training; returns the job handle."""
        try:
            cfg, data = self.config(), self._data()
        except ValueError as exc:
            self.status.setText(str(exc))
            return None
        out, resume, project, events = Path(self.out.text().strip()), self.resume.isChecked(), self.project, self._events
        if data is None and not project.keys_with_status("done"):
            self.status.setText("The project has no frames marked done yet: finish and mark a few frames done (D), "
                                "or train on a dataset folder.")
            return None
        if not resume:
            self.curve.clear()

        def job(ctx):
            from engine.training import TrainingPair, train_synthesis

            source = data
            if source is None:
                source = [TrainingPair(project.record(k).image_path, project.load_label(k), k, project.record(k).split)
                          for k in project.keys_with_status("done")]
            return train_synthesis(source, out, cfg, resume=resume, ctx=ctx, on_event=events.event.emit)

        self.handle = self.runner.submit(f"Train synthesis model ({out.name})", job, group=GROUP,
                                         on_result=self._on_result, on_error=self._on_error, device=cfg.device)
        self.handle.progressChanged.connect(self._on_progress)
        self.handle.finished.connect(self._on_finished)
        self._set_running(True)
        self.status.setText("Starting…")
        return self.handle

    def cancel(self) -> None:
        """Stop training; the engine saves a checkpoint first, so 'Continue' resumes from it."""
        if self.handle is not None and not self.handle.is_finished():
            self.handle.cancel()
            self.status.setText("Stopping at the next step and saving a checkpoint…")

    # -- reactions ---------------------------------------------------------------------------------
    def _on_event(self, event: dict) -> None:
        if event.get("kind") == "log":
            self.last_step = int(event["step"])
            self.curve.add(self.last_step, float(event["loss"]))
        elif event.get("kind") == "samples":
            pm = QPixmap(str(event["path"]))
            if not pm.isNull():
                self.grid.setPixmap(pm.scaled(self.grid.width(), self.grid.height(), Qt.AspectRatioMode.KeepAspectRatio,
                                              Qt.TransformationMode.SmoothTransformation))
                self.grid.setToolTip(f"Samples at step {event['step']}: mask | real frame | model")

    def _on_progress(self, fraction: float, message: str) -> None:
        self.progress.setValue(int(fraction * 1000))
        self.status.setText(message)

    def _on_result(self, result) -> None:
        self.result = result
        self.status.setText(f"Trained to step {result.step} (loss {result.last_loss:.4f}); the model is in "
                            f"{result.model_dir}. Press 'Use this model' to synthesize with it.")

    def _on_error(self, message: str) -> None:
        self.status.setText(f"Training failed: {message}")

    def _on_finished(self, state: str) -> None:
        self._set_running(False)
        self._on_out_changed()
        if state == CANCELLED:
            self.status.setText("Cancelled. " + ("A checkpoint was saved: press Start with 'Continue' ticked to resume."
                                                 if self.resume.isChecked() else "No step had finished yet."))
        elif state not in (DONE, FAILED):
            self.status.setText(state)

    def _use_model(self) -> None:
        folder = self.out.text().strip()
        self.settings.model_dir = folder
        self.settings.sync()
        self.modelReady.emit(folder)
        self.status.setText(f"The app now uses {folder}")
