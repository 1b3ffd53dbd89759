"""The Pre-segment panel: train the pixel head on the project's done frames, propose a label for the current
frame, accept it (all / confident pixels / chosen classes) as ONE undo step, and two annotator aids:
"label next" (unlabelled frames the model is least sure of) and "suspicious labels" (done frames whose
label disagrees with a head trained without them).

Accepting writes into unlabelled pixels only unless "Replace my labels" is ticked
(`engine.edits.accept_region`). A proposal for a frame unlike the head's training frames (its shift
score above the head's threshold, `engine.preseg.shift`), of a head trained on too few frames, of a video the head never saw, or whose
confident pixels contradict what the head learnt (`engine.preseg.trust`) shows a warning, and "Accept
all" and "Accept confident" then ask first. The head folder can be chosen here directly ("Head folder…"), not only in the preferences.

All model work is `engine.services.preseg` (as `cadis preseg`) run through the JobRunner; the loaded Presegmenter keeps the features
of the current and next frames (its LRU cache), so switching between them does not recompute.
"""
from __future__ import annotations

from pathlib import Path
from typing import Optional

import numpy as np
from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (QFileDialog, QListWidget, QListWidgetItem, QMessageBox, QWidget)

from desktop.docks.class_palette import swatch_icon
from desktop.panels.model_folder import model_folder_problem
from desktop.panels.preseg.jobs import presegment_job, rank_next_job, suspicious_job, train_job
from desktop.panels.preseg.form import PresegForm
from desktop.panels.preseg.model_made_layer import ModelMadeLayer
from desktop.panels.preseg.trust import PresegTrustMixin
from desktop.panels.proposal_layer import ProposalLayer
from desktop.settings import keep_options
from desktop.workers import JobHandle, JobRunner
from engine.services import preseg as service
from engine.taxonomy import CLASS_NAMES, DISPLAY_PALETTES, IGNORE

GROUP_TRAIN, GROUP_PRESEG, GROUP_RANK = "preseg-train", "preseg", "preseg-rank"
_ICON = "#c8ccd4"


#: what each part of the shift score says, in the warning
SHIFT_REASONS = {"colour": ": its colours are not those of any training frame, even allowing for another camera",
                 "balance": ": its colour balance is unlike every training frame's (colour channels swapped?)",
                 "sharpness": ": it is much blurrier, sharper or noisier than the training frames",
                 "features": ": what it shows looks like nothing in the training frames"}


class PresegPanel(PresegTrustMixin, PresegForm, QWidget):
    """Dock contents; `canvas` is the window's CanvasView (the proposal is drawn in its scene)."""

    frameRequested = Signal(str)  # a "label next" / "suspicious" entry was clicked
    modelMadeChanged = Signal(str)  # a frame's model-made record changed (accepted or reviewed)

    def __init__(self, doc, runner: JobRunner, settings, canvas, parent: Optional[QWidget] = None):
        super().__init__(parent)
        self.doc, self.runner, self.settings, self.canvas = doc, runner, settings, canvas
        self.preseg_settings = service.settings()  # tests and power users may swap in smaller settings
        self.cache = service.Presegmenters(cache_size=4)
        self.layer = ProposalLayer(canvas)
        self.made_layer = ModelMadeLayer(canvas)
        self.result = None            # engine PresegResult of `result_key`
        self.proposal: Optional[np.ndarray] = None  # HxW original IDs
        self.result_key: Optional[str] = None
        self.handles: dict[str, JobHandle] = {}
        self.confirm = self._ask  # (title, question) -> bool; tests replace it
        self.pick_train_target = self._pick_train_target  # (foreign head folder) -> (folder, replace) | None
        self._build()
        keep_options(settings, "preseg", {"class_set": self.class_set, "auto": self.auto, "heat": self.heat})
        self.refresh()

    # -- state -------------------------------------------------------------------------------------
    def model_dir(self) -> str:
        return self.settings.model_dir

    def head_dir(self) -> Optional[Path]:
        """The head folder: the preferences' choice, else `preseg-head` inside the open project."""
        if self.settings.preseg_dir:
            return Path(self.settings.preseg_dir)
        return self.doc.project.root / "preseg-head" if self.doc.project is not None else None

    def choose_head(self, path: Optional[str] = None) -> Optional[Path]:
        """Use the head folder `path` (asks with a folder dialog when None); it becomes the preferences' choice."""
        if path is None:
            start = str(self.head_dir() or "")
            path = QFileDialog.getExistingDirectory(self, "Pre-segmentation head folder", start)
            if not path:
                return None
        folder = Path(path)
        problem = service.head_problem(folder)
        if problem:
            self.status.setText(f"Not used: {problem}")
            return None
        self.settings.preseg_dir = str(folder)
        self.refresh()
        self.clear_proposal()
        mine = self.doc.project is None or service.belongs_to(folder, str(self.doc.project.root))
        self.status.setText(f"Head folder: {folder}" + (
            " (no head there yet: “Train” writes one there)" if not self.has_head() else "" if mine else
            " (a head of another project: used read-only; “Train” asks where this project's head goes)"))
        return folder

    def _ask(self, title: str, question: str) -> bool:
        answer = QMessageBox.question(self, title, question,
                                      QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.Cancel,
                                      QMessageBox.StandardButton.Cancel)
        return answer == QMessageBox.StandardButton.Yes

    def has_head(self) -> bool:
        head = self.head_dir()
        return head is not None and (head / "preseg_head.json").is_file()

    def refresh(self) -> None:
        """Re-read the model and head folders (after preferences or training) and update the buttons."""
        self.cache.clear()
        problem = model_folder_problem(self.model_dir())
        self.message.setText(problem or "")
        self.message.setVisible(problem is not None)
        has_head = self.has_head()
        if problem is None:
            self.info.setText(f"Head: {self.head_dir()}" if has_head else
                              "No pre-segmenter yet: mark a few frames done, then train one here.")
        self.info.setVisible(problem is None)
        project_open = self.doc.project is not None
        self.train_button.setEnabled(problem is None and project_open)
        for w in (self.run_button, self.next_button, self.sus_button):
            w.setEnabled(problem is None and has_head and project_open)
        self._update_accept_buttons()

    def _update_accept_buttons(self) -> None:
        has = self.proposal is not None and self.result_key == self.doc.key
        for w in (self.accept_all_button, self.accept_conf_button, self.accept_classes_button, self.ignore_button):
            w.setEnabled(has)

    def _update_threshold_label(self, *_) -> None:
        t = self.threshold.value() / 100
        text = f"{t:.0%}"
        if self.result is not None and self.result_key == self.doc.key:
            text += f" ({(self.result.confidence >= t).mean():.0%} of pixels)"
        self.threshold_label.setText(text)

    def _device(self) -> str:
        from engine.device import pick_device

        return str(pick_device(self.settings.device))

    def _run(self, title: str, group: str, fn, on_result) -> JobHandle:
        handle = self.runner.submit(title, fn, group=group, on_result=on_result,
                                    on_error=lambda msg: self.status.setText(f"{title} failed: {msg}"),
                                    device=self.settings.device)
        handle.progressChanged.connect(lambda f, _m: self.progress.setValue(int(f * 1000)))
        self.handles[group] = handle
        return handle

    def _request(self) -> service.PresegRequest:
        return service.PresegRequest(self.model_dir(), str(self.head_dir()), self._device())

    # -- training ----------------------------------------------------------------------------------
    def _done_frames(self):
        return service.project_frames(self.doc.project, self.doc.project.keys_with_status("done"))

    def train(self) -> Optional[JobHandle]:
        """Train the head on the project's done frames (one click; progress and cancel in the jobs panel)."""
        if self.doc.project is None or model_folder_problem(self.model_dir()):
            self.refresh()
            return None
        self.doc.save()
        frames = self._done_frames()
        if not frames:
            self.status.setText("No frames are marked done yet: label a few frames (2–3 are enough to start), "
                                "mark them done (D), then train.")
            return None
        belongs_to = service.belongs_to
        target, replace = self.head_dir(), False
        if not belongs_to(target, str(self.doc.project.root)):
            picked = self.pick_train_target(target)
            if picked is None:
                self.status.setText("Training cancelled: the head of the other project was left as it is")
                return None
            target, replace = Path(picked[0]), bool(picked[1])
            if not replace and not belongs_to(target, str(self.doc.project.root)):
                self.status.setText(f"Not trained: {target} holds a head of another project")
                return None
        few = service.few_frames_warning(len(frames), service.videos_of(f.key for f in frames))
        if few and not self.confirm("Train on so few frames?", few + "\n\nTrain anyway?"):
            self.status.setText("Training cancelled: " + few)
            return None
        job = train_job(service.TrainRequest(self.model_dir(), str(target), self.class_set.currentData(),
                                             self.preseg_settings, self._device(), str(self.doc.project.root),
                                             replace), frames)

        def done(head) -> None:
            if target != self.head_dir():
                self.settings.preseg_dir = str(target)  # the new head is the one to use from now on
            self.refresh()
            self.status.setText(f"Pre-segmenter trained on {len(frames)} done frame(s) "
                                f"({head.meta.get('training_pixels', 0):,} pixels)")
        return self._run(f"Train pre-segmenter on {len(frames)} frames", GROUP_TRAIN, job, done)

    # -- proposals ---------------------------------------------------------------------------------
    def presegment(self) -> Optional[JobHandle]:
        """Propose a label for the current frame (and cache the next frame's features meanwhile)."""
        if self.doc.image is None or not self.has_head():
            self.status.setText("Train the pre-segmenter first (it learns from your done frames).")
            return None
        key = self.doc.key
        job = presegment_job(self.cache, self._request(), self.doc.image, key, self.doc.neighbour(1), self.doc.project)
        return self._run(f"Pre-segment {Path(key).name}", GROUP_PRESEG, job,
                         lambda out: self.show_result(key, *out))

    def show_result(self, key: str, result, proposal: np.ndarray) -> None:
        """Show a proposal for frame `key` (ignored if another frame is open by now)."""
        if key != self.doc.key:
            return
        self.result, self.proposal, self.result_key = result, proposal, key
        self.layer.set_proposal(proposal, result.uncertainty)
        self._fill_classes(proposal)
        self._update_threshold_label()
        self._update_accept_buttons()
        text = f"Proposal for {Path(key).name}: frame uncertainty {result.score:.3f}"
        if result.shift is not None:
            text += f", shift {result.shift:.2f}"
        lines = []
        if result.out_of_distribution:
            why = SHIFT_REASONS.get(result.shift_part, "")
            lines.append(f"⚠ Out of distribution, unlike the frames the head was trained on{why}. The proposal "
                         "may be badly wrong: check it with care, or label this frame and retrain.")
        lines += [f"⚠ {w[0].upper()}{w[1:]}." for w in result.warnings]
        self.ood_warning.setVisible(bool(lines))
        self.ood_warning.setText("\n".join(lines))
        removed = result.removed_classes
        if removed:
            names = ", ".join(result.class_set.names[c] for c in removed)
            text += f"\nLeft out as too small to be real: {names}"
        self.status.setText(text)

    def _fill_classes(self, proposal: np.ndarray) -> None:
        self.classes.clear()
        counts = np.bincount(proposal.ravel(), minlength=256)
        for c in np.flatnonzero(counts[:len(CLASS_NAMES)]):
            colour = DISPLAY_PALETTES[self.layer.canvas.palette_name()][c]  # as drawn on the canvas
            item = QListWidgetItem(swatch_icon(colour), f"{CLASS_NAMES[c]}  ({counts[c] / proposal.size:.1%})")
            item.setData(Qt.ItemDataRole.UserRole, int(c))
            item.setFlags(item.flags() | Qt.ItemFlag.ItemIsUserCheckable)
            item.setCheckState(Qt.CheckState.Unchecked)
            self.classes.addItem(item)

    def clear_proposal(self) -> None:
        self.result, self.proposal, self.result_key = None, None, None
        self.ood_warning.setVisible(False)
        self.layer.set_proposal(None)
        self.classes.clear()
        self._update_accept_buttons()
        self._update_threshold_label()

    def reset_for_project(self, project) -> None:
        """Another project is open (or none): no proposal, ranking or message of the previous one stays."""
        self.clear_proposal()
        self._load_model_made()
        self.next_list.clear()
        self.sus_list.clear()
        self.status.setText("")
        self.progress.setValue(0)

    def on_frame(self, key: str) -> None:
        """Another frame is shown: drop the old proposal; pre-segment the new one when 'auto' is on."""
        if key != self.result_key:
            self.clear_proposal()
        self._load_model_made()
        if self.auto.isChecked() and self.has_head():
            self.presegment()

    def on_label_changed(self, *_) -> None:
        """The label changed (stroke, undo, accept): the proposal layer shows what is still different."""
        if self.proposal is not None:
            self.layer.render()
        self.made_layer.render()
        self._update_review_button()

    # -- accepting ---------------------------------------------------------------------------------
    def _accept(self, where: np.ndarray, what: str):
        if self.proposal is None or self.result_key != self.doc.key:
            return None
        replace = self.replace_box.isChecked()
        rec = self.doc.accept_model_output(self.proposal, where, self.canvas.policy(), f"accept proposal ({what})",
                                           replace, "preseg")
        self._load_model_made()
        self.modelMadeChanged.emit(self.doc.key)
        n = 0 if rec is None else int(rec.changed().sum())
        scope = "" if replace else " (unlabelled pixels only)"
        self.status.setText(f"Accepted {what}{scope}: {n:,} pixels changed (Ctrl+Z undoes it)" if n else
                            f"Accepting {what}{scope} changes nothing" +
                            ("" if replace else ": tick “Replace my labels” to overwrite painted pixels"))
        self.layer.render()
        return rec

    def accept_all(self):
        """Take the whole proposal (locked classes stay) as one undo step; asks first when the frame is out
        of distribution or "Replace my labels" is ticked."""
        if self.proposal is None:
            return None
        worries = self._flag_worries()
        if self.replace_box.isChecked():
            worries.append("“Replace my labels” is on, so the pixels you painted will be overwritten")
        if worries and not self.confirm("Accept the whole proposal?", "Accept all? " + "; ".join(worries).capitalize()
                                        + ". Ctrl+Z undoes it."):
            self.status.setText("Accept all cancelled")
            return None
        return self._accept(np.ones(self.proposal.shape, bool) if self.proposal is not None else None, "all")

    def accept_confident(self, threshold: Optional[float] = None):
        """Take the proposal only where its confidence is at least `threshold` (default: the slider)."""
        if self.result is None:
            return None
        t = self.threshold.value() / 100 if threshold is None else float(threshold)
        worries = self._flag_worries()
        if worries and not self.confirm("Accept the confident pixels?", "Accept confident pixels? "
                                        + "; ".join(worries).capitalize() + ". Ctrl+Z undoes it."):
            self.status.setText("Accept confident cancelled")
            return None
        return self._accept(self.result.confidence >= t, f"confidence ≥ {t:.0%}")

    def accept_classes(self, ids: Optional[list[int]] = None):
        """Take the proposal only where it proposes one of `ids` (default: the ticked classes)."""
        if self.proposal is None:
            return None
        if ids is None:
            ids = [self.classes.item(i).data(Qt.ItemDataRole.UserRole) for i in range(self.classes.count())
                   if self.classes.item(i).checkState() == Qt.CheckState.Checked]
        if not ids:
            self.status.setText("Tick the classes to accept first")
            return None
        names = ", ".join(CLASS_NAMES[i] for i in ids if i != IGNORE)
        return self._accept(np.isin(self.proposal, ids), names)

    # -- annotator aids ----------------------------------------------------------------------------
    def _fill_ranked(self, lst: QListWidget, ranked, what: str) -> None:
        lst.clear()
        for r in ranked:
            item = QListWidgetItem(f"{r.score:.3f}  {Path(r.key).name}")
            item.setData(Qt.ItemDataRole.UserRole, r.key)
            item.setToolTip(f"{r.key}\n{what} {r.score:.4f}")
            lst.addItem(item)

    def rank_label_next(self) -> Optional[JobHandle]:
        """Rank the unfinished frames by the model's uncertainty (most uncertain first)."""
        from engine.project import UNFINISHED

        if self.doc.project is None or not self.has_head():
            return None
        keys = self.doc.project.keys_with_status(UNFINISHED)
        job = rank_next_job(self.cache, self._request(), self.doc.project, keys)
        return self._run(f"Rank {len(keys)} unlabelled frames", GROUP_RANK, job,
                         lambda ranked: self._fill_ranked(self.next_list, ranked, "uncertainty"))

    def find_suspicious(self) -> Optional[JobHandle]:
        """Rank done frames by disagreement with heads trained without them (k-fold)."""
        if self.doc.project is None or not self.has_head():
            return None
        self.doc.save()
        frames = self._done_frames()
        if len(frames) < 2:
            self.status.setText("Finding suspicious labels needs at least two done frames")
            return None
        shares = service.model_made_shares(self.doc.project, [f.key for f in frames])
        job = suspicious_job(self.cache, self._request(), frames, self.preseg_settings, shares)
        return self._run(f"Check {len(frames)} labels", GROUP_RANK + "-sus", job, self._show_suspicious)

    def _show_suspicious(self, found) -> None:
        """The ranking, or the one line saying why no label could be checked (never a list of 0.000s)."""
        self._fill_ranked(self.sus_list, found.ranked, "disagreement")
        if found.problem:
            self.status.setText(f"Suspicious labels: {found.problem[0].upper()}{found.problem[1:]}")
