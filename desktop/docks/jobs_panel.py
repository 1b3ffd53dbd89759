"""The jobs panel: one row per background job with its progress bar, cancel button and error text. Titles and
messages wrap (the full text is also the tooltip); only the newest few finished jobs stay listed."""
from __future__ import annotations

from typing import Optional

import qtawesome as qta
import time

from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import (QFrame, QHBoxLayout, QLabel, QProgressBar, QPushButton, QScrollArea,
                               QToolButton, QVBoxLayout, QWidget)

from desktop.workers import CANCELLED, DONE, FAILED, JobHandle, JobRunner

_STATE_TEXT = {DONE: "Done", CANCELLED: "Cancelled", FAILED: "Failed"}
KEEP_FINISHED = 4  # finished rows kept in the panel (failed ones stay until cleared)


class JobRow(QFrame):
    """Title, progress bar, cancel button and a status / error line for one job."""

    def __init__(self, handle: JobHandle, parent: Optional[QWidget] = None):
        super().__init__(parent)
        self.handle = handle
        self.setObjectName("jobRow")
        self.title = QLabel(handle.title)
        self.title.setObjectName("jobTitle")
        self.title.setWordWrap(True)
        self.title.setToolTip(handle.title)
        self.progress = QProgressBar()
        self.progress.setRange(0, 1000)
        self.progress.setTextVisible(False)
        self.progress.setFixedHeight(6)
        self.cancel_button = QToolButton()
        self.cancel_button.setIcon(qta.icon("mdi6.close-circle-outline", color="#c8ccd4"))
        self.cancel_button.setToolTip("Cancel this job")
        self.cancel_button.clicked.connect(handle.cancel)
        self.status = QLabel("Queued")
        self.status.setObjectName("jobStatus")
        self.status.setWordWrap(True)
        self.status.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        top = QHBoxLayout()
        top.setContentsMargins(0, 0, 0, 0)
        top.addWidget(self.title, 1)
        top.addWidget(self.cancel_button)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(6, 4, 6, 4)
        lay.setSpacing(2)
        lay.addLayout(top)
        lay.addWidget(self.progress)
        lay.addWidget(self.status)
        self._started = time.monotonic()
        self._last = (handle.fraction, handle.message)
        self.clock = QTimer(self)  # the elapsed time ticks while the job runs: a long step never looks stuck
        self.clock.setInterval(1000)
        self.clock.timeout.connect(lambda: self._on_progress(*self._last))
        self.clock.start()
        handle.progressChanged.connect(self._on_progress)
        handle.stateChanged.connect(self._on_state)
        self._on_progress(handle.fraction, handle.message)
        if handle.is_finished():
            self._on_state(handle.state)

    def status_text(self) -> str:
        return self.status.text()

    def _on_progress(self, fraction: float, message: str) -> None:
        self._last = (fraction, message)
        self.progress.setValue(int(round(fraction * 1000)))
        if not self.handle.is_finished():
            elapsed = int(time.monotonic() - self._started)
            clock = f"  ·  {elapsed // 60} min {elapsed % 60:02d} s" if elapsed >= 5 else ""
            self.status.setText(f"{fraction * 100:.0f}%  {message}".rstrip() + clock)
            self.status.setToolTip(self.status.text())

    def _on_state(self, state: str) -> None:
        if state == "running" and not self.handle.message:
            self.status.setText("Running")
        if state not in _STATE_TEXT:
            return
        self.clock.stop()
        self.cancel_button.setEnabled(False)
        if state == FAILED:
            self.status.setText(f"Failed: {self.handle.error}")
            self.status.setProperty("error", True)
            self.progress.setProperty("error", True)
        elif state == CANCELLED:
            self.status.setText("Replaced by a newer request" if self.handle.superseded else "Cancelled")
        else:
            self.progress.setValue(1000)
            self.status.setText("Done" + (f"  {self.handle.message}" if self.handle.message else ""))
        self.status.setToolTip(self.status.text())
        for w in (self.status, self.progress):
            w.style().unpolish(w)
            w.style().polish(w)


class JobsPanel(QWidget):
    """Lists the runner's jobs, newest on top; 'Clear finished' removes ended rows."""

    def __init__(self, runner: JobRunner, parent: Optional[QWidget] = None):
        super().__init__(parent)
        self.runner = runner
        self._rows: dict[int, JobRow] = {}
        self._list = QVBoxLayout()
        self._list.setContentsMargins(0, 0, 0, 0)
        self._list.setSpacing(2)
        self._list.addStretch(1)
        inner = QWidget()
        inner.setLayout(self._list)
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QFrame.Shape.NoFrame)
        scroll.setWidget(inner)
        self.empty = QLabel("No background jobs")
        self.empty.setObjectName("hint")
        self.empty.setAlignment(Qt.AlignmentFlag.AlignCenter)
        clear = QPushButton(qta.icon("mdi6.broom", color="#c8ccd4"), "Clear finished")
        clear.clicked.connect(runner.clear_finished)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(4, 4, 4, 4)
        lay.addWidget(self.empty)
        lay.addWidget(scroll, 1)
        lay.addWidget(clear, 0, Qt.AlignmentFlag.AlignRight)
        runner.jobAdded.connect(self._add)
        runner.jobRemoved.connect(self._remove)
        for job in runner.jobs():
            self._add(job)
        self._update_empty()

    def row_for(self, handle: JobHandle) -> JobRow:
        return self._rows[handle.id]

    def _add(self, handle: JobHandle) -> None:
        row = JobRow(handle)
        self._rows[handle.id] = row
        self._list.insertWidget(0, row)
        handle.stateChanged.connect(lambda _s: self._trim_finished())
        self._trim_finished()
        self._update_empty()

    def _trim_finished(self) -> None:
        """Drop all but the newest KEEP_FINISHED finished rows (failures stay, so their message is read)."""
        ended = [h for h, row in sorted(self._rows.items(), reverse=True)
                 if row.handle.is_finished() and row.handle.state != FAILED]
        for hid in ended[KEEP_FINISHED:]:
            row = self._rows.pop(hid)
            row.setParent(None)
            row.deleteLater()
        self._update_empty()

    def _remove(self, handle: JobHandle) -> None:
        row = self._rows.pop(handle.id, None)
        if row is not None:
            row.setParent(None)
            row.deleteLater()
        self._update_empty()

    def _update_empty(self) -> None:
        self.empty.setVisible(not self._rows)
