"""Segment tool: a segment-anything model (Preferences → Segmentation model folder) outlines a structure.

Left click adds a point on the structure, right click a point off it, a left drag draws a box; the model's
best mask shows at once as an outline, Tab cycles its alternatives, Enter or a double click commits it in the
current class under the paint rules (one undo step), Esc drops it, Backspace removes the last point.
Shift+left click on a labelled region starts a repair: that region is the mask prompt (clicks refine it) and
committing replaces the region (in its own class) as one undo step. Find… (SAM 3 by name) hands the tool every
instance found (`show_found`): Enter accepts them in the current class over unlabelled pixels only, as a
pre-segmentation proposal is accepted.

The masks are asked for with `host.request_candidates(prompt)` and arrive in `candidates_ready` (computed off the
GUI thread; a reply for an older prompt is dropped); while the frame's embedding is still being made the prompt
is kept and `model_ready()` asks again once it is there.
"""
from __future__ import annotations

import numpy as np
from PySide6.QtCore import Qt

from desktop.tools.base import PointerEvent, Tool
from engine.edits import PaintPolicy
from engine.segment import Candidates, Prompt, class_region, commit_candidate, replace_region, union

DRAG_PX = 5.0  # screen pixels a press must move before it draws a box instead of placing a point


class SegmentTool(Tool):
    """Click / box prompts to a SAM-family model, the candidate as an outline, commit as one undo step."""

    name = "segment"

    def __init__(self, host) -> None:
        super().__init__(host)
        self._reset()

    def _reset(self) -> None:
        self.prompt = Prompt()
        self.repair: tuple[int, np.ndarray] | None = None   # (class, region) being repaired
        self.candidates = None
        self.index = 0
        self.proposal = False   # Find…'s instances: accepted like a pre-segmentation proposal (unlabelled only)
        self._commit_when_ready = False  # a double click came before the prompt's masks
        self._press: tuple[float, float] | None = None
        self._drag: tuple[float, float] | None = None

    # -- state -------------------------------------------------------------------------------------
    def busy(self) -> bool:
        return not self.prompt.is_empty() or self._press is not None or self.proposal

    def mask(self) -> np.ndarray | None:
        """The candidate on show (HxW bool), or None."""
        return None if self.candidates is None else self.candidates.masks[self.index]

    # -- input -------------------------------------------------------------------------------------
    def press(self, ev: PointerEvent) -> None:
        label = self.host.label()
        if label is None:
            return
        h, w = label.shape
        if not (0 <= ev.px < w and 0 <= ev.py < h):
            return
        if ev.button == "right":
            self._set_prompt(self.prompt.with_point(ev.px, ev.py, False))
        elif ev.button == "left" and ev.modifiers & Qt.ShiftModifier:
            self._start_repair(ev.px, ev.py)
        elif ev.button == "left":
            self._press = (ev.x, ev.y)

    def move(self, ev: PointerEvent) -> None:
        if self._press is None:
            return
        dx, dy = ev.x - self._press[0], ev.y - self._press[1]
        if self._drag is not None or (dx * dx + dy * dy) ** 0.5 * self.host.view_scale() >= DRAG_PX:
            self._drag = (ev.x, ev.y)
            (x0, y0), (x1, y1) = self._press, self._drag
            self.host.show_preview([(x0, y0), (x1, y0), (x1, y1), (x0, y1)], None, closed=True)

    def release(self, ev: PointerEvent) -> None:
        if self._press is None or ev.button != "left":
            return
        start, dragged = self._press, self._drag is not None
        self._press = self._drag = None
        self.host.clear_preview()
        label = self.host.label()
        h, w = label.shape
        if dragged:
            x0, x1 = sorted((start[0], ev.x))
            y0, y1 = sorted((start[1], ev.y))
            box = (max(0, int(x0)), max(0, int(y0)), min(w, int(np.ceil(x1))), min(h, int(np.ceil(y1))))
            if box[0] < box[2] and box[1] < box[3]:
                self._set_prompt(Prompt(self.prompt.points, box, self.prompt.region))
        else:
            self._set_prompt(self.prompt.with_point(ev.px, ev.py, True))

    def double_click(self, ev: PointerEvent) -> None:
        if ev.button != "left":
            return
        if self.candidates is None and not self.prompt.is_empty():
            self._commit_when_ready = True   # the first click's masks are still on their way
        else:
            self.commit()

    def key_press(self, key: int) -> bool:
        if key == Qt.Key_Tab and self.candidates is not None:
            self.index = (self.index + 1) % len(self.candidates)
            self._show()
            return True
        if key in (Qt.Key_Return, Qt.Key_Enter) and self.candidates is not None:
            self.commit()
            return True
        if key == Qt.Key_Backspace and self.prompt.points:
            self._set_prompt(Prompt(self.prompt.points[:-1], self.prompt.box, self.prompt.region))
            return True
        return False

    def cancel(self) -> None:
        self._reset()
        self.host.clear_preview()
        self.host.show_segment(None, ())

    def show_found(self, found) -> None:
        """Show Find…'s instances as one proposal (all of them first; Tab shows each on its own)."""
        label = self.host.label()
        self._reset()
        if label is None or found is None or not len(found):
            self.host.show_segment(None, ())
            return
        masks = np.concatenate([union(found, label.shape)[None], found.masks]) if len(found) > 1 else found.masks
        self.candidates = Candidates(masks, np.concatenate([[found.scores.max()], found.scores])[:len(masks)])
        self.proposal = True
        self._show()

    def model_ready(self) -> None:
        """The frame's embedding arrived: ask again for a prompt that was waiting."""
        if not self.prompt.is_empty():
            self._update()

    # -- actions -----------------------------------------------------------------------------------
    def commit(self) -> None:
        """Write the candidate on show: in the current class, or as the repaired class's new region."""
        label, mask = self.host.label(), self.mask()
        if label is None or mask is None:
            return
        if self.repair is not None:
            cls, region = self.repair
            try:
                record = replace_region(label, region, mask, cls, self.host.policy())
            except ValueError as exc:
                self.host.segment_message(str(exc))
                return
        elif self.proposal:
            policy = self.host.policy()
            record = commit_candidate(label, mask, self.host.current_class(),
                                      PaintPolicy("over_unlabelled", locked=policy.locked), "accept Find proposal")
        else:
            record = commit_candidate(label, mask, self.host.current_class(), self.host.policy())
        self.cancel()
        if record is None:
            self.host.segment_message("Nothing to write: the paint rules leave every pixel of the mask as it is")
            return
        self.host.refresh(record.bbox)
        self.host.commit(record, "segment")

    def _start_repair(self, x: int, y: int) -> None:
        found = class_region(self.host.label(), x, y)
        if found is None:
            self.host.segment_message("Shift+click a labelled region to repair it")
            return
        self._reset()
        self.repair = found
        self._set_prompt(Prompt(region=found[1]))

    def _set_prompt(self, prompt: Prompt) -> None:
        self.prompt, self.proposal = prompt, False
        if prompt.is_empty():
            self.cancel()
            return
        self._update()

    def candidates_ready(self, prompt, candidates) -> None:
        if prompt is self.prompt and not self.proposal:
            self.candidates, self.index = candidates, 0
            self._show()
            if self._commit_when_ready:
                self.commit()

    def _update(self) -> None:
        self.candidates, self.index = None, 0   # Enter commits nothing until this prompt's masks are here
        self._show()
        self.host.request_candidates(self.prompt)

    def _show(self) -> None:
        cls = self.repair[0] if self.repair is not None else self.host.current_class()
        self.host.show_segment(self.mask(), self.prompt.points, self.prompt.box, cls)
