"""The export dialog (File > Export…): formats, classes, frames and synthetic pairs, run as a background job
with progress and cancel, and the class-frequency report once done.

    dialog = ExportJobDialog(window.doc, window.runner, window.settings, parent=window)
    dialog.exported.connect(...)   # ExportOutcome, optional (e.g. to show the report in a dock)
    dialog.show()                  # non-modal

The job is `engine.services.export.export`, the same call as `cadis export`: an atomic CaDIS export (refuses a
non-empty folder unless "overwrite" is ticked) with COCO JSON and the report written inside it. The COCO
format keeps the CaDIS folders: coco.json refers to the exported images.
"""
from __future__ import annotations

from pathlib import Path
from typing import Optional

import qtawesome as qta
from PySide6.QtCore import Signal
from PySide6.QtWidgets import (QCheckBox, QComboBox, QDialog, QDoubleSpinBox, QFileDialog, QFormLayout, QHBoxLayout, QLabel,
                               QLineEdit, QProgressBar, QPushButton, QVBoxLayout, QWidget)

from desktop.panels.export.report_view import ReportView
from desktop.workers import FINAL_STATES, JobHandle
from engine.services.export import EXPORT_FORMATS, ExportOptions, ExportOutcome, ExportRequest, export
from engine.services.verify import VerifyRequest, VerifyResult, verify
from engine.project.pairs import PAIR_RULE, pair_counts

# every registered format alone, and the CaDIS layout with COCO (the alias "both" of "cadis,coco")
FORMATS = tuple((f.name, f.label) for f in EXPORT_FORMATS.values()) + (("both", "CaDIS layout + COCO JSON"),)
EXPERIMENTS = ((None, "Original 36 classes"), ("1", "Experiment 1 (8 classes)"), ("2", "Experiment 2 (17 classes)"),
               ("3", "Experiment 3 (25 classes)"))
SPLITS = (("all", "All splits"), ("train", "Train"), ("val", "Validation"), ("test", "Test"))
STATUS_TEXT = (("done", "Done"), ("in_progress", "In progress"), ("unlabelled", "Not reviewed"),
               ("flagged", "Flagged"), ("rejected", "Rejected"))


class ExportJobDialog(QDialog):
    """Export settings, a progress bar with cancel, and the report once done. Non-modal."""

    exported = Signal(object)  # ExportOutcome

    def __init__(self, document, runner, settings, parent: Optional[QWidget] = None):
        super().__init__(parent)
        self.setWindowTitle("Export dataset")
        self.setObjectName("exportJobDialog")
        self.doc, self.runner, self.settings = document, runner, settings
        self.job: Optional[JobHandle] = None
        self._written: dict = {}
        self.outcome: Optional[ExportOutcome] = None
        self.verified: Optional[VerifyResult] = None  # the check of the last export against its manifest
        self.verify_job: Optional[JobHandle] = None
        self.last_message = ""
        self.out_dir = QLineEdit()
        self.out_dir.setPlaceholderText("An empty or new folder")
        browse = QPushButton(qta.icon("mdi6.folder-open-outline", color="#c8ccd4"), "")
        browse.clicked.connect(self._browse)
        row = QHBoxLayout()
        row.addWidget(self.out_dir, 1)
        row.addWidget(browse)
        self.format = self._combo(FORMATS)
        self.experiment = self._combo(EXPERIMENTS)
        self.split = self._combo(SPLITS)
        self.real = QCheckBox("Real frames")
        self.real.setChecked(True)
        self.synthetic = QCheckBox("Accepted synthetic pairs (training split only)")
        self.synthetic.setToolTip(PAIR_RULE)
        include = QHBoxLayout()
        include.addWidget(self.real)
        include.addWidget(self.synthetic)
        self.pair_info = QLabel()
        self.pair_info.setWordWrap(True)
        self.pair_info.setObjectName("hint")
        self.status_boxes = {}
        statuses = QHBoxLayout()
        for value, text in STATUS_TEXT:
            box = QCheckBox(text)
            box.setChecked(value == "done")
            self.status_boxes[value] = box
            statuses.addWidget(box)
        self.real.toggled.connect(lambda on: [b.setEnabled(on) for b in self.status_boxes.values()])
        self.left_out = QLabel()
        self.left_out.setWordWrap(True)
        self.left_out.setObjectName("hint")
        for b in (*self.status_boxes.values(), self.real):
            b.toggled.connect(self._update_left_out)
        self.previews = QCheckBox("Also write colour previews")
        self.overwrite = QCheckBox("Replace the folder if it is not empty")
        # a merged team project: leave out frames whose annotators agree less (engine.team; one annotator: kept)
        self.agreement = QCheckBox("Only frames whose annotators agree at least (mean IoU)")
        self.min_agreement = QDoubleSpinBox()
        self.min_agreement.setRange(0.0, 1.0)
        self.min_agreement.setSingleStep(0.05)
        self.min_agreement.setValue(0.8)
        agreement = QHBoxLayout()
        agreement.addWidget(self.agreement)
        agreement.addWidget(self.min_agreement)
        agreement.addStretch(1)
        form = QFormLayout()
        form.addRow("Output folder", row)
        form.addRow("Format", self.format)
        form.addRow("Classes", self.experiment)
        form.addRow("Include", include)
        form.addRow("", self.pair_info)
        form.addRow("Frame status", statuses)
        form.addRow("", self.left_out)
        form.addRow("Split", self.split)
        form.addRow("", self.previews)
        form.addRow("", self.overwrite)
        if self.doc.project is not None and self.doc.project.frame_agreement():  # only for a team's project
            form.addRow("Team", agreement)
        self.progress = QProgressBar()
        self.progress.setVisible(False)
        self.message = QLabel("Synthetic pairs go to their own Synthetic01 folder and are never put in val/test.")
        self.message.setWordWrap(True)
        self.message.setObjectName("hint")
        self.export_btn = QPushButton(qta.icon("mdi6.export", color="#c8ccd4"), "Export")
        self.export_btn.clicked.connect(self.start)
        self.cancel_btn = QPushButton("Cancel")
        self.cancel_btn.clicked.connect(self.cancel)
        self.close_btn = QPushButton("Close")
        self.close_btn.clicked.connect(self.close)
        buttons = QHBoxLayout()
        buttons.addStretch(1)
        for b in (self.export_btn, self.cancel_btn, self.close_btn):
            buttons.addWidget(b)
        self.cancel_btn.setEnabled(False)
        self.report = ReportView()
        self.report.setVisible(False)
        lay = QVBoxLayout(self)
        lay.addLayout(form)
        lay.addWidget(self.progress)
        lay.addWidget(self.message)
        lay.addLayout(buttons)
        lay.addWidget(self.report, 1)
        self.resize(760, 420)
        self._restore_choices()
        self._update_left_out()
        self.update_pair_info()

    def update_pair_info(self) -> None:
        """The one rule of synthetic pairs and how many of this project's pairs an export takes."""
        project = self.doc.project
        counts = pair_counts(r.status for r in project.pairs()) if project is not None else ""
        self.pair_info.setText(f"{PAIR_RULE} This project: {counts}." if counts else PAIR_RULE)

    def _restore_choices(self) -> None:
        """The choices of the last export (kept between runs; "replace the folder" is never kept)."""
        kept = self.settings.export_choices() if hasattr(self.settings, "export_choices") else {}
        if not kept:
            return
        try:
            fields = {k: kept[k] for k in ("out_dir", "format", "experiment", "split", "previews") if k in kept}
            fields.update({k: tuple(kept[k]) for k in ("include", "statuses") if isinstance(kept.get(k), list)})
            self.set_options(ExportOptions(**fields))
        except (TypeError, ValueError):
            return

    def _keep_choices(self, opts: ExportOptions) -> None:
        if hasattr(self.settings, "set_export_choices"):
            self.settings.set_export_choices({
                "out_dir": opts.out_dir, "format": opts.format, "experiment": opts.experiment,
                "include": list(opts.include), "statuses": list(opts.statuses), "split": opts.split,
                "previews": bool(opts.previews)})

    def left_out_frames(self) -> dict[str, list[str]]:
        """The real frames this export leaves out, by review status (their box is not ticked)."""
        project = self.doc.project
        if project is None:
            return {}
        ticked = {k for k, b in self.status_boxes.items() if b.isChecked() and self.real.isChecked()}
        out: dict[str, list[str]] = {}
        for key, status in project.statuses().items():
            if status not in ticked:
                out.setdefault(status, []).append(key)
        return out

    def _update_left_out(self, *_) -> None:
        """Say which frames stay out of the export and why, before it runs."""
        left = self.left_out_frames()
        names = dict(STATUS_TEXT)
        n = sum(len(v) for v in left.values())
        if not n:
            self.left_out.setText("Every real frame is exported.")
            self.left_out.setToolTip("")
            return
        parts = ", ".join(f"{len(v)} {names.get(k, k).lower()}" for k, v in left.items())
        self.left_out.setText(f"Leaves out {n} frame{'s' if n != 1 else ''} whose status is not ticked: {parts}.")
        self.left_out.setToolTip("\n".join(f"{names.get(k, k)}: {key}" for k, v in left.items() for key in v[:40]))

    @staticmethod
    def _combo(choices) -> QComboBox:
        c = QComboBox()
        for value, text in choices:
            c.addItem(text, value)
        return c

    def options(self) -> ExportOptions:
        include = tuple(k for k, box in (("real", self.real), ("synthetic", self.synthetic)) if box.isChecked())
        return ExportOptions(
            out_dir=self.out_dir.text().strip(), format=self.format.currentData(),
            experiment=self.experiment.currentData(), include=include,
            statuses=tuple(k for k, b in self.status_boxes.items() if b.isChecked()),
            split=self.split.currentData(), previews=self.previews.isChecked(), overwrite=self.overwrite.isChecked(),
            min_agreement=self.min_agreement.value() if self.agreement.isChecked() else None)

    def set_options(self, o: ExportOptions) -> None:
        """Fill the form (scripts and tests)."""
        self.out_dir.setText(o.out_dir)
        for combo, value in ((self.format, o.format), (self.experiment, o.experiment), (self.split, o.split)):
            if combo.findData(value) >= 0:  # an unknown kept value leaves the default
                combo.setCurrentIndex(combo.findData(value))
        self.real.setChecked("real" in o.include)
        self.synthetic.setChecked("synthetic" in o.include)
        for k, b in self.status_boxes.items():
            b.setChecked(k in o.statuses)
        self.previews.setChecked(o.previews)
        self.overwrite.setChecked(o.overwrite)
        self.agreement.setChecked(o.min_agreement is not None)
        if o.min_agreement is not None:
            self.min_agreement.setValue(o.min_agreement)

    def start(self) -> Optional[JobHandle]:
        """Validate and run the export job."""
        if self.doc.project is None:
            self._say("Open a project first.")
            return None
        opts = self.options()
        problem = opts.problem()
        if problem:
            self._say(problem)
            return None
        self._keep_choices(opts)
        project, self._written = self.doc.project, {}
        written = self._written
        if not self.doc.save():  # export what is on screen
            self._say("The current frame could not be saved; fix that first (see the message bar).")
            return None
        self.job = self.runner.submit("Export", lambda ctx: export(ctx, ExportRequest(project, opts), written), group="export",
                                      on_result=self._done, on_error=lambda m: self._say(f"Export failed: {m}"))
        self.job.progressChanged.connect(lambda f, m: (self.progress.setValue(int(100 * f)),
                                                      self.progress.setFormat(f"%p%  {m}"[:70])))
        self.job.finished.connect(self._finished)
        self.progress.setValue(0)
        self.progress.setVisible(True)
        self.export_btn.setEnabled(False)
        self.cancel_btn.setEnabled(True)
        self._say("Exporting…")
        return self.job

    def cancel(self) -> None:
        if self.job is not None and self.job.state not in FINAL_STATES:
            self.job.cancel()
        else:
            self.reject()

    def _done(self, outcome: ExportOutcome) -> None:
        self.outcome = outcome
        r = outcome.result
        parts = [f"Exported {r.frames} frames and {r.synthetic} synthetic pairs to {r.out_dir}."]
        if outcome.coco_path:
            parts.append(f"COCO: {outcome.coco_path.name}.")
        parts.append(f"Report: {Path(outcome.report.markdown).name}, {Path(outcome.report.chart).name}.")
        if r.skipped:
            parts.append(f"{len(r.skipped)} skipped (see manifest.json).")
        self._say(" ".join(parts))
        self.report.show_rows(outcome.report.rows, outcome.class_set)
        self.report.setVisible(True)
        self.resize(max(self.width(), 1000), max(self.height(), 820))
        self.exported.emit(outcome)
        self.verify(str(r.out_dir))

    def verify(self, export_dir: str) -> JobHandle:
        """Check the export's files against its manifest's checksums (`cadis verify`), as a job; the result's
        line is added to the message."""
        said = self.last_message

        def show(result: VerifyResult) -> None:
            self.verified = result
            self._say(f"{said} Verified: {result.summary()}" if result.ok else f"{said} {result.summary()}!")
        self.verify_job = self.runner.submit("Verify export", lambda ctx: verify(ctx, VerifyRequest(export_dir)),
                                             group="export-verify", on_result=show,
                                             on_error=lambda m: self._say(f"{said} Verify failed: {m}"))
        return self.verify_job

    def _finished(self, state: str) -> None:
        self.progress.setVisible(False)
        self.export_btn.setEnabled(True)
        self.cancel_btn.setEnabled(False)
        if state == "cancelled":
            out = self._written.get("out_dir")
            self._say(f"Cancelled after the export was complete: {out} holds it, but the COCO file or the report "
                      "may be missing." if out else "Export cancelled; nothing was written to the output folder.")

    def _browse(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Export to folder", self.out_dir.text())
        if folder:
            self.out_dir.setText(folder)

    def _say(self, text: str) -> None:
        self.last_message = text
        self.message.setText(text)
