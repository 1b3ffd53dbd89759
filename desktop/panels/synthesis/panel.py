"""The Synthesize panel: the current mask -> matching frames with the SPADE diffusion model.

A live preview re-renders after each stroke on the runner's own "preview" lane (one thread that long jobs
cannot occupy; group "synth-preview": the newest request wins, a stale one is cancelled at its next step,
so at most one preview is in flight). It uses the model folder's distilled student (1-2 steps) when it has
a fresh one, else the teacher's "preview" preset; the newest preview is always the one in the big view.
"Synthesize" runs the chosen preset/settings for K variants on the shared threads. Results collect in a gallery; "Accept as synthetic pair"
stores one in the project with full provenance, "Save as…" writes it (and its mask) to files.
"Repaint changed region" keeps the real frame and re-synthesizes only the pixels whose label a variant sketch
changed (plus a margin; desktop/panels/synthesis/sketch.py); its results carry the parent frame, changed-region
mask, model and seed, and the frame's own label is never changed by the sketch.
"""
from __future__ import annotations

import json
import random
import time
from pathlib import Path
from typing import Optional

import numpy as np
from PySide6.QtCore import Signal
from PySide6.QtWidgets import (QFileDialog, QWidget)

from desktop.panels.model_folder import model_folder_problem, weights_stamp
from desktop.panels.distill_job import StudentControls
from desktop.panels.synthesis.form import SynthesisForm
from desktop.panels.synthesis.gallery import GalleryEntry
from desktop.panels.synthesis.sketch import SketchControls
from desktop.qt_image import pixmap_of
from desktop.workers import JobHandle, JobRunner, limit_torch_threads_here
from engine.model_cache import ModelCache
from engine.provenance import synthesis_provenance

PREVIEW_GROUP, SYNTH_GROUP = "synth-preview", "synth"
PREVIEW_LANE = "preview"
PREVIEW_TORCH_THREADS = 1
PAIR_SOURCE = "synthesis"


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
        # previews and long jobs keep their own pipelines, each used without holding a lock while it runs
        self.cache = ModelCache(exclusive=False)        # the preview pipeline (student or teacher)
        self.synth_cache = ModelCache(exclusive=False)  # the teacher, for Synthesize
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
        self.refresh_model()
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
        from engine.pipelines.synthesis import PRESETS

        p = PRESETS[self.preset.currentData() or "preview"]
        self.steps.setValue(p.steps)
        self.sampler.setCurrentIndex(max(0, self.sampler.findData(p.sampler)))
        self.guidance.setValue(p.guidance)

    # -- model -------------------------------------------------------------------------------------
    def model_dir(self) -> str:
        return self.settings.model_dir

    def refresh_model(self) -> bool:
        """Re-check the model folder (after the preferences or a training run); True when usable."""
        self.cache.clear()
        self.synth_cache.clear()
        self.model_problem = model_folder_problem(self.model_dir())
        ok = self.model_problem is None
        self.message.setText(self.model_problem or "")
        self.message.setVisible(not ok)
        self.fix_row.setVisible(not ok)
        if ok:
            self.model_label.setText(self._model_summary(Path(self.model_dir())))
        self.model_label.setVisible(ok)
        self._update_buttons()
        return ok

    @staticmethod
    def _model_summary(path: Path) -> str:
        try:
            pipeline = (path / "model_index.json").is_file()
            cfg = json.loads((path / ("unet/config.json" if pipeline else "config.json")).read_text(encoding="utf-8"))
            h, w = cfg.get("sample_size", ("?", "?"))
            size = "frames at the mask's size" if (path / "upsampler").is_dir() else f"{w}x{h}, resized to the mask"
            from engine.distill import student_problem

            lane = "distilled student" if student_problem(path) is None else "4-step preset (no student yet)"
            return f"Model {path.name}: {size}, class set {cfg.get('class_set', 'full')} · preview: {lane}"
        except (OSError, ValueError, TypeError):
            return f"Model {path.name}"

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

    def _submit(self, title: str, group: str, preset_name: str, overrides: dict, seed: int, num: int,
                on_result, repaint: Optional[dict] = None) -> Optional[JobHandle]:
        if not self._ready():
            return None
        from engine.pipelines.synthesis import SynthesisPipeline, preset

        mask = self.doc.label.copy()
        key = self.doc.key
        model_dir, device = self.model_dir(), self.settings.device
        stamp = (weights_stamp(model_dir), device)
        settings = preset(preset_name, **overrides)

        def job(ctx):
            def load():
                ctx.report(0.0, "loading the model")
                return SynthesisPipeline.from_pretrained(model_dir, device=device)

            return self.synth_cache.use(stamp, load, lambda pipe: pipe(mask, settings=settings, seed=seed,
                                                                       num_images_per_prompt=num, ctx=ctx,
                                                                       **(repaint or {})))

        handle = self.runner.submit(title, job, group=group,
                                    on_result=lambda r: on_result(r, key, model_dir, preset_name),
                                    on_error=lambda msg: self.status.setText(f"Synthesis failed: {msg}"),
                                    device=device)
        handle.progressChanged.connect(lambda f, _m: self.progress.setValue(int(f * 1000)))
        return handle

    def request_preview(self) -> Optional[JobHandle]:
        """Render a preview of the current mask on the preview lane (superseding any preview in flight)."""
        if not self._ready():
            return None
        from engine.distill import synthesize_preview

        asked = time.perf_counter()
        mask, key = self.doc.label.copy(), self.doc.key
        model_dir, device = self.model_dir(), self.settings.device
        guidance, seed = self.guidance.value(), self.seed.value()

        def job(ctx):
            limit_torch_threads_here(PREVIEW_TORCH_THREADS)  # never wait on a core that a long job holds
            return synthesize_preview(self._preview_pipe(model_dir, device, ctx), mask, guidance=guidance, seed=seed,
                                      ctx=ctx)  # the function `cadis synth --preset preview` calls

        handle = self.runner.lane(PREVIEW_LANE).submit(
            "Live preview", job, group=PREVIEW_GROUP,
            on_result=lambda r: self._on_preview(r, key, model_dir, "preview", asked),
            on_error=lambda msg: self.status.setText(f"Preview failed: {msg}"))
        handle.progressChanged.connect(lambda f, _m: self.progress.setValue(int(f * 1000)))
        self.preview_handle = handle
        return handle

    def _preview_pipe(self, model_dir: str, device: str, ctx):
        from engine.distill import preview_pipeline

        def load():
            ctx.report(0.0, "loading the preview model")
            return preview_pipeline(model_dir, device=device, use_student=self.use_student)[0]

        stamp = (weights_stamp(model_dir), weights_stamp(Path(model_dir) / "student"), device, self.use_student)
        return self.cache.get(stamp, load)

    def _accept_full_lift(self, entry: GalleryEntry) -> Optional[JobHandle]:
        """A live preview lifted on the preview's pixel budget: render the same student sample again (same
        seed, timesteps and guidance: the student is deterministic) with the final preset's lift at the mask's
        size, and store that frame (the pair is stored when the job is done)."""
        from dataclasses import replace

        from engine.distill import StudentPipeline

        prov, model_dir, device = dict(entry.provenance), self.model_dir(), self.settings.device

        def job(ctx):
            pipe = self._preview_pipe(model_dir, device, ctx)
            if not isinstance(pipe, StudentPipeline):
                raise RuntimeError("the model has no preview student now; synthesize the frame instead")
            s = replace(pipe.default_settings, timesteps=tuple(prov["timesteps"]), guidance=float(prov["guidance"]),
                        max_lift_pixels=None)
            return pipe(entry.mask, settings=s, seed=int(prov["seed"]), ctx=ctx)

        def done(result) -> None:
            entry.image = result.images[0]
            entry.provenance = synthesis_provenance(result.settings, prov["seed"], prov.get("preset", "preview"),
                                                    model_dir, key_of(entry), result.mask)
            self.accept_selected(entry)
            self._show_selected()

        self.status.setText("Lifting the preview to the mask's full size before storing it…")
        self.accept_handle = self.runner.submit(
            "Full-size frame of the preview", job, group=SYNTH_GROUP, on_result=done,
            on_error=lambda msg: self.status.setText(f"Could not store the preview: {msg}"), device=device)
        return self.accept_handle

    def synthesize(self) -> Optional[JobHandle]:
        """Run the chosen preset and settings for the chosen number of variants."""
        if self.new_seed.isChecked():
            self.seed.setValue(random.randrange(2**31 - 1))
        overrides = {"steps": self.steps.value(), "sampler": self.sampler.currentData(),
                     "guidance": self.guidance.value()}
        n = self.variants.value()
        handle = self._submit(f"Synthesize {n} frame{'s' if n > 1 else ''}", SYNTH_GROUP,
                              self.preset.currentData(), overrides, self.seed.value(), n, self._on_results)
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
        overrides = {"steps": self.steps.value(), "guidance": self.guidance.value()}
        extra = {"image": self.doc.image.copy(), "parent_mask": parent.copy(), "margin": self.margin.value()}
        handle = self._submit("Repaint changed region", SYNTH_GROUP, self.preset.currentData(), overrides,
                              self.seed.value(), 1, self._on_results, repaint=extra)
        if handle is not None:
            self.repaint_handle = handle
        return handle

    # -- results -----------------------------------------------------------------------------------
    def _entries(self, result, key, model_dir, preset_name) -> list[GalleryEntry]:
        from engine.pipelines.repaint import repaint_provenance

        out = []
        for image, seed in zip(result.images, result.seeds):
            prov = synthesis_provenance(result.settings, seed, preset_name, model_dir, key, result.mask)
            if result.changed is not None:  # a repaint: parent frame, changed-region mask, model, seed
                prov["repaint"] = repaint_provenance(result, key)
            out.append(GalleryEntry(image, result.mask, prov))
        return out

    def _on_preview(self, result, key, model_dir, preset_name, asked: float) -> None:
        self.gallery.set_live(self._entries(result, key, model_dir, preset_name)[0])
        self.gallery.setCurrentRow(0)  # the newest result is the one in the big view
        self._show_selected()
        self.preview.repaint()
        self.last_preview_s = time.perf_counter() - asked
        info = result.settings
        self.status.setText(f"Preview of {Path(key).name}: {info.get('sampler', '')} {info.get('steps', '')} steps, "
                            f"{self.last_preview_s * 1000:.0f} ms")
        self.previewShown.emit(self.last_preview_s)

    def _on_results(self, result, key, model_dir, preset_name) -> None:
        for entry in self._entries(result, key, model_dir, preset_name):
            self.gallery.add(entry)
        self._show_selected()
        if result.changed is not None:
            self.status.setText(f"Repainted {int(result.region.sum()):,} px ({int(result.changed.sum()):,} changed + "
                                "margin); every other pixel is the real frame")
        else:
            self.status.setText(f"{len(result.images)} frame(s) synthesized from {Path(key).name}")

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
            self.status.setText(f"Already stored as synthetic pair {entry.pair_id}")
            return entry.pair_id
        if float(entry.provenance.get("lift_scale", 1.0)) < 1.0:
            self._accept_full_lift(entry)
            return None
        try:
            entry.pair_id = project.add_pair(entry.image, entry.mask, PAIR_SOURCE, entry.provenance,
                                             parent_key=entry.provenance.get("source_frame"))
        except Exception as exc:  # noqa: BLE001 - a failed write is a message, not a crash
            self.status.setText(f"Could not store the pair: {exc}")
            return None
        self.gallery.mark_accepted(entry)
        note = self._sketch_after_accept(entry)
        self.status.setText(f"Stored as synthetic pair {entry.pair_id}{note or f' (from {Path(key_of(entry)).name})'}")
        self.pairAccepted.emit(entry.pair_id)
        return entry.pair_id

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
