"""The review of disputed frames (Team → Review disputes): the list of frames whose annotators' versions differ,
previous/next disputed frame, an overlay of where the versions differ, and "take X's label" for a clicked
region as one undo step (engine.team.review.take_version through the edit session), each decision recorded in
the frame's dispute with the reviewer's name; "Settle" closes the dispute and marks the frame done.
"""
from __future__ import annotations

from typing import Optional

import numpy as np
from PySide6.QtCore import QEvent, QObject, Qt, Signal
from PySide6.QtWidgets import (QButtonGroup, QCheckBox, QHBoxLayout, QLabel, QLineEdit, QListWidget,
                               QListWidgetItem, QPushButton, QRadioButton, QVBoxLayout, QWidget)

from desktop.canvas.items import ImageItem
from desktop.qt_image import argb_values, wrap_argb32
from engine.team.review import differ_mask, load_versions, record_take, region_at, settle, take_version

DIFF_Z = 1.6  # above the label overlay and a proposal layer, below tool previews
DIFF_ARGB = argb_values(np.array([[255, 0, 200]]), 150)[0]  # translucent magenta: where the versions differ
PICKED_ARGB = argb_values(np.array([[255, 215, 0]]), 200)[0]  # gold: the region last taken


class DiffLayer:
    """A canvas layer showing where a frame's versions differ (and the region last taken)."""

    def __init__(self, canvas) -> None:
        self.item = ImageItem()
        self.item.setZValue(DIFF_Z)
        self.item.setVisible(False)
        canvas.scene().addItem(self.item)
        self._buf = np.zeros((1, 1), np.uint32)

    def show(self, diff: Optional[np.ndarray], picked: Optional[np.ndarray] = None) -> None:
        if diff is None:
            self.item.setVisible(False)
            return
        buf = np.where(diff, DIFF_ARGB, np.uint32(0)).astype(np.uint32)
        if picked is not None:
            buf[picked] = PICKED_ARGB
        self._buf = np.ascontiguousarray(buf)
        self.item.set_image(wrap_argb32(self._buf))
        self.item.setVisible(True)

    def pixels(self) -> np.ndarray:
        return self._buf


class ReviewPanel(QWidget):
    """See the module doc. `take_at(x, y)` is what a click on the canvas does in pick mode."""

    frameRequested = Signal(str)

    def __init__(self, doc, canvas, parent: Optional[QWidget] = None):
        super().__init__(parent)
        self.doc, self.canvas = doc, canvas
        self.layer = DiffLayer(canvas)
        self.versions: dict[str, np.ndarray] = {}
        self.picked: Optional[np.ndarray] = None
        self.summary = QLabel("")
        self.summary.setWordWrap(True)
        self.reviewer = QLineEdit()
        self.reviewer.setPlaceholderText("your name (recorded with each decision)")
        self.reviewer.editingFinished.connect(self._set_reviewer)
        self.list = QListWidget()
        self.list.setMinimumHeight(48)
        self.list.setMaximumHeight(96)
        self.list.itemActivated.connect(lambda item: self.frameRequested.emit(item.data(Qt.ItemDataRole.UserRole)))
        self.list.itemClicked.connect(lambda item: self.frameRequested.emit(item.data(Qt.ItemDataRole.UserRole)))
        self.prev_button, self.next_button = QPushButton("◀ Previous disputed"), QPushButton("Next disputed ▶")
        self.prev_button.clicked.connect(lambda: self.step(-1))
        self.next_button.clicked.connect(lambda: self.step(1))
        self.show_diff = QCheckBox("Show where the versions differ")
        self.show_diff.setChecked(True)
        self.show_diff.toggled.connect(lambda _on: self.render())
        self.authors_box = QWidget()
        self.authors_layout = QHBoxLayout(self.authors_box)
        self.authors_layout.setContentsMargins(0, 0, 0, 0)
        self.authors_layout.addWidget(QLabel("Take the label of:"))
        self.authors = QButtonGroup(self)
        self.pick = QPushButton("Pick regions on the canvas")
        self.pick.setCheckable(True)
        self.pick.setToolTip("While this is on, a click on a highlighted region writes the chosen version there "
                             "(one undo step); painting is paused")
        self.settle_button = QPushButton("Settle (done)")
        self.settle_button.setToolTip("Close this frame's dispute with its label as it is now and mark it done")
        self.settle_button.clicked.connect(self.settle_frame)
        self.status = QLabel("")
        self.status.setWordWrap(True)
        self.status.setMinimumHeight(3 * self.status.fontMetrics().lineSpacing() + 4)
        self.status.setAlignment(Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignLeft)
        nav = QHBoxLayout()
        nav.addWidget(self.prev_button)
        nav.addWidget(self.next_button)
        layout = QVBoxLayout(self)
        layout.setSpacing(4)
        layout.addWidget(self.summary)
        reviewer_row = QHBoxLayout()
        reviewer_row.addWidget(QLabel("Reviewer"))
        reviewer_row.addWidget(self.reviewer, 1)
        layout.addLayout(reviewer_row)
        layout.addWidget(self.list)
        layout.addLayout(nav)
        layout.addWidget(self.show_diff)
        layout.addWidget(self.authors_box)
        actions = QHBoxLayout()
        actions.addWidget(self.pick, 1)
        actions.addWidget(self.settle_button)
        layout.addLayout(actions)
        layout.addWidget(self.status)
        layout.addStretch(1)
        canvas.viewport().installEventFilter(self)
        doc.projectChanged.connect(self.refresh)
        doc.frameChanged.connect(lambda _key: self.load_frame())
        doc.labelEdited.connect(lambda _rect: self.render())
        self.refresh()

    # -- the list ----------------------------------------------------------------------------------
    def disputes(self) -> list:
        project = self.doc.project
        return [] if project is None else project.disputes()

    def refresh(self) -> None:
        project = self.doc.project
        self.list.clear()
        items = self.disputes()
        open_ = [d for d in items if d.open]
        self.summary.setText("No project open." if project is None else
                             f"{len(open_)} disputed frames to review ({len(items) - len(open_)} settled)." if items
                             else "No disputed frames: merge the team's projects first (Team → Merge projects…).")
        if project is not None and not self.reviewer.hasFocus():
            self.reviewer.setText(project.annotator)
        for d in items:
            agree = f" · IoU {d.agreement:.2f}" if d.agreement is not None else ""
            name = d.key.rsplit("/", 1)[-1].rsplit(".", 1)[0]
            text = f"{'●' if d.open else '✓'} {name} · {len(d.authors)} versions{agree}"
            item = QListWidgetItem(text)
            item.setData(Qt.ItemDataRole.UserRole, d.key)
            item.setToolTip(f"{d.key}\nversions by {', '.join(d.authors)}; proposal: {d.method}"
                            + ("" if d.open else f"\nsettled by {d.decided_by or 'someone'}"))
            self.list.addItem(item)
        self.load_frame()

    def step(self, offset: int) -> Optional[str]:
        """Show the next (offset 1) or previous (-1) frame with an open dispute, wrapping around."""
        keys = [d.key for d in self.disputes() if d.open]
        if not keys:
            self.status.setText("No open disputes left.")
            return None
        order = self.doc.keys()
        here = order.index(self.doc.key) if self.doc.key in order else -1
        ranked = sorted(keys, key=lambda k: order.index(k) if k in order else len(order))
        after = [k for k in ranked if (order.index(k) - here) * offset > 0]
        key = (after[0] if offset > 0 else after[-1]) if after else (ranked[0] if offset > 0 else ranked[-1])
        self.frameRequested.emit(key)
        return key

    # -- the frame ---------------------------------------------------------------------------------
    def load_frame(self) -> None:
        project, key = self.doc.project, self.doc.key
        self.versions = load_versions(project, key) if project is not None and key else {}
        self.picked = None
        for button in self.authors.buttons():
            self.authors.removeButton(button)
            button.deleteLater()
        for i, author in enumerate(sorted(self.versions)):
            button = QRadioButton(author)
            button.setChecked(i == 0)
            self.authors.addButton(button)
            self.authors_layout.addWidget(button)
        disputed = len(self.versions) >= 2 and differ_mask(self.versions).any()
        for w in (self.pick, self.settle_button, self.authors_box):
            w.setEnabled(bool(disputed))
        if not disputed:
            self.pick.setChecked(False)
        self.status.setText("" if disputed else "This frame is not disputed.")
        for i in range(self.list.count()):
            if self.list.item(i).data(Qt.ItemDataRole.UserRole) == key:
                self.list.setCurrentRow(i)
        self.render()

    def render(self) -> None:
        shown = self.show_diff.isChecked() and self.isVisibleTo(self.window()) and len(self.versions) >= 2
        self.layer.show(differ_mask(self.versions) if shown else None, self.picked)

    def chosen_author(self) -> Optional[str]:
        button = self.authors.checkedButton()
        return button.text() if button is not None else None

    def take_at(self, x: int, y: int, author: Optional[str] = None):
        """Take `author`'s (default: the chosen) version in the disputed region at (x, y): one undo step."""
        author = author or self.chosen_author()
        if author is None or author not in self.versions:
            return None
        region = region_at(self.versions, x, y)
        if region is None:
            self.status.setText(f"The versions agree at ({x}, {y}): click a highlighted region.")
            return None
        rec = self.doc.apply(take_version, self.versions[author], region, self.canvas.policy(),
                             f"take {author}'s label (review)")
        record_take(self.doc.project, self.doc.key, author, x, y, region)
        self.picked = region
        n = int(rec.changed().sum()) if rec is not None else 0
        self.status.setText(f"Took {author}'s label in a region of {int(region.sum()):,} pixels ({n:,} changed; "
                            "Ctrl+Z undoes it). The decision is recorded.")
        self.render()
        return rec

    def settle_frame(self) -> None:
        project, key = self.doc.project, self.doc.key
        if project is None or key is None:
            return
        self._set_reviewer()
        if not self.doc.save():
            return
        settle(project, key)
        self.doc.set_status("done")
        self.status.setText(f"{key.rsplit('/', 1)[-1]} settled by {project.annotator or 'you'} and marked done.")
        self.refresh()

    def _set_reviewer(self) -> None:
        project, name = self.doc.project, self.reviewer.text().strip()
        if project is None or not name or name == project.annotator or project.read_only:
            return
        try:
            project.set_annotator(name)
        except ValueError as exc:
            self.status.setText(str(exc))

    # -- clicks on the canvas ----------------------------------------------------------------------
    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802 - Qt name
        if (self.pick.isChecked() and self.pick.isEnabled() and event.type() == QEvent.Type.MouseButtonPress
                and event.button() == Qt.MouseButton.LeftButton):
            point = self.canvas.mapToScene(event.position().toPoint())
            self.take_at(int(np.floor(point.x())), int(np.floor(point.y())))
            return True  # the click is the review's, not the current tool's
        return False

    def showEvent(self, event) -> None:  # noqa: N802 - Qt name
        super().showEvent(event)
        self.render()

    def hideEvent(self, event) -> None:  # noqa: N802 - Qt name
        super().hideEvent(event)
        self.pick.setChecked(False)
        self.layer.show(None)
