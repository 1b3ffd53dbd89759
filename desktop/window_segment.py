"""The main window's segment-anything pieces: the SegmentAssist (model, embedding lane, status messages) wired
to the canvas and the settings, and Find… (SAM 3 by name: the class name and the user's synonyms)."""
from __future__ import annotations

from PySide6.QtWidgets import QInputDialog

from desktop.canvas.segment_assist import SegmentAssist
from engine.taxonomy import CLASS_NAMES, NUM_CLASSES


def attach_segment(window) -> SegmentAssist:
    """Create the window's SegmentAssist on its runner and settings and connect it to the canvas."""
    assist = SegmentAssist(window.runner, lambda: window.settings.device, window)
    assist.set_folder(window.settings.segment_dir)
    window.canvas.set_segment_source(assist)
    assist.watch(window.canvas)             # keys
    assist.watch(window.canvas.viewport())  # clicks, strokes, wheel: frames made ahead wait while these come
    window.canvas.segmentMessage.connect(lambda text: window.statusBar().showMessage(text, 8000))
    assist.found.connect(lambda found: show_found(window, found))
    return assist


def find_phrases(text: str) -> list[str]:
    """"cannula, forceps" -> ["cannula", "forceps"] (empty parts dropped, at most 8 names)."""
    return [p.strip() for p in text.replace(";", ",").split(",") if p.strip()][:8]


def find_by_name(window, ask=QInputDialog.getText) -> bool:
    """Ask for the names to look for (the current class's name first), then find them in the segment lane."""
    cls = window.canvas.current_class()
    default = CLASS_NAMES[cls] if 0 <= cls < NUM_CLASSES else ""
    text, ok = ask(window, "Find by name (SAM 3)",
                   f"Every instance found becomes a proposal in class {cls} ({default}).\n"
                   "Names to look for, comma-separated (the class name and synonyms, e.g. cannula, forceps):",
                   text=default)
    phrases = find_phrases(text) if ok else []
    return bool(phrases) and window.segment_assist.find(phrases)


def show_found(window, found) -> None:
    """Show what Find… found as the Segment tool's proposal (Enter accepts, Tab one at a time, Esc drops)."""
    window.set_tool("segment")
    window.canvas.tool().show_found(found)
