"""Entry point of the desktop app (`cadis-studio`, `python main.py`).

    cadis-studio [SOURCE] [--project DIR] [--sample] [--screenshot PATH] [--screen WxH] [--reset-settings]

SOURCE is a CaDIS dataset, a folder of frames or a project folder. Without it the app starts where the user
left off: the last project, on its last frame, checked for unsaved strokes to recover; on the very first
start (or with --sample) it opens the phantom sample, generated on first use in the user's data folder
(`desktop.settings.phantom_dir()`), never in the install folder.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from pathlib import Path
from typing import Optional

REPO_ROOT = Path(__file__).resolve().parents[1]
SCREENSHOT_SIZE = (1600, 960)


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="cadis-studio", description="CaDIS Studio: paint and repair CaDIS masks")
    p.add_argument("source", nargs="?", metavar="SOURCE",
                   help="a CaDIS dataset, a folder of frames or a project (default: the last project, else the "
                        "phantom sample)")
    p.add_argument("--sample", action="store_true", help="open the phantom sample (made in your data folder)")
    p.add_argument("--project", metavar="DIR", help="where the project of SOURCE lives (default: next to it)")
    p.add_argument("--screenshot", metavar="PATH", help="open, show the first frame, save a PNG of the window, exit")
    p.add_argument("--screen", metavar="WxH", help="with --screenshot: an offscreen screen of this size, the window "
                   "maximized on it as on a first start (default: a 1600x960 window)")
    p.add_argument("--reset-settings", action="store_true", help="forget shortcuts, recent projects and folders")
    p.add_argument("--settings", metavar="FILE", help=argparse.SUPPRESS)  # an INI file instead of the user's store
    return p


def load_style() -> str:
    path = REPO_ROOT / "resources" / "style.qss"
    try:
        return path.read_text(encoding="utf-8")
    except OSError:
        return ""


def make_app():
    """The QApplication (created once), with the app's name and dark style."""
    from PySide6.QtWidgets import QApplication

    app = QApplication.instance()
    if app is None:
        app = QApplication(sys.argv[:1])
    app.setApplicationName("CaDIS Studio")
    app.setOrganizationName("CaDIS Studio")
    app.setStyle("Fusion")
    app.setStyleSheet(load_style())
    from desktop.wheel_guard import install_wheel_guard

    install_wheel_guard(app)  # the wheel scrolls panels, not the sliders it passes over
    from desktop.gc_guard import install_main_thread_gc

    install_main_thread_gc(app)  # Qt objects in garbage cycles are destroyed in the GUI thread only
    return app


def offscreen_platform(width: int, height: int) -> str:
    """A QT_QPA_PLATFORM value for Qt's offscreen platform with one screen of this size (tests, screenshots)."""
    config = {"synchronousWindowSystemEvents": False, "windowFrameMargins": False,
              "screens": [{"name": "offscreen", "x": 0, "y": 0, "width": int(width), "height": int(height),
                           "logicalDpi": 96, "logicalBaseDpi": 96, "dpr": 1}]}
    path = Path(tempfile.gettempdir()) / f"cadis-studio-screen-{int(width)}x{int(height)}.json"
    path.write_text(json.dumps(config), encoding="utf-8")
    return f"offscreen:configfile={path}"


def parse_size(text: str) -> tuple[int, int]:
    try:
        w, h = (int(v) for v in text.lower().split("x"))
    except ValueError:
        raise SystemExit(f"cadis-studio: --screen wants WIDTHxHEIGHT, e.g. 1366x768, not {text!r}") from None
    return w, h


def take_screenshot(window, path: str | os.PathLike, maximized: bool = False) -> Path:
    """Show the window (at a fixed size, or maximized on its screen), let pending work finish, grab it and
    save a PNG."""
    from PySide6.QtCore import QCoreApplication

    from desktop.window_layout import show_on_screen

    if maximized:
        show_on_screen(window)
    else:
        window.resize(*SCREENSHOT_SIZE)
        window.show()
    for _ in range(5):
        QCoreApplication.processEvents()
    window.default_layout()
    QCoreApplication.processEvents()
    window.canvas.fit()
    window.refresh_title()
    window.runner.wait(60_000)
    for _ in range(5):
        QCoreApplication.processEvents()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    if not window.grab().save(str(path), "PNG"):
        raise OSError(f"could not write the screenshot {path}")
    return path


def start_source(args, settings) -> tuple[Optional[str], Optional[str]]:
    """What to open: SOURCE as given; else (no --sample) the last project where the user left off; else None
    for the phantom sample."""
    if args.source is not None:
        return args.source, args.project
    if not args.sample:
        last = settings.last_project()
        if last is not None:
            print(f"cadis-studio: reopening {last}", file=sys.stderr)
            return last, None
    return None, args.project


def make_sample(root, parent=None) -> Path:
    """The phantom sample in `root`, made (first start: 24 frames, several seconds) under a progress window
    instead of behind a black one; at once when it is already there."""
    from PySide6.QtCore import Qt
    from PySide6.QtWidgets import QApplication, QProgressDialog

    from engine.jobs import JobContext
    from engine.phantom import ensure_sample

    dialog = QProgressDialog("Making the phantom sample to start with…", "", 0, 1000, parent)
    dialog.setWindowTitle("CaDIS Studio: first start")
    dialog.setCancelButton(None)
    dialog.setWindowModality(Qt.WindowModality.ApplicationModal)
    dialog.setMinimumDuration(0)
    dialog.setAutoClose(False)
    dialog.reset()  # not shown until the first report: an existing sample opens without it

    def progress(fraction: float, message: str) -> None:
        dialog.setLabelText(f"Making the phantom sample to start with…\n{message}")
        dialog.setValue(int(round(fraction * 1000)))
        QApplication.processEvents()

    try:
        return ensure_sample(root, JobContext(progress))
    finally:
        if dialog.isVisible():
            dialog.setValue(dialog.maximum())
        dialog.close()
        dialog.deleteLater()


def main(argv: Optional[list[str]] = None) -> int:
    args = build_parser().parse_args(argv)
    if args.screenshot:
        if args.screen:
            os.environ["QT_QPA_PLATFORM"] = offscreen_platform(*parse_size(args.screen))
        os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    app = make_app()
    from desktop.main_window import MainWindow
    from desktop.settings import Settings, phantom_dir
    from desktop.window_layout import show_on_screen

    settings = Settings(args.settings)
    if args.reset_settings:
        settings.reset()
    source, project_dir = start_source(args, settings)
    window = MainWindow(settings)
    if args.screenshot:
        window.ask_open_anyway = lambda *_: False  # nobody to ask
    else:
        show_on_screen(window, *settings.window_state())  # shown first: questions at start have a parent
    if source is None:
        print(f"cadis-studio: opening the phantom sample in {phantom_dir()}", file=sys.stderr)
        source = make_sample(phantom_dir(), None if args.screenshot else window)
    opened = window.open_source(source, project_dir, recovery="skip" if args.screenshot else None)
    if args.screenshot:
        path = take_screenshot(window, args.screenshot, maximized=bool(args.screen))
        window.close()
        print(f"cadis-studio: screenshot written to {path}", file=sys.stderr)
        return 0 if opened else 2
    if window.problems_dialog is not None:
        window.problems_dialog.raise_()
    return int(app.exec())


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
