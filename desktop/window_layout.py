"""Where the main window's docks go: one narrow column on the right, the panels tabbed in two groups, the
canvas gets the rest; canvas-only mode; keeping the window on the screen. Layout only, no data."""
from __future__ import annotations

from PySide6.QtCore import QRect, Qt
from PySide6.QtWidgets import QDockWidget, QMainWindow
from shiboken6 import isValid

RIGHT = Qt.DockWidgetArea.RightDockWidgetArea
# dock keys in the order of their tabs; the first of each group is in front
# the Frames list has the bottom to itself (no tab bar): 8+ rows of frames on a 1366x768 screen
TOP_GROUP = ("classes", "tools", "synthesis", "preseg", "curation", "textedit", "jobs")
BOTTOM_GROUP = ("frames",)
HIDDEN_BY_DEFAULT = ("curation", "textedit")  # dataset tools: opened from the Models or View menu
COLUMN_SHARE = 0.22  # of the window width
COLUMN_MIN, COLUMN_MAX = 280, 380  # px
TOP_SHARE = 0.48  # of the column height
TALL_DOCKS = ("curation", "synthesis")  # in front, these take TALL_SHARE of the column (galleries need rows)
TALL_SHARE = 0.8


def column_width(window_width: int) -> int:
    """The dock column's width for a window this wide (narrow: the canvas keeps most of the window)."""
    return int(min(COLUMN_MAX, max(COLUMN_MIN, window_width * COLUMN_SHARE)))


def arrange_docks(window: QMainWindow, docks: dict[str, QDockWidget]) -> None:
    """The default layout: every dock docked in one right column, tabbed in a top and a bottom group."""
    top = [docks[k] for k in TOP_GROUP if k in docks]
    bottom = [docks[k] for k in BOTTOM_GROUP if k in docks]
    others = [d for k, d in docks.items() if k not in TOP_GROUP + BOTTOM_GROUP]
    jobs = [d for d in top if d is docks.get("jobs")]
    top = [d for d in top if d not in jobs] + others + jobs  # later panels join the top group, Jobs stays last
    for dock in docks.values():  # every dock out of its old tab group, shown (Qt tabs shown docks only)
        dock.setFloating(False)
        dock.show()
    groups = [g for g in (top, bottom) if g]
    first = groups[0][0] if groups else None
    if first is not None:
        window.addDockWidget(RIGHT, first, Qt.Orientation.Vertical)
    if len(groups) == 2:  # the second group's first dock below the first one's, then each tabbed as it comes:
        window.splitDockWidget(first, bottom[0], Qt.Orientation.Vertical)  # never a stack taller than the window
    for group in groups:
        for dock in group[1:]:
            window.tabifyDockWidget(group[0], dock)
    for key, dock in docks.items():
        dock.setVisible(key not in HIDDEN_BY_DEFAULT)
    for group in groups:
        group[0].raise_()
    size_docks(window, docks)


def size_docks(window: QMainWindow, docks: dict[str, QDockWidget]) -> None:
    """Column width and the split between the two groups for the window's current size."""
    top = next((docks[k] for k in TOP_GROUP if k in docks and docks[k].isVisibleTo(window)), None)
    bottom = next((docks[k] for k in BOTTOM_GROUP if k in docks and docks[k].isVisibleTo(window)), None)
    first = top or bottom
    if first is None:
        return
    window.resizeDocks([first], [column_width(window.width())], Qt.Orientation.Horizontal)
    if top is not None and bottom is not None:
        h = max(200, window.height() - 120)
        window.resizeDocks([top, bottom], [int(h * TOP_SHARE), int(h * (1 - TOP_SHARE))], Qt.Orientation.Vertical)


def follow_tall_docks(window: QMainWindow, docks: dict[str, QDockWidget]) -> None:
    """A tall dock (the Curation gallery) brought to the front of the column gets most of its height; the
    usual split comes back when another tab is in front or it is closed."""
    for key in TALL_DOCKS:
        if key in docks:
            docks[key].visibilityChanged.connect(lambda shown, d=docks[key]: _make_room(window, docks, d, shown))


def _make_room(window: QMainWindow, docks: dict[str, QDockWidget], dock: QDockWidget, shown: bool) -> None:
    if not (isValid(window) and isValid(dock)) or dock.isFloating() or window.dockWidgetArea(dock) != RIGHT:
        return  # the window is closing (docks hide as it goes) or the dock is elsewhere
    bottom = next((docks[k] for k in BOTTOM_GROUP if k in docks and docks[k].isVisibleTo(window)), None)
    if bottom is None or bottom.isFloating():
        return
    if shown:
        h = max(200, window.height() - 120)
        window.resizeDocks([dock, bottom], [int(h * TALL_SHARE), int(h * (1 - TALL_SHARE))], Qt.Orientation.Vertical)
    else:
        size_docks(window, docks)


class CanvasOnly:
    """Hide every dock (canvas-only) and bring back exactly the ones that were shown."""

    def __init__(self, window: QMainWindow, docks: dict[str, QDockWidget]):
        self.window, self.docks = window, docks
        self._shown: list[str] = []

    @property
    def active(self) -> bool:
        return bool(self._shown)

    def set_active(self, on: bool) -> None:
        if on and not self._shown:
            self._shown = [k for k, d in self.docks.items() if d.isVisible()]
            for key in self._shown:
                self.docks[key].hide()
            if not self._shown:
                self._shown = [""]  # nothing was shown: still "on"
        elif not on and self._shown:
            for key in self._shown:
                if key in self.docks:
                    self.docks[key].show()
            self._shown = []


def available_geometry(window: QMainWindow) -> QRect:
    screen = window.screen()
    return screen.availableGeometry() if screen is not None else QRect(0, 0, 1366, 768)


def fit_to_screen(window: QMainWindow) -> None:
    """Shrink and move the window so that its frame lies on its screen's available area."""
    avail = available_geometry(window)
    frame = window.frameGeometry()
    extra_w, extra_h = frame.width() - window.width(), frame.height() - window.height()
    w = min(window.width(), avail.width() - extra_w)
    h = min(window.height(), avail.height() - extra_h)
    if (w, h) != (window.width(), window.height()):
        window.resize(w, h)
    frame = window.frameGeometry()
    x = min(max(frame.x(), avail.x()), avail.right() + 1 - frame.width())
    y = min(max(frame.y(), avail.y()), avail.bottom() + 1 - frame.height())
    if (x, y) != (frame.x(), frame.y()):
        window.move(x, y)


def show_on_screen(window: QMainWindow, geometry: bytes | None = None, state: bytes | None = None) -> None:
    """Show the window as the user left it (saved geometry and dock state, kept on the screen), or maximized
    on first start."""
    if geometry and window.restoreGeometry(geometry):
        if state:
            window.restoreState(state)
            window.mark_laid_out()
        fit_to_screen(window)
        window.show()
        fit_to_screen(window)
    else:
        avail = available_geometry(window)
        window.setGeometry(avail)
        window.showMaximized()
