"""Canvas tools, one module each: brush and eraser, flood fill, polygon, lasso, segment
(SAM-family model), class picker.

`create_tool(name, host)` builds a tool for a canvas; `tool_names()` lists the names in toolbar order.
"""
from __future__ import annotations

from desktop.tools.base import PointerEvent, Tool, ToolHost
from desktop.tools.brush import BrushTool, EraserTool
from desktop.tools.fill import FillTool
from desktop.tools.lasso import LassoTool
from desktop.tools.picker import PickerTool
from desktop.tools.polygon import PolygonTool
from desktop.tools.segment import SegmentTool

TOOLS: dict[str, type[Tool]] = {
    cls.name: cls for cls in (BrushTool, EraserTool, FillTool, PolygonTool, LassoTool, SegmentTool, PickerTool)
}


def tool_names() -> list[str]:
    """Tool names in toolbar order."""
    return list(TOOLS)


def create_tool(name: str, host: ToolHost) -> Tool:
    """A new tool instance bound to `host`; a clear error names the valid tools."""
    try:
        return TOOLS[name](host)
    except KeyError:
        raise ValueError(f"unknown tool {name!r}: use one of {', '.join(TOOLS)}") from None


__all__ = ["PointerEvent", "Tool", "ToolHost", "TOOLS", "tool_names", "create_tool",
           "BrushTool", "EraserTool", "FillTool", "PolygonTool", "LassoTool", "SegmentTool",
           "PickerTool"]
