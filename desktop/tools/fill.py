"""Flood fill: click a region to fill it (4-connected by default) with the current class; right click
fills it with the eraser value. One click = one undo record."""
from __future__ import annotations

from engine.edits import flood_fill

from desktop.tools.base import PointerEvent, Tool, erase_policy, inside


class FillTool(Tool):
    """Fill the connected region of equal class IDs under the click."""

    name = "fill"
    connectivity = 4  # set to 8 to leak through diagonal gaps

    def press(self, ev: PointerEvent) -> None:
        label = self.host.label()
        if label is None or ev.button not in ("left", "right") or not inside(label, ev.px, ev.py):
            return
        policy = self.host.policy()
        if ev.button == "right":
            value, policy = self.host.eraser_value(), erase_policy(policy)
        else:
            value = self.host.current_class()
        record = flood_fill(label, (ev.px, ev.py), value, connectivity=self.connectivity, policy=policy)
        if record is not None:
            self.host.refresh(record.bbox)
            self.host.commit(record)
