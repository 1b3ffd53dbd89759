"""The export dialog with formats, synthetic pairs and the class-frequency report, run as a background job.

Wiring (done by the window; replaces `desktop.dialogs.ExportDialog` for File > Export…)::

    dialog = ExportJobDialog(window.doc, window.runner, window.settings, parent=window)
    dialog.exported.connect(...)   # ExportOutcome, optional (e.g. to show the report in a dock)
    dialog.show()                  # non-modal: the export runs as a job with progress and cancel

The job (`run_export`) calls `engine.export.export_cadis` (atomic: temp folder renamed into place, refuses
a non-empty folder unless "overwrite" is ticked) with `engine.export.coco.write_coco` (COCO format) and
`engine.export.report.report_from_export` (class_frequency.md / .csv / .png) as finishers, so they are part
of the same atomic export; the dialog shows the report. The COCO format keeps the CaDIS folders: coco.json refers to the exported images.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional

import qtawesome as qta
from PySide6.QtCore import Signal
from PySide6.QtWidgets import (QCheckBox, QComboBox, QDialog, QFileDialog, QFormLayout, QHBoxLayout, QLabel,
                               QLineEdit, QProgressBar, QPushButton, QVBoxLayout, QWidget)

from desktop.panels.report_view import ReportView
from desktop.workers import FINAL_STATES, JobHandle
from engine.jobs import JobContext

FORMATS = (("cadis", "CaDIS layout (index PNG labels)"), ("coco", "COCO JSON with RLE masks"),
           ("both", "CaDIS layout + COCO JSON"))
EXPERIMENTS = ((None, "Original 36 classes"), ("1", "Experiment 1 (8 classes)"), ("2", "Experiment 2 (17 classes)"),
               ("3", "Experiment 3 (25 classes)"))
SPLITS = (("all", "All splits"), ("train", "Train"), ("val", "Validation"), ("test", "Test"))
STATUS_TEXT = (("done", "Done"), ("in_progress", "In progress"), ("unlabelled", "Not reviewed"),
               ("flagged", "Flagged"), ("rejected", "Rejected"))


@dataclass
class ExportOptions:
    """Everything the dialog asks for."""

    out_dir: str
    format: str = "cadis"
    experiment: Optional[str] = None
    include: tuple[str, ...] = ("real",)
    statuses: tuple[str, ...] = ("done",)
    split: str = "all"
    previews: bool = False
    overwrite: bool = False

    def problem(self) -> str:
        """"" when the options can run, else what to change."""
        if not self.out_dir.strip():
            return "Choose an output folder first."
        if Path(self.out_dir).expanduser().is_file():
            return "That path is a file; choose a folder."
        if not self.include:
            return "Tick real frames and/or accepted synthetic pairs to export."
        if "real" in self.include and not self.statuses:
            return "Tick at least one review status of the frames to export."
        if self.format not in dict(FORMATS):
            return f"Unknown format {self.format!r}."
        return ""


@dataclass
class ExportOutcome:
    """What an export wrote: the CaDIS export, the COCO file (or None) and the report files."""

    result: object
    coco_path: Optional[Path]
    report: object
    class_set: object = None
    notes: list = field(default_factory=list)


def run_export(ctx: JobContext, project, options: ExportOptions, written: Optional[dict] = None) -> ExportOutcome:
    """Export with COCO and the report written inside the same atomic export (engine finishers).

    `written["out_dir"]` is set once the export folder is in place (a cancel after that point cannot undo
    it; the dialog says so)."""
    import dataclasses

    from engine.export import export_cadis
    from engine.export.coco import write_coco
    from engine.export.report import report_from_export
    from engine.taxonomy import get_class_set

    made: dict = {}

    def coco(folder: Path) -> None:
        ctx.report(0.87, "writing COCO JSON")
        made["coco"] = write_coco(folder).name

    def report(folder: Path) -> None:
        ctx.report(0.94, "writing the class-frequency report")
        made["report"] = report_from_export(folder)

    finishers = ([coco] if options.format in ("coco", "both") else []) + [report]
    result = export_cadis(project, options.out_dir, experiment=options.experiment, split=options.split,
                          statuses=options.statuses or ("done",), previews=options.previews, include=options.include,
                          overwrite=options.overwrite, ctx=ctx.sub(0.0, 0.85), finishers=finishers)
    if written is not None:
        written["out_dir"] = result.out_dir
    out = Path(result.out_dir)
    coco_path = out / made["coco"] if "coco" in made else None
    files = made["report"]  # its paths named the temporary folder: point them at the final one
    files = dataclasses.replace(files, markdown=out / files.markdown.name, csv=out / files.csv.name,
                                chart=out / files.chart.name)
    ctx.report(1.0, "done")
    return ExportOutcome(result, coco_path, files, get_class_set(options.experiment))


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
        include = QHBoxLayout()
        include.addWidget(self.real)
        include.addWidget(self.synthetic)
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
        form = QFormLayout()
        form.addRow("Output folder", row)
        form.addRow("Format", self.format)
        form.addRow("Classes", self.experiment)
        form.addRow("Include", include)
        form.addRow("Frame status", statuses)
        form.addRow("", self.left_out)
        form.addRow("Split", self.split)
        form.addRow("", self.previews)
        form.addRow("", self.overwrite)
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
        self._update_left_out()

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
            split=self.split.currentData(), previews=self.previews.isChecked(), overwrite=self.overwrite.isChecked())

    def set_options(self, o: ExportOptions) -> None:
        """Fill the form (scripts and tests)."""
        self.out_dir.setText(o.out_dir)
        self.format.setCurrentIndex(self.format.findData(o.format))
        self.experiment.setCurrentIndex(self.experiment.findData(o.experiment))
        self.split.setCurrentIndex(self.split.findData(o.split))
        self.real.setChecked("real" in o.include)
        self.synthetic.setChecked("synthetic" in o.include)
        for k, b in self.status_boxes.items():
            b.setChecked(k in o.statuses)
        self.previews.setChecked(o.previews)
        self.overwrite.setChecked(o.overwrite)

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
        project, self._written = self.doc.project, {}
        written = self._written
        if not self.doc.save():  # export what is on screen
            self._say("The current frame could not be saved; fix that first (see the message bar).")
            return None
        self.job = self.runner.submit("Export", lambda ctx: run_export(ctx, project, opts, written), group="export",
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
