"""Run in a subprocess by test_window_layout.py: a first start on an offscreen screen of a given size.

    python -m tests.gui.layout_probe WORK_DIR WIDTHxHEIGHT [SCREENSHOT.png]

Qt fixes the screen size when the QApplication starts, so each size needs its own process. Prints one JSON
line: the screen, the window's frame, the canvas share of the window, and what the View menu lists."""
from __future__ import annotations

import json
import os
import sys
from pathlib import Path


def measure(window) -> dict:
    win, canvas = window.frameGeometry(), window.canvas.geometry()
    return {"window": [win.x(), win.y(), win.width(), win.height()],
            "canvas": [canvas.width(), canvas.height()],
            "canvas_share": canvas.width() * canvas.height() / (window.width() * window.height()),
            "canvas_width_share": canvas.width() / window.width()}


def frame_rows(tree) -> int:
    """How many frame rows the Frames list has room for (its height over a frame row's height; a short phantom
    sample has a video heading every few frames, so the frames actually in view undercount it)."""
    tree.scrollToTop()
    first = tree.topLevelItem(0).child(0)
    return tree.viewport().height() // tree.visualItemRect(first).height()


def dock_tabs(window) -> list[dict]:
    """Each tab bar of the dock column: per tab its tooltip, whether it has an icon (and how many distinct ones),
    whether the tab in front shows its whole title, and whether all tabs fit the bar (no scroll arrows)."""
    from PySide6.QtWidgets import QTabBar

    bars = []
    for bar in window.findChildren(QTabBar):
        g = bar.geometry()  # Qt keeps unused tab bars of earlier layouts: only those over the dock column count
        if bar.parent() is not window or not bar.isVisible() or not window.rect().contains(g) \
                or g.left() < window.canvas.geometry().right():
            continue
        n, cur = bar.count(), bar.currentIndex()
        icons = {bar.tabIcon(i).pixmap(16, 16).toImage().bits().tobytes() for i in range(n)
                 if not bar.tabIcon(i).isNull()}
        title_w = bar.fontMetrics().horizontalAdvance(bar.tabText(cur)) + bar.iconSize().width()
        bars.append({"tooltips": [bar.tabToolTip(i) for i in range(n)], "texts": [bar.tabText(i) for i in range(n)],
                     "distinct_icons": len(icons), "count": n,
                     "front_readable": bar.tabRect(cur).width() >= title_w,
                     "all_fit": bar.tabRect(n - 1).right() <= bar.width()})
    return bars


def gallery_rows(window) -> int:
    """How many rows of pair thumbnails the Curation gallery shows in view (opened from the menu, in front), the
    part of it scrolled out of the dock's view not counted; the dock is closed again after."""
    from PySide6.QtCore import QCoreApplication, QRect

    dock = window.docks["curation"]
    dock.show()
    dock.raise_()
    for _ in range(10):
        QCoreApplication.processEvents()
    gallery = window.model_panels.panel("curation").gallery
    port = gallery.viewport()
    seen = QRect(port.mapTo(window, port.rect().topLeft()), port.size())
    area = dock.widget().viewport() if hasattr(dock.widget(), "viewport") else dock.widget()
    seen = seen.intersected(QRect(area.mapTo(window, area.rect().topLeft()), area.size()))
    dock.hide()
    window.docks["classes"].raise_()
    for _ in range(10):
        QCoreApplication.processEvents()
    return max(0, seen.height()) // gallery.gridSize().height()


def first_start(work: Path, sample: Path, configure=None):
    """(app, window) as on a first start: settings in WORK (changed by `configure(settings)` first), shown as
    a first start places the window, SAMPLE opened with its project in WORK, the opening finished."""
    from PySide6.QtCore import QCoreApplication

    from desktop.app import make_app
    from desktop.main_window import MainWindow
    from desktop.settings import Settings
    from desktop.window_layout import show_on_screen

    app = make_app()
    settings = Settings(work / "settings.ini")
    if configure is not None:
        configure(settings)
    window = MainWindow(settings)
    show_on_screen(window, *settings.window_state())
    assert window.open_source(sample, work / "project", recovery="skip")
    window.runner.wait(60_000)
    for _ in range(10):
        QCoreApplication.processEvents()
    return app, window


def main(work: Path, size: str, shot: str | None) -> None:
    from desktop.app import offscreen_platform, parse_size

    os.environ["QT_QPA_PLATFORM"] = offscreen_platform(*parse_size(size))
    os.environ["CADIS_STUDIO_DATA"] = str(work / "data")
    from PySide6.QtCore import QCoreApplication

    from desktop.app import take_screenshot
    from desktop.main_window import MainWindow
    from desktop.window_layout import show_on_screen
    from engine.phantom import ensure_sample

    sample = ensure_sample(work / "data" / "phantom") if not (work / "sample").exists() else work / "sample"
    app, window = first_start(work, sample)
    screen = window.screen().availableGeometry()
    out = {"screen": [screen.x(), screen.y(), screen.width(), screen.height()],
           "minimum": [window.minimumSizeHint().width(), window.minimumSizeHint().height()],
           "maximized": window.isMaximized(), **measure(window)}
    view = window.menus["&View"]
    listed = {a.text() for a in view.actions()}
    out["docks"] = {k: d.windowTitle() in listed for k, d in window.docks.items()}
    out["frame_rows"] = frame_rows(window.frames.tree)
    out["dock_tabs"] = dock_tabs(window)
    out["visible_docks"] = sorted(k for k, d in window.docks.items() if d.isVisible())
    from PySide6.QtCore import Qt
    from PySide6.QtWidgets import QScrollArea

    off = Qt.ScrollBarPolicy.ScrollBarAlwaysOff
    out["sideways_scroll"] = sorted(k for k, d in window.docks.items()
                                    if isinstance(d.widget(), QScrollArea) and d.widget().horizontalScrollBarPolicy() != off)
    out["gallery_rows"] = gallery_rows(window)
    window.actions["view.canvas_only"].trigger()
    QCoreApplication.processEvents()
    out["canvas_only"] = {**measure(window), "visible_docks": [k for k, d in window.docks.items() if d.isVisible()]}
    window.actions["view.canvas_only"].trigger()
    window.docks["curation"].show()  # the user moved things around…
    window.docks["frames"].setFloating(True)
    QCoreApplication.processEvents()
    window.actions["view.reset_layout"].trigger()
    for _ in range(5):
        QCoreApplication.processEvents()
    out["after_reset"] = {**measure(window), "visible_docks": sorted(k for k, d in window.docks.items()
                                                                    if d.isVisible()),
                          "floating": [k for k, d in window.docks.items() if d.isFloating()]}
    if shot:
        take_screenshot(window, shot, maximized=True)
    window.close()
    # a window state saved on a bigger monitor comes back inside this screen
    window.showNormal()
    window.setGeometry(40, 40, 3000, 2000)
    big = window.saveGeometry()
    again = MainWindow(window.settings)
    show_on_screen(again, big, None)
    for _ in range(5):
        QCoreApplication.processEvents()
    g = again.frameGeometry()
    out["restored_big"] = [g.x(), g.y(), g.width(), g.height()]
    again.close()
    print(json.dumps(out))
    app.quit()


if __name__ == "__main__":
    main(Path(sys.argv[1]), sys.argv[2], sys.argv[3] if len(sys.argv) > 3 else None)
