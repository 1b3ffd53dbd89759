"""Puts the model panels into the main window: docks tabified in a column on the right, the "Models" menu,
and the signal connections (strokes and undo -> live preview and proposal refresh, frame switches,
"label next" clicks -> open that frame). Panels written elsewhere (curation, text edits) are added the
same way when their modules are present.
"""
from __future__ import annotations

import importlib
from typing import Optional

import qtawesome as qta
from PySide6.QtCore import Qt
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QDockWidget, QFrame, QMainWindow, QScrollArea, QWidget

from desktop.panels.preseg_panel import PresegPanel
from desktop.panels.synthesis_panel import SynthesisPanel
from desktop.window_chrome import add_dock

_ICON = "#c8ccd4"
RIGHT = Qt.DockWidgetArea.RightDockWidgetArea
MAX_COLUMN = 380  # px: the model column's widest minimum
# optional panels: dock key -> (module, class, dock title, menu text)
OPTIONAL_PANELS = {
    "curation": ("desktop.panels.curation_panel", "CurationPanel", "Curation", "Curate synthetic pairs"),
    "textedit": ("desktop.panels.textedit_panel", "TextEditPanel", "Text edits", "Edit frames with text"),
}


def scrolled(panel: QWidget) -> QScrollArea:
    """The panel in a scroll area, so a tall panel never forces a tall window."""
    area = QScrollArea()
    area.setWidgetResizable(True)
    area.setFrameShape(QFrame.Shape.NoFrame)
    area.setWidget(panel)
    # as wide as the panel needs, but never a very wide column (wider panels scroll sideways)
    need = panel.minimumSizeHint().width() + area.verticalScrollBar().sizeHint().width() + 4
    area.setMinimumWidth(min(MAX_COLUMN, need))
    if need <= MAX_COLUMN:
        area.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
    return area


def _optional_panel(module: str, cls: str):
    """The panel class, or None when its module is absent; a module that fails to import is reported
    (the rest of the window still works)."""
    try:
        return getattr(importlib.import_module(module), cls)
    except ModuleNotFoundError as exc:
        if exc.name != module:
            raise
        return None


class ModelPanels:
    """Creates and connects the panels; `window` is the MainWindow (doc, runner, settings, canvas, docks)."""

    def __init__(self, window: QMainWindow):
        self.window = window
        w = window
        self.synthesis = SynthesisPanel(w.doc, w.runner, w.settings)
        self.preseg = PresegPanel(w.doc, w.runner, w.settings, w.canvas)
        self.training_dialog = None
        self.extra: dict[str, object] = {}
        self.docks: dict[str, QDockWidget] = {
            "synthesis": add_dock(w, "Synthesize", scrolled(self.synthesis), RIGHT),
            "preseg": add_dock(w, "Pre-segment", scrolled(self.preseg), RIGHT),
        }
        for key, (module, cls, title, _menu) in OPTIONAL_PANELS.items():
            try:
                panel_cls = _optional_panel(module, cls)
            except Exception as exc:  # noqa: BLE001 - a broken optional panel must not stop the app
                w.statusBar().showMessage(f"The {title} panel could not be loaded: {exc}", 15000)
                continue
            if panel_cls is not None:
                self.extra[key] = panel_cls(w.doc, w.runner, w.settings)
                self.docks[key] = add_dock(w, title, scrolled(self.extra[key]), RIGHT)
        self._arrange()
        w.docks.update(self.docks)
        self.actions = self._build_menu()
        self._connect()

    def _arrange(self) -> None:
        """A full-height column right of Tool options / Classes, the panels tabbed in it (Synthesize in front)."""
        w, docks = self.window, list(self.docks.values())
        w.addDockWidget(RIGHT, docks[0], Qt.Orientation.Horizontal)
        for dock in docks[1:]:
            w.tabifyDockWidget(docks[0], dock)
        for key in self.extra:  # the dataset tools open from the Models menu (they need a wider column)
            self.docks[key].hide()
        docks[0].raise_()

    def default_layout(self) -> None:
        """Sizes of a fresh window (called from MainWindow.default_layout): narrow side columns."""
        w = self.window
        docks = [w.docks[k] for k in ("frames", "tools", "synthesis") if k in w.docks]
        w.resizeDocks(docks, [240, 300, 360][-len(docks):], Qt.Orientation.Horizontal)

    def _build_menu(self) -> dict[str, QAction]:
        w = self.window
        menu = w.menuBar().addMenu("&Models")
        items = [
            ("models.train_synthesis", "Train synthesis model…", "mdi6.school-outline", self.open_training),
            ("models.synthesize", "Synthesize", "mdi6.creation", self.synthesize),
            ("models.live_preview", "Live preview", "mdi6.motion-play-outline", None),
            ("models.distill", "Distil preview student…", "mdi6.flash-outline", self.distill),
            (None, None, None, None),
            ("models.train_preseg", "Train pre-segmenter", "mdi6.school", self.train_preseg),
            ("models.presegment", "Pre-segment", "mdi6.auto-fix", self.presegment),
        ]
        for key, (_m, _c, _t, text) in OPTIONAL_PANELS.items():
            if key in self.extra:
                items.append((f"models.show_{key}", text, "mdi6.image-multiple-outline",
                              lambda k=key: self.show(k)))
        actions: dict[str, QAction] = {}
        for key, text, icon, slot in items:
            if key is None:
                menu.addSeparator()
                continue
            act = QAction(qta.icon(icon, color=_ICON), text, w)
            if slot is not None:
                act.triggered.connect(lambda _=False, s=slot: s())
            menu.addAction(act)
            actions[key] = act
        live = actions["models.live_preview"]
        live.setCheckable(True)
        live.toggled.connect(self.synthesis.set_live)
        self.synthesis.live.toggled.connect(live.setChecked)
        menu.addSeparator()
        for dock in self.docks.values():
            menu.addAction(dock.toggleViewAction())
        return actions

    def _connect(self) -> None:
        w, s, p = self.window, self.synthesis, self.preseg
        # connected after the window's own slots, so the stroke is recorded before the preview reads the mask
        w.canvas.strokeFinished.connect(s.on_mask_changed)
        w.canvas.strokeFinished.connect(p.on_label_changed)
        w.doc.labelEdited.connect(s.on_mask_changed)
        w.doc.labelEdited.connect(p.on_label_changed)
        w.doc.frameChanged.connect(s.on_mask_changed)
        w.doc.frameChanged.connect(p.on_frame)
        w.doc.projectChanged.connect(p.refresh)
        w.doc.projectChanged.connect(s.refresh_model)
        s.trainRequested.connect(self.open_training)
        s.preferencesRequested.connect(w.preferences)
        p.frameRequested.connect(w.show_frame)
        curation, textedit = self.extra.get("curation"), self.extra.get("textedit")
        if curation is not None and hasattr(curation, "refresh"):
            s.pairAccepted.connect(lambda _id: curation.refresh())  # new pairs show in the curation gallery
            if textedit is not None and hasattr(textedit, "pairAdded"):
                textedit.pairAdded.connect(lambda _id: curation.refresh())
        if textedit is not None and hasattr(textedit, "preferencesRequested"):
            textedit.preferencesRequested.connect(w.preferences)
        if curation is not None and hasattr(curation, "openPairRequested"):
            curation.openPairRequested.connect(self.open_pair)

    # -- actions -----------------------------------------------------------------------------------
    def show(self, key: str) -> None:
        dock = self.docks[key]
        dock.show()
        dock.raise_()

    def synthesize(self):
        self.show("synthesis")
        return self.synthesis.synthesize()

    def distill(self):
        """Make the 1-2 step preview student of the synthesis model (a long job; the Jobs panel shows it)."""
        self.show("synthesis")
        handle = self.synthesis.distill()
        jobs = self.window.docks.get("jobs")
        if handle is not None and jobs is not None:
            jobs.show()
            jobs.raise_()
        return handle

    def presegment(self):
        self.show("preseg")
        return self.preseg.presegment()

    def train_preseg(self):
        self.show("preseg")
        return self.preseg.train()

    def open_training(self, base_config=None):
        """Show the training dialog (one instance, kept so a running job can report to it)."""
        from desktop.panels.training_dialog import TrainingDialog

        d = self.training_dialog
        busy = d is not None and d.handle is not None and not d.handle.is_finished()
        if d is None or base_config is not None or (d.project is not self.window.doc.project and not busy):
            self.training_dialog = TrainingDialog(self.window.runner, self.window.settings, self.window.doc.project,
                                                  base_config, self.window)
            self.training_dialog.modelReady.connect(lambda _folder: self.settings_changed())
        self.training_dialog.show()
        self.training_dialog.raise_()
        return self.training_dialog

    def open_pair(self, pair_id: int):
        """Open a synthetic pair's mask for repair in its own canvas window."""
        from PySide6.QtWidgets import QMessageBox

        from desktop.panels.pair_editor import PairEditor

        project = self.window.doc.project
        if project is None:
            return None
        try:
            editor = PairEditor(project, pair_id, self.window)
        except Exception as exc:  # noqa: BLE001 - an unreadable pair is a message
            QMessageBox.warning(self.window, "Cannot open pair", f"Pair #{pair_id} cannot be opened: {exc}")
            return None
        curation = self.extra.get("curation")
        if curation is not None and hasattr(curation, "refresh_pair"):
            editor.saved.connect(curation.refresh_pair)
        self.pair_editors = [e for e in getattr(self, "pair_editors", []) if e.isVisible()] + [editor]
        editor.show()
        return editor

    def settings_changed(self) -> None:
        """The preferences (model or head folder, device) changed: re-check the models."""
        self.synthesis.refresh_model()
        self.preseg.refresh()
        textedit = self.extra.get("textedit")
        if textedit is not None and hasattr(textedit, "check_sd"):
            textedit.check_sd()  # the Stable Diffusion folder may have changed
        if self.synthesis.live.isChecked():
            self.synthesis.request_preview()

    def panel(self, key: str) -> Optional[object]:
        return {"synthesis": self.synthesis, "preseg": self.preseg, **self.extra}.get(key)
