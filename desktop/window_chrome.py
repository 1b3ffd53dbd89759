"""The main window's menus, toolbar and status-bar fields, built from its actions (layout only)."""
from __future__ import annotations

from typing import Callable

import qtawesome as qta
from PySide6.QtCore import Qt
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import (QDockWidget, QFrame, QLabel, QLineEdit, QMainWindow, QMenu, QScrollArea, QStatusBar,
                               QToolBar, QWidget)

from desktop.docks.class_palette import swatch_icon
from desktop.shortcuts import ACTIONS, DIGIT_KEYS, TOOL_SPECS, digit_class
from engine.taxonomy import CLASS_NAMES, DISTINCT_PALETTE

_ICON = "#c8ccd4"
_ACTION_COLOURS = {"status.done": "#3fb950", "status.flagged": "#e3b341", "status.rejected": "#f85149"}
_TEXT_BESIDE = ("status.done", "status.flagged", "status.rejected", "nav.next_unfinished")
MENUS: dict[str, list] = {
    "&File": ["file.open", "file.open_project", "file.import_video", "file.phantom", "recent", None, "file.save", "file.export",
              None, "file.preferences", None, "file.quit"],
    "&Edit": ["edit.undo", "edit.redo", "edit.redo_alt"],
    "&Tools": [t.action_id for t in TOOL_SPECS] + ["segment.find", None, "brush.smaller", "brush.larger", None, "class.search"]
    + [f"class.{k}" for k in DIGIT_KEYS],
    "&Review": ["status.done", "status.flagged", "status.rejected", None, "nav.next_unfinished", "nav.prev",
                "nav.next"],
    "&View": ["view.fit", "view.actual", "view.toggle_overlay", None, "view.canvas_only", "view.reset_layout",
              None],  # then one entry per dock (add_dock_toggles)
    "&Help": ["help.shortcuts", "help.about"],
}
# a dock's icon: its tab in the dock column shows only the icon (the title as tooltip) unless it is in front
DOCK_ICONS = {"Classes": "mdi6.palette", "Tool options": "mdi6.tune-variant", "Frames": "mdi6.filmstrip",
              "Jobs": "mdi6.progress-clock", "Synthesize": "mdi6.creation", "Pre-segment": "mdi6.auto-fix",
              "Propagate": "mdi6.arrow-right-bold-box-outline", "Curation": "mdi6.view-grid-outline",
              "Text edits": "mdi6.text-box-edit-outline", "Review disputes": "mdi6.account-group",
              "Class frequency": "mdi6.chart-bar"}
BADGE_TEXTS = ("●  Not reviewed", "●  In progress", "●  Done", "●  Flagged", "●  Rejected")
TOOLBAR = ["file.open", "file.save", None, "edit.undo", "edit.redo", None, "nav.prev", "nav.next",
           "nav.next_unfinished", None, "view.fit", "view.actual", None, "badge", "status.done", "status.flagged",
           "status.rejected", "note", None, "file.export"]


def add_dock(window: QMainWindow, title: str, widget: QWidget, area: Qt.DockWidgetArea) -> QDockWidget:
    """A movable, floatable, closable dock holding `widget` (its object name keeps the saved layout)."""
    dock = QDockWidget(title, window)
    dock.setObjectName(f"dock_{title.lower().replace(' ', '_')}")
    dock.setWidget(widget)
    dock.setWindowIcon(qta.icon(DOCK_ICONS.get(title, "mdi6.dock-window"), color=_ICON))
    dock.setFeatures(QDockWidget.DockWidgetFeature.DockWidgetMovable
                     | QDockWidget.DockWidgetFeature.DockWidgetFloatable
                     | QDockWidget.DockWidgetFeature.DockWidgetClosable)
    window.addDockWidget(area, dock)
    return dock


def build_actions(window: QMainWindow, handlers: dict[str, Callable[[], object]],
                  select_class: Callable[[int], object],
                  extra: dict[str, tuple[str, str, Callable[[], object]]]) -> dict[str, QAction]:
    """One QAction per `desktop.shortcuts.ACTIONS` entry (window-wide shortcuts; digit actions call
    `select_class`), plus `extra` menu-only actions given as id -> (text, icon, slot)."""
    actions: dict[str, QAction] = {}
    for spec in ACTIONS:
        if spec.scope != "window":
            continue  # a panel binds its own (e.g. the curation panel's accept / reject)
        cid = digit_class(spec.id)
        text = f"Class {cid}: {CLASS_NAMES[cid]}" if cid is not None else spec.text
        icon = swatch_icon(DISTINCT_PALETTE[cid]) if cid is not None else qta.icon(
            spec.icon, color=_ACTION_COLOURS.get(spec.id, _ICON))
        act = QAction(icon, text, window)
        act.setToolTip(spec.tip or text)
        act.setShortcutContext(Qt.ShortcutContext.WindowShortcut)
        slot = handlers.get(spec.id) or (lambda c=cid: select_class(c))
        if spec.id == "view.canvas_only":
            act.setCheckable(True)
        act.triggered.connect(lambda _=False, s=slot: s())
        window.addAction(act)
        actions[spec.id] = act
    for key, (text, icon, slot) in extra.items():
        act = QAction(qta.icon(icon, color=_ICON), text, window)
        act.triggered.connect(lambda _=False, s=slot: s())
        actions[key] = act
    if "file.quit" in actions:
        actions["file.quit"].setShortcut(QKeySequence.StandardKey.Quit)
    return actions


def build_menus(window: QMainWindow) -> tuple[QMenu, dict[str, QMenu]]:
    """Fill the menu bar from `window.actions`; returns the (empty) recent-projects menu and the menus by title.
    The Help menu is added last by Qt convention (after menus added later, e.g. Models)."""
    recent = None
    menus: dict[str, QMenu] = {}
    for title, ids in MENUS.items():
        menu = QMenu(title, window)
        menus[title] = menu
        for i in ids:
            if i is None:
                menu.addSeparator()
            elif i == "recent":
                recent = menu.addMenu(qta.icon("mdi6.history", color=_ICON), "Recent projects")
            else:
                menu.addAction(window.actions[i])
        if title != "&Help":
            window.menuBar().addMenu(menu)
    return recent, menus


def add_dock_toggles(view_menu: QMenu, docks: dict[str, QDockWidget]) -> None:
    """One show/hide entry per dock in the View menu (every dock, the model panels included)."""
    for dock in docks.values():
        view_menu.addAction(dock.toggleViewAction())


def scroll_area(widget: QWidget) -> QScrollArea:
    """`widget` in a vertical scroll area, so a tall dock never makes the window taller than the screen."""
    area = QScrollArea()
    area.setWidgetResizable(True)
    area.setFrameShape(QFrame.Shape.NoFrame)
    area.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
    area.setWidget(widget)
    area.setMinimumWidth(widget.minimumSizeHint().width() + area.verticalScrollBar().sizeHint().width())
    return area


def build_toolbar(window: QMainWindow) -> tuple[QLabel, QLineEdit]:
    """The main toolbar; returns the frame-status badge and the note field it holds."""
    tb = QToolBar("Main", window)
    tb.setObjectName("main_toolbar")
    tb.setMovable(False)
    badge = QLabel()
    badge.setObjectName("statusBadge")
    # as wide as the widest status, so the review buttons beside it never shift
    badge.setMinimumWidth(max(badge.fontMetrics().horizontalAdvance(t) for t in BADGE_TEXTS) + 16)
    note = QLineEdit()
    note.setPlaceholderText("Note for this frame…")
    note.setMaximumWidth(320)
    for i in TOOLBAR:
        if i is None:
            tb.addSeparator()
        elif i == "badge":
            tb.addWidget(badge)
        elif i == "note":
            tb.addWidget(note)
        else:
            tb.addAction(window.actions[i])
            if i in _TEXT_BESIDE:
                tb.widgetForAction(window.actions[i]).setToolButtonStyle(
                    Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
    window.addToolBar(tb)
    return badge, note


def build_status_fields(bar: QStatusBar) -> tuple[QLabel, ...]:
    """Permanent fields: position, class under the cursor, brush size, zoom, saved state."""
    fields = (QLabel("–"), QLabel(""), QLabel(""), QLabel(""), QLabel(""))
    for w in fields:
        w.setObjectName("statusField")
        bar.addPermanentWidget(w)
    return fields
