"""Entry point of the desktop app (`cadis-studio`, `python main.py`).

    cadis-studio [SOURCE] [--project DIR] [--screenshot PATH] [--reset-settings] [--settings FILE]

SOURCE is a CaDIS dataset, a folder of frames or a project folder; without it the phantom sample in
`data/phantom` is opened (generated on first use with engine.phantom).
"""
from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Optional

REPO_ROOT = Path(__file__).resolve().parents[1]
SCREENSHOT_SIZE = (1600, 960)


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="cadis-studio", description="CaDIS Studio: paint and repair CaDIS masks")
    p.add_argument("source", nargs="?", metavar="SOURCE",
                   help="a CaDIS dataset, a folder of frames or a project (default: the phantom sample)")
    p.add_argument("--project", metavar="DIR", help="where the project of SOURCE lives (default: next to it)")
    p.add_argument("--screenshot", metavar="PATH", help="open, show the first frame, save a PNG of the window, exit")
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
    return app


def take_screenshot(window, path: str | os.PathLike) -> Path:
    """Show the window at a fixed size, let pending work finish, grab it and save a PNG."""
    from PySide6.QtCore import QCoreApplication

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


def main(argv: Optional[list[str]] = None) -> int:
    args = build_parser().parse_args(argv)
    if args.screenshot:
        os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    app = make_app()
    from desktop.main_window import MainWindow
    from desktop.settings import Settings

    import desktop.settings
    from engine.phantom import ensure_sample

    settings = Settings(args.settings)
    if args.reset_settings:
        settings.reset()
    source = args.source
    if source is None:
        print(f"cadis-studio: opening the phantom sample in {desktop.settings.PHANTOM_DIR}", file=sys.stderr)
        source = ensure_sample(desktop.settings.PHANTOM_DIR)
    window = MainWindow(settings)
    geometry, state = settings.window_state()
    if geometry and not args.screenshot:
        window.restoreGeometry(geometry)
        window.restoreState(state or b"")
    opened = window.open_source(source, args.project, recovery="skip" if args.screenshot else None)
    if args.screenshot:
        path = take_screenshot(window, args.screenshot)
        window.close()
        print(f"cadis-studio: screenshot written to {path}", file=sys.stderr)
        return 0 if opened else 2
    window.show()
    if window.problems_dialog is not None:
        window.problems_dialog.raise_()
    return int(app.exec())


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
