"""The open project and the frame being edited (Qt-free): frame switching, recent undo stacks, saving on
switch and close, review status, recovery of journal strokes left by a crash, variant sketches (edits for a
repaint that never become the frame's label, engine.session.sketch), and the edit of a pair.

    session = ProjectSession(events=my_listener, autosave=AutosavePolicy(3000))
    session.open_project(Project.open_or_create(dataset))
    session.set_frame(session.keys()[0]); session.apply(edits.brush_stroke, pts, 4, 13); session.save()
"""
from __future__ import annotations

from collections import OrderedDict
from typing import Callable, Optional

import numpy as np

from engine.edits import PaintPolicy, UndoRecord, UndoStack
from engine.edits.commit import tight_box
from engine.session.autosave import AutosavePolicy
from engine.session.events import SessionEvents
from engine.session.label_session import LabelSession, inverse
from engine.session.sketch import SketchEvents, Sketch, SketchTarget, restore_record
from engine.session.targets import FrameTarget, PairTarget

RECENT_STACKS = 8


class ProjectSession:
    """State of the open project and frame; tells `events` what changed."""

    def __init__(self, events: Optional[SessionEvents] = None, autosave: Optional[AutosavePolicy] = None,
                 max_steps: int = 500):
        self.events = events if events is not None else SessionEvents()
        self.autosave = autosave if autosave is not None else AutosavePolicy(0)
        self.project = None
        self.current: Optional[LabelSession] = None  # where edits go: the frame's session, or an open sketch's
        self.sketch: Optional[Sketch] = None
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
        self.end_sketch()
        if not self.save():
            return False
        self.project.close()
        self.project, self.current, self.sketch = None, None, None
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
    def frame_session(self) -> Optional[LabelSession]:
        """The current frame's own label session (also while a sketch takes the edits)."""
        return self.sketch.frame if self.sketch is not None else self.current

    @property
    def dirty(self) -> bool:
        """The frame's label has unsaved edits (a sketch is never saved, so never counts)."""
        frame = self.frame_session
        return frame is not None and frame.dirty

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
        self.end_sketch()
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

    def accept_model_output(self, proposal: np.ndarray, where: np.ndarray, policy: PaintPolicy,
                            description: str, replace_labels: bool = False, source: str = "preseg"
                            ) -> Optional[UndoRecord]:
        """Accept (part of) a model's proposal into the current frame as one undo step and record the pixels
        it wrote as model-made (`engine.project.store_model_made`) until a person edits or reviews them.
        Every model output a user accepts (pre-segmentation, propagation, click-to-segment) comes here."""
        from engine.edits import accept_proposal

        if self.current is None:
            return None
        rec = self.current.apply(accept_proposal, proposal, where, policy, description, replace_labels)
        self._mark_model_made(rec, source)
        return rec

    def record_model_output(self, rec: Optional[UndoRecord], source: str) -> None:
        """Record an edit a tool already applied from a model's output (a committed segmentation) as one undo
        step, its pixels recorded as model-made like an accepted proposal."""
        self.record_edit(rec)
        self._mark_model_made(rec, source)

    def _mark_model_made(self, rec: Optional[UndoRecord], source: str) -> None:
        if (rec is None or self.current is None or not isinstance(self.current.target, FrameTarget)
                or self.project.read_only):
            return
        x0, y0, x1, y1 = rec.bbox
        region = np.zeros(self.current.label.shape, bool)
        region[y0:y1, x0:x1] = rec.changed()
        self.project.mark_model_made(self.key, self.current.label, region, source)

    def review_model_made(self) -> int:
        """A person has reviewed the current frame's model-made pixels: they count as the person's now."""
        if self.project is None or self.key is None:
            return 0
        return self.project.review_model_made(self.key)

    def repair(self, op: str, params: dict, cls: Optional[int], policy: PaintPolicy) -> Optional[UndoRecord]:
        return self.current.repair(op, params, cls, policy) if self.current is not None else None

    def undo(self) -> Optional[UndoRecord]:
        return self.current.undo() if self.current is not None else None

    def redo(self) -> Optional[UndoRecord]:
        return self.current.redo() if self.current is not None else None

    # -- variant sketches (engine.session.sketch) ----------------------------------------------------
    def start_sketch(self, opened: Optional[np.ndarray] = None) -> Optional[Sketch]:
        """From now on the current frame's edits are a variant sketch, never the frame's label.

        With `opened` (the frame's label as it was opened) the edits made since then move into the sketch: the
        frame's label goes back to `opened` as one undo step of the frame (Ctrl+Z after the sketch brings them
        back), stored again only if the stored label differs; the sketch starts with them, as its one undo step.
        Without, the sketch starts from the label as it is (saved first). None without a frame."""
        if self.current is None or self.project is None:
            return None
        if self.sketch is not None:
            return self.sketch
        frame, key = self.current, self.key
        moved = None
        if opened is not None and opened.shape == frame.label.shape:
            moved = restore_record(frame.label, opened)
            if moved is not None:  # journalled: a crash now replays the frame back to `opened`; the mask shown
                frame.record_moved(moved)  # does not change (the sketch starts with the same pixels): no event
        self._settle(frame)
        session = LabelSession(SketchTarget(key), frame.image, frame.label, UndoStack(max_steps=self._max_steps),
                               SketchEvents(self.events), AutosavePolicy(0))
        self.sketch = Sketch(session, frame, frame.label.copy())
        if moved is not None:
            step = inverse(moved)
            step.description = "the edit moved from the frame"
            step.redo(session.label)
            session.stack.push(step)
            self.sketch.moved = int(step.changed().sum())
        self.current = session
        self.events.sketch_changed(True)  # the canvas shows the same pixels as before: nothing to repaint
        session.emit_undo_state()
        return self.sketch

    def end_sketch(self) -> Optional[np.ndarray]:
        """Close the open sketch: the frame's label as the sketch began is shown again (same array), its undo
        history is back. Returns the sketch's mask (None when no sketch was open)."""
        sketch = self.sketch
        if sketch is None:
            return None
        mask = sketch.session.label.copy()
        changed = sketch.changed()
        np.copyto(sketch.frame.label, sketch.base)
        self.current, self.sketch = sketch.frame, None
        self.events.sketch_changed(False)
        if changed.any():
            y0, y1, x0, x1 = tight_box(changed)  # type: ignore[misc]
            self.events.label_edited((x0, y0, x1, y1))
            self.events.label_changed((x0, y0, x1, y1), "sketch")
        sketch.frame.emit_undo_state()
        return mask

    def _settle(self, frame: LabelSession) -> None:
        """Make the stored label what `frame` shows: nothing is written when they are equal already (the edits
        since the last save cancel out), so the label file, its revision and the review status stay as they were."""
        if not frame.dirty:
            return
        try:
            same = np.array_equal(self.project.load_label(frame.target.key), frame.label)
        except Exception:  # noqa: BLE001 - an unreadable stored label: write it
            same = False
        if not same:
            self.save()
            return
        frame.cancel_autosave()
        frame.set_dirty(False)
        if not self.project.read_only:
            self.project.discard_recovery(frame.target.key)  # strokes that add up to nothing

    def _save_under_sketch(self, frame: LabelSession) -> bool:
        """Save the frame while a sketch paints its label array: what is written is the frame's label as the
        sketch began (only left unsaved when the save at the sketch's start failed), never the sketch."""
        if not frame.dirty:
            return False
        frame.cancel_autosave()
        frame.target.save(self.sketch.base)
        frame.set_dirty(False)
        return True

    # -- saving ------------------------------------------------------------------------------------
    def save(self) -> bool:
        """Write the current frame's label if it changed; True when nothing is left unsaved (an open sketch
        is never written: see engine.session.sketch)."""
        frame = self.frame_session
        if frame is None or self.project is None:
            return True
        key = self.key
        if self.project.read_only and frame.dirty:  # opened beside another writer: closing never blocks
            frame.set_dirty(False)
            self.events.error("The project is open read-only: this change is not saved.")
            return True
        try:
            wrote = frame.save() if self.sketch is None else self._save_under_sketch(frame)
        except Exception as exc:  # noqa: BLE001
            if frame.unjournalled:  # never say the strokes are safe when the write that keeps them failed
                self.events.error(f"Saving {key} failed: {exc}. {frame.unjournalled} stroke(s) could not be "
                                  "written to the journal either: they exist only on screen and are lost if the "
                                  "app closes; keep it open, free disk space or check permissions, then save "
                                  "again (Ctrl+S).")
            else:
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
                label, replayed, skipped = self.project.recover_counted(key)
                self.project.save_label(key, label)
            except Exception as exc:  # noqa: BLE001
                self.events.error(f"Could not recover {key}: {exc}")
                continue
            if skipped:
                self.events.error(f"Recovered {key}: {replayed} stroke(s) replayed, {skipped} unreadable stroke(s) "
                                  "skipped")
            done.append(key)
            self.events.status_changed(key, self.project.status(key))
            if key == self.key:
                self.end_sketch()
                np.copyto(self.current.label, label)
                self.events.label_edited(None)
                self.events.label_changed(None, "recovery")
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
