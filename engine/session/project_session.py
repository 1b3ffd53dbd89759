"""The open project and the frame being edited (Qt-free): frame switching, recent undo stacks, saving on
switch and close, review status, recovery of journal strokes left by a crash, and the edit of a pair.

    session = ProjectSession(events=my_listener, autosave=AutosavePolicy(3000))
    session.open_project(Project.open_or_create(dataset))
    session.set_frame(session.keys()[0]); session.apply(edits.brush_stroke, pts, 4, 13); session.save()
"""
from __future__ import annotations

from collections import OrderedDict
from typing import Callable, Optional

import numpy as np

from engine.edits import PaintPolicy, UndoRecord, UndoStack
from engine.session.autosave import AutosavePolicy
from engine.session.events import SessionEvents
from engine.session.label_session import LabelSession
from engine.session.targets import FrameTarget, PairTarget

RECENT_STACKS = 8


class ProjectSession:
    """State of the open project and frame; tells `events` what changed."""

    def __init__(self, events: Optional[SessionEvents] = None, autosave: Optional[AutosavePolicy] = None,
                 max_steps: int = 500):
        self.events = events if events is not None else SessionEvents()
        self.autosave = autosave if autosave is not None else AutosavePolicy(0)
        self.project = None
        self.current: Optional[LabelSession] = None
        self._max_steps = max_steps
        self._stacks: OrderedDict[str, UndoStack] = OrderedDict()

    # -- project -----------------------------------------------------------------------------------
    def open_project(self, project) -> None:
        """Take over an opened `engine.project.Project` (the previous one is saved and closed)."""
        self.close_project()
        self.project = project
        self.events.project_changed()

    def close_project(self) -> bool:
        """Save the current frame and close the project; False if the save failed (project kept open)."""
        if self.project is None:
            return True
        if not self.save():
            return False
        self.project.close()
        self.project, self.current = None, None
        self._stacks.clear()
        self.events.project_changed()
        return True

    @property
    def name(self) -> str:
        return getattr(self.project, "name", "") if self.project is not None else ""

    @property
    def key(self) -> Optional[str]:
        return self.current.target.key if self.current is not None else None

    @property
    def dirty(self) -> bool:
        return self.current is not None and self.current.dirty

    @property
    def image(self) -> Optional[np.ndarray]:
        return self.current.image if self.current is not None else None

    @property
    def label(self) -> Optional[np.ndarray]:
        """The current frame's label, the array edits write into (None without a frame)."""
        return self.current.label if self.current is not None else None

    # -- frames ------------------------------------------------------------------------------------
    def keys(self) -> list[str]:
        return self.project.frame_keys() if self.project is not None else []

    def set_frame(self, key: str) -> bool:
        """Show frame `key` (saving the current one first); False with an error message on failure."""
        if self.project is None or key == self.key:
            return self.project is not None
        if not self.save():
            return False
        try:
            image = self.project.load_image(key)
            label = np.ascontiguousarray(self.project.load_label(key))
        except Exception as exc:  # noqa: BLE001 - an unreadable frame is a message, not a crash
            self.events.error(f"Cannot show frame {key}: {exc}. Fix or remove the file, or pick another frame.")
            return False
        if key in self._stacks:
            self._stacks.move_to_end(key)  # most recently visited frames keep their history longest
        self.current = LabelSession(FrameTarget(self.project, key), image, label, self.stack(key), self.events,
                                    self.autosave)
        self.events.frame_changed(key)
        self.current.emit_undo_state()
        return True

    def neighbour(self, offset: int) -> Optional[str]:
        """The key `offset` frames away from the current one (None past either end)."""
        keys = self.keys()
        if not keys:
            return None
        if self.key not in keys:
            return keys[0]
        i = keys.index(self.key) + offset
        return keys[i] if 0 <= i < len(keys) else None

    def next_unfinished(self) -> Optional[str]:
        return self.project.next_unfinished(self.key) if self.project is not None else None

    # -- edits (on the current frame) --------------------------------------------------------------
    def stack(self, key: Optional[str] = None) -> UndoStack:
        """The undo stack of a frame (the current one by default); stacks of recent frames are kept."""
        key = key or self.key
        if key not in self._stacks:
            self._stacks[key] = UndoStack(max_steps=self._max_steps)
            while len(self._stacks) > RECENT_STACKS:
                self._stacks.popitem(last=False)
        return self._stacks[key]

    def record_edit(self, rec: Optional[UndoRecord]) -> None:
        if self.current is not None:
            self.current.record_edit(rec)

    def apply(self, op: Callable[..., Optional[UndoRecord]], *args, **kwargs) -> Optional[UndoRecord]:
        return self.current.apply(op, *args, **kwargs) if self.current is not None else None

    def repair(self, op: str, params: dict, cls: Optional[int], policy: PaintPolicy) -> Optional[UndoRecord]:
        return self.current.repair(op, params, cls, policy) if self.current is not None else None

    def undo(self) -> Optional[UndoRecord]:
        return self.current.undo() if self.current is not None else None

    def redo(self) -> Optional[UndoRecord]:
        return self.current.redo() if self.current is not None else None

    # -- saving ------------------------------------------------------------------------------------
    def save(self) -> bool:
        """Write the current label if it changed; True when nothing is left unsaved."""
        if self.current is None or self.project is None:
            return True
        key = self.key
        if self.project.read_only and self.current.dirty:  # opened beside another writer: closing never blocks
            self.current.set_dirty(False)
            self.events.error("The project is open read-only: this change is not saved.")
            return True
        try:
            wrote = self.current.save()
        except Exception as exc:  # noqa: BLE001
            self.events.error(f"Saving {key} failed: {exc}. Your strokes are still in the journal; "
                              "free disk space or check permissions, then save again (Ctrl+S).")
            return False
        if wrote:
            self.events.saved(key)
            self.events.status_changed(key, self.project.status(key))
        return True

    # -- review ------------------------------------------------------------------------------------
    def set_status(self, status: str, note: Optional[str] = None) -> bool:
        if self.project is None or self.key is None:
            return False
        if not self.save():
            return False
        try:
            self.project.set_status(self.key, status, note)
        except Exception as exc:  # noqa: BLE001
            self.events.error(str(exc))
            return False
        self.events.status_changed(self.key, status)
        return True

    def status(self) -> str:
        return self.project.status(self.key) if self.project is not None and self.key else ""

    def note(self) -> str:
        return self.project.note(self.key) if self.project is not None and self.key else ""

    def set_note(self, note: str) -> None:
        if self.project is not None and self.key is not None and note != self.note():
            self.project.set_note(self.key, note)

    # -- recovery ----------------------------------------------------------------------------------
    def pending_recovery(self) -> dict[str, int]:
        return self.project.pending_recovery() if self.project is not None else {}

    def recover(self, keys: Optional[list[str]] = None) -> list[str]:
        """Replay the journal strokes of `keys` (all pending by default) and save them; returns the
        keys recovered. A frame whose strokes cannot be replayed is reported and left in the journal."""
        done = []
        for key in keys if keys is not None else list(self.pending_recovery()):
            try:
                label = self.project.recover(key)
                self.project.save_label(key, label)
            except Exception as exc:  # noqa: BLE001
                self.events.error(f"Could not recover {key}: {exc}")
                continue
            done.append(key)
            self.events.status_changed(key, self.project.status(key))
            if key == self.key:
                np.copyto(self.current.label, label)
                self.events.label_edited(None)
        return done

    def discard_recovery(self) -> None:
        if self.project is not None:
            self.project.discard_recovery()


def open_pair(project, pair_id: int, events: Optional[SessionEvents] = None,
              autosave: Optional[AutosavePolicy] = None) -> tuple[LabelSession, int]:
    """A label session on a synthetic pair, with the strokes a crash left in its journal replayed (each an
    undo step, the pair marked unsaved); returns (session, number of strokes recovered)."""
    image, label = project.load_pair(pair_id)
    session = LabelSession(PairTarget(project, pair_id), image, np.ascontiguousarray(label).copy(),
                           events=events, autosave=autosave)
    return session, session.replay(project.pair_strokes(pair_id))
