"""The Team menu and the review dock.

    team = TeamMenu(window, doc, runner, canvas, anchor_dock)   # adds "&Team" to the window's menu bar
    team.openRequested.connect(window.open_source); team.frameRequested.connect(window.show_frame)
"""
from __future__ import annotations

import qtawesome as qta
from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtGui import QAction

from desktop.panels.team.dialogs import AssignDialog, MergeDialog
from desktop.panels.team.review import ReviewPanel
from desktop.window_chrome import add_dock, scroll_area

_ICON = "#c8ccd4"


class TeamMenu(QObject):
    openRequested = Signal(str)  # open this project (the merged one)
    frameRequested = Signal(str)

    def __init__(self, host, doc, runner, canvas, anchor_dock=None):
        super().__init__(host)
        self.host, self.doc, self.runner, self.anchor = host, doc, runner, anchor_dock
        self.dialog = None
        self.review = ReviewPanel(doc, canvas)
        self.review.frameRequested.connect(self.frameRequested)
        self.dock = add_dock(host, "Review disputes", scroll_area(self.review), Qt.DockWidgetArea.RightDockWidgetArea)
        self.dock.hide()
        self.menu = host.menuBar().addMenu("&Team")
        self.actions: dict[str, QAction] = {}
        for key, text, icon, slot in (
                ("team.assign", "Assign work packages…", "mdi6.account-multiple-plus-outline", self.open_assign),
                ("team.merge", "Merge projects…", "mdi6.call-merge", self.open_merge),
                ("team.review", "Review disputes", "mdi6.scale-balance", self.show_review)):
            act = QAction(qta.icon(icon, color=_ICON), text, host)
            act.triggered.connect(lambda _=False, s=slot: s())
            self.menu.addAction(act)
            self.actions[key] = act

    def open_assign(self) -> AssignDialog:
        project = self.doc.project
        self.dialog = AssignDialog(self.runner, str(project.dataset.root) if project is not None else "", self.host)
        self.dialog.show()
        return self.dialog

    def open_merge(self) -> MergeDialog:
        self.dialog = MergeDialog(self.runner, self.host)
        self.dialog.mergedInto.connect(self._open_merged)
        self.dialog.show()
        return self.dialog

    def _open_merged(self, folder: str) -> None:
        self.openRequested.emit(folder)
        self.show_review()

    def show_review(self) -> None:
        if self.anchor is not None and not self.dock.isVisible():
            self.host.tabifyDockWidget(self.anchor, self.dock)
        self.dock.show()
        self.dock.raise_()
        self.review.refresh()
