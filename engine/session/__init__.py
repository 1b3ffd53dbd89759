"""Edit sessions (Qt-free): a label open for editing with its undo stack, journal-before-anything ordering,
dirty state, autosave policy and crash recovery, for project frames (`ProjectSession`, with variant sketches
whose strokes never become the frame's label) and synthetic pairs (`open_pair`). The desktop wraps them in
thin Qt adapters (desktop/document.py, the pair editor)."""
from engine.session.autosave import AutosavePolicy
from engine.session.events import Rect, SessionEvents
from engine.session.label_session import LabelSession, LabelTarget, inverse
from engine.session.project_session import RECENT_STACKS, ProjectSession, open_pair
from engine.session.sketch import Sketch, SketchTarget
from engine.session.targets import FrameTarget, PairTarget

__all__ = [
    "AutosavePolicy", "SessionEvents", "Rect", "LabelSession", "LabelTarget", "inverse", "ProjectSession",
    "open_pair", "RECENT_STACKS", "FrameTarget", "PairTarget",
    "Sketch", "SketchTarget",
]
