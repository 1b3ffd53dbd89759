"""The Synthesize panel: the current mask -> matching frames with the SPADE diffusion model.

A live preview re-renders after each stroke on the runner's own interactive "preview" lane (one thread that
long jobs cannot occupy; while it runs they wait at their next check; group "synth-preview": the newest
request wins, a stale one is cancelled at its next step, so at most one preview is in flight). It uses the
model folder's distilled student (1-2 steps) when it has a fresh one, else the teacher's "preview" preset;
the newest preview is always the one in the big view.
"Synthesize" runs the chosen preset/settings for K variants on the shared threads. Results collect in a gallery; "Add to curation"
stores one in the project with full provenance, "Save as…" writes it (and its mask) to files.
"Repaint changed region" keeps the real frame and re-synthesizes only the pixels whose label a variant sketch
changed (plus a margin; desktop/panels/synthesis/sketch.py); its results carry the parent frame, changed-region
mask, model and seed, and the frame's own label is never changed by the sketch.
"""
from __future__ import annotations

import random
import time
from pathlib import Path
from typing import Optional

import numpy as np
from PySide6.QtCore import Signal
from PySide6.QtWidgets import QFileDialog, QMessageBox, QWidget

from desktop.panels.model_folder import model_folder_problem
from desktop.panels.distill_job import StudentControls
from desktop.panels.synthesis.form import SynthesisForm
from desktop.panels.synthesis.gallery import GalleryEntry
from desktop.panels.synthesis.sketch import SketchControls
from desktop.qt_image import pixmap_of
from desktop.settings import keep_options
from desktop.workers import JobHandle, JobRunner, limit_torch_threads_here
from engine.services.synthesis import (Candidate, Pipelines, SynthesisRequest, accept_pair, lift_preview,
                                       preset_settings, synthesize)
from engine.files import read_json
from engine.services.folders import PHANTOM, TRAIN_HINT, describe, frame_warning, read_record

PREVIEW_GROUP, SYNTH_GROUP = "synth-preview", "synth"
PREVIEW_LANE = "preview"
PREVIEW_TORCH_THREADS = 1


def key_of(entry: GalleryEntry) -> str:
    return str(entry.provenance.get("source_frame") or "")


class SynthesisPanel(SynthesisForm, SketchControls, StudentControls, QWidget):
    """Dock contents. `doc` is the window's Document, `runner` its JobRunner, `settings` its Settings."""

    trainRequested = Signal()
    preferencesRequested = Signal()
    pairAccepted = Signal(int)  # pair id
    previewShown = Signal(float)  # seconds from the preview request to the picture in the big view

    def __init__(self, doc, runner: JobRunner, settings, parent: Optional[QWidget] = None):
        super().__init__(parent)
        self.doc, self.runner, self.settings = doc, runner, settings
        self.pipelines = Pipelines()  # every pipeline this panel uses, built by the synthesis service
        self.cache, self.synth_cache = self.pipelines.preview_cache, self.pipelines.synthesis_cache
        self.preview_handle: Optional[JobHandle] = None
        self.synth_handle: Optional[JobHandle] = None
        self.repaint_handle: Optional[JobHandle] = None
        self._parent: Optional[tuple[str, np.ndarray]] = None  # (key, the frame's mask as opened)
        self.distill_handle: Optional[JobHandle] = None
        self.accept_handle: Optional[JobHandle] = None  # a live preview being lifted at full size to be stored
        self.use_student = True
        self.last_preview_s: Optional[float] = None
        self.model_problem: Optional[str] = None
        self._build()
        keep_options(settings, "synthesis", {"preset": self.preset, "steps": self.steps, "sampler": self.sampler,
                                             "guidance": self.guidance, "variants": self.variants,
                                             "margin": self.margin})
        self.refresh_model()
        self.full_view = None
        self.gallery.entryActivated.connect(self.show_full_size)
        doc.frameChanged.connect(self._remember_parent)
        doc.sketchChanged.connect(self._on_sketch_changed)
        self._remember_parent(doc.key)

    def reset_for_project(self, project) -> None:
        """Another project is open (or none): drop the previous project's results, preview and messages."""
        self.gallery.clear()
        self.preview.clear()
        self.status.setText("")
        self.progress.setValue(0)
        self._on_sketch_changed(False)
        self._update_buttons()

    def _apply_preset(self, *_) -> None:
        p = preset_settings(self.preset.currentData() or "preview")
        self.steps.setValue(p.steps)
        self.sampler.setCurrentIndex(max(0, self.sampler.findData(p.sampler)))
        self.guidance.setValue(p.guidance)

    # -- model -------------------------------------------------------------------------------------
    def model_dir(self) -> str:
        return self.settings.model_dir

    def refresh_model(self) -> bool:
        """Re-check the model folder (after the preferences or a training run); True when usable."""
        self.pipelines.clear()
        self.model_problem = model_folder_problem(self.model_dir())
        ok = self.model_problem is None
        self.message.setText(self.model_problem or "")
        self.message.setVisible(not ok)
        self.fix_row.setVisible(not ok)
        if ok:
            self.model_label.setText(self._model_summary(Path(self.model_dir())))
        self.model_label.setVisible(ok)
        self.trained_on = read_record(self.model_dir()) if ok else {}
        self.knows_label.setText(self._knows_text(self.trained_on))
        self.knows_label.setToolTip(f"This model was {describe(self.trained_on)}. "
                                    + (f"Its results on your own frames can be wrong; {TRAIN_HINT}."
                                       if self.trained_on.get("source") == PHANTOM else ""))
        self.knows_label.setVisible(ok and bool(self.trained_on))  # nothing recorded: nothing to say
        self._update_buttons()
        return ok

    @staticmethod
    def _model_summary(path: Path) -> str:
        try:
            pipeline = (path / "model_index.json").is_file()
            cfg = read_json(path / ("unet/config.json" if pipeline else "config.json"), what="model config", expect=dict)
            h, w = cfg.get("sample_size", ("?", "?"))
            size = "frames at the mask's size" if (path / "upsampler").is_dir() else f"{w}x{h}, resized to the mask"
            from engine.services.pipelines import student_problem

            lane = "distilled student" if student_problem(path) is None else "4-step preset (no student yet)"
            return f"Model {path.name}: {size}, class set {cfg.get('class_set', 'full')} · preview: {lane}"
        except (OSError, ValueError, TypeError):
            return f"Model {path.name}"

    @staticmethod
    def _knows_text(rec: dict) -> str:
        """What the model knows, plainly; for the phantom starter, how to get one that knows the user's frames."""
        line = describe(rec)
        if rec.get("source") == PHANTOM:  # two lines at 1366x768: the accept button stays in view
            return "⚠ Phantom starter, not trained on your frames: Models → Train synthesis model…"
        return line[0].upper() + line[1:] + "."

    def _update_buttons(self) -> None:
        ok = self.model_problem is None
        self.run_button.setEnabled(ok)
        self.repaint_button.setEnabled(ok)
        self.live.setEnabled(ok)
        has = self.gallery.selected_entry() is not None
        self.accept_button.setEnabled(has and self.doc.project is not None)
        self.save_button.setEnabled(has)

    # -- requests ----------------------------------------------------------------------------------
    def set_live(self, on: bool) -> None:
        if self.live.isChecked() != on:
            self.live.setChecked(on)  # re-enters through toggled
            return
        if on:
            self.request_preview()
        elif self.preview_handle is not None:
            self.preview_handle.cancel()

    def on_mask_changed(self, *_) -> None:
        """A stroke, undo/redo, repair or frame switch changed the mask: re-render when live."""
        if self.live.isChecked():
            self.request_preview()

    def _remember_parent(self, key) -> None:
        """A frame was opened: its mask as it is now is what a repaint compares the edited mask with."""
        label = self.doc.label
        self._parent = (key, label.copy()) if key and label is not None else None

    def _ready(self) -> bool:
        if self.model_problem is not None:
            self.refresh_model()  # the user may have trained or picked a model since
        if self.model_problem is not None:
            self.status.setText(self.model_problem)
            return False
        if self.doc.label is None:
            self.status.setText("Open a project and a frame first: the current frame's mask is what gets synthesized.")
            return False
        return True

    def _request(self, **kw) -> SynthesisRequest:
        """A synthesis request for the current frame's mask with this panel's model and device."""
        return SynthesisRequest(self.doc.label.copy(), self.model_dir(), source_frame=self.doc.key,
                                device=self.settings.device, use_student=self.use_student, **kw)

    def _submit(self, title: str, request: SynthesisRequest) -> Optional[JobHandle]:
        pipelines = self.pipelines
        handle = self.runner.submit(title, lambda ctx: synthesize(ctx, pipelines, request), group=SYNTH_GROUP,
                                    on_result=self._on_results,
                                    on_error=lambda msg: self.status.setText(f"Synthesis failed: {msg}"),
                                    device=request.device)
        handle.progressChanged.connect(lambda f, _m: self.progress.setValue(int(f * 1000)))
        return handle

    def request_preview(self) -> Optional[JobHandle]:
        """Render a preview of the current mask on the preview lane (superseding any preview in flight)."""
        if not self._ready():
            return None
        asked = time.perf_counter()
        request = self._request(preset="preview", guidance=self.guidance.value(), seed=self.seed.value())
        pipelines = self.pipelines

        def job(ctx):
            limit_torch_threads_here(PREVIEW_TORCH_THREADS)  # never wait on a core that a long job holds
            return synthesize(ctx, pipelines, request)

        handle = self.runner.lane(PREVIEW_LANE, interactive=True).submit(  # long jobs pause at their checks
            "Live preview", job, group=PREVIEW_GROUP, on_result=lambda r: self._on_preview(r, asked),
            on_error=lambda msg: self.status.setText(f"Preview failed: {msg}"))
        handle.progressChanged.connect(lambda f, _m: self.progress.setValue(int(f * 1000)))
        self.preview_handle = handle
        return handle

    def _accept_full_lift(self, entry: GalleryEntry) -> Optional[JobHandle]:
        """A live preview lifted on the preview's pixel budget: render it again at the mask's full size
        (`engine.services.synthesis.lift_preview`) and store that frame (the pair is stored when the job is done)."""
        candidate = Candidate(entry.image, entry.mask, dict(entry.provenance))
        pipelines, model_dir, device, use_student = self.pipelines, self.model_dir(), self.settings.device, self.use_student

        def done(lifted: Candidate) -> None:
            entry.image, entry.provenance = lifted.image, lifted.provenance
            self.accept_selected(entry)
            self._show_selected()

        self.status.setText("Lifting the preview to the mask's full size before storing it…")
        self.accept_handle = self.runner.submit(
            "Full-size frame of the preview",
            lambda ctx: lift_preview(ctx, pipelines, candidate, model_dir, device, use_student), group=SYNTH_GROUP,
            on_result=done, on_error=lambda msg: self.status.setText(f"Could not store the preview: {msg}"),
            device=device)
        return self.accept_handle

    def synthesize(self) -> Optional[JobHandle]:
        """Run the chosen preset and settings for the chosen number of variants."""
        if self.new_seed.isChecked():
            self.seed.setValue(random.randrange(2**31 - 1))
        if not self._ready():
            return None
        n = self.variants.value()
        request = self._request(preset=self.preset.currentData(), steps=self.steps.value(),
                                sampler=self.sampler.currentData(), guidance=self.guidance.value(),
                                seed=self.seed.value(), num=n)
        handle = self._submit(f"Synthesize {n} frame{'s' if n > 1 else ''}", request)
        if handle is not None:
            self.synth_handle = handle
        return handle

    def repaint(self) -> Optional[JobHandle]:
        """Re-synthesize only what the variant sketch changed in the current frame's mask (plus the margin)."""
        if self.doc.label is None or self.doc.image is None:
            self.status.setText("Open a frame and sketch a variant first: Repaint re-synthesizes what you changed.")
            return None
        if not self._ready():
            return None
        parent = self._repaint_parent()
        if parent is None:
            return None
        if self.new_seed.isChecked():
            self.seed.setValue(random.randrange(2**31 - 1))
        request = self._request(preset=self.preset.currentData(), steps=self.steps.value(),
                                guidance=self.guidance.value(), seed=self.seed.value(), image=self.doc.image.copy(),
                                parent_mask=parent.copy(), margin=self.margin.value())
        handle = self._submit("Repaint changed region", request)
        if handle is not None:
            self.repaint_handle = handle
        return handle

    # -- results -----------------------------------------------------------------------------------
    def _entry(self, candidate: Candidate) -> GalleryEntry:
        """A result for the gallery; warned about when its frame is unlike the model's training frames."""
        prov = candidate.provenance
        frame = self.doc.image if prov.get("source_frame") == self.doc.key else None
        warning = frame_warning(self.trained_on, frame)
        if warning:
            prov = {**prov, "warning": warning}
        return GalleryEntry(candidate.image, candidate.mask, prov)

    def _on_preview(self, outcome, asked: float) -> None:
        result, key = outcome.result, key_of(self._entry(outcome.candidates[0]))
        self.gallery.set_live(self._entry(outcome.candidates[0]))
        self.gallery.setCurrentRow(0)  # the newest result is the one in the big view
        self._show_selected()
        self.preview.repaint()
        self.last_preview_s = time.perf_counter() - asked
        info = result.settings
        self.status.setText(f"Preview of {Path(key).name}: {info.get('sampler', '')} {info.get('steps', '')} steps, "
                            f"{self.last_preview_s * 1000:.0f} ms")
        self.previewShown.emit(self.last_preview_s)

    def _on_results(self, outcome) -> None:
        result = outcome.result
        key = key_of(self._entry(outcome.candidates[0])) if outcome.candidates else ""
        for candidate in outcome.candidates:
            self.gallery.add(self._entry(candidate))
        self._show_selected()
        if result.changed is not None:
            self.status.setText(f"Repainted {int(result.region.sum()):,} px ({int(result.changed.sum()):,} changed + "
                                "margin); every other pixel is the real frame")
        else:
            self.status.setText(f"{len(result.images)} frame(s) synthesized from {Path(key).name}")
        warning = self.gallery.selected_entry().provenance.get("warning") if self.gallery.selected_entry() else None
        if warning:
            self.status.setText(f"⚠ {warning}")

    def _show_selected(self) -> None:
        entry = self.gallery.selected_entry()
        if entry is not None:
            self.preview.setPixmap(pixmap_of(entry.image, max(64, self.preview.width()),
                                             max(36, self.preview.height())))
        self._update_buttons()

    def accept_selected(self, entry: Optional[GalleryEntry] = None) -> Optional[int]:
        """Store the selected result (or `entry`) as a synthetic pair (image + the mask it matches); returns the
        pair id. A live preview lifted on the preview's budget is first lifted at full size (a job: then None,
        and the pair is stored when it is done)."""
        entry = entry or self.gallery.selected_entry()
        project = self.doc.project
        if entry is None or project is None:
            return None
        if entry.pair_id is not None:
            self.status.setText(f"Already in curation as pair {entry.pair_id}")
            return entry.pair_id
        if entry.provenance.get("warning") and not self._accept_anyway(entry):
            self.status.setText("Not stored: the frame is unlike the model's training frames")
            return None
        if float(entry.provenance.get("lift_scale", 1.0)) < 1.0:
            self._accept_full_lift(entry)
            return None
        try:
            entry.pair_id = accept_pair(project, Candidate(entry.image, entry.mask, entry.provenance))
        except Exception as exc:  # noqa: BLE001 - a failed write is a message, not a crash
            self.status.setText(f"Could not store the pair: {exc}")
            return None
        self.gallery.mark_accepted(entry)
        note = self._sketch_after_accept(entry)
        self.status.setText(f"Added to curation as pending pair {entry.pair_id}"
                           f"{note or f' (from {Path(key_of(entry)).name})'}: accept it in Curation to export it")
        self.pairAccepted.emit(entry.pair_id)
        return entry.pair_id

    def _accept_anyway(self, entry: GalleryEntry) -> bool:
        """Ask before a result flagged by the training-frames check becomes a pair (asked once per result)."""
        if entry.provenance.get("warning_accepted"):
            return True
        answer = QMessageBox.question(
            self, "Unlike the model's training frames", f"{entry.provenance['warning']}\n\nStore it as a pair anyway? "
            "It keeps this warning in its record.", QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No,
            QMessageBox.StandardButton.No)
        if answer != QMessageBox.StandardButton.Yes:
            return False
        entry.provenance["warning_accepted"] = True
        return True

    def show_full_size(self, entry: Optional[GalleryEntry] = None):
        """The result (selected, or `entry`) at its own size in a window of its own (double click)."""
        from desktop.panels.synthesis.full_view import FullSizeView

        entry = entry or self.gallery.selected_entry()
        if entry is None:
            return None
        view = FullSizeView(entry.image, entry.title, entry.provenance.get("warning"), self)
        view.show()
        self.full_view = view
        return view

    def save_selected(self, path: Optional[str] = None) -> Optional[Path]:
        """Write the selected image to `path` (asked for when None) and its mask to NAME.mask.png."""
        from engine.imageio import write_image, write_label

        entry = self.gallery.selected_entry()
        if entry is None:
            return None
        if path is None:
            path, _ = QFileDialog.getSaveFileName(self, "Save the synthesized frame", "synthesized.png", "PNG (*.png)")
            if not path:
                return None
        out = Path(path)
        if out.suffix.lower() != ".png":
            out = out.with_suffix(".png")
        try:
            write_image(out, entry.image)
            write_label(out.with_name(out.stem + ".mask.png"), entry.mask)
        except Exception as exc:  # noqa: BLE001
            self.status.setText(f"Could not save {out}: {exc}")
            return None
        self.status.setText(f"Saved {out} and {out.stem}.mask.png")
        return out
