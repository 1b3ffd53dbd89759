"""Canvas tools, one module each: brush and eraser, flood fill, polygon, lasso, segment
(SAM-family model), class picker.

The registry is `desktop.shortcuts.TOOL_SPECS` (name, text, icon, default key, tip, class): `create_tool(name,
host)` builds the named tool for a canvas; `tool_names()` lists the names in toolbar order.
"""
from __future__ import annotations

import importlib

from desktop.shortcuts import TOOL_BY_NAME, TOOL_SPECS
from desktop.tools.base import PointerEvent, Tool, ToolHost


def tool_names() -> list[str]:
    """Tool names in toolbar order."""
    return [t.name for t in TOOL_SPECS]


def tool_class(name: str) -> type[Tool]:
    """The class of the registered tool `name`; a clear error names the valid tools."""
    spec = TOOL_BY_NAME.get(name)
    if spec is None:
        raise ValueError(f"unknown tool {name!r}: use one of {', '.join(tool_names())}")
    module, cls = spec.impl.split(":")
    return getattr(importlib.import_module(module), cls)


def create_tool(name: str, host: ToolHost) -> Tool:
    """A new tool instance bound to `host`."""
    return tool_class(name)(host)


__all__ = ["PointerEvent", "Tool", "ToolHost", "tool_names", "tool_class", "create_tool"]
