"""The Edit panel: text-guided edits of the current frame with the user's local Stable Diffusion (issue 6).

Wiring (done by the window; this module touches no other desktop file)::

    panel = TextEditPanel(window.doc, window.runner, window.settings)
    dock = add_dock(window, "Text edit", panel, Qt.DockWidgetArea.RightDockWidgetArea)
    panel.pairAdded.connect(curation_panel.refresh)       # int: id of the synthetic pair just stored
    panel.preferencesRequested.connect(window.preferences) # the "Open Preferences…" link of the SD message
    # after the preferences dialog closed: panel.check_sd()

It follows `document.frameChanged` / `projectChanged` by itself (the sweep of another frame is cleared).
Settings used: `settings.sd_dir` (Stable Diffusion folder), `settings.device`, `settings.model_dir` and
`settings.preseg_dir` (a pre-segmentation head adds a label-consistency mIoU under each result).
Imagic's optimised embedding and tuned weights are cached in `<project>/cache/textedit/`, so a new α or
seed costs one sampling run. Runs are jobs of group "textedit": a new run cancels the previous one.
"""
from __future__ import annotations

from typing import Callable, Optional

import cv2
import numpy as np
import qtawesome as qta
from PySide6.QtCore import QSize, Qt, Signal
from PySide6.QtGui import QIcon, QPixmap
from PySide6.QtWidgets import (QAbstractItemView, QComboBox, QDoubleSpinBox, QFormLayout, QGroupBox, QHBoxLayout,
                               QLabel, QLineEdit, QListView, QListWidget, QListWidgetItem, QProgressBar, QPushButton,
                               QSpinBox, QToolButton, QVBoxLayout, QWidget)

from desktop.panels.textedit.jobs import TextEditModels, caption, edit_job, parse_alphas, propose_job, sd_problem
from desktop.panels.textedit.region_picker import RegionPicker
from desktop.qt_image import rgb_to_qimage
from desktop.workers import FINAL_STATES, JobHandle
from engine.taxonomy import CLASS_NAMES
from engine.project.pairs import ADD_TO_CURATION, PAIR_RULE
from engine.services.textedit import edit_settings, project_cache_dir, store_pair

_ICON = "#c8ccd4"
THUMB = QSize(176, 99)
METHOD_TEXT = {"sdedit": "SDEdit (fast, image-to-image)", "imagic": "Imagic (optimise, fine-tune, α sweep)",
               "invert": "DDIM inversion (deterministic)"}


class TextEditPanel(QWidget):
    """Prompt, method and its knobs, a run with stage progress and cancel, the sweep gallery, accept."""

    pairAdded = Signal(int)
    preferencesRequested = Signal()

    def __init__(self, document, runner, settings, parent: Optional[QWidget] = None):
        super().__init__(parent)
        self.setObjectName("textEditPanel")
        self.doc, self.runner, self.settings = document, runner, settings
        self.models = TextEditModels()
        self.presegment: Optional[Callable] = None  # injected pre-segmenter (else a head from the settings)
        self.results: list = []
        self.result_key: Optional[str] = None
        self.result_label: Optional[np.ndarray] = None
        self.result_prompt = ""
        self.job: Optional[JobHandle] = None
        self.stages: list[str] = []
        self.last_message = ""
        self._build()
        self.propose_handle: Optional[JobHandle] = None
        self.doc.frameChanged.connect(lambda _k: self.clear_results())
        self.doc.projectChanged.connect(self.clear_results)
        self.doc.labelEdited.connect(lambda _r: self.refresh_region())
        self.check_sd()
        self.refresh_region()

    # -- building ----------------------------------------------------------------------------------
    def _build(self) -> None:
        self.sd_message = QLabel()
        self.sd_message.setWordWrap(True)
        self.sd_message.setObjectName("warning")
        self.sd_message.setStyleSheet("QLabel#warning { color: #e3b341; }")
        self.prefs_btn = QPushButton(qta.icon("mdi6.cog-outline", color=_ICON), "Open Preferences…")
        self.prefs_btn.clicked.connect(self.preferencesRequested)
        self.prompt = QLineEdit()
        self.prompt.setPlaceholderText("e.g. a cataract surgery frame with heavy bleeding")
        self.method = QComboBox()
        for m, text in METHOD_TEXT.items():
            self.method.addItem(text, m)
        self.strength = QDoubleSpinBox()
        self.strength.setRange(0.0, 1.0)
        self.strength.setSingleStep(0.05)
        self.strength.setValue(0.5)
        self.alphas = QLineEdit("1.2, 1.4, 1.6")
        self.alphas.setToolTip("α of lerp/slerp between the optimised embedding (α = 0) and the prompt (α = 1); "
                               "1.4-1.7 often keeps the layout while changing the style")
        self.interp = QComboBox()
        self.interp.addItems(["lerp", "slerp"])
        self.seed = self._spin(0, 2**31 - 1, 0)
        self.steps = self._spin(1, 200, 50)
        self.guidance = QDoubleSpinBox()
        self.guidance.setRange(0.0, 30.0)
        self.guidance.setValue(3.0)
        self.opt_steps = self._spin(0, 5000, 100)
        self.tune_steps = self._spin(0, 5000, 200)
        self.tune = QComboBox()
        for value, text in (("auto", "auto (LoRA when peft is installed)"), ("lora", "LoRA adapter"),
                            ("full", "full UNet")):
            self.tune.addItem(text, value)
        for combo in (self.method, self.tune):  # long item texts must not widen the narrow dock column
            combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
            combo.setMinimumContentsLength(14)
        self.tune.setToolTip("LoRA fine-tuning needs far less GPU memory and a much smaller cache entry")
        self.resolution = QLineEdit()
        self.resolution.setPlaceholderText("model default, e.g. 512x320")
        self.resolution.setToolTip("the size the model works at (WxH); lower it when the GPU runs out of memory")
        self.method.currentIndexChanged.connect(self._method_changed)
        form = QFormLayout()
        form.addRow("Prompt", self.prompt)
        form.addRow("Method", self.method)
        form.addRow("Strength", self.strength)
        form.addRow("α sweep", self.alphas)
        form.addRow("Interpolation", self.interp)
        self.region = RegionPicker()
        self.region.proposeRequested.connect(self.propose)
        region_box = QGroupBox("Where to edit")
        QVBoxLayout(region_box).addWidget(self.region)
        self.more_btn = QToolButton()
        self.more_btn.setText("More settings")
        self.more_btn.setCheckable(True)
        self.more_btn.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        self.more_btn.setArrowType(Qt.ArrowType.RightArrow)
        self.more = QWidget()
        more = QFormLayout(self.more)
        more.setContentsMargins(0, 0, 0, 0)
        more.addRow("Seed", self.seed)
        more.addRow("Steps", self.steps)
        more.addRow("Guidance", self.guidance)
        more.addRow("Optimisation steps", self.opt_steps)
        more.addRow("Fine-tuning steps", self.tune_steps)
        more.addRow("Fine-tuning", self.tune)
        more.addRow("Resolution", self.resolution)
        self.more.setVisible(False)
        self.more_btn.toggled.connect(self._toggle_more)

        self.run_btn = QPushButton(qta.icon("mdi6.auto-fix", color=_ICON), "Edit frame")
        self.run_btn.clicked.connect(self.run)
        self.cancel_btn = QPushButton(qta.icon("mdi6.stop", color=_ICON), "Cancel")
        self.cancel_btn.clicked.connect(self.cancel)
        self.cancel_btn.setEnabled(False)
        buttons = QHBoxLayout()
        buttons.addWidget(self.run_btn)
        buttons.addWidget(self.cancel_btn)
        self.progress = QProgressBar()
        self.progress.setVisible(False)
        self.stage = QLabel("")
        self.stage.setObjectName("hint")
        self.gallery = QListWidget()
        self.gallery.setObjectName("editGallery")
        self.gallery.setViewMode(QListView.ViewMode.IconMode)
        self.gallery.setIconSize(THUMB)
        self.gallery.setGridSize(QSize(THUMB.width() + 16, THUMB.height() + 64))
        self.gallery.setResizeMode(QListView.ResizeMode.Adjust)
        self.gallery.setMovement(QListView.Movement.Static)
        self.gallery.setWordWrap(True)
        self.gallery.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.gallery.itemSelectionChanged.connect(self._update_buttons)
        self.accept_btn = QPushButton(qta.icon("mdi6.check", color=_ICON), ADD_TO_CURATION)
        self.accept_btn.setToolTip(PAIR_RULE)
        self.accept_btn.clicked.connect(self.accept_selected)
        self.message = QLabel("")
        self.message.setWordWrap(True)
        self.message.setObjectName("hint")

        lay = QVBoxLayout(self)
        lay.setContentsMargins(4, 4, 4, 4)
        lay.addWidget(self.sd_message)
        lay.addWidget(self.prefs_btn, 0, Qt.AlignmentFlag.AlignLeft)
        lay.addLayout(form)
        lay.addWidget(region_box)
        lay.addWidget(self.more_btn)
        lay.addWidget(self.more)
        lay.addLayout(buttons)
        lay.addWidget(self.progress)
        lay.addWidget(self.stage)
        lay.addWidget(self.gallery, 1)
        lay.addWidget(self.accept_btn)
        lay.addWidget(self.message)
        self._method_changed()

    @staticmethod
    def _spin(lo: int, hi: int, value: int) -> QSpinBox:
        s = QSpinBox()
        s.setRange(lo, hi)
        s.setValue(value)
        return s

    def _toggle_more(self, shown: bool) -> None:
        self.more.setVisible(shown)
        self.more_btn.setArrowType(Qt.ArrowType.DownArrow if shown else Qt.ArrowType.RightArrow)

    def _method_changed(self) -> None:
        m = self.method.currentData()
        imagic = m == "imagic"
        for w in (self.alphas, self.interp, self.opt_steps, self.tune_steps, self.tune):
            w.setEnabled(imagic)
        self.strength.setEnabled(not imagic)
        if m == "invert" and self.strength.value() == 0.5:
            self.strength.setValue(1.0)
        elif m == "sdedit" and self.strength.value() == 1.0:
            self.strength.setValue(0.5)

    # -- state -------------------------------------------------------------------------------------
    def check_sd(self) -> str:
        """Re-read the Stable Diffusion folder from the settings; returns the problem ("" when usable)."""
        problem = sd_problem(self.settings.sd_dir)
        self.sd_message.setText(problem)
        self.sd_message.setVisible(bool(problem))
        self.prefs_btn.setVisible(bool(problem))
        self._update_buttons()
        return problem

    def _running(self) -> bool:
        return self.job is not None and self.job.state not in FINAL_STATES

    def _update_buttons(self) -> None:
        ready = self.doc.image is not None and not self.sd_message.text()
        self.run_btn.setEnabled(ready and not self._running())
        self.cancel_btn.setEnabled(self._running())
        self.accept_btn.setEnabled(bool(self.gallery.selectedItems()) and self.doc.project is not None)
        self.region.propose_btn.setEnabled(ready and self.doc.label is not None)

    def clear_results(self) -> None:
        self.results, self.result_key, self.result_label = [], None, None
        self.gallery.clear()
        self.refresh_region()
        self._update_buttons()

    def refresh_region(self) -> None:
        """The class picker follows the frame shown (and its label as edited)."""
        self.region.set_frame(self.doc.image, None if self.doc.label is None else self.doc.label.copy())

    def edit_settings(self):
        """The EditSettings of the form (ValueError with a plain message when a field is wrong)."""
        from engine.resolution import parse_width_height

        m = self.method.currentData()
        alphas = tuple(parse_alphas(self.alphas.text())) if m == "imagic" else (1.0,)
        res = parse_width_height(self.resolution.text()) if self.resolution.text().strip() else None
        if self.region.problem():
            raise ValueError(self.region.problem())
        return edit_settings(method=m, strength=None if m == "imagic" else self.strength.value(), alphas=alphas,
                            interp=self.interp.currentText(), steps=self.steps.value(),
                            guidance=self.guidance.value(), seed=self.seed.value(), opt_steps=self.opt_steps.value(),
                            tune_steps=self.tune_steps.value(), tune=self.tune.currentData(),
                            resolution=res, region=self.region.mode_value(),
                            region_classes=self.region.checked_classes())

    def propose(self) -> Optional[JobHandle]:
        """The prompt's region (DiffEdit) for the current frame as a background job; shown in the picker."""
        from engine.resolution import parse_width_height

        prompt = self.prompt.text().strip()
        if self.check_sd() or self.doc.image is None or self.doc.label is None or not prompt:
            self._say(self.sd_message.text() or "Open a frame and type a prompt first: the region is where the "
                      "prompt would change this frame.")
            return None
        try:
            res = parse_width_height(self.resolution.text()) if self.resolution.text().strip() else None
        except ValueError as exc:
            self._say(str(exc))
            return None
        settings, image, label, key = edit_settings(seed=self.seed.value(), resolution=res), \
            self.doc.image.copy(), self.doc.label.copy(), self.doc.key
        sd_dir, device, models = self.settings.sd_dir, self.settings.device, self.models
        self.propose_handle = self.runner.submit(
            "Text edit: propose region",
            lambda ctx: propose_job(ctx, models, sd_dir, device, image, label, prompt, settings), group="textedit",
            on_result=lambda res: self._show_proposal(res, key), on_error=self._failed)
        self.propose_handle.progressChanged.connect(self._on_progress)
        self.stage.setText("proposing the region…")
        return self.propose_handle

    def _show_proposal(self, proposal, key: str) -> None:
        self.stage.setText("")
        if key == self.doc.key:
            self.region.set_proposal(proposal)
            names = ", ".join(CLASS_NAMES[c] for c in proposal.classes)
            self._say(f"The prompt would change {names}: check or uncheck classes, then Edit frame." if names else
                      "The prompt's mask covers no class by half: check the classes to edit yourself.")

    # -- running -----------------------------------------------------------------------------------
    def run(self) -> Optional[JobHandle]:
        """Edit the current frame with the form's settings as a background job."""
        if self.check_sd():
            self._say(self.sd_message.text())
            return None
        if self.doc.image is None or self.doc.key is None:
            self._say("Open a frame first: the edit works on the frame shown in the canvas.")
            return None
        prompt = self.prompt.text().strip()
        if not prompt:
            self._say("Type a prompt describing the look you want (e.g. 'heavy bleeding, dim light').")
            return None
        try:
            settings = self.edit_settings()
        except ValueError as exc:
            self._say(str(exc))
            return None
        key, image, label = self.doc.key, self.doc.image.copy(), self.doc.label.copy()
        project = self.doc.project
        cache_dir = project_cache_dir(project) if project is not None else None
        model_dir = self.settings.model_dir
        from engine.services.preseg import find_head_dir
        head = find_head_dir(self.settings.preseg_dir, project and project.root, model_dir) if self.presegment is None else ""
        preseg_source = (model_dir, head) if head else None
        sd_dir, device, models, presegment = self.settings.sd_dir, self.settings.device, self.models, self.presegment
        self.stages = stages = []
        self.job = self.runner.submit(
            f"Text edit ({settings.method})",
            lambda ctx: edit_job(ctx, models, sd_dir, device, image, label, prompt, settings, cache_dir, presegment,
                                 preseg_source, stages),
            group="textedit", on_result=lambda res: self._show_results(res, key, label, prompt),
            on_error=self._failed)
        self.job.progressChanged.connect(self._on_progress)
        self.job.finished.connect(self._on_finished)
        self.progress.setValue(0)
        self.progress.setVisible(True)
        self.stage.setText("starting…")
        self._say("")
        self._update_buttons()
        return self.job

    def cancel(self) -> None:
        if self._running():
            self.job.cancel()
            self.stage.setText("cancelling after the current step…")

    def _on_progress(self, fraction: float, message: str) -> None:
        self.progress.setValue(int(round(100 * fraction)))
        self.stage.setText(message)

    def _on_finished(self, state: str) -> None:
        self.progress.setVisible(False)
        if state == "cancelled":
            self.stage.setText("")
            self._say("Edit cancelled; nothing was stored.")
        elif state == "done":
            self.stage.setText("")
        self._update_buttons()

    def _failed(self, message: str) -> None:
        if "out of memory" in message.lower():
            self._say(f"Not enough GPU memory: {message}")
        elif "Stable Diffusion" in message:
            self._say(f"{message} Open File > Preferences… to choose another folder.")
        else:
            self._say(f"The edit failed: {message}")

    def _show_results(self, results: list, key: str, label: np.ndarray, prompt: str) -> None:
        self.results, self.result_key, self.result_label, self.result_prompt = list(results), key, label, prompt
        self.gallery.clear()
        for n, res in enumerate(self.results):
            thumb = cv2.resize(res.image, (THUMB.width(), THUMB.height()), interpolation=cv2.INTER_AREA)
            item = QListWidgetItem(QIcon(QPixmap.fromImage(rgb_to_qimage(thumb))), caption(res))
            item.setData(Qt.ItemDataRole.UserRole, n)
            item.setToolTip(f"{res.method} · seed {res.seed}" + (f" · α {res.alpha:g}" if res.alpha is not None else ""))
            self.gallery.addItem(item)
        if self.gallery.count():
            self.gallery.setCurrentRow(0)
            self._say(f"{len(self.results)} result(s) for {key.rsplit('/', 1)[-1]}: select one or more and "
                      "add them to curation (the frame's label goes with them, unchanged; accept them there to export).")
        self._update_buttons()

    # -- accepting ---------------------------------------------------------------------------------
    def accept_selected(self) -> list[int]:
        """Store each selected edit with the frame's label as a synthetic pair; returns the new ids."""
        project = self.doc.project
        if project is None or self.result_key is None:
            return []
        ids = []
        for item in self.gallery.selectedItems():
            res = self.results[item.data(Qt.ItemDataRole.UserRole)]
            try:
                pid = store_pair(project, self.result_key, self.result_label, res, self.result_prompt)
            except Exception as exc:  # noqa: BLE001
                self._say(f"Could not store the edit: {exc}")
                break
            ids.append(pid)
            item.setText(caption(res) + f"\npair {pid} → Curation")
            self.pairAdded.emit(pid)
        if ids:
            self._say(f"Added {len(ids)} pair(s) ({', '.join(map(str, ids))}) to curation as pending: accept them "
                      "there to export them.")
        return ids

    def _say(self, text: str) -> None:
        self.last_message = text
        self.message.setText(text)
