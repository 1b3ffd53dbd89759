"""Preferences: keyboard shortcuts (with conflict warnings), compute device, model folders."""
from __future__ import annotations

from typing import Optional

import qtawesome as qta
from PySide6.QtGui import QColor, QKeySequence
from PySide6.QtWidgets import (QComboBox, QDialog, QDialogButtonBox, QFileDialog, QFormLayout, QHBoxLayout,
                               QHeaderView, QKeySequenceEdit, QLabel, QLineEdit, QPushButton, QTableWidget,
                               QTableWidgetItem, QTabWidget, QVBoxLayout, QWidget)

from desktop.settings import DEVICES, Settings
from desktop.shortcuts import (ACTIONS, DEFAULT_KEYMAP, describe_conflicts, digit_class, find_conflicts,
                               normalize)
from engine.taxonomy import CLASS_NAMES

_CONFLICT_BG = QColor(120, 40, 40)


class PreferencesDialog(QDialog):
    """Edits a copy of the settings; `apply()` (on OK) writes them back. OK is disabled while two
    actions share a key."""

    def __init__(self, settings: Settings, parent: Optional[QWidget] = None):
        super().__init__(parent)
        self.setWindowTitle("Preferences")
        self.settings = settings
        self._keymap = settings.keymap()
        self._edits: dict[str, QKeySequenceEdit] = {}
        tabs = QTabWidget()
        tabs.addTab(self._build_shortcuts(), qta.icon("mdi6.keyboard-outline", color="#c8ccd4"), "Shortcuts")
        tabs.addTab(self._build_models(), qta.icon("mdi6.chip", color="#c8ccd4"), "Models and device")
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        self.buttons.accepted.connect(self._accept)
        self.buttons.rejected.connect(self.reject)
        lay = QVBoxLayout(self)
        lay.addWidget(tabs, 1)
        lay.addWidget(self.buttons)
        self.resize(620, 640)
        self._check_conflicts()

    # -- shortcuts ---------------------------------------------------------------------------------
    def _build_shortcuts(self) -> QWidget:
        page = QWidget()
        self.table = QTableWidget(len(ACTIONS), 3)
        self.table.setHorizontalHeaderLabels(["Action", "Key", ""])
        self.table.verticalHeader().setVisible(False)
        self.table.horizontalHeader().setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        self.table.horizontalHeader().setSectionResizeMode(1, QHeaderView.ResizeMode.ResizeToContents)
        for row, spec in enumerate(ACTIONS):
            cid = digit_class(spec.id)
            text = f"Select class: {CLASS_NAMES[cid]}" if cid is not None else spec.text
            item = QTableWidgetItem(qta.icon(spec.icon, color="#c8ccd4"), text)
            item.setToolTip(spec.id)
            self.table.setItem(row, 0, item)
            edit = QKeySequenceEdit(QKeySequence(self._keymap.get(spec.id, "")))
            edit.setMaximumSequenceLength(1)
            edit.keySequenceChanged.connect(lambda seq, a=spec.id: self._set_key(a, seq.toString()))
            self._edits[spec.id] = edit
            self.table.setCellWidget(row, 1, edit)
            reset = QPushButton(qta.icon("mdi6.restore", color="#c8ccd4"), "")
            reset.setToolTip(f"Back to the default ({DEFAULT_KEYMAP[spec.id]})")
            reset.clicked.connect(lambda _=False, a=spec.id: self.set_key(a, DEFAULT_KEYMAP[a]))
            self.table.setCellWidget(row, 2, reset)
        self.conflicts = QLabel()
        self.conflicts.setObjectName("error")
        self.conflicts.setWordWrap(True)
        restore = QPushButton("Restore all defaults")
        restore.clicked.connect(self.restore_defaults)
        lay = QVBoxLayout(page)
        lay.addWidget(self.table, 1)
        lay.addWidget(self.conflicts)
        lay.addWidget(restore)
        return page

    def set_key(self, action_id: str, key: str) -> None:
        """Change one action's key (also what the key editors call)."""
        self._edits[action_id].blockSignals(True)
        self._edits[action_id].setKeySequence(QKeySequence(key))
        self._edits[action_id].blockSignals(False)
        self._set_key(action_id, key)

    def _set_key(self, action_id: str, key: str) -> None:
        self._keymap[action_id] = normalize(key)
        self._check_conflicts()

    def restore_defaults(self) -> None:
        for action_id, key in DEFAULT_KEYMAP.items():
            self.set_key(action_id, key)

    def keymap(self) -> dict[str, str]:
        return dict(self._keymap)

    def conflict_messages(self) -> list[str]:
        return describe_conflicts(find_conflicts(self._keymap))

    def _check_conflicts(self) -> None:
        conflicts = find_conflicts(self._keymap)
        clashing = {a for ids in conflicts.values() for a in ids}
        for row, spec in enumerate(ACTIONS):
            item = self.table.item(row, 0)
            item.setBackground(_CONFLICT_BG if spec.id in clashing else QColor(0, 0, 0, 0))
        messages = describe_conflicts(conflicts)
        self.conflicts.setText("\n".join(messages))
        self.conflicts.setVisible(bool(messages))
        self.buttons.button(QDialogButtonBox.StandardButton.Ok).setEnabled(not messages)

    # -- models and device -------------------------------------------------------------------------
    def _build_models(self) -> QWidget:
        page = QWidget()
        self.device = QComboBox()
        for d in DEVICES:
            self.device.addItem({"auto": "Automatic (GPU when present)", "cpu": "CPU", "cuda": "CUDA GPU"}[d], d)
        self.device.setCurrentIndex(DEVICES.index(self.settings.device))
        model_row, self.model_dir = self._folder_edit(
            self.settings.model_dir, "The synthesis model folder (a pipeline folder with model_index.json, or "
                                     "config.json + safetensors); the starter model by default")
        head_row, self.preseg_dir = self._folder_edit(
            self.settings.preseg_dir, "Where the pre-segmentation head is kept (empty: inside the open project)")
        sd_row, self.sd_dir = self._folder_edit(self.settings.sd_dir,
                                                "A local Stable Diffusion model folder (diffusers layout)")
        seg_row, self.segment_dir = self._folder_edit(
            self.settings.segment_dir, "A SAM, SAM 2 or SAM 3 folder (config.json, model.safetensors, processor "
                                       "config) for the Segment tool")
        self.segment_check = QLabel()
        self.segment_check.setObjectName("hint")
        self.segment_check.setWordWrap(True)
        self.segment_dir.textChanged.connect(self._check_segment_dir)
        self._check_segment_dir(self.segment_dir.text())
        form = QFormLayout(page)
        form.addRow("Device", self.device)
        form.addRow("Synthesis model folder", model_row)
        form.addRow("Pre-segmentation head folder", head_row)
        form.addRow("Stable Diffusion folder", sd_row)
        form.addRow("Segmentation model folder", seg_row)
        form.addRow(self.segment_check)
        note = QLabel("Models are loaded from these folders only (safetensors + JSON); nothing is downloaded.")
        note.setObjectName("hint")
        note.setWordWrap(True)
        form.addRow(note)
        return page

    def _folder_edit(self, value: str, tip: str) -> tuple[QWidget, QLineEdit]:
        holder = QWidget()
        edit = QLineEdit(value, holder)
        edit.setToolTip(tip)
        browse = QPushButton(qta.icon("mdi6.folder-open-outline", color="#c8ccd4"), "", holder)
        browse.clicked.connect(lambda: self._browse(edit))
        row = QHBoxLayout(holder)
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(edit, 1)
        row.addWidget(browse)
        return holder, edit

    def _check_segment_dir(self, text: str) -> None:
        """Say at once what a segmentation folder is or lacks (reads only its JSON and safetensors header)."""
        from engine.segment import SegmentFolderError, check_segment_folder

        text = text.strip()
        if not text:
            self.segment_check.setText("No segmentation model: the Segment tool stays off.")
            return
        try:
            folder = check_segment_folder(text)
        except SegmentFolderError as exc:
            self.segment_check.setText(f"Not usable: {exc}")
        else:
            self.segment_check.setText(f"{folder.family_name} model folder: the Segment tool (S) will use it.")

    def _browse(self, edit: QLineEdit) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Choose a folder", edit.text())
        if folder:
            edit.setText(folder)

    # -- result ------------------------------------------------------------------------------------
    def apply(self) -> None:
        """Write the edited values to the settings."""
        self.settings.set_keymap(self._keymap)
        self.settings.device = self.device.currentData()
        from engine.models.model_dir import starter_model_dir

        model_dir = self.model_dir.text().strip()
        # the starter model shown by default stays "the default" (a later app version may ship a new one)
        self.settings.model_dir = "" if model_dir == str(starter_model_dir()) else model_dir
        self.settings.preseg_dir = self.preseg_dir.text().strip()
        self.settings.sd_dir = self.sd_dir.text().strip()
        self.settings.segment_dir = self.segment_dir.text().strip()
        self.settings.sync()

    def _accept(self) -> None:
        if self.conflict_messages():
            return
        self.apply()
        self.accept()
