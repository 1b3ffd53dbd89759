"""The Propagate dock: carry the label of the frame shown to the frames before or after it in its video (or up to
the next labelled frame) as a job with progress and cancel (`engine.propagate.project.propagate_in_project`).

Each reached frame gets a proposal with a per-pixel confidence, drawn like a pre-segmentation proposal
(`ProposalLayer`: what accepting would change, or the doubt as a heat map) and accepted the same ways
(`engine.propagate.accept.accept_propagated` -> `engine.edits.accept_proposal`): unlabelled pixels only unless
"Replace my labels", confident pixels only or all, one undo step. Frames with a proposal not yet accepted are
listed as "propagated, not reviewed" (this dock's own list; the frame list's model-made marks are another
developer's work). A chain that stops says why, in the dock.
"""
from __future__ import annotations

from typing import Optional

import qtawesome as qta
from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (QCheckBox, QDoubleSpinBox, QFormLayout, QHBoxLayout, QLabel, QListWidget,
                               QListWidgetItem, QPushButton, QSpinBox, QVBoxLayout, QWidget)

from desktop.panels.propagate.sam_method import SamMethod
from desktop.panels.proposal_layer import ProposalLayer
from desktop.workers import JobHandle, JobRunner

GROUP = "propagate"
_ICON = "#c8ccd4"
MODE_TITLES = {"forward": "Propagate forward", "backward": "Propagate backward",
               "to-next-labelled": "Propagate to the next labelled frame"}


def _threshold(value: float, tip: str) -> QDoubleSpinBox:
    box = QDoubleSpinBox()
    box.setRange(0.0, 0.99)
    box.setSingleStep(0.05)
    box.setValue(value)
    box.setToolTip(tip)
    return box


class PropagatePanel(QWidget):
    """Dock contents; `canvas` is the window's CanvasView (proposals are drawn in its scene)."""

    frameRequested = Signal(str)  # an entry of the "not reviewed" list was clicked

    def __init__(self, doc, runner: JobRunner, canvas, parent: Optional[QWidget] = None):
        super().__init__(parent)
        self.doc, self.runner, self.canvas = doc, runner, canvas
        self.layer = ProposalLayer(canvas)
        self.proposals: dict[str, tuple] = {}   # frame key -> (label, confidence)
        self.reviewed: set[str] = set()          # frames whose proposal was accepted (in part)
        self.handle: Optional[JobHandle] = None
        self.method = SamMethod()  # optical flow, or SAM 2's video model when the segmentation folder has it
        self._build()
        self._update_buttons()

    # -- layout ------------------------------------------------------------------------------------
    def _build(self) -> None:
        intro = QLabel("Carry this frame's label to the neighbouring frames of its video (optical flow, or SAM 2's "
                       "video model when its folder is set; every class at once). Accept the confident pixels, then "
                       "fix the rest.")
        intro.setWordWrap(True)
        self.count = QSpinBox()
        self.count.setRange(1, 1000)
        self.count.setValue(10)
        self.count.setSuffix(" frames")
        from engine.propagate.accept import DEFAULT_ACCEPT_CONFIDENCE
        from engine.propagate.chain import DEFAULT_MIN_CONFIDENCE

        self.min_conf = _threshold(DEFAULT_MIN_CONFIDENCE, "A chain stops at a frame whose mean confidence is below "
                                   "this (the view changed too much: a proposal there would cost more to fix than "
                                   "drawing from scratch)")
        self.accept_min = _threshold(DEFAULT_ACCEPT_CONFIDENCE, "'Accept confident' takes the pixels whose confidence "
                                     "is at or above this; higher leaves more doubtful pixels for you to label")
        self.backward = QPushButton(qta.icon("mdi6.chevron-double-left", color=_ICON), "Backward")
        self.forward = QPushButton(qta.icon("mdi6.chevron-double-right", color=_ICON), "Forward")
        self.to_next = QPushButton(qta.icon("mdi6.debug-step-over", color=_ICON), "To next labelled")
        self.cancel = QPushButton("Cancel")
        self.backward.clicked.connect(lambda: self.propagate("backward"))
        self.forward.clicked.connect(lambda: self.propagate("forward"))
        self.to_next.clicked.connect(lambda: self.propagate("to-next-labelled"))
        self.cancel.clicked.connect(self.cancel_job)
        self.accept_conf = QPushButton(qta.icon("mdi6.check", color=_ICON), "Accept confident")
        self.accept_all = QPushButton(qta.icon("mdi6.check-all", color=_ICON), "Accept all")
        self.replace = QCheckBox("Replace my labels")
        self.show_doubt = QCheckBox("Show doubt")
        self.accept_conf.clicked.connect(self.accept_confident)
        self.accept_all.clicked.connect(self.accept_everything)
        self.show_doubt.toggled.connect(lambda on: self.layer.set_mode("uncertainty" if on else "proposal"))
        self.status = QLabel("")
        self.status.setWordWrap(True)
        self.unreviewed = QListWidget()
        self.unreviewed.setMaximumHeight(140)
        self.unreviewed.itemActivated.connect(lambda item: self.frameRequested.emit(item.data(Qt.ItemDataRole.UserRole)))
        self.unreviewed.itemClicked.connect(lambda item: self.frameRequested.emit(item.data(Qt.ItemDataRole.UserRole)))

        form = QFormLayout()
        form.addRow("Method", self.method.combo)
        form.addRow("Reach", self.count)
        form.addRow("Stop below", self.min_conf)
        form.addRow("Confident from", self.accept_min)
        box = QVBoxLayout(self)
        box.addWidget(intro)
        box.addLayout(form)
        for pair in ((self.backward, self.forward), (self.to_next, self.cancel), (self.accept_conf, self.accept_all),
                     (self.replace, self.show_doubt)):
            row = QHBoxLayout()
            for widget in pair:
                row.addWidget(widget)
            box.addLayout(row)
        box.addWidget(self.status)
        box.addWidget(QLabel("Propagated, not reviewed:"))
        box.addWidget(self.unreviewed)
        box.addStretch(1)

    def _update_buttons(self) -> None:
        busy = self.handle is not None and not self.handle.is_finished()
        has_frame = self.doc.project is not None and self.doc.key is not None
        for b in (self.backward, self.forward, self.to_next):
            b.setEnabled(has_frame and not busy)
        self.cancel.setEnabled(busy)
        here = self.doc.key in self.proposals
        self.accept_conf.setEnabled(here)
        self.accept_all.setEnabled(here)

    # -- propagating -------------------------------------------------------------------------------
    def propagate(self, mode: str) -> Optional[JobHandle]:
        """Start the job (the frame shown is saved first, so its label is the one carried)."""
        from engine.propagate.project import propagate_in_project

        project, key = self.doc.project, self.doc.key
        if project is None or key is None:
            return None
        if not self.doc.save():
            return None
        count, min_conf = self.count.value(), self.min_conf.value()
        sam = self.method if self.method.chosen() else None
        self.status.setText(f"{MODE_TITLES[mode]} from {key}" + (" with SAM 2…" if sam else "…"))
        self.handle = self.runner.submit(
            MODE_TITLES[mode], lambda ctx: propagate_in_project(project, key, mode, count, min_conf, ctx,
                                                               sam.propagator() if sam else None), group=GROUP,
            on_result=self._on_result, on_error=self._on_error)
        self.handle.finished.connect(lambda *_: self._update_buttons())
        self._update_buttons()
        return self.handle

    def set_sam_folder(self, folder: str) -> None:
        """The segmentation folder set in Preferences: SAM 2 video is offered when it holds that model."""
        self.method.set_folder(folder)

    def cancel_job(self) -> None:
        if self.handle is not None:
            self.handle.cancel()
            self.status.setText("Propagation cancelled: no proposal was kept from it.")

    def _on_error(self, message: str) -> None:
        self.status.setText(f"Not propagated: {message}")
        self._update_buttons()

    def _on_result(self, result) -> None:
        if self.doc.project is None:
            return
        self.proposals.update(result.proposals)
        self.reviewed -= set(result.proposals)
        n = len(result.proposals)
        lines = [f"{n} frame{'s' if n != 1 else ''} propagated from {result.source.rsplit('/', 1)[-1]}."]
        lines += [f"Stopped: {why}" for why in result.stopped]
        self.status.setText("\n".join(lines))
        self._fill_unreviewed()
        self.on_frame(self.doc.key)

    def _fill_unreviewed(self) -> None:
        self.unreviewed.clear()
        keys = self.doc.keys() if self.doc.project is not None else []
        for key in [k for k in keys if k in self.proposals and k not in self.reviewed]:
            item = QListWidgetItem(qta.icon("mdi6.robot-outline", color="#e3b341"), key.rsplit("/", 1)[-1])
            item.setData(Qt.ItemDataRole.UserRole, key)
            item.setToolTip("propagated, not reviewed: accept its proposal (or part of it) to review it")
            self.unreviewed.addItem(item)

    # -- frames and accepting ----------------------------------------------------------------------
    def on_frame(self, key) -> None:
        """Another frame is shown: draw its proposal, if it has one."""
        got = self.proposals.get(key)
        if got is None:
            self.layer.set_proposal(None)
        else:
            label, conf = got
            self.layer.set_proposal(label, 1.0 - conf)
        self._update_buttons()

    def on_label_changed(self, *_) -> None:
        if self.doc.key in self.proposals:
            self.layer.render()

    def reset_for_project(self, *_) -> None:
        if self.handle is not None and not self.handle.is_finished():
            self.handle.cancel()
        self.proposals.clear()
        self.reviewed.clear()
        self.unreviewed.clear()
        self.status.setText("")
        self.layer.set_proposal(None)
        self._update_buttons()

    def _accept(self, min_confidence: float, what: str):
        from engine.propagate.accept import confident_where

        key = self.doc.key
        if key not in self.proposals:
            return None
        label, conf = self.proposals[key]
        if conf.shape != label.shape:
            self.status.setText("The proposal does not match this frame's size; propagate again")
            return None
        replace = self.replace.isChecked()
        # one engine call for every accepted model output: the pixels it writes are recorded as model-made
        rec = self.doc.accept_model_output(label, confident_where(label, conf, min_confidence), self.canvas.policy(),
                                           "accept propagation", replace, "propagation")
        n = 0 if rec is None else int(rec.changed().sum())
        scope = "" if replace else " (unlabelled pixels only)"
        self.status.setText(f"Accepted {what}{scope}: {n:,} pixels changed (Ctrl+Z undoes it)" if n else
                            f"Accepting {what}{scope} changes nothing")
        self.reviewed.add(key)  # reviewed: off the list; what is left of the proposal stays on the canvas
        self._fill_unreviewed()
        self.layer.render()
        return rec

    def accept_confident(self):
        return self._accept(self.accept_min.value(), f"the pixels with confidence ≥ {self.accept_min.value():.2f}")

    def accept_everything(self):
        return self._accept(0.0, "the whole proposal")
