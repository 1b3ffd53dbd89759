"""What every canvas tool shares: the pointer event it receives, the host (canvas) interface it drives,
and a base class with do-nothing handlers.

Tools hold no business logic: they turn pointer input into calls of `engine.edits` operations on the
host's label array, tell the host which rectangle changed (`refresh`) and hand it the finished undo
record (`commit`: one record per tool action).
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Protocol

import numpy as np
from PySide6.QtCore import Qt

from engine.edits import PaintPolicy

Rect = tuple[int, int, int, int]


@dataclass(frozen=True)
class PointerEvent:
    """A pointer event in scene coordinates: one unit per image pixel, pixel (x, y) covers [x, x+1)."""

    x: float
    y: float
    button: str = ""  # "left", "right", "middle" on press/release/double-click; "" on moves
    modifiers: Qt.KeyboardModifier = Qt.NoModifier

    @property
    def px(self) -> int:
        """Column of the pixel under the pointer."""
        return math.floor(self.x)

    @property
    def py(self) -> int:
        """Row of the pixel under the pointer."""
        return math.floor(self.y)


class ToolHost(Protocol):
    """The canvas as seen by a tool."""

    def label(self) -> np.ndarray | None: ...
    def current_class(self) -> int: ...
    def brush_radius(self) -> int: ...
    def policy(self) -> PaintPolicy: ...
    def eraser_value(self) -> int: ...
    def view_scale(self) -> float: ...
    def refresh(self, rect: Rect | None = None) -> None: ...
    def commit(self, record: object, model_source: str = "") -> None: ...
    def pick(self, class_id: int) -> None: ...
    def show_preview(self, points: list[tuple[float, float]], cursor: tuple[float, float] | None, closed: bool = False) -> None: ...
    def clear_preview(self) -> None: ...
    def request_candidates(self, prompt) -> None: ...
    def show_segment(self, mask: np.ndarray | None, points, box=None, cls: int = 0) -> None: ...
    def segment_message(self, text: str) -> None: ...


def erase_policy(policy: PaintPolicy) -> PaintPolicy:
    """Erasing clears any class except locked ones, whatever the paint mode."""
    return PaintPolicy(mode="everywhere", target=None, locked=frozenset(policy.locked))


def inside(label: np.ndarray, x: int, y: int) -> bool:
    """Is pixel (x, y) inside the label?"""
    return 0 <= x < label.shape[1] and 0 <= y < label.shape[0]


class Tool:
    """Base class: a named tool with no-op handlers. Subclasses override what they use."""

    name = ""
    shows_brush = False  # does the canvas draw the brush outline at the cursor for this tool
    cursor = Qt.CrossCursor

    def __init__(self, host: ToolHost) -> None:
        self.host = host

    def press(self, ev: PointerEvent) -> None:
        """A mouse button went down (left or right; the canvas keeps middle for panning)."""

    def move(self, ev: PointerEvent) -> None:
        """The pointer moved (hover or drag)."""

    def release(self, ev: PointerEvent) -> None:
        """A mouse button went up."""

    def double_click(self, ev: PointerEvent) -> None:
        """A double click (Qt sends press, release, double-click, release): by default a second press."""
        self.press(ev)

    def key_press(self, key: int) -> bool:
        """A key the canvas did not use itself; return True when the tool handled it."""
        return False

    def busy(self) -> bool:
        """True while an action is under way (a stroke being drawn, a polygon being placed)."""
        return False

    def cancel(self) -> None:
        """Abandon the action under way, leaving the label as it was before it started."""

    def model_ready(self) -> None:
        """A model the tool waits for is ready (the Segment tool's frame embedding)."""

    def candidates_ready(self, prompt, candidates) -> None:
        """Masks asked for with `host.request_candidates(prompt)` arrived (the Segment tool)."""

    def finish(self) -> None:
        """Complete the action under way if it already changed the label (before a frame switch)."""
        self.cancel()
