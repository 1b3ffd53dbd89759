"""Shared helpers for the main-window tests: a window on a fresh project of the phantom fixture."""
from __future__ import annotations

from pathlib import Path

import numpy as np
from PySide6.QtCore import Qt

from desktop.main_window import MainWindow
from desktop.settings import Settings
from tests.gui.canvas_helpers import drag

STROKE_CLASS = 34  # Cotton: never drawn by the phantom, so every stroke pixel visibly changes


def make_settings(path: Path, recovery: str = "recover", autosave_ms: int = 60_000) -> Settings:
    s = Settings(path)
    s.recovery_policy = recovery
    s.autosave_ms = autosave_ms
    return s


def open_window(qtbot, source, project_dir, settings: Settings) -> MainWindow:
    """A shown window with `source` opened into `project_dir`; background jobs finished."""
    w = MainWindow(settings)
    qtbot.addWidget(w)
    w.resize(1200, 800)
    w.show()
    qtbot.waitExposed(w)
    assert w.open_source(source, project_dir)
    w.runner.wait(30_000)
    w.activateWindow()
    w.canvas.setFocus()
    return w


def paint(window: MainWindow, pixels: list[tuple[int, int]], cls: int = STROKE_CLASS) -> None:
    """A brush stroke with synthesized mouse events through the canvas."""
    window.palette.set_current_class(cls)
    window.set_tool("brush")
    drag(window.canvas, pixels, Qt.LeftButton)


def middle_stroke(window: MainWindow) -> list[tuple[int, int]]:
    """A horizontal stroke across the middle third of the current frame."""
    h, w = window.doc.label.shape
    return [(x, h // 2) for x in range(w // 3, 2 * w // 3, 8)]


def saved_label(window: MainWindow, key: str) -> np.ndarray:
    from engine.imageio import read_label

    return read_label(window.doc.project.label_path(key))


def crash(window: MainWindow) -> None:
    """Simulate a killed process: drop the window's state without saving anything."""
    window.doc.forget_unsaved()  # what a kill does: nothing more gets written
    window.runner.shutdown()
    window.doc.project.close()
    window.doc.session.project = window.doc.session.current = None
