"""The model panels as the main window shows them: one dock each, tabbed in a column on the right, the
"Models" menu, and the connections between the panels (strokes and undo -> live preview and proposal
refresh, new pairs -> the curation gallery, "open in canvas" -> a pair editor).

    panels = ModelPanels(host, doc, runner, settings, canvas)   # host: the QMainWindow the docks go into
    panels.preferencesRequested.connect(...); panels.frameRequested.connect(...)

It reads nothing of the window but what it is given; the window connects its two signals.
"""
from __future__ import annotations

from typing import Optional

import qtawesome as qta
from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QDockWidget, QFrame, QMainWindow, QScrollArea, QWidget

from desktop.panels.curation.panel import CurationPanel
from desktop.panels.preseg.panel import PresegPanel
from desktop.panels.propagate.panel import PropagatePanel
from desktop.panels.synthesis.panel import SynthesisPanel
from desktop.panels.textedit.panel import TextEditPanel
from desktop.window_chrome import add_dock

_ICON = "#c8ccd4"
RIGHT = Qt.DockWidgetArea.RightDockWidgetArea
MAX_COLUMN = 380  # px: the model column's widest minimum
# the dataset tools: dock key -> (dock title, menu text); they open from the Models menu
DATASET_TOOLS = {"curation": ("Curation", "Curate synthetic pairs"), "textedit": ("Text edits", "Edit frames with text")}


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


class ModelPanels(QObject):
    """Creates the model panels in `host` and connects them to the document, the canvas and each other."""

    preferencesRequested = Signal()
    frameRequested = Signal(str)  # a panel asks to show this frame
    jobsRequested = Signal()  # a long job started: show the Jobs panel

    def __init__(self, host: QMainWindow, doc, runner, settings, canvas):
        super().__init__(host)
        self.host, self.doc, self.runner, self.settings, self.canvas = host, doc, runner, settings, canvas
        self.synthesis = SynthesisPanel(doc, runner, settings)
        self.preseg = PresegPanel(doc, runner, settings, canvas)
        self.propagate = PropagatePanel(doc, runner, canvas)
        self.propagate.set_sam_folder(settings.segment_dir)
        self.extra: dict[str, QWidget] = {"curation": CurationPanel(doc, runner, settings),
                                          "textedit": TextEditPanel(doc, runner, settings)}
        self.training_dialog = None
        self.pair_editors: list = []
        self.docks: dict[str, QDockWidget] = {
            "synthesis": add_dock(host, "Synthesize", scrolled(self.synthesis), RIGHT),
            "preseg": add_dock(host, "Pre-segment", scrolled(self.preseg), RIGHT),
            "propagate": add_dock(host, "Propagate", scrolled(self.propagate), RIGHT),
            **{key: add_dock(host, DATASET_TOOLS[key][0], scrolled(panel), RIGHT) for key, panel in self.extra.items()},
        }
        self._arrange()
        self.actions = self._build_menu()
        self._connect()

    def _arrange(self) -> None:
        """A full-height column right of Tool options / Classes, the panels tabbed in it (Synthesize in front)."""
        docks = list(self.docks.values())
        self.host.addDockWidget(RIGHT, docks[0], Qt.Orientation.Horizontal)
        for dock in docks[1:]:
            self.host.tabifyDockWidget(docks[0], dock)
        for key in self.extra:  # the dataset tools open from the Models menu (they need a wider column)
            self.docks[key].hide()
        docks[0].raise_()

    def _build_menu(self) -> dict[str, QAction]:
        menu = self.host.menuBar().addMenu("&Models")
        items = [
            ("models.train_synthesis", "Train synthesis model…", "mdi6.school-outline", self.open_training),
            ("models.synthesize", "Synthesize", "mdi6.creation", self.synthesize),
            ("models.live_preview", "Live preview", "mdi6.motion-play-outline", None),
            ("models.distill", "Distil preview student…", "mdi6.flash-outline", self.distill),
            (None, None, None, None),
            ("models.train_preseg", "Train pre-segmenter", "mdi6.school", self.train_preseg),
            ("models.presegment", "Pre-segment", "mdi6.auto-fix", self.presegment),
            (None, None, None, None),
            ("models.propagate_forward", "Propagate forward", "mdi6.chevron-double-right",
             lambda: self.run_propagation("forward")),
            ("models.propagate_backward", "Propagate backward", "mdi6.chevron-double-left",
             lambda: self.run_propagation("backward")),
            ("models.propagate_next", "Propagate to the next labelled frame", "mdi6.debug-step-over",
             lambda: self.run_propagation("to-next-labelled")),
        ]
        for key, (_title, text) in DATASET_TOOLS.items():
            items.append((f"models.show_{key}", text, "mdi6.image-multiple-outline", lambda k=key: self.show(k)))
        actions: dict[str, QAction] = {}
        for key, text, icon, slot in items:
            if key is None:
                menu.addSeparator()
                continue
            act = QAction(qta.icon(icon, color=_ICON), text, self.host)
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
        s, p, doc = self.synthesis, self.preseg, self.doc
        curation, textedit = self.extra["curation"], self.extra["textedit"]
        # the session's one event for every label change, sent once the change is recorded
        doc.labelChanged.connect(s.on_mask_changed)
        doc.labelChanged.connect(p.on_label_changed)
        doc.frameChanged.connect(s.on_mask_changed)
        doc.frameChanged.connect(p.on_frame)
        doc.projectChanged.connect(p.refresh)
        doc.projectChanged.connect(s.refresh_model)
        s.trainRequested.connect(self.open_training)
        s.preferencesRequested.connect(self.preferencesRequested)
        textedit.preferencesRequested.connect(self.preferencesRequested)
        p.frameRequested.connect(self.frameRequested)
        g = self.propagate
        self.canvas.strokeFinished.connect(g.on_label_changed)
        doc.labelEdited.connect(g.on_label_changed)
        doc.frameChanged.connect(g.on_frame)
        doc.projectChanged.connect(g.reset_for_project)
        g.frameRequested.connect(self.frameRequested)
        s.pairAccepted.connect(lambda _id: curation.refresh())  # new pairs show in the curation gallery
        textedit.pairAdded.connect(lambda _id: curation.refresh())
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
        if handle is not None:
            self.jobsRequested.emit()
        return handle

    def presegment(self):
        self.show("preseg")
        return self.preseg.presegment()

    def run_propagation(self, mode: str):
        self.show("propagate")
        return self.propagate.propagate(mode)

    def train_preseg(self):
        self.show("preseg")
        return self.preseg.train()

    def open_training(self, base_config=None):
        """Show the training dialog (one instance, kept so a running job can report to it)."""
        from desktop.panels.synthesis.training_dialog import TrainingDialog

        d = self.training_dialog
        busy = d is not None and d.handle is not None and not d.handle.is_finished()
        if d is None or base_config is not None or (d.project is not self.doc.project and not busy):
            self.training_dialog = TrainingDialog(self.runner, self.settings, self.doc.project, base_config, self.host)
            self.training_dialog.modelReady.connect(lambda _folder: self.settings_changed())
        self.training_dialog.show()
        self.training_dialog.raise_()
        return self.training_dialog

    def open_pair(self, pair_id: int):
        """Open a synthetic pair's mask for repair in its own canvas window."""
        from PySide6.QtWidgets import QMessageBox

        from desktop.panels.curation.pair_editor import PairEditor

        project = self.doc.project
        if project is None:
            return None
        try:
            editor = PairEditor(project, pair_id, self.host, palette=self.host.canvas.palette_name())
        except Exception as exc:  # noqa: BLE001 - an unreadable pair is a message
            QMessageBox.warning(self.host, "Cannot open pair", f"Pair #{pair_id} cannot be opened: {exc}")
            return None
        editor.saved.connect(self.extra["curation"].refresh_pair)
        self.pair_editors = [e for e in self.pair_editors if e.isVisible()] + [editor]
        editor.show()
        return editor

    def settings_changed(self) -> None:
        """The preferences (model or head folder, device) changed: re-check the models."""
        self.synthesis.refresh_model()
        self.preseg.refresh()
        self.extra["textedit"].check_sd()  # the Stable Diffusion folder may have changed
        self.propagate.set_sam_folder(self.settings.segment_dir)
        if self.synthesis.live.isChecked():
            self.synthesis.request_preview()

    def panel(self, key: str) -> Optional[QWidget]:
        return {"synthesis": self.synthesis, "preseg": self.preseg, "propagate": self.propagate, **self.extra}.get(key)
