"""Team → Assign… and Team → Merge projects…: the fields of `cadis assign` / `cadis merge`, run as a job with
progress and cancel (the same engine calls: engine.team.assign, engine.team.merge_projects).

    dialog = AssignDialog(runner, dataset_root, parent); dialog.show(); handle = dialog.start()
    dialog = MergeDialog(runner, parent); dialog.mergedInto.connect(open_project)
"""
from __future__ import annotations

from pathlib import Path
from typing import Optional

import qtawesome as qta
from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (QCheckBox, QComboBox, QDialog, QFileDialog, QFormLayout, QHBoxLayout, QLabel,
                               QLineEdit, QListWidget, QProgressBar, QPushButton, QVBoxLayout, QWidget)

from desktop.workers import JobHandle

_ICON = "#c8ccd4"


def _folder_row(edit: QLineEdit, title: str, parent: QWidget) -> QHBoxLayout:
    browse = QPushButton(qta.icon("mdi6.folder-open-outline", color=_ICON), "")
    browse.setToolTip(title)

    def pick() -> None:
        folder = QFileDialog.getExistingDirectory(parent, title, edit.text())
        if folder:
            edit.setText(folder)
    browse.clicked.connect(pick)
    row = QHBoxLayout()
    row.addWidget(edit, 1)
    row.addWidget(browse)
    return row


class _JobDialog(QDialog):
    """A form, a progress bar and a message line; `start()` submits the job (None and a message if refused)."""

    def __init__(self, runner, title: str, parent: Optional[QWidget] = None):
        super().__init__(parent)
        self.setWindowTitle(title)
        self.setMinimumWidth(560)
        self.runner = runner
        self.job: Optional[JobHandle] = None
        self.result = None
        self.form = QFormLayout()
        self.progress = QProgressBar()
        self.progress.setRange(0, 1000)
        self.progress.setVisible(False)
        self.message = QLabel("")
        self.message.setWordWrap(True)
        self.run_button = QPushButton(qta.icon("mdi6.play", color=_ICON), "Run")
        self.run_button.clicked.connect(self.start)
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.clicked.connect(self._cancel)
        buttons = QHBoxLayout()
        buttons.addStretch(1)
        buttons.addWidget(self.cancel_button)
        buttons.addWidget(self.run_button)
        layout = QVBoxLayout(self)
        layout.addLayout(self.form)
        layout.addWidget(self.progress)
        layout.addWidget(self.message)
        layout.addLayout(buttons)

    def _cancel(self) -> None:
        if self.job is not None and not self.job.is_finished():
            self.job.cancel()
        else:
            self.reject()

    def _submit(self, title: str, fn) -> JobHandle:
        self.result = None
        self.run_button.setEnabled(False)
        self.progress.setValue(0)
        self.progress.setVisible(True)
        self.job = self.runner.submit(title, fn, group="team", on_result=self._done, on_error=self._failed)
        self.job.progressChanged.connect(lambda f, m: (self.progress.setValue(int(f * 1000)), self.message.setText(m)))
        self.job.finished.connect(lambda state: self.run_button.setEnabled(True))
        return self.job

    def _refuse(self, text: str) -> None:
        self.message.setText(text)

    def _done(self, result) -> None:
        self.result = result
        self.run_button.setEnabled(True)
        self.progress.setValue(1000)
        self.message.setText(result.summary())

    def _failed(self, text: str) -> None:
        self.run_button.setEnabled(True)
        self.progress.setVisible(False)
        self.message.setText(text)


class AssignDialog(_JobDialog):
    """Split a dataset into one work package per annotator (engine.team.assign)."""

    def __init__(self, runner, dataset: str = "", parent: Optional[QWidget] = None):
        super().__init__(runner, "Assign work packages", parent)
        self.setObjectName("teamAssignDialog")
        self.dataset = QLineEdit(str(dataset))
        self.annotators = QLineEdit()
        self.annotators.setPlaceholderText("ana, ben, chen")
        self.overlap = QLineEdit("10%")
        self.overlap.setToolTip("Frames every annotator labels, to measure agreement: a share (10%) or a number")
        self.by = QComboBox()
        self.by.addItem("Frame by frame", "frame")
        self.by.addItem("Whole videos", "video")
        self.out_dir = QLineEdit(str(Path(dataset).parent / f"{Path(dataset).name}-team") if dataset else "")
        self.form.addRow("Dataset", _folder_row(self.dataset, "The dataset to split", self))
        self.form.addRow("Annotators", self.annotators)
        self.form.addRow("Overlap", self.overlap)
        self.form.addRow("Split", self.by)
        self.form.addRow("Packages folder", _folder_row(self.out_dir, "A new or empty folder", self))
        self.message.setText("One project per annotator, for the same dataset (frames are not copied). Give each "
                             "annotator their <name>.cadis-project folder; merge them back with Team → Merge.")

    def start(self) -> Optional[JobHandle]:
        from engine.safety import Read, UnsafeWriteError, Write, check_writes
        from engine.team import assign

        data, out = self.dataset.text().strip(), self.out_dir.text().strip()
        if not data or not out or not self.annotators.text().strip():
            self._refuse("Choose the dataset, name the annotators and choose a folder for the packages.")
            return None
        try:
            check_writes([Write(out, "folder", "packages folder")], [Read(data, "dataset")])
        except UnsafeWriteError as exc:
            self._refuse(str(exc))
            return None
        names, overlap, by = self.annotators.text(), self.overlap.text(), self.by.currentData()
        return self._submit("Assign work packages",
                            lambda ctx: assign(data, names, out, overlap=overlap, by=by, ctx=ctx))


class MergeDialog(_JobDialog):
    """Merge the annotators' projects into one (engine.team.merge_projects)."""

    mergedInto = Signal(str)  # the merged project's folder, when "open it" is ticked

    def __init__(self, runner, parent: Optional[QWidget] = None):
        super().__init__(runner, "Merge projects", parent)
        self.setObjectName("teamMergeDialog")
        self.projects = QListWidget()
        self.projects.setMinimumHeight(90)
        self.projects.setTextElideMode(Qt.TextElideMode.ElideLeft)  # the folder names matter, not the parents
        self.projects.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        add = QPushButton(qta.icon("mdi6.plus", color=_ICON), "Add project…")
        add.clicked.connect(self._add)
        remove = QPushButton(qta.icon("mdi6.minus", color=_ICON), "Remove")
        remove.clicked.connect(lambda: [self.projects.takeItem(self.projects.row(i))
                                        for i in self.projects.selectedItems()])
        row = QHBoxLayout()
        row.addWidget(add)
        row.addWidget(remove)
        row.addStretch(1)
        column = QVBoxLayout()
        column.addWidget(self.projects)
        column.addLayout(row)
        self.out_dir = QLineEdit()
        self.out_dir.setPlaceholderText("merged.cadis-project (new, or a project of the same dataset)")
        self.open_after = QCheckBox("Open the merged project when done")
        self.open_after.setChecked(True)
        self.form.addRow("Projects", column)
        self.form.addRow("Merged project", _folder_row(self.out_dir, "The merged project folder", self))
        self.form.addRow("", self.open_after)
        self.message.setText("Frames two or more annotators labelled differently keep every version, get a "
                             "proposed label and are flagged for review (Team → Review disputes).")

    def add_projects(self, folders) -> None:
        for f in folders:
            self.projects.addItem(str(f))

    def _add(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "An annotator's project (.cadis-project)")
        if folder:
            self.add_projects([folder])

    def start(self) -> Optional[JobHandle]:
        from engine.safety import Read, UnsafeWriteError, Write, check_writes
        from engine.team import merge_projects

        inputs = [self.projects.item(i).text() for i in range(self.projects.count())]
        out = self.out_dir.text().strip()
        if not inputs or not out:
            self._refuse("Add the annotators' projects and choose the merged project's folder.")
            return None
        try:
            check_writes([Write(out, "project", "merged project")], [Read(p, "project") for p in inputs])
        except UnsafeWriteError as exc:
            self._refuse(str(exc))
            return None
        return self._submit("Merge projects", lambda ctx: merge_projects(inputs, out, ctx=ctx))

    def _done(self, result) -> None:
        super()._done(result)
        if self.open_after.isChecked():
            self.mergedInto.emit(str(result.out))
