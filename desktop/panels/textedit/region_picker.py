"""The region part of the Text edits dock: edit the whole frame, only the checked classes, or everything but
them; a proposal from the prompt (DiffEdit) checks the classes it covers; a preview shows what will change.

The picker only shows and asks: the region itself is made by `engine.textedit` from the mode and classes
(`EditSettings.region` / `region_classes`), the proposal by `engine.textedit.edit.propose_classes`.
"""
from __future__ import annotations

from typing import Optional

import cv2
import numpy as np
import qtawesome as qta
from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QColor, QIcon, QPixmap
from PySide6.QtWidgets import (QComboBox, QHBoxLayout, QLabel, QListWidget, QListWidgetItem, QPushButton,
                               QVBoxLayout, QWidget)

from desktop.qt_image import rgb_to_qimage
from engine.taxonomy import CLASS_NAMES, display_colours, get_class_set

_ICON = "#c8ccd4"
PREVIEW_W = 256
MODES = (("frame", "Whole frame"), ("only", "Only checked classes"), ("keep", "Keep checked classes"))


class RegionPicker(QWidget):
    """Mode, the classes of the current frame (checkable), "Propose" (from the prompt), a preview of the region."""

    changed = Signal()
    proposeRequested = Signal()

    def __init__(self, parent: Optional[QWidget] = None):
        super().__init__(parent)
        self.image: Optional[np.ndarray] = None
        self.label: Optional[np.ndarray] = None
        self.proposal = None  # engine.textedit.auto_region.AutoRegion of this frame, when asked for
        self.mode = QComboBox()
        for value, text in MODES:
            self.mode.addItem(text, value)
        self.mode.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.mode.setMinimumContentsLength(14)
        self.mode.setToolTip("only: the checked classes (plus a feathered margin) change; keep: the checked "
                             "classes stay exactly as they are and the rest changes. Every pixel outside the "
                             "region stays byte-identical, so the frame's label stays right.")
        self.classes = QListWidget()
        self.classes.setObjectName("regionClasses")
        self.classes.setMaximumHeight(112)
        self.propose_btn = QPushButton(qta.icon("mdi6.selection-search", color=_ICON), "Propose")  # short: the column is narrow
        self.propose_btn.setToolTip("Propose a region from the prompt (DiffEdit): where the model's noise estimates "
                                    "under the prompt and under the "
                                    "source description differ; checks every class that is half inside it")
        self.propose_btn.clicked.connect(self.proposeRequested)
        self.preview = QLabel()
        self.preview.setObjectName("regionPreview")
        self.preview.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.summary = QLabel("")
        self.summary.setObjectName("hint")
        self.summary.setWordWrap(True)
        top = QHBoxLayout()
        top.addWidget(self.mode, 1)
        top.addWidget(self.propose_btn)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.setSpacing(3)
        lay.addLayout(top)
        lay.addWidget(self.classes)
        lay.addWidget(self.preview)
        lay.addWidget(self.summary)
        self.mode.currentIndexChanged.connect(self._changed)
        self.classes.itemChanged.connect(lambda _i: self._changed())
        self._changed()

    # -- what the user chose ---------------------------------------------------------------------------
    def mode_value(self) -> str:
        return self.mode.currentData()

    def checked_classes(self) -> tuple[int, ...]:
        return tuple(sorted(self.classes.item(i).data(Qt.ItemDataRole.UserRole) for i in range(self.classes.count())
                            if self.classes.item(i).checkState() == Qt.CheckState.Checked))

    def problem(self) -> str:
        """"" when the choice can run, else what to do."""
        if self.mode_value() != "frame" and not self.checked_classes():
            return ("No class is checked: check the classes to " + ("edit" if self.mode_value() == "only" else "keep")
                    + ", use Propose (from the prompt), or choose Whole frame.")
        return ""

    def set_mode(self, mode: str) -> None:
        self.mode.setCurrentIndex(self.mode.findData(mode))

    def set_checked(self, ids) -> None:
        ids = set(int(i) for i in ids)
        self.classes.blockSignals(True)
        for i in range(self.classes.count()):
            item = self.classes.item(i)
            item.setCheckState(Qt.CheckState.Checked if item.data(Qt.ItemDataRole.UserRole) in ids
                               else Qt.CheckState.Unchecked)
        self.classes.blockSignals(False)
        self._changed()

    # -- the frame -------------------------------------------------------------------------------------
    def set_frame(self, image: Optional[np.ndarray], label: Optional[np.ndarray]) -> None:
        """List the classes of this frame's label (checks kept for classes still present)."""
        from engine.services.textedit import classes_in

        before = set(self.checked_classes())
        self.image, self.label, self.proposal = image, label, None
        colours = display_colours(get_class_set("full"), "distinct")
        self.classes.blockSignals(True)
        self.classes.clear()
        for cid, share in classes_in(label) if label is not None else []:
            item = QListWidgetItem(f"{cid} {CLASS_NAMES[cid]} · {100 * share:.1f}%")
            pm = QPixmap(12, 12)
            pm.fill(QColor(*[int(c) for c in colours[cid]]))
            item.setIcon(QIcon(pm))
            item.setData(Qt.ItemDataRole.UserRole, cid)
            item.setFlags(item.flags() | Qt.ItemFlag.ItemIsUserCheckable)
            item.setCheckState(Qt.CheckState.Checked if cid in before else Qt.CheckState.Unchecked)
            self.classes.addItem(item)
        self.classes.blockSignals(False)
        self._changed()

    def set_proposal(self, proposal) -> None:
        """Show a prompt-derived proposal: its classes checked in "only" mode, its mask outlined."""
        self.proposal = proposal
        self.set_mode("only")
        self.set_checked(proposal.classes)

    # -- showing ---------------------------------------------------------------------------------------
    def _changed(self) -> None:
        self.classes.setEnabled(self.mode_value() != "frame")
        self._update_preview()
        self.changed.emit()

    def _update_preview(self) -> None:
        if self.image is None or self.label is None:
            self.preview.clear()
            self.summary.setText("Open a frame to choose where the edit goes.")
            return
        from engine.taxonomy import CLASS_NAMES as NAMES

        mode, ids = self.mode_value(), self.checked_classes()
        chosen = np.isin(self.label, ids)
        region = np.ones_like(chosen) if mode == "frame" else (chosen if mode == "only" else ~chosen)
        h = round(PREVIEW_W * self.image.shape[0] / self.image.shape[1])
        shown = self.image.astype(np.float32)
        shown[~region] *= 0.3  # what stays as it is: dimmed
        thumb = cv2.resize(np.clip(shown, 0, 255).astype(np.uint8), (PREVIEW_W, h), interpolation=cv2.INTER_AREA)
        small = cv2.resize(region.astype(np.uint8), (PREVIEW_W, h), interpolation=cv2.INTER_NEAREST)
        contours, _ = cv2.findContours(small, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
        cv2.drawContours(thumb, contours, -1, (80, 220, 255), 1)
        if self.proposal is not None:  # the DiffEdit mask, dashed look: yellow outline
            pm = cv2.resize(self.proposal.mask.astype(np.uint8), (PREVIEW_W, h), interpolation=cv2.INTER_NEAREST)
            contours, _ = cv2.findContours(pm, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
            cv2.drawContours(thumb, contours, -1, (255, 210, 0), 1)
        self.preview.setPixmap(QPixmap.fromImage(rgb_to_qimage(np.ascontiguousarray(thumb))))
        share = 100.0 * region.mean()
        names = ", ".join(NAMES[i] for i in ids) or "—"
        if mode == "frame":
            text = "The whole frame changes; the label may stop fitting where the edit moves anatomy."
        elif not ids:
            text = self.problem()
        elif mode == "only":
            text = (f"Edits {names} ({share:.1f}% of the frame) plus a thin feathered margin; every other pixel "
                    "stays byte-identical.")
        else:
            text = f"Keeps {names} exactly; edits the rest ({share:.1f}% of the frame)."
        if self.proposal is not None:
            text += " Yellow: the prompt's mask; add or remove classes before running."
        self.summary.setText(text)
