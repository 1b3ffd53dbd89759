"""The open document: the Project, the current frame, its label, undo stacks, dirty flag and autosave.

No widgets here. Every finished edit goes to the frame's `UndoStack` and, before anything else can
happen, to the project's journal (`journal_append`), so a crash loses nothing: on the next start the
strokes are offered for recovery. Saving (on idle, on frame switch, on close) writes the label
atomically through the project, which also drops the journal strokes the save contains.
Undo and redo are journalled too (as the inverse record / the record again), so recovery replays
exactly what was on screen.
"""
from __future__ import annotations

from collections import OrderedDict
from typing import Callable, Optional

import numpy as np
from PySide6.QtCore import QObject, QTimer, Signal

from engine import edits
from engine.edits import PaintPolicy, UndoRecord, UndoStack
from engine.taxonomy import NUM_CLASSES

Rect = tuple[int, int, int, int]
RECENT_STACKS = 8


def inverse(rec: UndoRecord) -> UndoRecord:
    """The record that undoes `rec` when replayed with `redo` (for journalling an undo)."""
    return UndoRecord(rec.y0, rec.x0, rec.after.copy(), rec.before.copy(),
                      f"undo {rec.description}".strip(), None if rec.mask is None else rec.mask.copy())


class Document(QObject):
    """State of the open project and frame; emits signals the window turns into repaints."""

    projectChanged = Signal()
    frameChanged = Signal(str)        # key of the frame now shown
    labelEdited = Signal(object)      # Rect (x0, y0, x1, y1) changed by undo/redo/repair/recovery, or None
    dirtyChanged = Signal(bool)
    statusChanged = Signal(str, str)  # key, status
    saved = Signal(str)               # key
    undoStateChanged = Signal(bool, bool)
    errorOccurred = Signal(str)       # a message for the user

    def __init__(self, autosave_ms: int = 3000, max_steps: int = 500, parent: Optional[QObject] = None):
        super().__init__(parent)
        self.project = None
        self.key: Optional[str] = None
        self.image: Optional[np.ndarray] = None
        self.label: Optional[np.ndarray] = None
        self._dirty = False
        self._max_steps = max_steps
        self._stacks: OrderedDict[str, UndoStack] = OrderedDict()
        self.autosave_timer = QTimer(self)
        self.autosave_timer.setSingleShot(True)
        self.autosave_timer.setInterval(autosave_ms)
        self.autosave_timer.timeout.connect(self.save)

    # -- project -----------------------------------------------------------------------------------
    def open_project(self, project) -> None:
        """Take over an opened `engine.project.Project` (the previous one is saved and closed)."""
        self.close_project()
        self.project = project
        self.projectChanged.emit()

    def close_project(self) -> bool:
        """Save the current frame and close the project; False if the save failed (project kept open)."""
        if self.project is None:
            return True
        if not self.save():
            return False
        self.autosave_timer.stop()
        self.project.close()
        self.project, self.key, self.image, self.label = None, None, None, None
        self._stacks.clear()
        self.projectChanged.emit()
        return True

    @property
    def name(self) -> str:
        return getattr(self.project, "name", "") if self.project is not None else ""

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
            self.errorOccurred.emit(f"Cannot show frame {key}: {exc}. Fix or remove the file, or pick "
                                    "another frame.")
            return False
        if not label.flags.writeable:
            label = label.copy()
        self.key, self.image, self.label = key, image, label
        if key in self._stacks:
            self._stacks.move_to_end(key)  # most recently visited frames keep their history longest
        self._set_dirty(False)
        self.frameChanged.emit(key)
        self._emit_undo_state()
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

    # -- edits -------------------------------------------------------------------------------------
    def stack(self, key: Optional[str] = None) -> UndoStack:
        """The undo stack of a frame (the current one by default); stacks of recent frames are kept."""
        key = key or self.key
        if key not in self._stacks:
            self._stacks[key] = UndoStack(max_steps=self._max_steps)
            while len(self._stacks) > RECENT_STACKS:
                self._stacks.popitem(last=False)
        return self._stacks[key]

    def record_edit(self, rec: Optional[UndoRecord]) -> None:
        """An edit already applied to `self.label` (a canvas stroke or a repair op): remember it."""
        if rec is None or self.key is None:
            return
        self.stack().push(rec)
        self._journal(rec)
        self._touch()

    def apply(self, op: Callable[..., Optional[UndoRecord]], *args, **kwargs) -> Optional[UndoRecord]:
        """Run an engine edit op on the current label (`op(label, *args, **kwargs)`) and record it."""
        if self.label is None:
            return None
        rec = op(self.label, *args, **kwargs)
        if rec is not None:
            self.record_edit(rec)
            self.labelEdited.emit(rec.bbox)
        return rec

    def repair(self, op: str, params: dict, cls: Optional[int], policy: PaintPolicy) -> Optional[UndoRecord]:
        """A repair op on the current frame as one undo step: "islands" (min_size), "holes" (max_size),
        "smooth" (radius) or "replace" (src, dst), for class `cls` or every class present (cls=None)."""
        if self.label is None:
            return None
        classes = [cls] if cls is not None else [int(c) for c in np.flatnonzero(
            np.bincount(self.label.ravel(), minlength=256)[:NUM_CLASSES])]
        if op == "islands":
            calls = [lambda lb: edits.remove_islands(lb, params["min_size"], cls, policy=policy)]
        elif op == "holes":
            calls = [lambda lb, c=c: edits.fill_holes(lb, c, policy, params["max_size"]) for c in classes]
        elif op == "smooth":
            calls = [lambda lb, c=c: edits.smooth_class(lb, c, params["radius"], policy) for c in classes]
        elif op == "replace":
            calls = [lambda lb: edits.replace_class(lb, params["src"], params["dst"], policy)]
        else:
            raise ValueError(f"unknown repair {op!r}: use islands, holes, smooth or replace")

        def run_all(lb: np.ndarray) -> Optional[UndoRecord]:
            merged = None
            for call in calls:
                rec = call(lb)
                if rec is not None:
                    merged = rec if merged is None else merged.merge(rec, lb)
            return merged

        return self.apply(run_all)

    def undo(self) -> Optional[UndoRecord]:
        if self.label is None:
            return None
        rec = self.stack().undo(self.label)
        if rec is not None:
            self._journal(inverse(rec))
            self._touch()
            self.labelEdited.emit(rec.bbox)
        return rec

    def redo(self) -> Optional[UndoRecord]:
        if self.label is None:
            return None
        rec = self.stack().redo(self.label)
        if rec is not None:
            self._journal(rec)
            self._touch()
            self.labelEdited.emit(rec.bbox)
        return rec

    def _journal(self, rec: UndoRecord) -> None:
        try:
            self.project.journal_append(self.key, rec)
        except Exception as exc:  # noqa: BLE001
            self.errorOccurred.emit(f"Could not write the edit journal ({exc}); save with Ctrl+S to be safe.")

    def _touch(self) -> None:
        self._set_dirty(True)
        self.autosave_timer.start()  # restarts: saves after this many ms without edits
        self._emit_undo_state()

    # -- saving ------------------------------------------------------------------------------------
    @property
    def dirty(self) -> bool:
        return self._dirty

    def save(self) -> bool:
        """Write the current label if it changed; True when nothing is left unsaved."""
        self.autosave_timer.stop()
        if not self._dirty or self.project is None or self.key is None:
            return True
        if getattr(self.project, "read_only", False):  # opened beside another writer: nothing is kept, and closing never blocks
            self._set_dirty(False)
            self.errorOccurred.emit("The project is open read-only: this change is not saved.")
            return True
        try:
            self.project.save_label(self.key, self.label)
        except Exception as exc:  # noqa: BLE001
            self.errorOccurred.emit(f"Saving {self.key} failed: {exc}. Your strokes are still in the journal; "
                                    "free disk space or check permissions, then save again (Ctrl+S).")
            return False
        self._set_dirty(False)
        self.saved.emit(self.key)
        self.statusChanged.emit(self.key, self.project.status(self.key))
        return True

    def _set_dirty(self, dirty: bool) -> None:
        if dirty != self._dirty:
            self._dirty = dirty
            self.dirtyChanged.emit(dirty)

    def _emit_undo_state(self) -> None:
        if self.key is None:
            self.undoStateChanged.emit(False, False)
        else:
            st = self.stack()
            self.undoStateChanged.emit(st.can_undo, st.can_redo)

    # -- review ------------------------------------------------------------------------------------
    def set_status(self, status: str, note: Optional[str] = None) -> bool:
        if self.project is None or self.key is None:
            return False
        if not self.save():
            return False
        try:
            self.project.set_status(self.key, status, note)
        except Exception as exc:  # noqa: BLE001
            self.errorOccurred.emit(str(exc))
            return False
        self.statusChanged.emit(self.key, status)
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
                self.errorOccurred.emit(f"Could not recover {key}: {exc}")
                continue
            done.append(key)
            self.statusChanged.emit(key, self.project.status(key))
            if key == self.key:
                np.copyto(self.label, label)
                self.labelEdited.emit(None)
        return done

    def discard_recovery(self) -> None:
        if self.project is not None:
            self.project.discard_recovery()
