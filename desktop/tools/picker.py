"""Class picker: click a pixel to make its class the current one (unlabelled pixels pick nothing)."""
from __future__ import annotations

from engine.taxonomy import NUM_CLASSES

from desktop.tools.base import PointerEvent, Tool, inside


class PickerTool(Tool):
    """Left click reports the class ID under the pointer through `host.pick`."""

    name = "picker"

    def press(self, ev: PointerEvent) -> None:
        label = self.host.label()
        if label is None or ev.button != "left" or not inside(label, ev.px, ev.py):
            return
        cls = int(label[ev.py, ev.px])
        if cls < NUM_CLASSES:
            self.host.pick(cls)
